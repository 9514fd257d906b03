"""Scenarios run through the real ``tf.estimator`` or through ``tflab.estimator``.

One program for both environments::

    python scenarios.py --backend real|tflab --scenario NAME --workdir DIR --out result.json

``--backend real`` (TensorFlow 2.15 with tensorflow-estimator, ``make real-estimator-env``)
binds ``est = tf.estimator``, ``LinearRegressor = tf.compat.v1.estimator.LinearRegressor`` and
``dense = tf.compat.v1.layers.dense``; ``--backend tflab`` binds ``tflab.estimator``, its
``LinearRegressor`` and its ``dense``. The scenarios are written once, against the real API;
that mapping (:func:`backend`) is the only switch. Each records what a user sees as JSON:
metrics, losses, checkpoint variables, predictions, exported signatures and their outputs,
event-file tags, errors for bad use. ``test_real_estimator.py`` compares the two files.

``--write-initial-checkpoint DIR`` writes the fixed initial weights of the notes' model
(:func:`write_initial_checkpoint`), which both sides warm-start from (``--initial-checkpoint``).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import time
import traceback
import types
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "06b_estimators.ipynb"
SEED = 42

# The notes' model: three numeric features and famhist (two values) -> input layer of 5,
# hidden_units [10, 10], 2 classes. The variables tf.compat.v1.layers.dense creates, in order.
NOTES_VARIABLES = {"dense/kernel": (5, 10), "dense/bias": (10,),
                   "dense_1/kernel": (10, 10), "dense_1/bias": (10,),
                   "dense_2/kernel": (10, 2), "dense_2/bias": (2,)}


def backend(name: str) -> types.SimpleNamespace:
    """``est`` (the estimator module), ``LinearRegressor`` and ``dense`` of one backend."""
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    if name == "real":
        return types.SimpleNamespace(name=name, tf=tf, est=tf.estimator,
                                     LinearRegressor=tf.compat.v1.estimator.LinearRegressor,
                                     dense=tf.compat.v1.layers.dense)
    from tflab import estimator

    return types.SimpleNamespace(name=name, tf=tf, est=estimator,
                                 LinearRegressor=estimator.LinearRegressor,
                                 dense=estimator.dense)


# -- recording what a user sees


def plain(value):
    """``value`` as JSON: arrays and NumPy scalars as ``{dtype, shape, value}``, bytes decoded."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
        values = array.tolist()
        if array.dtype.kind in "SO":
            values = np.vectorize(lambda b: b.decode() if isinstance(b, bytes) else str(b),
                                  otypes=[object])(array).tolist()
        return {"dtype": array.dtype.name if array.dtype.kind not in "SO" else "string",
                "shape": list(array.shape), "value": values}
    if isinstance(value, bytes):
        return value.decode()
    return value


def error_of(fn: Callable[[], object]) -> dict:
    """The exception ``fn()`` raises: its type's name and message (type None when none)."""
    try:
        result = fn()
        if isinstance(result, types.GeneratorType):
            list(result)
    except Exception as exc:  # the type is what is compared
        return {"type": type(exc).__name__, "message": str(exc)[:500]}
    return {"type": None}


def checkpoint(model_dir: str) -> dict:
    """The latest checkpoint's name and its variables' names and shapes."""
    import tensorflow as tf

    latest = tf.train.latest_checkpoint(model_dir)
    if latest is None:
        return {"latest": None}
    return {"latest": os.path.basename(latest),
            "variables": {name: list(shape) for name, shape in tf.train.list_variables(latest)}}


def files(model_dir: str) -> list[str]:
    """The files under ``model_dir``, event files named by folder only (their names hold the
    host and time), exported SavedModels' timestamped folders as ``<timestamp>``."""
    found = []
    for path in sorted(Path(model_dir).rglob("*")):
        if path.is_dir():
            continue
        parts = list(path.relative_to(model_dir).parts)
        if parts[-1].startswith("events.out.tfevents."):
            parts[-1] = "events.out.tfevents.*"
        parts = ["<timestamp>" if p.isdigit() and len(p) >= 9 else p for p in parts]
        found.append("/".join(parts))
    return sorted(set(found))


def events(model_dir: str, values_of: tuple[str, ...] = ()) -> dict:
    """Per folder under ``model_dir``: each summary tag and the steps it was written at;
    for the tags in ``values_of``, ``[step, value]`` pairs instead (training's own folder:
    its tags only, see below)."""
    import tensorflow as tf

    folders: dict[str, dict[str, list]] = {}
    for path in sorted(Path(model_dir).rglob("events.out.tfevents.*")):
        folder = str(path.parent.relative_to(model_dir))
        tags = folders.setdefault(folder, {})
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                if value.tag in values_of:
                    number = value.simple_value if value.HasField("simple_value") else \
                        float(tf.make_ndarray(value.tensor))
                    tags.setdefault(value.tag, []).append([int(event.step), number])
                else:
                    tags.setdefault(value.tag, []).append(int(event.step))
    # Training's own folder: its tags only. The original labels training summaries with a read
    # of the global step that races the training op's update (measured: 1 run in 4 of
    # notes_model_fn wrote steps 1, 11, 21, 31, 40, 49, 51 instead of 1, 11, 21, 31, 41, 51),
    # so which steps, and so which batches' values, it records varies from run to run.
    # Evaluation folders are written at a checkpoint's step: steps and values compared.
    return {folder: sorted(tags) if folder == "." else
            {tag: sorted(steps) for tag, steps in sorted(tags.items())}
            for folder, tags in sorted(folders.items())}


