"""Lesson 09's training code that runs as cluster tasks: the toy problem, the
parameter-server coordinator, and a worker that verifies and scores a shared model.

The launcher that starts the tasks is :mod:`tflab.cluster`.
"""

from __future__ import annotations

import os

from tflab.cluster import task_pids, tf_config

__all__ = ["GLOBAL_BATCH", "toy_data", "score_shared_model", "parameter_server_train"]


GLOBAL_BATCH = 32


def toy_data(n: int = 512, seed: int = 0):
    """A small deterministic classification problem: ``n`` points with 8 standard-normal
    features; the class is 1 where the weighted sum ``1*x1 + 2*x2 + ... + 8*x8`` is positive."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype("float32")
    y = (x @ np.arange(1, 9) > 0).astype("int32")
    return x, y


def score_shared_model(path: str, sha256: str) -> dict:
    """A cluster task: verify an MNIST SavedModel's checksum, then load it and score.

    Every node needs the model file; here it reads it from a shared path and refuses
    a copy whose checksum differs from the one the chief published.
    """
    from tflab import data, models, registry
    from tflab.files import folder_sha256
    from tflab.saving import ModelError

    found = folder_sha256(path)
    if found != sha256:
        raise ModelError(f"{path}: checksum {found[:12]}… is not the expected "
                         f"{sha256[:12]}…; refusing to use this copy")
    validation = data.mnist(flatten=True).validation
    with registry.load(path, scope="block") as model:  # lesson 05's loader
        accuracy = models.accuracy(model.predict, *validation)
    return {"task": tf_config()["task"], "accuracy": accuracy}


def parameter_server_train(steps: int, kill_worker_at: int | None = None) -> dict:
    """The coordinator of a ParameterServerStrategy cluster (run it as the chief task).

    Schedules ``steps`` asynchronous training steps on the workers with
    ``ClusterCoordinator``. With ``kill_worker_at``, it waits until that many steps have
    run, kills worker 1 (SIGKILL), and only then schedules the remaining steps: worker 1's
    closures fail, the coordinator puts them back in its queue and worker 0 runs them.
    Returns the steps run (all, and before the kill), the final accuracy on the training
    data, the seconds taken and the killed worker's process id.
    """
    if kill_worker_at is not None and not 0 < kill_worker_at < steps:
        raise ValueError(f"kill_worker_at must be between 1 and steps - 1 ({steps - 1}), "
                         f"not {kill_worker_at!r}")
    import signal as signals
    import time as timing

    import keras
    import tensorflow as tf

    from tflab import models

    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    strategy = tf.distribute.ParameterServerStrategy(resolver)
    coordinator = tf.distribute.coordinator.ClusterCoordinator(strategy)
    x, y = toy_data()
    with strategy.scope():
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                                  keras.layers.Dense(2, activation="softmax")])
        optimizer = keras.optimizers.SGD(0.1)
        counter = tf.Variable(0, dtype=tf.int64)

    def dataset_fn():
        return tf.data.Dataset.from_tensor_slices((x, y)).shuffle(512, seed=0).repeat() \
            .batch(GLOBAL_BATCH)

    iterator = iter(coordinator.create_per_worker_dataset(dataset_fn))

    @tf.function
    def step(iterator):
        def replica_step(xb, yb):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(yb, model(xb)))
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            counter.assign_add(1)
            return loss

        return strategy.run(replica_step, args=next(iterator))

    start = timing.perf_counter()
    killed, before_kill = None, None
    for i in range(steps):
        if i == kill_worker_at:
            coordinator.join()  # the first `kill_worker_at` steps have run: a barrier
            before_kill = int(counter.numpy())
            killed = task_pids()["worker"][1]
            os.kill(killed, signals.SIGKILL)  # every later step meets a dead worker 1
        coordinator.schedule(step, args=(iterator,))
    coordinator.join()
    seconds = timing.perf_counter() - start
    accuracy = models.accuracy(model, x, y)
    return {"steps": int(counter.numpy()), "steps_before_kill": before_kill,
            "accuracy": accuracy, "seconds": seconds, "killed_worker_pid": killed}
