"""Neural style transfer's plumbing: Gatys et al. (2016), and a fast network (Johnson et al. 2016).

Lesson 08 writes the subject itself in its cells: the Gram matrix, the style, content and
total-variation losses (``make_loss``), one optimisation step (``train_step``) and the
image-transform network. This module holds what goes around them:

- :func:`feature_extractor` gives VGG19 features: ``weights="imagenet"`` loads the
  pretrained network through Keras (downloaded and cached when online) and raises
  :class:`WeightsUnavailableError` when it cannot; ``weights="random"`` builds the same
  architecture with random weights (He, Wang & Hopcroft, NeurIPS 2016, and
  Ustyuzhaninov et al., ICLR 2017, synthesise textures with random networks; in lesson
  08's offline run it moved the photo's colours toward the painting's, not its strokes);
  ``weights="random-multiscale"`` builds :func:`tflab.multiscale.random_multiscale`, one
  layer of random filters at several spatial scales (Ustyuzhaninov et al.), lesson 08's
  offline choice. The choice is always explicit: nothing swaps one for another silently.
- :func:`resize`, :func:`lbfgs` (SciPy's L-BFGS-B on the lesson's loss) and
  :func:`transfer`: the lesson's loss and step run at one or several resolutions (small
  first), with Adam or L-BFGS-B.
- :func:`train_fast`: trains an image-transform network for one style with the lesson's
  loss and step, on a few photos in turn.

Images are float32 RGB in [0, 1], shaped (H, W, 3) or (1, H, W, 3).
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import keras
import numpy as np
import tensorflow as tf

from tflab.data import downloads_off

__all__ = ["STYLE_LAYERS", "CONTENT_LAYERS", "WEIGHTS_CHOICES", "WeightsUnavailableError",
           "VGG19_WEIGHTS_URL", "weights_path", "fetch_weights", "feature_extractor",
           "LossFn", "MakeLoss", "ImageStep", "NetStep", "Result", "resize", "own_copy",
           "releasing_traces", "lbfgs", "transfer", "train_fast"]

STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
CONTENT_LAYERS = ("block5_conv2",)


class WeightsUnavailableError(RuntimeError):
    """The pretrained ImageNet weights could not be loaded (offline, or a damaged cache)."""


VGG19_WEIGHTS_URL = ("https://storage.googleapis.com/tensorflow/keras-applications/vgg19/"
                     "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5")
VGG19_WEIGHTS_MD5 = "253f8cb515780f3b799900260a226db6"  # Keras's own check for this file


def weights_path():
    """Where Keras keeps the VGG19 ImageNet weights (``$KERAS_HOME/models`` or ``~/.keras``)."""
    import os
    from pathlib import Path

    # Keras's own rule for its cache folder (it has no public accessor for it).
    home = os.environ.get("KERAS_HOME")
    if home is None:
        base = os.path.expanduser("~")
        home = os.path.join(base if os.access(base, os.W_OK) else "/tmp", ".keras")
    return Path(home) / "models" / VGG19_WEIGHTS_URL.rsplit("/", 1)[1]


def fetch_weights() -> tuple[str, object]:
    """Download the VGG19 ImageNet weights into Keras's cache unless already there.

    Returns ``("present" | "fetched", path)``; raises :class:`WeightsUnavailableError`
    with the reason when the download fails.
    """
    path = weights_path()
    if path.is_file():
        return "present", path
    if downloads_off():
        raise WeightsUnavailableError(
            f"the VGG19 weights are not in Keras's cache ({path}) and downloads are switched "
            "off (TFLAB_OFFLINE); lesson 08 then uses weights='random-multiscale'")
    try:
        keras.utils.get_file(path.name, VGG19_WEIGHTS_URL, cache_dir=str(path.parent.parent),
                             cache_subdir="models", file_hash=VGG19_WEIGHTS_MD5)
    except Exception as err:
        raise WeightsUnavailableError(
            f"could not download the VGG19 weights from {VGG19_WEIGHTS_URL} "
            f"({type(err).__name__}: {err}); lesson 08 then uses weights='random-multiscale'"
        ) from err
    return "fetched", path


WEIGHTS_CHOICES = ("imagenet", "random", "random-multiscale")
"""The extractors :func:`feature_extractor` builds; only "imagenet" needs a download."""


def feature_extractor(weights: str = "imagenet", *, style_layers=STYLE_LAYERS,
                      content_layers=CONTENT_LAYERS, seed: int = 0) -> keras.Model:
    """The network whose features the style and content losses read, images in [0, 1] in.

    Returns a model whose output is a list: the ``style_layers`` then the
    ``content_layers`` activations; it carries ``weights_kind``, ``style_layers`` and
    ``content_layers``. ``weights`` is one of:

    - "imagenet": VGG19 pretrained on ImageNet (needs the Keras download or its cache;
      raises :class:`WeightsUnavailableError` when it cannot load them);
    - "random": the same VGG19 with seeded He-initialised filters (no download), built only
      up to the deepest layer used;
    - "random-multiscale": random filters at several spatial scales
      (:func:`tflab.multiscale.random_multiscale` with ``seed``; no download). Its layers
      are its own: ``style_layers`` and ``content_layers`` must stay the VGG19 defaults.
    """
    if weights not in WEIGHTS_CHOICES:
        raise ValueError(f"weights must be one of {', '.join(map(repr, WEIGHTS_CHOICES))}, "
                         f"not {weights!r}")
    gc.collect()  # first free the extractors no longer used (Keras models are reference cycles)
    if weights == "random-multiscale":
        if tuple(style_layers) != STYLE_LAYERS or tuple(content_layers) != CONTENT_LAYERS:
            raise ValueError("style_layers and content_layers name VGG19 layers; "
                             "weights='random-multiscale' has its own (leave them out)")
        from tflab.multiscale import random_multiscale

        return random_multiscale(seed=seed)
    names = list(style_layers) + list(content_layers)
    if weights == "imagenet":
        offline_choices = ("To run offline, choose an extractor without pretrained weights "
                           "explicitly: feature_extractor(weights='random-multiscale') (random "
                           "filters at several scales) or feature_extractor(weights='random') "
                           "(random-weight VGG19)")
        if downloads_off() and not weights_path().is_file():
            raise WeightsUnavailableError(
                f"could not load the ImageNet VGG19 weights: they are not in Keras's cache "
                f"({weights_path()}) and downloads are switched off (TFLAB_OFFLINE). "
                + offline_choices)
        try:
            vgg = keras.applications.VGG19(include_top=False, weights="imagenet")
        except Exception as err:  # URLError, HTTPError, OSError, a truncated .h5 ...
            raise WeightsUnavailableError(
                f"could not load the ImageNet VGG19 weights ({type(err).__name__}: {err}). "
                "They are downloaded once by Keras into ~/.keras/models/ and need internet "
                "access the first time. " + offline_choices) from err
        vgg.trainable = False
        outputs = [vgg.get_layer(name).output for name in names]
        body = keras.Model(vgg.input, outputs, name=f"vgg19_{weights}")
    else:
        body = _random_vgg19(names, seed)
    image = keras.Input((None, None, 3), name="image")
    pixels = keras.applications.vgg19.preprocess_input(image * 255.0)
    model = keras.Model(image, body(pixels), name=f"vgg19_{weights}_features")
    model.weights_kind = weights
    model.style_layers, model.content_layers = tuple(style_layers), tuple(content_layers)
    return model


VGG19_BLOCKS = ((64, 2), (128, 2), (256, 4), (512, 4), (512, 4))
"""VGG19's convolutional blocks: (filters, 3x3 convolutions), each block then 2x2 max-pooled."""