def predictions(generator) -> dict:
    """What ``predict`` yields: dicts or arrays, each item's keys, dtypes, shapes, values."""
    items = list(generator)
    kinds = sorted({"dict" if isinstance(item, dict) else type(item).__name__ for item in items})
    return {"kinds": kinds, "count": len(items), "items": plain(items)}


def signatures(export_dir: bytes | str, inputs: dict[str, dict]) -> dict:
    """Each exported signature (method name, inputs' and outputs' dtypes and shapes), loaded
    back with ``tf.saved_model.load`` and called on ``inputs[signature key]`` when given."""
    import tensorflow as tf
    from tensorflow.core.protobuf import saved_model_pb2

    export_dir = export_dir.decode() if isinstance(export_dir, bytes) else str(export_dir)
    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((Path(export_dir) / "saved_model.pb").read_bytes())
    (meta_graph,) = proto.meta_graphs

    def tensors(infos, named: bool = False) -> dict:  # inputs named: what a client feeds
        return {key: {"dtype": tf.dtypes.as_dtype(info.dtype).name,
                      "shape": None if info.tensor_shape.unknown_rank else
                      [d.size for d in info.tensor_shape.dim],
                      **({"name": info.name} if named else {})}
                for key, info in sorted(infos.items())}

    found = {"tags": sorted(meta_graph.meta_info_def.tags), "signatures": {}}
    loaded = tf.saved_model.load(export_dir)
    for key, signature in sorted(meta_graph.signature_def.items()):
        entry = {"method_name": signature.method_name,
                 "inputs": tensors(signature.inputs, named=True),
                 "outputs": tensors(signature.outputs)}
        if key in inputs:
            outputs = loaded.signatures[key](**{k: tf.constant(v)
                                                for k, v in inputs[key].items()})
            entry["results"] = plain({k: v.numpy() for k, v in outputs.items()})
        found["signatures"][key] = entry
    return found


def metrics(results: dict) -> dict:
    """``evaluate``'s result, each value with its dtype."""
    return {key: plain(np.asarray(value)) for key, value in sorted(results.items())}


# -- data and models shared by the scenarios


