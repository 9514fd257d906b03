"""tflab.estimator: the removed tf.estimator contract, on TF2."""

from __future__ import annotations

import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from tflab import data, estimator as est
from tflab.estimator import EstimatorSpec, ModeKeys

fc = tf.feature_column


@pytest.fixture(scope="module")
def heart():
    return data.heart()


def heart_columns():
    numeric = [fc.numeric_column(k) for k in ("sbp", "tobacco", "ldl", "age")]
    famhist = fc.categorical_column_with_vocabulary_list("famhist", ["Absent", "Present"])
    return numeric + [fc.indicator_column(famhist)]


def heart_input_fn(heart, batch_size=32, epochs=1, shuffle=False):
    features = {k: heart[k].astype(np.float32) for k in ("sbp", "tobacco", "ldl", "age")}
    features["famhist"] = heart["famhist"]

    def input_fn():
        ds = tf.data.Dataset.from_tensor_slices((features, heart["chd"]))
        if shuffle:
            ds = ds.shuffle(500, seed=0)
        return ds.repeat(epochs).batch(batch_size)

    return input_fn


def notes_model_fn(features, labels, mode, params):
    """The course notes' model_fn, with tflab.estimator.dense for tf.layers.dense."""
    net = tf.compat.v1.feature_column.input_layer(features, params["feature_columns"])
    for units in params["hidden_units"]:
        net = est.dense(net, units, activation=tf.nn.relu)
    logits = est.dense(net, params["n_classes"])
    predicted_classes = tf.argmax(logits, 1)
    if mode == ModeKeys.PREDICT:
        return EstimatorSpec(mode, predictions={"class_ids": predicted_classes,
                                                "probabilities": tf.nn.softmax(logits),
                                                "logits": logits})
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels,
                                                                         logits=logits))
    metrics = {"accuracy": est.accuracy(labels, predicted_classes)}
    if mode == ModeKeys.EVAL:
        return EstimatorSpec(mode, loss=loss, eval_metric_ops=metrics)
    return EstimatorSpec(mode, loss=loss, train_op=keras.optimizers.Adagrad(0.05))


def make(tmp_path, **config):
    return est.Estimator(notes_model_fn, model_dir=tmp_path / "model",
                         config=est.RunConfig(tf_random_seed=0, log_step_count_steps=0, **config),
                         params={"feature_columns": heart_columns(), "hidden_units": [10, 10],
                                 "n_classes": 2})


def test_train_evaluate_predict_on_heart(heart, tmp_path):
    model = make(tmp_path)
    model.train(heart_input_fn(heart, epochs=30, shuffle=True), steps=300)
    assert model.global_step == 300
    results = model.evaluate(heart_input_fn(heart))
    assert set(results) == {"loss", "accuracy", "global_step"} and results["global_step"] == 300
    assert results["accuracy"] > 0.65  # majority class is 0.65
    predictions = list(model.predict(heart_input_fn(heart)))
    assert len(predictions) == len(heart["chd"])
    assert set(predictions[0]) == {"class_ids", "probabilities", "logits"}
    classes = np.array([p["class_ids"] for p in predictions])
    assert np.mean(classes == heart["chd"]) == pytest.approx(results["accuracy"])


def test_modes_dispatch_to_model_fn(heart, tmp_path):
    seen = []

    def model_fn(features, labels, mode, params):
        seen.append(mode)
        return notes_model_fn(features, labels, mode, params)

    model = est.Estimator(model_fn, model_dir=tmp_path / "m", params={
        "feature_columns": heart_columns(), "hidden_units": [4], "n_classes": 2},
        config=est.RunConfig(log_step_count_steps=0))
    model.train(heart_input_fn(heart), steps=2)
    assert set(seen) == {ModeKeys.TRAIN} and not any(m is None for m in seen)
    seen.clear()
    model.evaluate(heart_input_fn(heart), steps=1)
    assert set(seen) == {ModeKeys.EVAL}
    seen.clear()
    next(model.predict(heart_input_fn(heart)))
    assert set(seen) == {ModeKeys.PREDICT}


def test_train_twice_resumes_from_the_checkpoint(heart, tmp_path):
    model = make(tmp_path, save_checkpoints_steps=10)
    model.train(heart_input_fn(heart, epochs=5), steps=25)
    assert model.global_step == 25 and model.latest_checkpoint().endswith("ckpt-25")
    weights = model.get_variable_value("dense/kernel")
    fresh = make(tmp_path)  # a new Estimator on the same model_dir
    fresh.train(heart_input_fn(heart, epochs=5), steps=5)
    assert fresh.global_step == 30
    assert fresh.latest_checkpoint().endswith("ckpt-30")
    fresh.train(heart_input_fn(heart, epochs=5), max_steps=30)  # already there: nothing to do
    assert fresh.global_step == 30
    third = make(tmp_path)
    third.evaluate(heart_input_fn(heart), steps=1)  # restores the latest checkpoint
    np.testing.assert_array_equal(third.get_variable_value("dense/kernel"),
                                  fresh.get_variable_value("dense/kernel"))
    assert not np.array_equal(third.get_variable_value("dense/kernel"), weights)


def test_a_hook_can_stop_training(heart, tmp_path):
    class StopAt(est.SessionRunHook):
        def __init__(self):
            self.calls = []

        def begin(self):
            self.calls.append("begin")

        def after_run(self, run_context, run_values):
            if run_values.global_step >= 7:
                run_context.request_stop()

        def end(self):
            self.calls.append("end")

    hook = StopAt()
    model = make(tmp_path)
    model.train(heart_input_fn(heart, epochs=100), steps=1000, hooks=[hook])
    assert model.global_step == 7 and hook.calls == ["begin", "end"]