def _random_vgg19(names: Sequence[str], seed: int) -> keras.Model:
    """VGG19's layers (``keras.applications``' names and order) up to the deepest of ``names``,
    with seeded He-normal filters and zero biases; outputs the ``names`` layers' activations.

    Filters are drawn layer by layer in VGG19's order, so every layer gets the values it has
    in the whole network; the layers after the deepest one asked for are not built at all (the
    default layers leave out the last two, 9.4 MB of weights each).
    """
    known = [f"block{b}_conv{k}" for b, (_, convs) in enumerate(VGG19_BLOCKS, 1)
             for k in range(1, convs + 1)]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"no VGG19 convolution called {', '.join(map(repr, unknown))}; "
                         f"the layers are {', '.join(known)}")
    last = max(known.index(name) for name in names)
    rng = np.random.default_rng(seed)
    image = keras.Input((None, None, 3), name="pixels")
    x, found = image, {}
    for name in known[:last + 1]:
        if name.endswith("_conv1") and name != "block1_conv1":  # a new block: pool first
            x = keras.layers.MaxPooling2D(2, strides=2, name=name.replace("conv1", "pool"))(x)
        filters = VGG19_BLOCKS[int(name[5]) - 1][0]
        layer = keras.layers.Conv2D(filters, 3, activation="relu", padding="same", name=name,
                                    kernel_initializer="zeros", trainable=False)
        x = found[name] = layer(x)
        fan_in = int(np.prod(layer.kernel.shape[:-1]))  # He initialisation, bias 0
        layer.kernel.assign(rng.normal(0, np.sqrt(2.0 / fan_in), layer.kernel.shape)
                            .astype(np.float32))
    body = keras.Model(image, [found[name] for name in names], name="vgg19_random")
    body.trainable = False
    return body