def regression_data(rows: int = 40) -> tuple[dict, np.ndarray]:
    """Seeded features ``x`` (rows, 3), ``w`` (example weights) and ``color`` (a string),
    and labels (rows, 1) from a known line plus noise."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 3)).astype(np.float32)
    color = rng.choice(["red", "green", "blue"], size=(rows, 1))
    shift = np.where(color == "red", 1.0, np.where(color == "green", -1.0, 0.0))
    y = (x @ np.array([[1.0], [-2.0], [0.5]]) + 0.3 + shift
         + 0.1 * rng.normal(size=(rows, 1))).astype(np.float32)
    w = rng.uniform(0.2, 2.0, size=(rows, 1)).astype(np.float32)
    return {"x": x, "w": w, "color": color}, y


def dataset_fn(tf, features: dict, labels: np.ndarray | None, batch_size: int = 8,
               epochs: int | None = 1) -> Callable:
    """An ``input_fn``: ``(features, labels)`` batches in order, or features only."""
    def input_fn():
        data = dict(features) if labels is None else (dict(features), labels)
        return tf.data.Dataset.from_tensor_slices(data).repeat(epochs).batch(batch_size)
    return input_fn


def small_model_fn(api, export_outputs: Callable | None = None) -> Callable:
    """A linear model of ``features['x']`` with fixed initial weights (so both backends start
    equal), squared-error loss, SGD, metric ``mae``; ``export_outputs(api, y)`` adds exports."""
    tf, est = api.tf, api.est
    v1 = tf.compat.v1

    def model_fn(features, labels, mode):
        w = v1.get_variable("w", [3, 1], initializer=v1.constant_initializer([0.1, -0.2, 0.3]))
        b = v1.get_variable("b", [1], initializer=v1.zeros_initializer())
        y = tf.matmul(features["x"], w) + b
        if mode == est.ModeKeys.PREDICT:
            return est.EstimatorSpec(
                mode, predictions={"y": y, "doubled": 2.0 * y},
                export_outputs=export_outputs(api, y) if export_outputs else None)
        loss = v1.losses.mean_squared_error(labels, y)
        if mode == est.ModeKeys.EVAL:
            return est.EstimatorSpec(mode, loss=loss, eval_metric_ops={
                "mae": v1.metrics.mean_absolute_error(labels, y)})
        train_op = v1.train.GradientDescentOptimizer(0.05).minimize(
            loss, global_step=v1.train.get_global_step())
        return est.EstimatorSpec(mode, loss=loss, train_op=train_op)

    return model_fn


def examples(tf, features: dict) -> list[bytes]:
    """``features`` (numeric ``x``, string ``color``) as serialized ``tf.train.Example``s."""
    found = []
    for i in range(len(features["x"])):
        feature = {"x": tf.train.Feature(float_list=tf.train.FloatList(
            value=features["x"][i].tolist()))}
        if "color" in features:
            feature["color"] = tf.train.Feature(bytes_list=tf.train.BytesList(
                value=[features["color"][i, 0].encode()]))
        found.append(tf.train.Example(features=tf.train.Features(feature=feature))
                     .SerializeToString())
    return found


def fresh_dir(workdir: Path, name: str) -> str:
    path = workdir / name
    path.mkdir(parents=True, exist_ok=False)
    return str(path)


# -- the scenarios: each takes the backend and a fresh folder, and returns what it saw


def notes_model_fn(api, workdir: Path, initial_checkpoint: str | None) -> dict:
    """The notes' ``my_model_fn`` and ``TimeBasedStopHook`` (read from notebook 06b) on seeded
    heart-like data, warm-started from the harness's fixed initial weights."""
    from tflab.source import notebook_definitions

    tf, est = api.tf, api.est
    fc = tf.feature_column
    namespace = {"tf": tf, "time": time, "TRAIN_TIME": 3600.0,
                 "estimator": types.SimpleNamespace(ModeKeys=est.ModeKeys,
                                                    EstimatorSpec=est.EstimatorSpec,
                                                    dense=api.dense)}
    exec(notebook_definitions(NOTEBOOK, "my_model_fn", "TimeBasedStopHook"), namespace)
    rng = np.random.default_rng(1)
    numeric = rng.normal(size=(64, 3)).astype(np.float32)
    famhist = rng.choice(["Absent", "Present"], size=(64, 1))
    labels = ((numeric[:, :1] - numeric[:, 1:2] + (famhist == "Present")) > 0.5).astype(np.int64)
    features = {"a": numeric[:, :1], "b": numeric[:, 1:2], "c": numeric[:, 2:], "famhist": famhist}
    columns = [fc.numeric_column(k) for k in ("a", "b", "c")]
    columns.append(fc.indicator_column(
        fc.categorical_column_with_vocabulary_list("famhist", ["Absent", "Present"])))
    params = {"feature_columns": columns, "hidden_units": [10, 10], "n_classes": 2}
    model_dir = fresh_dir(workdir, "notes")
    model = est.Estimator(namespace["my_model_fn"], model_dir=model_dir, params=params,
                          config=est.RunConfig(tf_random_seed=SEED, save_summary_steps=10,
                                               log_step_count_steps=25),
                          warm_start_from=initial_checkpoint)
    model.train(dataset_fn(tf, features, labels, batch_size=16, epochs=None), steps=50,
                hooks=[namespace["TimeBasedStopHook"]()])
    out = {"global_step after 50 steps (TRAIN_TIME 1 hour)": model.get_variable_value(
        "global_step").item()}
    namespace["TRAIN_TIME"] = 0.0  # the hook stops after the first step
    model.train(dataset_fn(tf, features, labels, batch_size=16, epochs=None), steps=50,
                hooks=[namespace["TimeBasedStopHook"]()])
    out["global_step after TRAIN_TIME 0"] = model.get_variable_value("global_step").item()
    out["metrics"] = metrics(model.evaluate(dataset_fn(tf, features, labels, batch_size=16)))
    out["checkpoint"] = checkpoint(model_dir)
    out["kernel"] = plain(model.get_variable_value("dense_2/kernel"))
    out["predictions"] = predictions(model.predict(dataset_fn(tf, features, None, 16)))
    spec = {k: tf.constant(v[:1]) for k, v in features.items()}
    export = model.export_saved_model(
        str(workdir / "notes_export"), est.export.build_raw_serving_input_receiver_fn(spec))
    out["export"] = signatures(export, {"serving_default": {k: v[:4]
                                                            for k, v in features.items()}})
    out["events"] = events(model_dir)
    out["files"] = files(model_dir)
    return out


def _linear_regressor(api, workdir: Path, loss_reduction: str) -> dict:
    """LinearRegressor with a numeric, a categorical (sparse_combiner 'mean') and a weight
    column: train, evaluate, predict, export over serialized tf.Examples."""
    tf, est = api.tf, api.est
    fc = tf.feature_column
    features, labels = regression_data()
    columns = [fc.numeric_column("x", shape=(3,)),
               fc.categorical_column_with_vocabulary_list("color", ["red", "green", "blue"])]
    model_dir = fresh_dir(workdir, "linear")
    model = api.LinearRegressor(columns, model_dir=model_dir, weight_column="w",
                                loss_reduction=loss_reduction, sparse_combiner="mean",
                                config=est.RunConfig(tf_random_seed=SEED, save_summary_steps=5,
                                                     log_step_count_steps=10))
    out = {"class": type(model).__name__}
    model.train(dataset_fn(tf, features, labels, epochs=None), steps=30)
    out["metrics"] = metrics(model.evaluate(dataset_fn(tf, features, labels)))
    unweighted = {k: v for k, v in features.items() if k != "w"}
    out["metrics, weights all 1"] = metrics(model.evaluate(dataset_fn(
        tf, {**unweighted, "w": np.ones_like(features["w"])}, labels)))
    out["checkpoint"] = checkpoint(model_dir)
    out["weights"] = {name: plain(model.get_variable_value(name)) for name in (
        "linear/linear_model/x/weights", "linear/linear_model/color/weights",
        "linear/linear_model/bias_weights")}
    out["predictions"] = predictions(model.predict(dataset_fn(tf, unweighted, None)))
    receiver = est.export.build_parsing_serving_input_receiver_fn(
        fc.make_parse_example_spec(columns))
    export = model.export_saved_model(str(workdir / "linear_export"), receiver)
    serialized = examples(tf, {k: v[:4] for k, v in unweighted.items()})
    out["export"] = signatures(export, {"serving_default": {"inputs": serialized},
                                        "regression": {"inputs": serialized},
                                        "predict": {"examples": serialized}})
    out["events"] = events(model_dir, values_of=("loss", "average_loss"))
    out["files"] = files(model_dir)
    return out


