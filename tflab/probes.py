"""Looking inside a network: activation statistics and gradient norms, layer by layer.

Used by lesson 07 to show why initialisation and activation functions matter in deep
networks: with a bad choice the signal shrinks (or grows) from layer to layer on the
way forward, and the gradients vanish on the way back.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

__all__ = ["dense_layers", "activation_stats", "gradient_norms"]


def dense_layers(model: keras.Model) -> list[keras.layers.Dense]:
    """The model's Dense layers, input side first."""
    return [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]


def activation_stats(model: keras.Model, x) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each Dense layer's output on inputs ``x``.

    Returns two arrays with one value per Dense layer (after its activation).
    """
    layers = dense_layers(model)
    if not layers:
        raise ValueError(f"model {model.name!r} has no Dense layers")
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    probe = keras.Model(inputs, [layer.output for layer in layers])
    outputs = probe(np.asarray(x, dtype=np.float32), training=False)
    means = np.array([float(np.mean(o)) for o in outputs])
    stds = np.array([float(np.std(o)) for o in outputs])
    return means, stds


def gradient_norms(model: keras.Model, x, y) -> np.ndarray:
    """Norm of the loss gradient with respect to each Dense layer's kernel.

    The loss is sparse categorical cross-entropy of the model's output (probabilities)
    against integer labels ``y``. One value per Dense layer, input side first.
    """
    layers = dense_layers(model)
    if not layers:
        raise ValueError(f"model {model.name!r} has no Dense layers")
    kernels = [layer.kernel for layer in layers]
    x = tf.constant(np.asarray(x, dtype=np.float32))
    with tf.GradientTape() as tape:
        probabilities = model(x, training=False)
        loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, probabilities))
    grads = tape.gradient(loss, [k.value for k in kernels])
    return np.array([float(tf.norm(g)) for g in grads])
