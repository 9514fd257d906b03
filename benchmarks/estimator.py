"""tflab.estimator against a hand-written TF1 loop and the old eager shim (lesson 06).

Prints one table: the notes' heart ``model_fn``, ``--steps`` steps of 32 (default 1000),
trained by a hand-written ``MonitoredTrainingSession`` loop over the same graph, by
``tflab.estimator``, and by the eager re-implementation tflab had before issue 15 (frozen in
``benchmarks/old_estimator_shim.py``); then the canned ``LinearRegressor`` on fire/theft,
2000 steps of 128. Each time includes building the graph. The model_fn is notebook 06b's
(read from its cell, the lesson's one copy). Targets: tflab.estimator at most 2x
the hand-written loop and at least 10x faster than the old shim; LinearRegressor <= 3 s.

    .venv/bin/python benchmarks/estimator.py [--steps 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from tflab import data, estimator, machine
from tflab.source import notebook_definitions

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import old_estimator_shim  # noqa: E402  (tflab.estimator at commit 20066bc, frozen)

NOTEBOOK = ROOT / "notebooks" / "06b_estimators.ipynb"
v1 = tf.compat.v1
fc = tf.feature_column
NUMERIC = ["sbp", "tobacco", "ldl", "adiposity", "typea", "obesity", "alcohol", "age"]


def _notes_model_fn():
    """The notes' model_fn, from notebook 06b's cell."""
    namespace = {"tf": tf, "estimator": estimator}
    exec(notebook_definitions(NOTEBOOK, "my_model_fn"), namespace)
    return namespace["my_model_fn"]


notes_model_fn = _notes_model_fn()


def _standardise(column: np.ndarray):
    """``x -> (x - mean) / std`` with ``column``'s mean and standard deviation."""
    mean, std = column.mean(), column.std()
    return lambda x: (x - mean) / std


def heart_setup():
    """Feature columns, params and input_fn of notebook 06b (all 462 patients)."""
    heart = data.heart()
    features = {k: heart[k].astype(np.float32).reshape(-1, 1) for k in NUMERIC}
    features["famhist"] = heart["famhist"].reshape(-1, 1)
    columns = [fc.numeric_column(k, normalizer_fn=_standardise(features[k])) for k in NUMERIC]
    columns.append(fc.indicator_column(
        fc.categorical_column_with_vocabulary_list("famhist", ["Absent", "Present"])))
    params = {"feature_columns": columns, "hidden_units": [10, 10], "n_classes": 2}

    def input_fn():
        ds = tf.data.Dataset.from_tensor_slices((features, heart["chd"].reshape(-1, 1)))
        return ds.shuffle(462, seed=42).repeat().batch(32)

    return params, input_fn, heart


def hand_written(params, input_fn, steps: int) -> float:
    """The same graph in a plain MonitoredTrainingSession loop: no checkpoints, no logging."""
    start = time.perf_counter()
    with tf.Graph().as_default():
        v1.set_random_seed(42)
        v1.train.get_or_create_global_step()
        iterator = v1.data.make_initializable_iterator(input_fn())
        features, labels = iterator.get_next()
        spec = notes_model_fn(features, labels, estimator.ModeKeys.TRAIN, params)
        scaffold = v1.train.Scaffold(local_init_op=tf.group(
            v1.local_variables_initializer(), v1.tables_initializer(), iterator.initializer))
        with v1.train.MonitoredTrainingSession(
                scaffold=scaffold, hooks=[v1.train.StopAtStepHook(num_steps=steps)],
                save_summaries_steps=None, save_summaries_secs=None,
                log_step_count_steps=None) as session:
            while not session.should_stop():
                session.run(spec.train_op)
    return time.perf_counter() - start


def with_tflab(params, input_fn, steps: int) -> float:
    """tflab.estimator: a checkpoint at the start and the end, as Estimators did."""
    config = estimator.RunConfig(tf_random_seed=42, log_step_count_steps=None)
    model = estimator.Estimator(notes_model_fn, model_dir=tempfile.mkdtemp(), config=config,
                                params=params)
    start = time.perf_counter()
    model.train(input_fn, steps=steps)
    return time.perf_counter() - start