def linear_sum(api, workdir: Path, initial_checkpoint: str | None) -> dict:
    """LinearRegressor, loss summed over the batch (TF1's default)."""
    return _linear_regressor(api, workdir, api.tf.compat.v1.losses.Reduction.SUM)


def linear_mean(api, workdir: Path, initial_checkpoint: str | None) -> dict:
    """LinearRegressor, loss averaged over the batch (TF2's LinearRegressorV2 default)."""
    return _linear_regressor(api, workdir, api.tf.compat.v1.losses.Reduction.SUM_OVER_BATCH_SIZE)


def features_only(api, workdir: Path, initial_checkpoint: str | None) -> dict:
    """An input_fn that returns features only: model_fn gets ``labels=None`` in every mode."""
    tf, est = api.tf, api.est
    v1 = tf.compat.v1
    seen = []

    def model_fn(features, labels, mode):
        seen.append([mode, labels is None])
        w = v1.get_variable("w", [3, 1], initializer=v1.constant_initializer([0.5, -0.5, 1.0]))
        y = tf.matmul(features["x"], w)
        if mode == est.ModeKeys.PREDICT:
            return est.EstimatorSpec(mode, predictions={"y": y})
        loss = tf.reduce_mean(tf.square(y))  # shrink the outputs: no labels needed
        if mode == est.ModeKeys.EVAL:
            return est.EstimatorSpec(mode, loss=loss,
                                     eval_metric_ops={"mean_y": v1.metrics.mean(y)})
        train_op = v1.train.GradientDescentOptimizer(0.1).minimize(
            loss, global_step=v1.train.get_global_step())
        return est.EstimatorSpec(mode, loss=loss, train_op=train_op)

    features, _ = regression_data()
    x_only = {"x": features["x"]}
    model_dir = fresh_dir(workdir, "features_only")
    model = est.Estimator(model_fn, model_dir=model_dir)

    def tensors_input_fn():  # a (features) dict of tensors, not a Dataset
        return {"x": tf.constant(features["x"][:8])}

    model.train(dataset_fn(tf, x_only, None, epochs=None), steps=10)
    model.train(tensors_input_fn, steps=5)
    out = {"metrics": metrics(model.evaluate(dataset_fn(tf, x_only, None))),
           "predictions": predictions(model.predict(dataset_fn(tf, x_only, None, 16))),
           "labels is None, per model_fn call": seen,
           "checkpoint": checkpoint(model_dir)}
    return out


def non_dict_predictions(api, workdir: Path, initial_checkpoint: str | None) -> dict:
    """``predictions`` a single tensor (not a dict), yielded per example and per batch."""
    tf, est = api.tf, api.est
    v1 = tf.compat.v1

    def model_fn(features, labels, mode):
        w = v1.get_variable("w", [3, 2], initializer=v1.constant_initializer(
            [[0.1, 0.2], [0.3, -0.4], [0.5, 0.6]]))
        y = tf.matmul(features["x"], w)
        if mode == est.ModeKeys.PREDICT:
            return est.EstimatorSpec(mode, predictions=y)
        loss = v1.losses.mean_squared_error(tf.tile(labels, [1, 2]), y)
        train_op = v1.train.GradientDescentOptimizer(0.05).minimize(
            loss, global_step=v1.train.get_global_step())
        return est.EstimatorSpec(mode, loss=loss, train_op=train_op)

    features, labels = regression_data(10)
    model = est.Estimator(model_fn, model_dir=fresh_dir(workdir, "non_dict"))
    model.train(dataset_fn(tf, {"x": features["x"]}, labels, batch_size=4), steps=2)
    input_fn = dataset_fn(tf, {"x": features["x"]}, None, batch_size=4)
    return {"yield_single_examples=True": predictions(model.predict(input_fn)),
            "yield_single_examples=False": predictions(
                model.predict(input_fn, yield_single_examples=False)),
            "predict_keys given": error_of(lambda: model.predict(input_fn,
                                                                 predict_keys=["y"]))}


def _export_outputs(api, y) -> dict:
    tf, export = api.tf, api.est.export
    scores = tf.concat([tf.sigmoid(y), 1.0 - tf.sigmoid(y)], axis=1)
    classes = tf.tile(tf.constant([["yes", "no"]]), [tf.shape(y)[0], 1])
    return {"serving_default": export.PredictOutput({"y": y, "scores": scores}),
            "classify": export.ClassificationOutput(scores=scores, classes=classes),
            "regress": export.RegressionOutput(value=tf.squeeze(y, 1))}