def _batch(image) -> tf.Tensor:
    image = tf.convert_to_tensor(image, tf.float32)
    return image[None] if image.shape.rank == 3 else image


def resize(image, max_side: int) -> tf.Tensor:
    """Resize so that the longer side is ``max_side`` pixels, keeping the aspect ratio.

    Bicubic, then clipped back into [0, 1] (bicubic can overshoot); takes an (H, W, 3) or
    (1, H, W, 3) image and returns a batch of one.
    """
    image = _batch(image)
    h, w = int(image.shape[1]), int(image.shape[2])
    scale = max_side / max(h, w)
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    return tf.clip_by_value(tf.image.resize(image, size, method="bicubic"), 0.0, 1.0)


@dataclass
class Result:
    """A stylised image and how it was made."""

    image: np.ndarray
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    steps: int = 0
    sizes: tuple[int, ...] = ()


LossFn = Callable[[tf.Tensor], tf.Tensor]
"""A loss: a (1, H, W, 3) image in, a scalar out."""


class MakeLoss(Protocol):
    """Builds the loss for one style image and one content image (lesson 08's ``make_loss``)."""

    def __call__(self, extractor: keras.Model, style_image: tf.Tensor, content_image: tf.Tensor,
                 *, style_weight: float, content_weight: float, tv_weight: float) -> LossFn: ...


class ImageStep(Protocol):
    """One optimisation step on an image's pixels; returns the loss before the step
    (lesson 08's ``train_step``)."""

    def __call__(self, image: tf.Variable, loss: LossFn,
                 optimizer: keras.optimizers.Optimizer) -> tf.Tensor: ...


class NetStep(Protocol):
    """One training step of an image-transform network on one photo; returns the loss
    (lesson 08's ``fast_train_step``)."""

    def __call__(self, net: keras.Model, photo: tf.Tensor, loss: LossFn,
                 optimizer: keras.optimizers.Optimizer) -> tf.Tensor: ...


def own_copy(step):
    """A new ``tf.function`` of the same Python function and options as ``step`` (which is
    returned as it is when it is not a ``tf.function``).

    A ``tf.function`` keeps every graph it traced, and what each graph captured (the
    extractor's weights, the targets, the optimizer's slots), for as long as it lives; each
    new loss or optimizer is a new trace. The plumbing below traces a copy, whose graphs go
    when the copy does, so the lesson's own ``train_step`` does not collect one per call.
    """
    clone = getattr(step, "_clone", None)  # tf.function's own copy: same options, no traces
    return clone(None) if callable(clone) and hasattr(step, "python_function") else step


@contextlib.contextmanager
def releasing_traces() -> Iterator[None]:
    """Forget, on leaving, the gradient functions that tracing registered in the meantime,
    and free the graphs no longer used.

    Tracing ``optimizer.apply_gradients`` registers a gradient function for the optimizer's
    all-reduce in a global TensorFlow registry (``tf.custom_gradient`` in a graph), and never
    removes it. That function holds the traced graph, and the graph holds what it captured:
    every extractor a step was traced with (58 MB of weights for a VGG19) would stay until the
    process ends. The update's own gradient is never taken, so nothing needs them later.
    """
    from tensorflow.python.framework import ops  # the registry has no public API

    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    before = set(registry) if isinstance(registry, dict) else None
    try:
        yield
    finally:
        if before is not None:
            for name in [n for n in registry if n not in before
                         and n.startswith("CustomGradient-")]:
                del registry[name]
        gc.collect()  # traced graphs are reference cycles: only the cycle collector frees them


def _adam(loss: LossFn, image: tf.Variable, step: ImageStep, steps: int,
          learning_rate: float) -> list[float]:
    optimizer = keras.optimizers.Adam(learning_rate)
    optimizer.build([image])  # its slots now, so that a tf.function step creates no variables
    step = own_copy(step)  # its traces are freed when this returns
    with releasing_traces():
        return [float(step(image, loss, optimizer)) for _ in range(steps)]