def with_old_shim(params, input_fn, steps: int) -> float:
    """The same network through the old shim's contract (Keras optimizer, its metrics)."""
    import keras

    shim = old_estimator_shim

    def model_fn(features, labels, mode, params):
        net = v1.feature_column.input_layer(features, params["feature_columns"])
        for units in params["hidden_units"]:
            net = shim.dense(net, units, activation=tf.nn.relu)
        logits = shim.dense(net, params["n_classes"])
        if mode == shim.ModeKeys.PREDICT:
            return shim.EstimatorSpec(mode, predictions={"class_ids": tf.argmax(logits, 1)})
        labels = tf.squeeze(labels, 1)  # heart_setup's labels are [batch_size, 1]
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels,
                                                                             logits=logits))
        return shim.EstimatorSpec(mode, loss=loss, train_op=keras.optimizers.Adagrad(0.05))

    config = shim.RunConfig(tf_random_seed=42, log_step_count_steps=None,
                            save_checkpoints_steps=10 ** 9)
    model = shim.Estimator(model_fn, model_dir=tempfile.mkdtemp(), config=config, params=params)
    start = time.perf_counter()
    model.train(input_fn, steps=steps)
    return time.perf_counter() - start


def linear_regressor(steps: int = 2000) -> tuple[float, float, float]:
    """Seconds, slope and intercept of the canned LinearRegressor on fire/theft."""
    x, y = data.fire_theft()

    def input_fn():
        ds = tf.data.Dataset.from_tensor_slices(({"fires": x.astype(np.float32)},
                                                 y.astype(np.float32)))
        return ds.shuffle(len(x), seed=42).repeat().batch(128)

    regressor = estimator.LinearRegressor(
        [fc.numeric_column("fires")], model_dir=tempfile.mkdtemp(),
        config=estimator.RunConfig(tf_random_seed=42, log_step_count_steps=None))
    start = time.perf_counter()
    regressor.train(input_fn, steps=steps)
    seconds = time.perf_counter() - start
    return (seconds, float(regressor.get_variable_value("linear/linear_model/fires/weights")[0, 0]),
            float(regressor.get_variable_value("linear/linear_model/bias_weights")[0]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000, help="heart steps (default 1000)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of each fast method; the fastest is reported (default 3)")
    args = parser.parse_args()
    tf.get_logger().setLevel("ERROR")
    matmul = machine.matmul_gflops()
    params, input_fn, _ = heart_setup()
    # one patient: 8 numeric columns + famhist one-hot (2) -> hidden units -> n_classes
    widths = [len(NUMERIC) + 2, *params["hidden_units"], params["n_classes"]]
    heart_work = machine.TRAINING_FACTOR * machine.dense_flops(widths) * 32 * args.steps
    hand_written(params, input_fn, 10)  # warm-up: TensorFlow's one-time costs
    repeats = max(1, args.repeats)
    hand = min(hand_written(params, input_fn, args.steps) for _ in range(repeats))
    ours = min(with_tflab(params, input_fn, args.steps) for _ in range(repeats))
    old = with_old_shim(params, input_fn, args.steps)

    print(machine.matmul_line(matmul))
    print(f"heart model_fn, {args.steps} steps of 32 (seconds, graph building included; "
          f"{machine.dense_flops(widths)} FLOPs per patient forward, dense {widths})")
    print(f"  {'hand-written MonitoredTrainingSession loop':50s} {hand:8.2f}   "
          f"{machine.share(heart_work, hand, matmul)}")
    print(f"  {'tflab.estimator':50s} {ours:8.2f}   {ours / hand:.2f}x the hand-written "
          f"loop (target <= 2x); {machine.share(heart_work, ours, matmul)}")
    print(f"  {'old eager shim (benchmarks/old_estimator_shim.py)':50s} {old:8.2f}   "
          f"tflab.estimator {old / ours:.0f}x faster (target >= 10x); "
          f"{machine.share(heart_work, old, matmul)}")
    seconds, slope, intercept = min((linear_regressor() for _ in range(repeats)),
                                    key=lambda r: r[0])
    linear_work = machine.TRAINING_FACTOR * machine.dense_flops([1, 1]) * 128 * 2000
    print(f"LinearRegressor on fire/theft, 2000 steps of 128: {seconds:.2f} s (target <= 3 s); "
          f"{machine.share(linear_work, seconds, matmul)}; "
          f"slope {slope:.4f}, intercept {intercept:.4f}")


if __name__ == "__main__":
    main()