def _train_small(api, workdir: Path, name: str, export_outputs=None):
    tf, est = api.tf, api.est
    features, labels = regression_data()
    model = est.Estimator(small_model_fn(api, export_outputs),
                          model_dir=fresh_dir(workdir, name))
    model.train(dataset_fn(tf, {"x": features["x"]}, labels, epochs=None), steps=10)
    return model, features


def export_outputs_raw(api, workdir: Path, initial_checkpoint: str | None) -> dict:
    """PredictOutput, ClassificationOutput and RegressionOutput with a raw receiver (one float
    input): the real one keeps only the signatures that input allows."""
    tf, est = api.tf, api.est
    model, features = _train_small(api, workdir, "raw", _export_outputs)
    receiver = est.export.build_raw_serving_input_receiver_fn(
        {"x": tf.constant(features["x"][:1])})
    export = model.export_saved_model(str(workdir / "raw_export"), receiver)
    x = features["x"][:4]
    return {"export": signatures(export, {key: {"x": x} for key in (
        "serving_default", "classify", "regress", "predict")}),
        "returns": type(export).__name__}


def export_outputs_parsing(api, workdir: Path, initial_checkpoint: str | None) -> dict:
    """The three kinds of export output over serialized tf.Examples (a parsing receiver)."""
    tf, est = api.tf, api.est
    model, features = _train_small(api, workdir, "parsing", _export_outputs)
    receiver = est.export.build_parsing_serving_input_receiver_fn(
        {"x": tf.io.FixedLenFeature([3], tf.float32)})
    export = model.export_saved_model(str(workdir / "parsing_export"), receiver)
    serialized = examples(tf, {"x": features["x"][:4]})
    return {"export": signatures(export, {"serving_default": {"examples": serialized},
                                          "classify": {"inputs": serialized},
                                          "regress": {"inputs": serialized},
                                          "predict": {"examples": serialized}})}


def before_training(api, workdir: Path, initial_checkpoint: str | None) -> dict:
    """evaluate and predict with no checkpoint run from the initial values; export fails."""
    tf, est = api.tf, api.est
    features, labels = regression_data()
    model_dir = fresh_dir(workdir, "untrained")
    model = est.Estimator(small_model_fn(api), model_dir=model_dir)
    x = {"x": features["x"]}
    out = {"metrics": metrics(model.evaluate(dataset_fn(tf, x, labels))),
           "predictions": predictions(model.predict(dataset_fn(tf, x, None))),
           "checkpoint": checkpoint(model_dir)}
    receiver = est.export.build_raw_serving_input_receiver_fn(
        {"x": tf.constant(features["x"][:1])})
    out["export"] = error_of(lambda: model.export_saved_model(str(workdir / "export"), receiver))
    out["events"] = events(model_dir)
    out["files"] = files(model_dir)
    return out


def resume(api, workdir: Path, initial_checkpoint: str | None) -> dict:
    """train, train again (steps add up), max_steps (an absolute step), max_steps reached."""
    tf, est = api.tf, api.est
    features, labels = regression_data()
    model_dir = fresh_dir(workdir, "resume")
    model = est.Estimator(small_model_fn(api), model_dir=model_dir,
                          config=est.RunConfig(keep_checkpoint_max=3))
    input_fn = dataset_fn(tf, {"x": features["x"]}, labels, epochs=None)
    out = {}
    for call, kwargs in [("steps=5", {"steps": 5}), ("steps=5 again", {"steps": 5}),
                         ("max_steps=12", {"max_steps": 12}), ("max_steps=12 again",
                                                               {"max_steps": 12})]:
        model.train(input_fn, **kwargs)
        out[call] = {"global_step": model.get_variable_value("global_step").item(),
                     "w": plain(model.get_variable_value("w"))}
    out["checkpoint"] = checkpoint(model_dir)
    out["metrics"] = metrics(model.evaluate(dataset_fn(tf, {"x": features["x"]}, labels)))
    out["files"] = files(model_dir)
    return out


def train_and_evaluate(api, workdir: Path, initial_checkpoint: str | None) -> dict:
    """train_and_evaluate with a TrainSpec and an EvalSpec (a checkpoint every 10 steps)."""
    tf, est = api.tf, api.est
    features, labels = regression_data()
    x = {"x": features["x"]}
    model_dir = fresh_dir(workdir, "train_and_evaluate")
    model = est.Estimator(small_model_fn(api), model_dir=model_dir,
                          config=est.RunConfig(save_checkpoints_steps=10))
    train_spec = est.TrainSpec(dataset_fn(tf, x, labels, epochs=None), max_steps=25)
    eval_spec = est.EvalSpec(dataset_fn(tf, x, labels), steps=None, name="held_out",
                             start_delay_secs=0, throttle_secs=0)
    result = est.train_and_evaluate(model, train_spec, eval_spec)
    metrics_seen, exports = result if result is not None else (None, None)
    return {"returns": type(result).__name__,
            "metrics": metrics(metrics_seen) if metrics_seen is not None else None,
            "exports": plain(exports),
            "checkpoint": checkpoint(model_dir),
            "events": events(model_dir, values_of=("mae",)),
            "files": files(model_dir),
            "TrainSpec without input_fn": error_of(lambda: est.TrainSpec(None)),
            "TrainSpec max_steps=0": error_of(lambda: est.TrainSpec(train_spec.input_fn,
                                                                    max_steps=0)),
            "EvalSpec steps=0": error_of(lambda: est.EvalSpec(eval_spec.input_fn, steps=0))}


