"""Notebook 06b's Estimator code through the real tf.estimator (TensorFlow 2.15.1), for comparison.

TensorFlow 2.16 removed tf.estimator, so this script does NOT run in the course environment
(and no test imports it). Run it in a throw-away environment:

    python3.11 -m venv /tmp/tf215
    /tmp/tf215/bin/pip install tensorflow==2.15.1 xlrd    # brings tensorflow-estimator 2.15
    TFLAB_DATA_DIR=/work/shared/data /tmp/tf215/bin/python benchmarks/real_estimator_tf215.py

It reads ``my_model_fn`` (the notes' model_fn) from notebook 06b
(``tflab.source.notebook_definitions``) and runs it
with ``estimator`` standing for ``tf.estimator`` and ``estimator.dense`` for
``tf.compat.v1.layers.dense`` (which TF 2.15 still had), on notebook 06b's data, feature
columns, input_fn, seeds and steps. Each of ``--runs`` fresh processes (default 3) prints one
line: the heart model's test accuracy at graph seed 42 and at seeds 0-4 (1000 steps of 32 on
the first 370 patients, tested on the last 92), the first initial kernel value of a seeded
one-layer ``tf.compat.v1.layers.dense`` graph, and the slope and intercept of
``tf.compat.v1.estimator.LinearRegressor`` (TF1's, loss summed over the batch) and
``tf.estimator.LinearRegressor`` (TF2's V2, loss averaged) on fire/theft, 2000 steps of 128.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "06b_estimators.ipynb"
SEED, TRAIN_ROWS = 42, 370
NUMERIC = ["sbp", "tobacco", "ldl", "adiposity", "typea", "obesity", "alcohol", "age"]


def one_run() -> dict:
    import numpy as np
    import tensorflow as tf

    sys.path.insert(0, str(ROOT))
    from tflab import data  # numpy and xlrd only
    from tflab.source import notebook_definitions

    tf.get_logger().setLevel("ERROR")
    fc = tf.feature_column
    estimator = types.SimpleNamespace(ModeKeys=tf.estimator.ModeKeys,
                                      EstimatorSpec=tf.estimator.EstimatorSpec,
                                      dense=tf.compat.v1.layers.dense)
    namespace = {"tf": tf, "estimator": estimator}
    exec(notebook_definitions(NOTEBOOK, "my_model_fn"), namespace)
    my_model_fn = namespace["my_model_fn"]

    heart = data.heart()
    table = {k: heart[k].astype(np.float32).reshape(-1, 1) for k in NUMERIC}
    table["famhist"] = heart["famhist"].astype(str).reshape(-1, 1)
    train = {k: v[:TRAIN_ROWS] for k, v in table.items()}
    test = {k: v[TRAIN_ROWS:] for k, v in table.items()}
    y_train, y_test = heart["chd"][:TRAIN_ROWS], heart["chd"][TRAIN_ROWS:]
    stats = {k: (float(train[k].mean()), float(train[k].std())) for k in NUMERIC}
    columns = [fc.numeric_column(k, normalizer_fn=lambda x, m=m, s=s: (x - m) / s)
               for k, (m, s) in stats.items()]
    columns.append(fc.indicator_column(
        fc.categorical_column_with_vocabulary_list("famhist", ["Absent", "Present"])))
    params = {"feature_columns": columns, "hidden_units": [10, 10], "n_classes": 2}

    def input_fn(split, labels, epochs=1, shuffle=False, batch_size=32):
        def fn():
            # labels as [batch_size, 1], as the notes' model_fn reads them
            ds = tf.data.Dataset.from_tensor_slices((dict(split), labels.reshape(-1, 1)))
            if shuffle:
                ds = ds.shuffle(len(labels), seed=SEED)
            return ds.repeat(epochs).batch(batch_size)
        return fn

    def heart_accuracy(seed: int) -> float:
        config = tf.estimator.RunConfig(tf_random_seed=seed, log_step_count_steps=None)
        model = tf.estimator.Estimator(my_model_fn, model_dir=tempfile.mkdtemp(),
                                       config=config, params=params)
        model.train(input_fn(train, y_train, epochs=100, shuffle=True), steps=1000)
        return round(float(model.evaluate(input_fn(test, y_test))["my_accuracy"]), 4)

    with tf.Graph().as_default():  # does a graph seed fix the legacy layer's initial weights?
        tf.compat.v1.set_random_seed(SEED)
        tf.compat.v1.layers.dense(tf.ones([1, 3]), 2)
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            kernel = session.run(tf.compat.v1.trainable_variables()[0])

    x, y = data.fire_theft()

    def fire_input_fn():
        ds = tf.data.Dataset.from_tensor_slices(({"fires": x.astype(np.float32)},
                                                 y.astype(np.float32)))
        return ds.shuffle(len(x), seed=SEED).repeat().batch(128)

    def linear(cls) -> list[float]:
        regressor = cls([fc.numeric_column("fires")], model_dir=tempfile.mkdtemp(),
                        config=tf.estimator.RunConfig(tf_random_seed=SEED))
        regressor.train(fire_input_fn, steps=2000)
        return [round(float(regressor.get_variable_value(f"linear/linear_model/{name}")
                            .ravel()[0]), 4) for name in ("fires/weights", "bias_weights")]

    return {"seed 42": heart_accuracy(SEED),
            "seeds 0-4": [heart_accuracy(seed) for seed in range(5)],
            "seeded dense kernel[0,0]": round(float(kernel[0, 0]), 4),
            "LinearRegressor v1 (SUM) slope, intercept":
                linear(tf.compat.v1.estimator.LinearRegressor),
            "LinearRegressor v2 (SUM_OVER_BATCH_SIZE) slope, intercept":
                linear(tf.estimator.LinearRegressor)}


def main() -> None:
    if "--one" in sys.argv:
        print("RESULT " + json.dumps(one_run()))
        return
    runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 3
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    for run in range(1, runs + 1):
        out = subprocess.run([sys.executable, __file__, "--one"], capture_output=True,
                             text=True, check=True, env=env).stdout
        result = next(line for line in out.splitlines() if line.startswith("RESULT "))
        print(f"run {run}: {result[len('RESULT '):]}", flush=True)


if __name__ == "__main__":
    main()
