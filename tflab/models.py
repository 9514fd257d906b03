"""The course's models: the seed's MNIST CNN, a configurable MLP, and a TF1-style graph.

``seed_cnn`` and ``mlp`` are Keras 3 models; ``train_steps`` trains one the way the
original program did (a fixed number of mini-batches from ``next_batch``, one Adam step
each, with ``make_train_step``'s ``tf.GradientTape`` step), logging loss and batch
accuracy at every step; ``tf1_classifier`` builds the same kind of model as
a ``tf.compat.v1`` graph with named tensors, for the lesson on the TF1 way of saving.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import keras
import numpy as np

from tflab.data import BatchIterator, scale_images

__all__ = ["seed_cnn", "mlp", "TrainLog", "make_train_step", "train_steps", "scale_images",
           "accuracy", "tf1_classifier"]


def seed_cnn(*, dropout: float = 0.5, name: str = "seed_cnn") -> keras.Sequential:
    """The original article's CNN for MNIST, in Keras 3.

    784 floats → 28×28×1 → conv 5×5×32 + ReLU → 2×2 max-pool → conv 5×5×64 + ReLU →
    2×2 max-pool → dense 1024 + ReLU → dropout → dense 10 softmax. Convolutions use
    'same' padding, as the TensorFlow tutorial it came from did.
    """
    return keras.Sequential([
        keras.Input(shape=(784,), name="images"),
        keras.layers.Reshape((28, 28, 1)),
        keras.layers.Conv2D(32, 5, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(64, 5, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(1024, activation="relu"),
        keras.layers.Dropout(dropout),
        keras.layers.Dense(10, activation="softmax"),
    ], name=name)


def mlp(input_shape: Sequence[int] = (784,), hidden: Sequence[int] = (512,), *,
        activation: str = "relu", dropout: float = 0.0, outputs: int = 10,
        output_activation: str | None = "softmax", kernel_initializer="glorot_uniform",
        kernel_regularizer=None, name: str = "mlp") -> keras.Sequential:
    """A dense network: flatten the input, ``hidden`` dense layers, then ``outputs`` units.

    ``dropout`` (if above 0) follows every hidden layer. Initialiser and regulariser
    apply to every dense layer.
    """
    if not all(int(h) > 0 for h in hidden) or outputs < 1:
        raise ValueError(f"layer sizes must be positive, got hidden={list(hidden)}, "
                         f"outputs={outputs}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), not {dropout}")
    layers = [keras.Input(shape=tuple(input_shape)), keras.layers.Flatten()]
    for units in hidden:
        layers.append(keras.layers.Dense(int(units), activation=activation,
                                         kernel_initializer=kernel_initializer,
                                         kernel_regularizer=kernel_regularizer))
        if dropout:
            layers.append(keras.layers.Dropout(dropout))
    layers.append(keras.layers.Dense(outputs, activation=output_activation,
                                     kernel_initializer=kernel_initializer,
                                     kernel_regularizer=kernel_regularizer))
    return keras.Sequential(layers, name=name)


@dataclass
class TrainLog:
    """What ``train_steps`` did: the loss and batch accuracy of every step, and the time taken."""

    loss: list[float] = field(default_factory=list)
    batch_accuracy: list[float] = field(default_factory=list)
    seconds: float = 0.0


def make_train_step(model: keras.Model) -> Callable:
    """One training step as a graph: Adam on the cross-entropy of one batch.

    Returns ``train_step(images, labels) -> (loss, accuracy)``, both measured on the
    batch before the update, with dropout on (as the step trains). The loss and the
    optimizer are the ones ``model.compile`` was given (a loss object or its name).
    """
    import tensorflow as tf

    loss_fn = keras.losses.get(model.loss)  # "sparse_categorical_crossentropy" -> the function

    @tf.function
    def train_step(images, labels):
        with tf.GradientTape() as tape:
            probabilities = model(images, training=True)   # dropout on
            loss = tf.reduce_mean(loss_fn(labels, probabilities))  # mean over the batch
        gradients = tape.gradient(loss, model.trainable_variables)
        model.optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        predicted = tf.argmax(probabilities, axis=1, output_type=labels.dtype)
        accuracy = tf.reduce_mean(tf.cast(predicted == labels, tf.float32))
        return loss, accuracy

    return train_step


def train_steps(model: keras.Model, images: np.ndarray, labels: np.ndarray, *, steps: int,
                batch_size: int = 50, learning_rate: float = 1e-4, seed: int = 0) -> TrainLog:
    """Train ``model`` on ``steps`` mini-batches of ``batch_size``, as the original program did.

    Batches come from :class:`tflab.data.BatchIterator` (shuffled every epoch, seeded);
    ``uint8`` images are scaled to [0, 1] batch by batch, which saves memory. An
    uncompiled model is compiled with Adam at ``learning_rate`` and sparse categorical
    cross-entropy, so that saving it also saves the optimizer; a compiled one keeps
    its optimizer (``learning_rate`` is then ignored) and trains further.
    """
    if steps < 1 or batch_size < 1:
        raise ValueError(f"steps and batch_size must be positive, got {steps} and {batch_size}")
    if not getattr(model, "compiled", False):
        model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                      loss=keras.losses.SparseCategoricalCrossentropy())
    train_step = make_train_step(model)
    batches = BatchIterator(images, labels, seed=seed)
    log = TrainLog()
    start = time.perf_counter()
    for _ in range(steps):
        batch_images, batch_labels = batches.next_batch(batch_size)
        loss, accuracy = train_step(scale_images(batch_images), batch_labels.astype(np.int64))
        log.loss.append(float(loss))
        log.batch_accuracy.append(float(accuracy))
    log.seconds = time.perf_counter() - start
    return log


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