def evaluate_name(api, workdir: Path, initial_checkpoint: str | None) -> dict:
    """evaluate(name=...) writes to eval_<name>; evaluate() to eval."""
    tf = api.tf
    model, features = _train_small(api, workdir, "named")
    _, labels = regression_data()
    input_fn = dataset_fn(tf, {"x": features["x"]}, labels)
    return {"name=validation": metrics(model.evaluate(input_fn, name="validation")),
            "no name, steps=2": metrics(model.evaluate(input_fn, steps=2)),
            "eval_dir": os.path.relpath(model.eval_dir("validation"), model.model_dir),
            "events": events(model.model_dir, values_of=("loss", "mae")),
            "files": files(model.model_dir)}


def save_summary_steps(api, workdir: Path, initial_checkpoint: str | None) -> dict:
    """Summaries every 3 steps, step rate every 4, over two calls of train (10, then 5)."""
    tf, est = api.tf, api.est
    features, labels = regression_data()
    model_dir = fresh_dir(workdir, "summaries")
    model = est.Estimator(small_model_fn(api), model_dir=model_dir,
                          config=est.RunConfig(save_summary_steps=3, log_step_count_steps=4))
    input_fn = dataset_fn(tf, {"x": features["x"]}, labels, epochs=None)
    model.train(input_fn, steps=10)
    model.train(input_fn, steps=5)
    silent_dir = fresh_dir(workdir, "no_summaries")
    silent = est.Estimator(small_model_fn(api), model_dir=silent_dir,
                           config=est.RunConfig(save_summary_steps=0, log_step_count_steps=None))
    silent.train(input_fn, steps=5)
    return {"events": events(model_dir, values_of=("loss",)),
            "events, save_summary_steps=0, log_step_count_steps=None": events(silent_dir)}


CONFIG_FIELDS = ("model_dir", "tf_random_seed", "save_summary_steps", "save_checkpoints_steps",
                 "save_checkpoints_secs", "keep_checkpoint_max", "log_step_count_steps")


def runconfig_replace(api, workdir: Path, initial_checkpoint: str | None) -> dict:
    """RunConfig's defaults, replace() (a new object, the old unchanged) and its errors."""
    est = api.est
    original = est.RunConfig(tf_random_seed=3)
    changed = original.replace(save_summary_steps=7, keep_checkpoint_max=2)

    def fields(config) -> dict:
        return {name: getattr(config, name) for name in CONFIG_FIELDS}

    model = est.Estimator(small_model_fn(api), model_dir=fresh_dir(workdir, "config"),
                          config=changed)
    return {"defaults": fields(est.RunConfig()), "original": fields(original),
            "replaced": fields(changed), "a new object": changed is not original,
            "estimator's config": {k: v for k, v in fields(model.config).items()
                                   if k != "model_dir"},
            "estimator's config.model_dir is model_dir": model.config.model_dir
            == model.model_dir,
            "unknown field": error_of(lambda: original.replace(no_such_field=1)),
            "both checkpoint triggers": error_of(lambda: original.replace(
                save_checkpoints_steps=10, save_checkpoints_secs=10))}


def saving_listeners(api, workdir: Path, initial_checkpoint: str | None) -> dict:
    """A CheckpointSaverListener's calls, with the steps they see."""
    tf, est = api.tf, api.est
    calls = []

    class Listener(tf.compat.v1.train.CheckpointSaverListener):
        def begin(self):
            calls.append(["begin"])

        def before_save(self, session, global_step_value):
            calls.append(["before_save", int(global_step_value)])

        def after_save(self, session, global_step_value):
            calls.append(["after_save", int(global_step_value)])

        def end(self, session, global_step_value):
            calls.append(["end", int(global_step_value)])

    features, labels = regression_data()
    model_dir = fresh_dir(workdir, "listeners")
    model = est.Estimator(small_model_fn(api), model_dir=model_dir,
                          config=est.RunConfig(save_checkpoints_steps=4))
    model.train(dataset_fn(tf, {"x": features["x"]}, labels, epochs=None), steps=10,
                saving_listeners=[Listener()])
    return {"calls": calls, "files": files(model_dir),
            "not a listener": error_of(lambda: model.train(
                dataset_fn(tf, {"x": features["x"]}, labels), steps=1,
                saving_listeners=[object()]))}