def lbfgs(loss: LossFn, image: tf.Variable, steps: int) -> list[float]:
    """Minimise ``loss`` over the pixels of ``image`` with SciPy's L-BFGS-B, in place.

    SciPy works on flat float64 NumPy vectors: every evaluation converts the pixels to a
    float32 tensor, runs the loss and its gradient (one ``tf.function``), and copies both
    back to float64. The bounds keep each pixel in [0, 1]; ``steps`` caps the loss
    evaluations (``maxfun``, line-search evaluations included) and the iterations
    (``maxiter``). Returns the loss of every evaluation.
    """
    from scipy.optimize import minimize

    shape = image.shape
    losses: list[float] = []

    @tf.function
    def value_and_grad(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = loss(tf.reshape(x, shape))
        return value, tape.gradient(value, x)

    def fun(x):
        value, grad = value_and_grad(tf.constant(x, tf.float32))
        losses.append(float(value))
        return float(value), grad.numpy().astype(np.float64)

    result = minimize(fun, image.numpy().ravel().astype(np.float64), jac=True,
                      method="L-BFGS-B", bounds=[(0.0, 1.0)] * int(np.prod(shape)),
                      options={"maxiter": steps, "maxfun": steps})
    image.assign(np.asarray(result.x, np.float32).reshape(shape))
    return losses


def transfer(extractor: keras.Model, content, style, *, make_loss: MakeLoss,
             step: ImageStep | None = None, sizes: Sequence[int] = (256,), steps: int = 100,
             method: str = "adam", learning_rate: float = 0.02, style_weight: float = 1.0,
             content_weight: float = 1.0, tv_weight: float = 1e-3, init=None) -> Result:
    """Stylise ``content`` with ``style`` by optimising the image's pixels.

    At each size, ``make_loss(extractor, style, content, style_weight=..., content_weight=...,
    tv_weight=...)`` builds the loss for the resized images. ``sizes`` lists the resolutions
    (longer side, pixels), small first: the result at one size, upscaled, starts the next
    (``steps`` steps at each). ``method`` is "adam" (``step(image, loss, optimizer)`` with an
    Adam optimizer at ``learning_rate``) or "lbfgs" (SciPy's L-BFGS-B on the same loss;
    ``steps`` counts loss evaluations; no ``step`` needed). The image starts from the
    content photo unless ``init`` is given.
    """
    if method not in ("adam", "lbfgs"):
        raise ValueError(f"method must be 'adam' or 'lbfgs', not {method!r}")
    if method == "adam" and not callable(step):
        raise ValueError("method='adam' needs step=, a function step(image, loss, optimizer) "
                         f"that takes one optimisation step, not {step!r}")
    if not callable(make_loss):
        raise ValueError(f"make_loss must be a function building the loss, not {make_loss!r}")
    if not sizes or steps < 1:
        raise ValueError(f"need at least one size and one step, got sizes={sizes}, steps={steps}")
    start = time.perf_counter()
    losses: list[float] = []
    current = None if init is None else _batch(init)
    for size in sizes:
        target = resize(content, size)
        loss = make_loss(extractor, resize(style, size), target, style_weight=style_weight,
                         content_weight=content_weight, tv_weight=tv_weight)
        start_image = target if current is None else \
            tf.clip_by_value(tf.image.resize(current, target.shape[1:3], "bicubic"), 0.0, 1.0)
        image = tf.Variable(start_image)
        losses += _adam(loss, image, step, steps, learning_rate) if method == "adam" else \
            lbfgs(loss, image, steps)
        current = tf.convert_to_tensor(image)
    return Result(image=current[0].numpy(), losses=losses, seconds=time.perf_counter() - start,
                  steps=len(losses), sizes=tuple(sizes))


def train_fast(net: keras.Model, extractor: keras.Model, style, contents, *, make_loss: MakeLoss,
               step: NetStep, size: int = 128, steps: int = 200, learning_rate: float = 1e-3,
               style_weight: float = 1.0, content_weight: float = 1.0, tv_weight: float = 1e-3,
               seed: int = 0) -> list[float]:
    """Train ``net`` to stylise like ``style`` on the ``contents`` photos, each resized
    (squashed, not cropped) to ``size`` × ``size`` pixels.

    Each photo gets its own loss from ``make_loss`` (its own content target); step ``i``
    calls ``step(net, photo, loss, optimizer)`` on photo ``i % len(contents)``, so the
    photos take turns. Returns the loss per step.
    """
    if size % 4:
        raise ValueError(f"size must be a multiple of 4 for the transform network, not {size}")
    if not callable(step) or not callable(make_loss):
        raise ValueError("train_fast needs make_loss= and step= functions "
                         f"(got make_loss={make_loss!r}, step={step!r})")
    keras.utils.set_random_seed(seed)
    gc.collect()  # free what earlier traces left before tracing one step per photo
    photos = [tf.clip_by_value(tf.image.resize(_batch(c), (size, size), "bicubic"), 0.0, 1.0)
              for c in contents]
    losses = [make_loss(extractor, resize(style, size), p, style_weight=style_weight,
                        content_weight=content_weight, tv_weight=tv_weight) for p in photos]
    optimizer = keras.optimizers.Adam(learning_rate)
    optimizer.build(net.trainable_variables)  # slots now: the step may be a tf.function
    step = own_copy(step)  # its traces (one per photo's loss) are freed when this returns
    with releasing_traces():
        return [float(step(net, photos[i % len(photos)], losses[i % len(photos)], optimizer))
                for i in range(steps)]
