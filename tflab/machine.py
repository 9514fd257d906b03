"""What this machine can do, to judge a benchmark against: its float32 matmul rate.

``matmul_gflops`` times TensorFlow's float32 matrix product (best of several runs);
``forward_flops`` counts the floating-point operations of one example's forward pass
from a Keras model's Dense and Conv2D layers, ``dense_flops`` those of a stack of dense
layers given by its widths (for models that are not Keras objects); ``share`` prints
work done as a fraction of the matmul rate, after ``matmul_line``. A training step costs
about ``TRAINING_FACTOR`` × the forward pass (forward, then gradients with respect to both
activations and weights).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

__all__ = ["TRAINING_FACTOR", "MATMUL_SIZE", "matmul_gflops", "forward_flops", "dense_flops",
           "share", "matmul_line"]

TRAINING_FACTOR = 3  # forward + backward ≈ 3 × forward
MATMUL_SIZE = 1024   # n of the n×n products matmul_gflops times by default


def matmul_gflops(n: int = MATMUL_SIZE, repeats: int = 10) -> float:
    """This machine's float32 ``tf.matmul`` rate in GFLOP/s: ``2 n³`` FLOPs per n×n product,
    the fastest of ``repeats`` timed runs (after one untimed warm-up)."""
    import tensorflow as tf

    if n < 1 or repeats < 1:
        raise ValueError(f"n and repeats must be positive, got n={n}, repeats={repeats}")
    a = tf.random.stateless_uniform((n, n), seed=(0, 1), dtype=tf.float32)
    b = tf.random.stateless_uniform((n, n), seed=(0, 2), dtype=tf.float32)
    tf.matmul(a, b).numpy()  # warm up: thread pools, kernels
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        tf.matmul(a, b).numpy()  # .numpy() waits for the result
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def _layer_flops(layer) -> int:
    """FLOPs of one example through ``layer`` (a multiply-add counts as 2)."""
    import keras

    if isinstance(layer, keras.Model):
        return sum(_layer_flops(inner) for inner in layer.layers)
    if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)) and None in (
            *layer.input.shape[1:], *layer.output.shape[1:]):
        raise ValueError(f"layer {layer.name!r} has no fixed shape ({layer.input.shape} → "
                         f"{layer.output.shape}); count its model with input_shape=")
    if isinstance(layer, keras.layers.Conv2DTranspose):  # every input pixel meets the kernel
        return 2 * math.prod(layer.kernel.shape) * math.prod(layer.input.shape[1:-1])
    if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)):  # every output position
        return 2 * math.prod(layer.kernel.shape) * math.prod(layer.output.shape[1:-1])
    if hasattr(layer, "kernel"):
        raise ValueError(f"forward_flops counts Dense, Conv2D and Conv2DTranspose layers; "
                         f"layer {layer.name!r} is a {type(layer).__name__} with a kernel")
    return 0  # pooling, activations, reshapes, normalisation: small next to the products


def forward_flops(model, input_shape: Sequence[int] | None = None) -> int:
    """FLOPs of one example's forward pass through a built Keras ``model``: the products of
    its Dense, Conv2D and Conv2DTranspose layers (``2 × kernel size × output positions``).
    Pooling, activations, normalisation and biases are left out (a few per cent for the
    course's models). A model that takes any image size needs ``input_shape`` (one
    example's, e.g. ``(256, 256, 3)``): it is counted on a copy built for that shape
    (a model nested inside it must be counted on its own, with its own ``input_shape``).
    """
    import keras

    if not isinstance(model, keras.Model) or not model.built:
        raise ValueError(f"model must be a built keras.Model, not {type(model).__name__}")
    if input_shape is not None:
        model = keras.models.clone_model(model, input_tensors=keras.Input(shape=input_shape))
    elif None in model.input_shape[1:]:
        raise ValueError(f"model {model.name!r} takes inputs of shape {model.input_shape}; "
                         f"pass input_shape= for one example")
    return _layer_flops(model)


def dense_flops(widths: Sequence[int]) -> int:
    """FLOPs of one example through dense layers of these ``widths``, input first:
    ``2 × w[i] × w[i+1]`` per layer (so ``[1, 1]`` is ``y = w·x + b``: 2)."""
    widths = [int(w) for w in widths]
    if len(widths) < 2 or min(widths) < 1:
        raise ValueError(f"widths must be at least two positive sizes, got {widths}")
    return sum(2 * a * b for a, b in zip(widths, widths[1:]))


def share(flops: float, seconds: float, matmul: float) -> str:
    """``flops`` done in ``seconds`` as GFLOP/s and as a percentage of ``matmul`` GFLOP/s."""
    if seconds <= 0 or matmul <= 0:
        raise ValueError(f"seconds and matmul must be positive, got {seconds}, {matmul}")
    rate = flops / seconds / 1e9
    return f"{rate:8.3g} GFLOP/s = {100 * rate / matmul:7.3g} % of matmul"


def matmul_line(gflops: float) -> str:
    """The line a benchmark prints first: this machine's float32 matmul rate."""
    return (f"float32 matmul on this machine ({MATMUL_SIZE}×{MATMUL_SIZE}, best of runs): "
            f"{gflops:.1f} GFLOP/s; shares below are of this rate")