def bad_use(api, workdir: Path, initial_checkpoint: str | None) -> dict:
    """The errors for bad use: type and message of each."""
    tf, est = api.tf, api.est
    v1 = tf.compat.v1
    features, labels = regression_data()
    x = {"x": features["x"]}
    input_fn = dataset_fn(tf, x, labels, epochs=None)
    model = est.Estimator(small_model_fn(api), model_dir=fresh_dir(workdir, "bad"))
    out = {"steps and max_steps": error_of(lambda: model.train(input_fn, steps=5, max_steps=5)),
           "steps=0": error_of(lambda: model.train(input_fn, steps=0)),
           "max_steps=0": error_of(lambda: model.train(input_fn, max_steps=0))}

    def no_features(labels, mode):
        raise AssertionError("never called")

    def no_params(features, labels, mode):
        raise AssertionError("never called")

    out["model_fn without features"] = error_of(lambda: est.Estimator(no_features))
    out["params but model_fn lacks params"] = error_of(
        lambda: est.Estimator(no_params, params={"units": 3}))

    def with_loss_metric(features, labels, mode):
        spec = small_model_fn(api)(features, labels, mode)
        if mode != est.ModeKeys.EVAL:
            return spec
        return est.EstimatorSpec(mode, loss=spec.loss, eval_metric_ops={
            "loss": v1.metrics.mean(spec.loss)})

    model.train(input_fn, steps=2)
    eval_fn = dataset_fn(tf, x, labels)
    loss_metric = est.Estimator(with_loss_metric, model_dir=model.model_dir)
    out["a metric named loss"] = error_of(lambda: loss_metric.evaluate(eval_fn))
    predict_fn = dataset_fn(tf, x, None)
    out["predict_keys not among predictions"] = error_of(
        lambda: model.predict(predict_fn, predict_keys=["nope"]))
    out["receiver fn not callable"] = error_of(
        lambda: model.export_saved_model(str(workdir / "export"), "not a function"))
    out["receiver fn None"] = error_of(
        lambda: model.export_saved_model(str(workdir / "export"), None))

    def spec_without(missing: str) -> Callable:
        def model_fn(features, labels, mode):
            spec = small_model_fn(api)(features, labels, mode)
            return est.EstimatorSpec(mode, **{"loss": spec.loss, "train_op": spec.train_op,
                                              missing: None})
        return model_fn

    out["EstimatorSpec without loss"] = error_of(
        lambda: est.Estimator(spec_without("loss")).train(input_fn, steps=1))
    out["EstimatorSpec without train_op"] = error_of(
        lambda: est.Estimator(spec_without("train_op")).train(input_fn, steps=1))
    out["input_fn not callable"] = error_of(lambda: model.train(x, steps=1))

    def step_stays(features, labels, mode):  # minimize() without global_step=
        spec = small_model_fn(api)(features, labels, mode)
        if mode != est.ModeKeys.TRAIN:
            return spec
        return est.EstimatorSpec(mode, loss=spec.loss, train_op=v1.train.GradientDescentOptimizer(
            0.05).minimize(spec.loss))

    out["train_op does not advance the global step"] = error_of(  # finite input: it ends
        lambda: est.Estimator(step_stays, model_dir=fresh_dir(workdir, "stays")).train(
            dataset_fn(tf, x, labels), steps=3))
    out["hook not a SessionRunHook"] = error_of(
        lambda: model.train(input_fn, steps=1, hooks=[object()]))
    return out


# -- lesson 06b: what notebook 06b quotes from the real tf.estimator

NUMERIC = ["sbp", "tobacco", "ldl", "adiposity", "typea", "obesity", "alcohol", "age"]
TRAIN_ROWS = 370
LESSON_PROCESSES = 3
DETERMINISTIC = ("LinearRegressor SUM slope, intercept",
                 "LinearRegressor SUM_OVER_BATCH_SIZE slope, intercept")


def lesson06b_process(api) -> dict:
    """One fresh process's random figures: notebook 06b's heart model (the notes' model_fn,
    1000 steps of 32 on the first 370 patients, tested on the last 92) at graph seed 42 and
    seeds 0-4, and a seeded one-layer dense graph's first initial weight."""
    from tflab import data
    from tflab.source import notebook_definitions

    tf, est = api.tf, api.est
    fc = tf.feature_column
    namespace = {"tf": tf, "estimator": types.SimpleNamespace(
        ModeKeys=est.ModeKeys, EstimatorSpec=est.EstimatorSpec, dense=api.dense)}
    exec(notebook_definitions(NOTEBOOK, "my_model_fn"), namespace)
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

    def input_fn(split, labels, epochs=1, shuffle=False):
        def fn():
            ds = tf.data.Dataset.from_tensor_slices((dict(split), labels.reshape(-1, 1)))
            if shuffle:
                ds = ds.shuffle(len(labels), seed=SEED)
            return ds.repeat(epochs).batch(32)
        return fn

    def heart_accuracy(seed: int) -> float:
        config = est.RunConfig(tf_random_seed=seed, log_step_count_steps=None)
        import tempfile
        model = est.Estimator(namespace["my_model_fn"], model_dir=tempfile.mkdtemp(),
                              config=config, params=params)
        model.train(input_fn(train, y_train, epochs=100, shuffle=True), steps=1000)
        return round(float(model.evaluate(input_fn(test, y_test))["my_accuracy"]), 4)

    with tf.Graph().as_default():  # does a graph seed fix the dense layer's initial weights?
        tf.compat.v1.set_random_seed(SEED)
        api.dense(tf.ones([1, 3]), 2)
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            kernel = session.run(tf.compat.v1.trainable_variables()[0])
    return {"heart accuracy, seed 42": heart_accuracy(SEED),
            "heart accuracy, seeds 0-4": [heart_accuracy(seed) for seed in range(5)],
            "seeded dense kernel[0,0]": round(float(kernel[0, 0]), 4)}