def test_time_based_stop_hook(heart, tmp_path):
    model = make(tmp_path)
    start = time.perf_counter()
    model.train(heart_input_fn(heart, epochs=10_000), hooks=[est.TimeBasedStopHook(1.0)])
    elapsed = time.perf_counter() - start
    assert 1.0 <= elapsed < 6.0 and model.global_step > 5  # includes tracing and checkpointing


def test_export_then_reload_predicts_the_same(heart, tmp_path):
    model = make(tmp_path)
    model.train(heart_input_fn(heart, epochs=5), steps=20)
    spec = {k: tf.TensorSpec([None], tf.float32) for k in ("sbp", "tobacco", "ldl", "age")}
    spec["famhist"] = tf.TensorSpec([None], tf.string)
    path = model.export_saved_model(tmp_path / "export", spec)
    assert path.parent == tmp_path / "export" and path.name.isdigit()
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    features = {k: tf.constant(heart[k][:50].astype(np.float32)) for k in
                ("sbp", "tobacco", "ldl", "age")}
    features["famhist"] = tf.constant(heart["famhist"][:50])
    exported = serve(**features)["probabilities"].numpy()
    predicted = np.array([p["probabilities"] for p in
                          model.predict(heart_input_fn(heart, batch_size=50))][:50])
    np.testing.assert_allclose(exported, predicted, atol=1e-6)


@pytest.mark.parametrize("spec_kwargs, message", [
    (dict(mode=ModeKeys.TRAIN, train_op=keras.optimizers.SGD(0.1)), "TRAIN without loss"),
    (dict(mode=ModeKeys.PREDICT), "PREDICT without predictions"),
    (dict(mode=ModeKeys.EVAL), "EVAL without loss"),
    (dict(mode=ModeKeys.TRAIN, loss=tf.constant(1.0), train_op="minimize"), "not an optimizer"),
    (dict(mode="fit"), "mode must be one of"),
])
def test_bad_specs_raise_clear_errors(spec_kwargs, message):
    with pytest.raises(ValueError, match=message):
        EstimatorSpec(**spec_kwargs)


def test_bad_model_fn_and_misuse(heart, tmp_path):
    model = est.Estimator(lambda features, labels, mode, params: 42, model_dir=tmp_path / "x")
    with pytest.raises(TypeError, match="must return an EstimatorSpec"):
        model.train(heart_input_fn(heart), steps=1)
    fresh = make(tmp_path / "fresh")
    with pytest.raises(ValueError, match="no checkpoint"):
        fresh.evaluate(heart_input_fn(heart))
    with pytest.raises(ValueError, match="not both"):
        fresh.train(heart_input_fn(heart), steps=1, max_steps=2)


def test_linear_regressor_on_fire_theft(tmp_path):
    x, y = data.fire_theft()
    regressor = est.LinearRegressor([fc.numeric_column("x")], model_dir=tmp_path / "lin",
                                    config=est.RunConfig(tf_random_seed=0, log_step_count_steps=0))

    def input_fn():
        ds = tf.data.Dataset.from_tensor_slices(({"x": x.astype(np.float32)}, y.astype(np.float32)))
        return ds.shuffle(42, seed=0).repeat().batch(128)

    regressor.train(input_fn, steps=200)
    slope = float(regressor.get_variable_value("linear/kernel")[0, 0])
    intercept = float(regressor.get_variable_value("linear/bias")[0])
    assert 0.5 < slope < 3.0 and 0.0 < intercept < 17.0  # moving towards, not at, the answer
    assert regressor.evaluate(input_fn, steps=1)["loss"] > 0


def test_a_checkpoint_that_does_not_fit_the_model_fn_is_an_error(heart, tmp_path):
    make(tmp_path).train(heart_input_fn(heart), steps=3)
    other = est.Estimator(notes_model_fn, model_dir=tmp_path / "model", params={
        "feature_columns": heart_columns(), "hidden_units": [7], "n_classes": 2})
    with pytest.raises(ValueError, match="does not fit this model_fn"):
        other.evaluate(heart_input_fn(heart))


def test_export_from_a_fresh_estimator_and_twice_in_a_second(heart, tmp_path):
    make(tmp_path).train(heart_input_fn(heart), steps=3)
    spec = {k: tf.TensorSpec([None], tf.float32) for k in ("sbp", "tobacco", "ldl", "age")}
    spec["famhist"] = tf.TensorSpec([None], tf.string)
    fresh = make(tmp_path)  # never trained in this process
    first = fresh.export_saved_model(tmp_path / "export", spec)
    second = fresh.export_saved_model(tmp_path / "export", spec)
    assert first != second and first.is_dir() and second.is_dir()


def test_linear_regressor_learning_rate():
    many = [fc.numeric_column(f"x{i}") for i in range(16)]
    spec = est.LinearRegressor(many, learning_rate=0.5).model_fn(
        {f"x{i}": tf.ones([2, 1]) for i in range(16)}, tf.ones([2]), ModeKeys.TRAIN,
        {"feature_columns": many})
    assert float(spec.train_op.learning_rate) == pytest.approx(0.5)  # the rate you give wins
    default = est.LinearRegressor(many).model_fn(
        {f"x{i}": tf.ones([2, 1]) for i in range(16)}, tf.ones([2]), ModeKeys.TRAIN,
        {"feature_columns": many})
    assert float(default.train_op.learning_rate) == pytest.approx(0.2)  # min(0.2, 1/sqrt(16))
