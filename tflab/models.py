"""The course's models: lesson 04's CNN run from its notebook, a configurable MLP, a TF1 graph.

Lesson 04 writes the seed's MNIST CNN (``seed_cnn``), its ``tf.GradientTape`` training step
(``make_train_step``), the training loop (``train_steps``) and the serving export
(``serving_archive``) in its notebook's cells; :func:`lesson_04` runs that one copy for the
tests, benchmarks and later lessons that need it. ``mlp`` is a Keras 3 dense network;
``accuracy`` scores a model batch by batch; ``tf1_classifier`` builds a dense model as a
``tf.compat.v1`` graph with named tensors, for the lesson on the TF1 way of saving.
"""

from __future__ import annotations

import functools
import linecache
import types
from collections.abc import Callable, Sequence

import keras
import numpy as np

from tflab.data import scale_images

__all__ = ["LESSON_04", "lesson_04", "mlp", "accuracy", "tf1_classifier"]

LESSON_04 = "04_mnist_train_and_save.ipynb"
_LESSON_04_NAMES = ("seed_cnn", "make_train_step", "train_steps", "serving_archive")


@functools.cache
def lesson_04() -> types.SimpleNamespace:
    """Lesson 04's own code, run from the notebook's cells: ``seed_cnn(dropout=0.5)``,
    ``make_train_step(model)``, ``train_steps(model, images, labels, steps, batch_size=50,
    learning_rate=1e-4, seed=0)`` (returns ``{"loss": [...], "accuracy": [...]}``, one value
    per step) and ``serving_archive(model)``. Needs a checkout of the course (the notebook)."""
    import tensorflow as tf

    from tflab import data, files, saving, source

    root = files.repo_root()
    notebook = root / "notebooks" / LESSON_04 if root is not None else None
    if notebook is None or not notebook.is_file():
        raise FileNotFoundError(f"lesson 04's code is written in notebooks/{LESSON_04}, which "
                                "is not here: run tflab from a checkout of the course")
    code = source.notebook_definitions(notebook, *_LESSON_04_NAMES)
    filename = f"<{LESSON_04}>"  # in linecache, so that tf.function's AutoGraph reads the source
    linecache.cache[filename] = (len(code), None, code.splitlines(keepends=True), filename)
    namespace = {"keras": keras, "tf": tf, "np": np, "data": data, "saving": saving}
    exec(compile(code, filename, "exec"), namespace)
    return types.SimpleNamespace(**{name: namespace[name] for name in _LESSON_04_NAMES})


def mlp(input_shape: Sequence[int] = (784,), hidden: Sequence[int] = (512,), *,
        activation: str = "relu", dropout: float = 0.0, outputs: int = 10,
        output_activation: str | None = "softmax", kernel_initializer="glorot_uniform",
        kernel_regularizer=None, name: str = "mlp") -> keras.Sequential:
    """A dense network: flatten the input, ``hidden`` dense layers, then ``outputs`` units.

    ``dropout`` (if above 0) follows every hidden layer. Initialiser and regulariser
    apply to every dense layer; an initialiser object is copied for each layer, with its
    own seed, because a Keras 3 initialiser returns the same values at every call.
    """
    if not all(int(h) > 0 for h in hidden) or outputs < 1:
        raise ValueError(f"layer sizes must be positive, got hidden={list(hidden)}, "
                         f"outputs={outputs}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), not {dropout}")

    def initializer(index: int):
        """Layer ``index``'s own initialiser: a name makes one per layer anyway."""
        if not isinstance(kernel_initializer, keras.initializers.Initializer):
            return kernel_initializer
        config = kernel_initializer.get_config()
        seed = getattr(kernel_initializer, "seed", None)
        if "seed" not in config or isinstance(seed, keras.random.SeedGenerator):
            return kernel_initializer  # not random, or it draws new values at every call
        if config["seed"] is not None:
            config["seed"] += index  # seeded: distinct, reproducible kernels
        return type(kernel_initializer).from_config(config)  # unseeded: seeded by Keras

    layers = [keras.Input(shape=tuple(input_shape)), keras.layers.Flatten()]
    for index, units in enumerate(hidden):
        layers.append(keras.layers.Dense(int(units), activation=activation,
                                         kernel_initializer=initializer(index),
                                         kernel_regularizer=kernel_regularizer))
        if dropout:
            layers.append(keras.layers.Dropout(dropout))
    layers.append(keras.layers.Dense(outputs, activation=output_activation,
                                     kernel_initializer=initializer(len(hidden)),
                                     kernel_regularizer=kernel_regularizer))
    return keras.Sequential(layers, name=name)


def accuracy(model: keras.Model | Callable, images: np.ndarray, labels: np.ndarray, *,
             batch_size: int = 250) -> float:
    """Fraction of ``images`` whose most likely class is the label.

    ``model`` is a Keras model (called with dropout off) or any function from a batch of
    images to scores (N, classes), such as a loaded model's ``predict``. Works through the
    images ``batch_size`` at a time, scaling uint8 batches on the way, so a whole test set
    never has to exist as floats (or as one batch of activations) at once.
    """
    if len(images) != len(labels) or len(images) == 0:
        raise ValueError(f"need as many labels as images (and at least one), got "
                         f"{len(images)} images and {len(labels)} labels")
    if not callable(model):
        raise TypeError(f"model must be a Keras model or a function from images to scores, "
                        f"not {type(model).__name__}")
    if isinstance(model, keras.Model):
        model = functools.partial(model, training=False)
    correct = 0
    for start in range(0, len(images), batch_size):
        scores = np.asarray(model(scale_images(images[start:start + batch_size])))
        correct += int(np.sum(np.argmax(scores, axis=1) == labels[start:start + batch_size]))
    return correct / len(images)


def tf1_classifier(hidden: int = 256, learning_rate: float = 1e-3):
    """A dense MNIST classifier as a TF1 graph, with the original program's tensor names.

    Returns ``(graph, tensors)``: ``input`` (float32 [None, 784]), ``label`` (int64
    [None]), ``keep_prob`` (the dropout keep probability: 1.0 unless fed, and fed 0.5
    in training), ``output`` (class probabilities [None, 10]), plus ``train_op``,
    ``accuracy`` and ``init``. Names are what ``import_meta_graph`` users look up.
    """
    import tensorflow as tf

    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(0)
        x = v1.placeholder(tf.float32, [None, 784], name="input")
        label = v1.placeholder(tf.int64, [None], name="label")
        keep_prob = v1.placeholder_with_default(1.0, [], name="keep_prob")
        init = v1.initializers.glorot_uniform()
        w1 = v1.get_variable("w1", [784, hidden], initializer=init)
        b1 = v1.get_variable("b1", [hidden], initializer=v1.zeros_initializer())
        w2 = v1.get_variable("w2", [hidden, 10], initializer=init)
        b2 = v1.get_variable("b2", [10], initializer=v1.zeros_initializer())
        h = tf.nn.dropout(tf.nn.relu(tf.matmul(x, w1) + b1), rate=1.0 - keep_prob)
        logits = tf.matmul(h, w2) + b2
        output = tf.nn.softmax(logits, name="output")
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=label, logits=logits))
        train_op = v1.train.AdamOptimizer(learning_rate).minimize(loss, name="train_op")
        accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(output, 1), label), tf.float32),
                                  name="accuracy")
        init_op = v1.global_variables_initializer()
    tensors = dict(input=x, label=label, keep_prob=keep_prob, output=output,
                   train_op=train_op, accuracy=accuracy, init=init_op)
    return graph, tensors