def lesson06b(api, workdir: Path, initial_checkpoint: str | None) -> dict:
    """Notebook 06b's comparison table: the random figures from three fresh processes
    (:func:`lesson06b_process`), and the LinearRegressor's slope and intercept on fire/theft
    (2000 steps of 128, shuffled with seed 42) with either loss reduction (deterministic)."""
    from tflab import data

    tf = api.tf
    runs = []
    for run in range(LESSON_PROCESSES):
        out = workdir / f"process{run}.json"
        subprocess.run([sys.executable, __file__, "--backend", api.name, "--scenario",
                        "lesson06b_process", "--workdir", str(workdir / f"process{run}"),
                        "--out", str(out)], check=True)
        runs.append(json.loads(out.read_text())["result"])
    x, y = data.fire_theft()

    def fire_input_fn():
        ds = tf.data.Dataset.from_tensor_slices(({"fires": x.astype(np.float32)},
                                                 y.astype(np.float32)))
        return ds.shuffle(len(x), seed=SEED).repeat().batch(128)

    def slope_intercept(loss_reduction: str) -> list[float]:
        regressor = api.LinearRegressor(
            [tf.feature_column.numeric_column("fires")], loss_reduction=loss_reduction,
            model_dir=fresh_dir(workdir, loss_reduction),
            config=api.est.RunConfig(tf_random_seed=SEED, log_step_count_steps=None))
        regressor.train(fire_input_fn, steps=2000)
        return [round(float(regressor.get_variable_value(f"linear/linear_model/{name}")
                            .ravel()[0]), 4) for name in ("fires/weights", "bias_weights")]

    reduction = tf.compat.v1.losses.Reduction
    return {"processes": runs,
            DETERMINISTIC[0]: slope_intercept(reduction.SUM),
            DETERMINISTIC[1]: slope_intercept(reduction.SUM_OVER_BATCH_SIZE)}


SCENARIOS: dict[str, Callable] = {f.__name__: f for f in (
    notes_model_fn, linear_sum, linear_mean, features_only, non_dict_predictions,
    export_outputs_raw, export_outputs_parsing, before_training, resume, train_and_evaluate,
    evaluate_name, save_summary_steps, runconfig_replace, saving_listeners, bad_use, lesson06b)}


def write_initial_checkpoint(folder: str) -> str:
    """The notes' model's initial weights, fixed (seeded uniform in [-0.5, 0.5], biases 0.1),
    as a TF1 checkpoint ``folder/initial.ckpt``; returns its path."""
    import tensorflow as tf

    rng = np.random.default_rng(7)
    with tf.Graph().as_default():
        for name, shape in NOTES_VARIABLES.items():
            value = rng.uniform(-0.5, 0.5, size=shape) if name.endswith("kernel") else \
                np.full(shape, 0.1)
            tf.compat.v1.get_variable(name, initializer=value.astype(np.float32))
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            return tf.compat.v1.train.Saver().save(session, os.path.join(folder, "initial.ckpt"))


def versions(backend_name: str) -> dict:
    """The versions and machine a result was computed with."""
    import tensorflow as tf

    found = {"python": platform.python_version(), "tensorflow": tf.__version__,
             "numpy": np.__version__}
    if backend_name == "real":
        found["tensorflow_estimator"] = importlib.metadata.version("tensorflow-estimator")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["real", "tflab"])
    parser.add_argument("--scenario", choices=[*SCENARIOS, "lesson06b_process"])
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--initial-checkpoint")
    parser.add_argument("--write-initial-checkpoint", metavar="DIR")
    args = parser.parse_args()
    if args.write_initial_checkpoint:
        print(write_initial_checkpoint(args.write_initial_checkpoint))
        return
    if not (args.backend and args.scenario and args.workdir and args.out):
        parser.error("--backend, --scenario, --workdir and --out are needed")
    sys.path.insert(0, str(ROOT))  # tflab.source and tflab.data, in either environment
    args.workdir.mkdir(parents=True, exist_ok=True)
    record = {"scenario": args.scenario, "backend": args.backend,
              "meta": {"command": " ".join(["python", *sys.argv]),
                       "date": datetime.datetime.now(datetime.timezone.utc)
                       .strftime("%Y-%m-%d %H:%M UTC"),
                       "machine": f"{platform.platform()}, {os.cpu_count()} CPU cores"}}
    started = time.perf_counter()
    try:  # a failure, even importing the backend, is recorded for the comparison to show
        api = backend(args.backend)
        record["meta"]["versions"] = versions(args.backend)
        if args.scenario == "lesson06b_process":
            record["result"] = lesson06b_process(api)
        else:
            record["result"] = SCENARIOS[args.scenario](api, args.workdir,
                                                        args.initial_checkpoint)
    except Exception as exc:
        record["crash"] = {"type": type(exc).__name__, "message": str(exc)[:2000],
                           "traceback": traceback.format_exc()[-4000:]}
    record["meta"]["seconds"] = round(time.perf_counter() - started, 1)
    args.out.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    sys.exit(1 if "crash" in record else 0)


if __name__ == "__main__":
    main()
