"""tflab.estimator: the removed tf.estimator, on TensorFlow's TF1 runtime."""

from __future__ import annotations

import dataclasses
import itertools
import logging
import shutil
import time
import types
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tflab import data
from tflab import estimator as est
from tflab.estimator import EstimatorSpec, ModeKeys
from tflab.source import notebook_definitions

fc = tf.feature_column
v1 = tf.compat.v1

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "06b_estimators.ipynb"


def notes_namespace(clock=time, train_time=1.0) -> dict:
    """The course notes' model_fn and hook, run from notebook 06b's cells (the lesson's one
    copy: tf.compat.v1. prefixes, tf.estimator -> estimator, tf.layers.dense ->
    estimator.dense). ``clock`` stands for the hook's ``time`` module; ``train_time`` is the
    global ``TRAIN_TIME`` the notes' hook reads."""
    namespace: dict = {"tf": tf, "estimator": est, "time": clock, "TRAIN_TIME": train_time}
    code = notebook_definitions(NOTEBOOK, "my_model_fn", "TimeBasedStopHook")
    exec(compile(code, str(NOTEBOOK), "exec"), namespace)
    return namespace


def with_probabilities(model_fn):
    """``model_fn`` predicting probabilities and logits too (the notes' predicts only
    class_ids): its logits are the input of the argmax that makes class_ids."""
    def fn(features, labels, mode, params):
        spec = model_fn(features, labels, mode, params)
        if mode != ModeKeys.PREDICT:
            return spec
        logits = spec.predictions["class_ids"].op.inputs[0]
        return spec._replace(predictions={**spec.predictions, "logits": logits,
                                          "probabilities": tf.nn.softmax(logits)},
                             export_outputs=None)  # served by default, as tf.estimator did
    return fn


NUMERIC = ("sbp", "tobacco", "ldl", "age")


@pytest.fixture(scope="module")
def heart():
    return data.heart()


@pytest.fixture(scope="module")
def notes():
    return notes_namespace()


def heart_columns():
    numeric = [fc.numeric_column(k, normalizer_fn=lambda x, k=k: x / {"sbp": 100.0, "tobacco": 10.0,
                                                                      "ldl": 5.0, "age": 50.0}[k])
               for k in NUMERIC]
    famhist = fc.categorical_column_with_vocabulary_list("famhist", ["Absent", "Present"])
    return numeric + [fc.indicator_column(famhist)]


def heart_features(heart, rows=slice(None)):
    features = {k: heart[k][rows].astype(np.float32) for k in NUMERIC}
    features["famhist"] = heart["famhist"][rows]
    return features


def heart_input_fn(heart, batch_size=32, epochs=1, shuffle=False):
    features = heart_features(heart)

    def input_fn():
        labels = heart["chd"].reshape(-1, 1)  # [batch_size, 1], as the notes' model_fn reads
        ds = tf.data.Dataset.from_tensor_slices((features, labels))
        if shuffle:
            ds = ds.shuffle(500, seed=0)
        return ds.repeat(epochs).batch(batch_size)

    return input_fn


def make(notes, model_dir, hidden=(10, 10), **config):
    config = {"tf_random_seed": 0, "log_step_count_steps": None, **config}
    return est.Estimator(with_probabilities(notes["my_model_fn"]), model_dir=model_dir,
                         config=est.RunConfig(**config),
                         params={"feature_columns": heart_columns(), "hidden_units": list(hidden),
                                 "n_classes": 2})


@pytest.fixture(scope="module")
def trained(notes, heart, tmp_path_factory):
    """An Estimator trained 300 steps; tests that train more copy its model_dir."""
    model = make(notes, tmp_path_factory.mktemp("trained") / "model")
    model.train(heart_input_fn(heart, epochs=30, shuffle=True), steps=300)
    return model


@pytest.fixture(scope="module")
def accuracy_bar(heart):
    """What the notes' model must reach on the rows it trained on: the accuracy of a
    logistic regression fitted here to the same inputs (0.740), less a margin of 0.03.
    The majority-class rate (0.654) is far below it."""
    from sklearn.linear_model import LogisticRegression

    scale = {"sbp": 100.0, "tobacco": 10.0, "ldl": 5.0, "age": 50.0}  # as heart_columns
    inputs = np.column_stack([heart[k] / scale[k] for k in NUMERIC] +
                             [heart["famhist"] == "Present"])
    baseline = LogisticRegression().fit(inputs, heart["chd"]).score(inputs, heart["chd"])
    return baseline - 0.03


def test_the_notes_code_runs_as_written(notes, heart, tmp_path, accuracy_bar):
    model = make(notes, tmp_path / "m")
    model.train(heart_input_fn(heart, epochs=30, shuffle=True), steps=300)
    results = model.evaluate(heart_input_fn(heart))
    assert set(results) == {"loss", "my_accuracy", "global_step"}
    assert results["global_step"] == 300
    assert results["my_accuracy"] >= accuracy_bar  # as good as a trained linear baseline


def test_the_accuracy_bar_fails_a_model_that_learned_only_the_class_rate(heart, tmp_path,
                                                                         accuracy_bar):
    def majority_model_fn(features, labels, mode):  # logits: a trained bias, no inputs
        bias = v1.get_variable("bias", [2], initializer=v1.zeros_initializer())
        logits = tf.zeros_like(tf.expand_dims(features["age"], 1)) + bias
        labels = tf.squeeze(labels, 1)  # heart_input_fn's labels are [batch_size, 1]
        loss = v1.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
        if mode == ModeKeys.EVAL:
            return EstimatorSpec(mode, loss=loss, eval_metric_ops={"accuracy": v1.metrics.accuracy(
                labels=labels, predictions=tf.argmax(logits, 1))})
        return EstimatorSpec(mode, loss=loss, train_op=v1.train.AdagradOptimizer(0.5).minimize(
            loss, global_step=v1.train.get_global_step()))

    model = est.Estimator(majority_model_fn, tmp_path / "m",
                          est.RunConfig(log_step_count_steps=None))
    model.train(heart_input_fn(heart, epochs=30, shuffle=True), steps=100)
    accuracy = model.evaluate(heart_input_fn(heart))["accuracy"]
    majority = 1 - heart["chd"].mean()
    assert accuracy == pytest.approx(majority, abs=1e-6) and round(majority, 3) == 0.654
    assert accuracy < accuracy_bar and 0.70 < accuracy_bar < 0.75


def test_the_notes_hook_stops_when_its_clock_passes_the_limit(heart, tmp_path):
    ticks = itertools.count()  # a fake clock: one second per reading
    notes = notes_namespace(clock=types.SimpleNamespace(time=lambda: float(next(ticks))),
                            train_time=50.5)
    model = make(notes, tmp_path / "m")
    model.train(heart_input_fn(heart, epochs=10_000), hooks=[notes["TimeBasedStopHook"]()])
    # begin() reads 0; after step k the clock reads k: at least 50.5 first at k = 51
    assert model.global_step == 51
    ticks = itertools.count()  # the notes stop at >=: a limit of exactly 50 stops at step 50
    notes = notes_namespace(clock=types.SimpleNamespace(time=lambda: float(next(ticks))),
                            train_time=50)
    model = make(notes, tmp_path / "m50")
    model.train(heart_input_fn(heart, epochs=10_000), hooks=[notes["TimeBasedStopHook"]()])
    assert model.global_step == 50


def test_train_writes_tf1_checkpoints_and_resumes(notes, heart, trained, tmp_path):
    shutil.copytree(trained.model_dir, tmp_path / "model")
    latest = trained.latest_checkpoint()
    assert latest.endswith("model.ckpt-300")
    reader = tf.train.load_checkpoint(latest)
    assert reader.get_tensor("global_step") == 300 and reader.has_tensor("dense_2/kernel")
    kernel = reader.get_tensor("dense/kernel")
    with tf.Graph().as_default():  # a TF1 Saver reads it back into a TF1 graph
        variable = v1.get_variable("dense/kernel", kernel.shape)
        v1.train.get_or_create_global_step()
        with v1.Session() as session:
            v1.train.Saver([variable]).restore(session, latest)
            np.testing.assert_array_equal(session.run(variable), kernel)

    fresh = make(notes, tmp_path / "model")  # a new Estimator on the same model_dir
    fresh.train(heart_input_fn(heart, epochs=5), steps=5)
    assert fresh.global_step == 305 and fresh.latest_checkpoint().endswith("model.ckpt-305")
    moved = fresh.get_variable_value("dense/kernel")
    assert not np.array_equal(moved, kernel)
    fresh.train(heart_input_fn(heart, epochs=5), max_steps=300)  # already past: nothing to do
    assert fresh.global_step == 305
    fresh.train(heart_input_fn(heart, epochs=5), max_steps=310)
    assert fresh.global_step == 310


def test_train_stops_when_the_input_runs_out(notes, heart, tmp_path):
    model = make(notes, tmp_path / "m")
    model.train(heart_input_fn(heart, batch_size=100))  # 462 rows: 5 batches
    assert model.global_step == 5


def test_checkpoint_frequency_and_keep_max(notes, heart, tmp_path):
    model = make(notes, tmp_path / "m", save_checkpoints_steps=10, keep_checkpoint_max=2)
    model.train(heart_input_fn(heart, epochs=10), steps=35)
    kept = sorted(p.name for p in (tmp_path / "m").glob("model.ckpt-*.index"))
    assert kept == ["model.ckpt-30.index", "model.ckpt-35.index"]


class Recorder(v1.train.SessionRunHook):
    """Asks for the loss and global step each step; stops at ``stop_at``."""

    def __init__(self, stop_at=None):
        self.stop_at, self.calls, self.seen = stop_at, [], []

    def begin(self):
        self.calls.append("begin")
        self.loss = v1.get_collection(v1.GraphKeys.LOSSES)[-1]
        self.step = v1.train.get_global_step()

    def before_run(self, run_context):
        return v1.train.SessionRunArgs({"loss": self.loss, "step": self.step})

    def after_run(self, run_context, run_values):
        self.seen.append(run_values.results)
        if self.stop_at is not None and len(self.seen) >= self.stop_at:
            run_context.request_stop()

    def end(self, session):
        self.calls.append("end")


def test_hooks_get_their_session_run_args(notes, heart, tmp_path):
    hook = Recorder(stop_at=7)
    model = make(notes, tmp_path / "m")
    model.train(heart_input_fn(heart, epochs=100), steps=1000, hooks=[hook])
    assert model.global_step == 7 and hook.calls == ["begin", "end"]
    losses = [r["loss"] for r in hook.seen]
    assert len(losses) == 7 and all(0.3 < loss < 1.5 for loss in losses)
    assert len(set(np.round(losses, 6))) == 7  # a real loss per step, not one value
    # the loss the hook saw at step 1 is the loss of the initial weights on the first batch
    initial = make(notes, tmp_path / "init")
    hook_once = Recorder()
    initial.train(heart_input_fn(heart), steps=1, hooks=[hook_once])
    assert hook_once.seen[0]["loss"] == pytest.approx(losses[0], rel=1e-6)


def test_evaluate_over_uneven_final_batches(heart, trained):
    results = trained.evaluate(heart_input_fn(heart, batch_size=100))  # 100 x 4 + 62
    probabilities = np.array([p["probabilities"] for p in
                              trained.predict(heart_input_fn(heart, batch_size=100))])
    labels = heart["chd"]
    accuracy = np.mean(np.argmax(probabilities, 1) == labels)
    assert results["my_accuracy"] == pytest.approx(accuracy, abs=1e-6)  # over all 462 rows
    losses = -np.log(probabilities[np.arange(len(labels)), labels])
    batch_means = [losses[i:i + 100].mean() for i in range(0, len(labels), 100)]
    assert results["loss"] == pytest.approx(np.mean(batch_means), rel=1e-5)  # the original's
    assert results["loss"] != pytest.approx(losses.mean(), rel=1e-5)  # ... not per example
    assert results["global_step"] == 300
    assert trained.evaluate(heart_input_fn(heart, batch_size=100), steps=1)["my_accuracy"] == \
        pytest.approx(np.mean(np.argmax(probabilities[:100], 1) == labels[:100]), abs=1e-6)


def test_predict_yields_one_dict_per_example(heart, trained):
    predictions = list(trained.predict(heart_input_fn(heart, batch_size=100)))
    assert len(predictions) == 462 and set(predictions[0]) == {"class_ids", "probabilities",
                                                               "logits"}
    assert predictions[0]["probabilities"].shape == (2,)
    np.testing.assert_allclose([p["probabilities"].sum() for p in predictions], 1, rtol=1e-5)
    batches = list(trained.predict(heart_input_fn(heart, batch_size=100), predict_keys=["logits"],
                                   yield_single_examples=False))
    assert [len(b["logits"]) for b in batches] == [100, 100, 100, 100, 62]
    assert set(batches[0]) == {"logits"}
    np.testing.assert_allclose(batches[4]["logits"][-1], predictions[-1]["logits"], rtol=1e-6)
    assert tf.executing_eagerly()  # the caller is not left inside the predict graph
    with pytest.raises(ValueError, match="provided \\['nope'\\]"):
        next(trained.predict(heart_input_fn(heart), predict_keys=["nope"]))


def test_export_then_load_gives_the_same_outputs(heart, trained, tmp_path):
    examples = {k: tf.constant(v[:1]) for k, v in heart_features(heart).items()}
    receiver_fn = est.build_raw_serving_input_receiver_fn(examples)
    path = trained.export_saved_model(tmp_path / "export", receiver_fn)
    second = trained.export_saved_model(tmp_path / "export", receiver_fn)  # in the same second
    assert path.parent == tmp_path / "export" and path.name.isdigit() and second != path
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    exported = serve(**{k: tf.constant(v) for k, v in heart_features(heart, slice(50)).items()})
    predicted = list(trained.predict(heart_input_fn(heart, batch_size=50)))[:50]
    for key in ("probabilities", "logits", "class_ids"):
        np.testing.assert_allclose(exported[key].numpy(), [p[key] for p in predicted], atol=1e-6)


def test_get_variable_names_and_values(heart, trained):
    names = trained.get_variable_names()
    assert {"dense/kernel", "dense_2/bias", "global_step", "dense/kernel/Adagrad"} <= set(names)
    assert trained.get_variable_value("dense_2/kernel").shape == (10, 2)
    with pytest.raises(ValueError, match="no variable 'dense_9/kernel'"):
        trained.get_variable_value("dense_9/kernel")


def test_a_checkpoint_that_does_not_match_the_graph_is_an_error(notes, heart, trained, tmp_path):
    shutil.copytree(trained.model_dir, tmp_path / "model")
    other = make(notes, tmp_path / "model", hidden=(7,))
    with pytest.raises(ValueError, match="does not match the graph model_fn built.*dense"):
        other.evaluate(heart_input_fn(heart))
    with pytest.raises(ValueError, match="does not match the graph model_fn built"):
        other.train(heart_input_fn(heart), steps=1)
    with pytest.raises(ValueError, match="does not match the graph model_fn built"):
        next(other.predict(heart_input_fn(heart)))
    receiver_fn = est.build_raw_serving_input_receiver_fn(
        {k: tf.constant(v[:1]) for k, v in heart_features(heart).items()})
    with pytest.raises(ValueError, match="does not match the graph model_fn built"):
        other.export_saved_model(tmp_path / "export", receiver_fn)


def test_other_errors_at_session_start_are_not_called_a_checkpoint_mismatch(heart, tmp_path):
    vocabulary = tmp_path / "famhist.txt"
    vocabulary.write_text("Absent\nPresent\n")
    famhist = fc.categorical_column_with_vocabulary_file("famhist", str(vocabulary),
                                                         vocabulary_size=2)

    def model_fn(features, labels, mode):
        logits = v1.feature_column.input_layer(features, [fc.indicator_column(famhist)])
        logits = est.dense(logits, 2)
        if mode == ModeKeys.PREDICT:
            return EstimatorSpec(mode, predictions={"logits": logits})
        labels = tf.squeeze(labels, 1)  # heart_input_fn's labels are [batch_size, 1]
        loss = v1.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
        return EstimatorSpec(mode, loss=loss, train_op=v1.train.GradientDescentOptimizer(
            0.1).minimize(loss, global_step=v1.train.get_global_step()))

    model = est.Estimator(model_fn, tmp_path / "m", est.RunConfig(log_step_count_steps=None))
    model.train(heart_input_fn(heart), steps=2)  # a checkpoint now exists
    vocabulary.unlink()
    for run in (lambda: model.train(heart_input_fn(heart), steps=1),
                lambda: model.evaluate(heart_input_fn(heart)),
                lambda: next(model.predict(heart_input_fn(heart)))):
        with pytest.raises(tf.errors.NotFoundError, match="famhist.txt") as caught:
            run()
        assert "does not match" not in str(caught.value)


def test_log_step_count_steps_logs_the_loss_every_n_steps(notes, heart, tmp_path, caplog):
    model = make(notes, tmp_path / "m", log_step_count_steps=3)
    with caplog.at_level(logging.INFO, logger="tensorflow"):
        model.train(heart_input_fn(heart, epochs=5), steps=7)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("loss = ")]
    assert [line.split("step = ")[1].split()[0] for line in lines] == ["0", "3", "6"]
    final = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Loss for final")]
    assert len(final) == 1 and float(final[0].split(": ")[1].rstrip(".")) > 0
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="tensorflow"):
        make(notes, tmp_path / "quiet", log_step_count_steps=None).train(
            heart_input_fn(heart), steps=4)
    assert not [r for r in caplog.records if r.getMessage().startswith("loss = ")]


def test_a_train_op_that_does_not_advance_the_global_step_is_an_error(notes, heart, tmp_path):
    def model_fn(features, labels, mode, params):
        spec = notes["my_model_fn"](features, labels, mode, params)
        if mode != ModeKeys.TRAIN:
            return spec
        return spec._replace(train_op=v1.train.AdagradOptimizer(0.05).minimize(spec.loss))

    model = est.Estimator(model_fn, tmp_path / "m", est.RunConfig(log_step_count_steps=None),
                          params=make(notes, tmp_path / "x").params)
    with pytest.raises(ValueError, match="did not advance the global step.*global_step="
                                         "tf.compat.v1.train.get_global_step\\(\\)"):
        model.train(heart_input_fn(heart, epochs=3))  # finite input: no hang if unchecked


def test_run_config_defaults_and_bad_values(tmp_path):
    def every(config):
        return config.save_checkpoints_secs, config.save_checkpoints_steps

    assert every(est.RunConfig()) == (600, None)  # the original's defaults
    assert every(est.RunConfig().replace(save_checkpoints_steps=5)) == (None, 5)
    assert every(est.RunConfig(save_checkpoints_steps=5).replace(save_checkpoints_secs=9)) == \
        (9, None)
    assert every(est.RunConfig(save_checkpoints_secs=30)) == (30, None)
    assert every(est.RunConfig(save_checkpoints_steps=7)) == (None, 7)
    assert every(est.RunConfig(save_checkpoints_steps=None, save_checkpoints_secs=None)) == \
        (None, None)  # never
    assert est.RunConfig(log_step_count_steps=None).log_step_count_steps is None
    for bad in (0, -1):  # the original's rule: None turns logging off, 0 is refused
        with pytest.raises(ValueError, match="log_step_count_steps must be positive"):
            est.RunConfig(log_step_count_steps=bad)
    with pytest.raises(ValueError, match="tf_random_seed must be integer"):
        est.RunConfig(tf_random_seed="1")
    config = est.RunConfig(model_dir=Path("somewhere"))
    assert config.model_dir == "somewhere"  # a str, as the original's
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.tf_random_seed = 3  # read-only: replace() makes a changed copy
    assert est.RunConfig(keep_checkpoint_every_n_hours=1).keep_checkpoint_every_n_hours == 1
    with pytest.raises(ValueError, match="save_checkpoints_steps must be positive"):
        est.RunConfig(save_checkpoints_steps=0)
    model_fn = lambda features, labels, mode: None  # noqa: E731
    with pytest.raises(ValueError, match="model_dir are set both in constructor and RunConfig"):
        est.Estimator(model_fn, tmp_path / "a", est.RunConfig(model_dir=tmp_path / "b"))
    same = est.Estimator(model_fn, tmp_path / "a", est.RunConfig(model_dir=str(tmp_path / "a")))
    assert same.model_dir == str(tmp_path / "a")
    assert est.Estimator(model_fn, tmp_path / "c").config.model_dir == str(tmp_path / "c")
    temporary = est.Estimator(model_fn)  # a temporary folder, which its config names
    assert temporary.config.model_dir == temporary.model_dir and Path(temporary.model_dir).is_dir()


def _spec_error(mode, **kwargs):
    with tf.Graph().as_default():
        loss = tf.constant(1.0)
        kwargs = {k: (loss if v == "loss" else v) for k, v in kwargs.items()}
        EstimatorSpec(mode, **kwargs)


@pytest.mark.parametrize("mode, kwargs, error, message", [
    (ModeKeys.TRAIN, dict(train_op=tf.no_op), ValueError, "Missing loss"),
    (ModeKeys.TRAIN, dict(loss="loss"), ValueError, "Missing train_op"),
    (ModeKeys.EVAL, dict(), ValueError, "Missing loss"),
    (ModeKeys.PREDICT, dict(), ValueError, "Missing predictions"),
    (ModeKeys.TRAIN, dict(loss="loss", train_op=v1.train.AdagradOptimizer(0.1)), TypeError,
     "the optimizer itself: give its minimize"),
    (ModeKeys.EVAL, dict(loss="loss", eval_metric_ops={"acc": 0.5}), TypeError,
     "must be a \\(value, update_op\\) pair"),
    ("fit", dict(), ValueError, "mode must be one of"),
])
def test_bad_specs_raise_clear_errors(mode, kwargs, error, message):
    with pytest.raises(error, match=message):
        _spec_error(mode, **kwargs)


def test_bad_use_raises_clear_errors(notes, heart, trained, tmp_path):
    with pytest.raises(ValueError, match="model_fn should return an EstimatorSpec"):
        est.Estimator(lambda features, labels, mode: 42, model_dir=tmp_path / "x").train(
            heart_input_fn(heart), steps=1)
    with pytest.raises(ValueError, match="does not include params argument"):
        est.Estimator(lambda features, labels, mode: 42, params={"a": 1})
    with pytest.raises(ValueError, match="must include features argument"):
        est.Estimator(lambda x, labels, mode: 42)
    with pytest.raises(ValueError, match="Can not provide both steps and max_steps"):
        trained.train(heart_input_fn(heart), steps=1, max_steps=2)
    with pytest.raises(ValueError, match="Must specify steps > 0, given: 0"):
        trained.train(heart_input_fn(heart), steps=0)
    with pytest.raises(TypeError, match="SessionRunHook instances, not function"):
        trained.train(heart_input_fn(heart), steps=1, hooks=[lambda: None])
    with pytest.raises(ValueError, match="`save_checkpoints_steps` and `save_checkpoints_secs` "
                                         "cannot be both set"):
        est.RunConfig(save_checkpoints_steps=10, save_checkpoints_secs=10)

    def loss_metric_model_fn(features, labels, mode, params):
        spec = notes["my_model_fn"](features, labels, mode, params)
        if mode == ModeKeys.EVAL:
            return spec._replace(eval_metric_ops={"loss": v1.metrics.mean(spec.loss)})
        return spec

    clash = est.Estimator(loss_metric_model_fn, model_dir=trained.model_dir, params=trained.params)
    with pytest.raises(ValueError, match='Metric with name "loss" is not allowed'):
        clash.evaluate(heart_input_fn(heart))


def fire_input_fn(shuffle=True):
    x, y = data.fire_theft()

    def input_fn():
        ds = tf.data.Dataset.from_tensor_slices(({"fires": x.astype(np.float32)},
                                                 y.astype(np.float32)))
        return (ds.shuffle(42, seed=0) if shuffle else ds).repeat().batch(16)

    return input_fn


@pytest.mark.parametrize("reduction, reduce", [
    (None, tf.reduce_sum),  # TF1's default: the squared error summed over the batch
    (v1.losses.Reduction.SUM_OVER_BATCH_SIZE, tf.reduce_mean)])
def test_linear_regressor_matches_a_hand_written_ftrl_graph(tmp_path, reduction, reduce):
    kwargs = {} if reduction is None else {"loss_reduction": reduction}
    regressor = est.LinearRegressor([fc.numeric_column("fires")], model_dir=tmp_path / "lin",
                                    config=est.RunConfig(tf_random_seed=0,
                                                         log_step_count_steps=None),
                                    **kwargs)
    regressor.train(fire_input_fn(shuffle=False), steps=30)
    assert set(regressor.get_variable_names()) >= {"linear/linear_model/fires/weights",
                                                   "linear/linear_model/bias_weights"}
    weight = regressor.get_variable_value("linear/linear_model/fires/weights")
    bias = regressor.get_variable_value("linear/linear_model/bias_weights")
    with tf.Graph().as_default():  # FTRL at min(0.2, 1/sqrt(1)) on the squared error
        features, labels = v1.data.make_one_shot_iterator(fire_input_fn(shuffle=False)()).get_next()
        w, b = v1.get_variable("w", [1, 1], initializer=v1.zeros_initializer()), \
            v1.get_variable("b", [1], initializer=v1.zeros_initializer())
        predictions = tf.matmul(tf.reshape(features["fires"], [-1, 1]), w) + b
        loss = reduce(tf.square(tf.reshape(labels, [-1, 1]) - predictions))
        step = v1.train.FtrlOptimizer(0.2).minimize(loss)
        with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            for _ in range(30):
                session.run(step)
            want_w, want_b = session.run([w, b])
    np.testing.assert_allclose(weight, want_w, rtol=1e-5)
    np.testing.assert_allclose(bias, want_b, rtol=1e-5)
    results = regressor.evaluate(fire_input_fn(shuffle=False), steps=3)
    assert {"loss", "average_loss", "label/mean", "prediction/mean", "global_step"} == set(results)
    per_batch = 16 if reduction is None else 1  # loss: the training loss, batches of 16
    assert results["loss"] == pytest.approx(per_batch * results["average_loss"], rel=1e-5)


def test_linear_regressor_learning_rate_rule_weights_and_dimensions(tmp_path):
    assert est._linear_learning_rate(1) == 0.2 and est._linear_learning_rate(100) == 0.1
    x = np.linspace(0, 1, 8, dtype=np.float32)

    def input_fn():
        features = {"x": x, "w": np.full(8, 2.0, np.float32)}
        return tf.data.Dataset.from_tensor_slices((features, np.stack([x, -x], 1))).batch(4)

    config = est.RunConfig(log_step_count_steps=None)
    plain = est.LinearRegressor([fc.numeric_column("x")], tmp_path / "p", label_dimension=2,
                                optimizer=lambda: v1.train.GradientDescentOptimizer(0.1),
                                config=config)
    weighted = est.LinearRegressor([fc.numeric_column("x")], tmp_path / "w", label_dimension=2,
                                   weight_column="w", config=config,
                                   optimizer=lambda: v1.train.GradientDescentOptimizer(0.1))
    plain.train(input_fn, steps=1)
    weighted.train(input_fn, steps=1)  # twice the loss, so twice the first SGD step
    np.testing.assert_allclose(weighted.get_variable_value("linear/linear_model/x/weights"),
                               2 * plain.get_variable_value("linear/linear_model/x/weights"),
                               rtol=1e-5)
    assert next(plain.predict(input_fn))["predictions"].shape == (2,)
    with pytest.raises(ValueError, match="'Lion' is not one of"):
        est.LinearRegressor([fc.numeric_column("x")], optimizer="Lion")
    with pytest.raises(ValueError, match="loss_reduction must be one of"):
        est.LinearRegressor([fc.numeric_column("x")], loss_reduction="mean")


# -- a one-variable line, for what every Estimator does (before training, summaries, warm
# starts, listeners, train_and_evaluate): deterministic initial values, so numbers are exact.

LINE_X = np.linspace(-1.0, 1.0, 20, dtype=np.float32)
LINE_Y = (3.0 * LINE_X + 1.0).astype(np.float32)


def line_input_fn(batch_size=8, epochs=1, features_only=False):
    def input_fn():
        items = {"x": LINE_X} if features_only else ({"x": LINE_X}, LINE_Y)
        return tf.data.Dataset.from_tensor_slices(items).repeat(epochs).batch(batch_size)
    return input_fn


def line_model_fn(features, labels, mode, params):
    """predictions = w * x + b (one tensor, not a dict), w starting at params['w0']."""
    w = v1.get_variable("w", [], initializer=v1.constant_initializer(params["w0"]))
    b = v1.get_variable("b", [], initializer=v1.zeros_initializer())
    predictions = w * features["x"] + b
    if mode == ModeKeys.PREDICT:
        return EstimatorSpec(mode, predictions=predictions)
    target = 2.0 * features["x"] if labels is None else labels  # features-only input: 2x
    loss = tf.reduce_mean(tf.square(predictions - target))
    if mode == ModeKeys.EVAL:
        return EstimatorSpec(mode, loss=loss, eval_metric_ops={
            "mae": v1.metrics.mean_absolute_error(target, predictions)})
    v1.summary.scalar("w_value", w)
    train_op = v1.train.GradientDescentOptimizer(0.1).minimize(
        loss, global_step=v1.train.get_global_step())
    return EstimatorSpec(mode, loss=loss, train_op=train_op)


def line(model_dir, w0=0.5, warm_start_from=None, **config):
    config = {"log_step_count_steps": None, **config}
    return est.Estimator(line_model_fn, model_dir=model_dir, config=est.RunConfig(**config),
                         params={"w0": w0}, warm_start_from=warm_start_from)


def events(folder) -> dict[str, list[tuple[int, object]]]:
    """tag -> [(step, value)] from the event files directly in ``folder``."""
    found: dict[str, list] = {}
    for path in sorted(Path(folder).glob("events.out.tfevents.*")):
        for event in v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                kind = value.WhichOneof("value")
                found.setdefault(value.tag, []).append(
                    (event.step, value.simple_value if kind == "simple_value" else kind))
    return found


def test_evaluate_and_predict_before_training_run_from_the_initial_values(tmp_path, caplog):
    model = line(tmp_path / "fresh", w0=0.5)
    with caplog.at_level(logging.INFO, logger="tensorflow"):
        results = model.evaluate(line_input_fn())
    assert "running initialization to evaluate" in caplog.text
    assert results["global_step"] == 0
    start = 0.5 * LINE_X  # w0 * x + 0
    batches = [np.mean((start[i:i + 8] - LINE_Y[i:i + 8]) ** 2) for i in range(0, 20, 8)]
    assert results["loss"] == pytest.approx(np.mean(batches), rel=1e-6)  # mean of batch losses
    assert results["mae"] == pytest.approx(np.mean(np.abs(start - LINE_Y)), rel=1e-6)
    with caplog.at_level(logging.INFO, logger="tensorflow"):
        predicted = list(model.predict(line_input_fn()))
    assert "running initialization to predict" in caplog.text
    np.testing.assert_allclose(predicted, start, rtol=1e-6)
    assert model.latest_checkpoint() is None  # neither writes a checkpoint
    other = line(tmp_path / "other", w0=-2.0)  # the initial values, not a constant
    np.testing.assert_allclose(list(other.predict(line_input_fn())), -2.0 * LINE_X, rtol=1e-6)


def test_non_dict_predictions_yield_one_array_per_example_or_per_batch(tmp_path):
    model = line(tmp_path / "m", w0=1.5)
    single = list(model.predict(line_input_fn(batch_size=8)))
    assert len(single) == 20 and all(np.ndim(p) == 0 for p in single)  # 8 + 8 + 4 examples
    np.testing.assert_allclose(single, 1.5 * LINE_X, rtol=1e-6)
    batches = list(model.predict(line_input_fn(batch_size=8), yield_single_examples=False))
    assert [len(b) for b in batches] == [8, 8, 4]
    np.testing.assert_allclose(np.concatenate(batches), 1.5 * LINE_X, rtol=1e-6)
    with pytest.raises(ValueError, match="predict_keys needs model_fn's predictions to be a dict"):
        next(model.predict(line_input_fn(), predict_keys=["y"]))


def test_an_input_fn_of_features_only_gives_model_fn_no_labels(tmp_path):
    seen = []

    def model_fn(features, labels, mode, params):
        seen.append((mode, labels))
        return line_model_fn(features, labels, mode, params)

    model = est.Estimator(model_fn, tmp_path / "m", est.RunConfig(log_step_count_steps=None),
                          params={"w0": 0.0})
    model.train(line_input_fn(features_only=True, epochs=50), steps=100)  # learns y = 2x
    assert model.get_variable_value("w") == pytest.approx(2.0, abs=0.05)
    assert model.evaluate(line_input_fn(features_only=True))["loss"] < 1e-3
    assert len(list(model.predict(line_input_fn(features_only=True)))) == 20
    assert [labels for _, labels in seen] == [None, None, None]
    assert [mode for mode, _ in seen] == [ModeKeys.TRAIN, ModeKeys.EVAL, ModeKeys.PREDICT]


def test_training_writes_tensorboard_summaries_every_save_summary_steps(tmp_path):
    model = line(tmp_path / "m", save_summary_steps=2, log_step_count_steps=2)
    model.train(line_input_fn(epochs=10), steps=6)
    written = events(model.model_dir)
    assert set(written) == {"loss", "w_value", "global_step/sec"}
    assert [step for step, _ in written["loss"]] == [step for step, _ in written["w_value"]]
    assert len(written["loss"]) == 3 and len(written["global_step/sec"]) >= 2
    assert all(value > 0 for _, value in written["loss"])  # batch losses
    w_values = [value for _, value in written["w_value"]]  # model_fn's own summary: w moves
    assert abs(w_values[-1] - 3.0) < abs(w_values[0] - 3.0)  # towards y = 3x + 1
    quiet = line(tmp_path / "quiet", save_summary_steps=0, log_step_count_steps=None)
    quiet.train(line_input_fn(epochs=10), steps=6)
    assert "loss" not in events(quiet.model_dir)


def test_evaluate_writes_its_results_to_eval_or_eval_name(tmp_path):
    model = line(tmp_path / "m")
    model.train(line_input_fn(epochs=5), steps=7)
    default = model.evaluate(line_input_fn())
    named = model.evaluate(line_input_fn(), steps=1, name="first_batch")
    assert model.eval_dir() == str(tmp_path / "m" / "eval")
    assert model.eval_dir("first_batch") == str(tmp_path / "m" / "eval_first_batch")
    for folder, results in ((model.eval_dir(), default), (model.eval_dir("first_batch"), named)):
        written = events(folder)
        assert set(written) == {"loss", "mae", "checkpoint_path"}
        for tag in ("loss", "mae"):
            assert written[tag] == [(7, pytest.approx(float(results[tag]), rel=1e-6))]
        assert written["checkpoint_path"] == [(7, "tensor")]
    assert named["loss"] != default["loss"]  # one batch against all three


def test_run_config_replace_returns_a_new_checked_config():
    config = est.RunConfig(tf_random_seed=1, save_summary_steps=10)
    changed = config.replace(save_summary_steps=5, model_dir="elsewhere")
    assert (changed.save_summary_steps, changed.model_dir, changed.tf_random_seed) == \
        (5, "elsewhere", 1)
    assert (config.save_summary_steps, config.model_dir) == (10, None)  # unchanged
    with pytest.raises(ValueError, match=r"\['save_every'\] cannot be replaced"):
        config.replace(save_every=3)
    with pytest.raises(ValueError, match="save_summary_steps must be positive, 0 or None"):
        config.replace(save_summary_steps=-1)


def test_warm_start_from_takes_initial_values_from_another_model(tmp_path):
    source = line(tmp_path / "source", w0=0.5)
    source.train(line_input_fn(epochs=5), steps=6)
    w, b = source.get_variable_value("w"), source.get_variable_value("b")
    assert w != 0.5 and b != 0.0
    warm = line(tmp_path / "warm", w0=-1.0, warm_start_from=str(source.model_dir))
    np.testing.assert_allclose(list(warm.predict(line_input_fn())), w * LINE_X + b, rtol=1e-6)
    assert warm.evaluate(line_input_fn())["loss"] == pytest.approx(
        float(source.evaluate(line_input_fn())["loss"]), rel=1e-6)
    only_w = line(tmp_path / "only_w", w0=-1.0, warm_start_from=est.WarmStartSettings(
        source.latest_checkpoint(), vars_to_warm_start="w"))
    np.testing.assert_allclose(list(only_w.predict(line_input_fn())), w * LINE_X, rtol=1e-6)
    warm.train(line_input_fn(), steps=1)  # from the warm values, then from its own checkpoint
    assert warm.get_variable_value("w") != pytest.approx(-1.0)
    warm.train(line_input_fn(), steps=1)
    assert warm.global_step == 2
    with pytest.raises(ValueError, match="warm_start_from must be a path or WarmStartSettings"):
        line(tmp_path / "bad", warm_start_from=3)


def test_saving_listeners_run_around_every_checkpoint_save(tmp_path):
    class Listener(v1.train.CheckpointSaverListener):
        def __init__(self):
            self.calls = []

        def before_save(self, session, global_step_value):
            self.calls.append(("before", int(global_step_value)))

        def after_save(self, session, global_step_value):
            self.calls.append(("after", int(global_step_value)))

    listener = Listener()
    model = line(tmp_path / "m", save_checkpoints_steps=2)
    model.train(line_input_fn(epochs=5), steps=5, saving_listeners=[listener])
    saves = [0, 2, 4, 5]  # the first save, every 2 steps, the end
    assert listener.calls == [(when, s) for s in saves for when in ("before", "after")]
    with pytest.raises(TypeError, match="CheckpointSaverListener instances, not function"):
        model.train(line_input_fn(), steps=1, saving_listeners=[lambda: None])


def test_train_and_evaluate_evaluates_after_checkpoints_and_at_the_end(tmp_path):
    class Exporter:
        name = "record"

        def __init__(self):
            self.calls = []

        def export(self, estimator, export_path, checkpoint_path, eval_result,
                   is_the_final_export):
            self.calls.append((int(eval_result["global_step"]), is_the_final_export,
                               Path(export_path).name))
            return f"exported {eval_result['global_step']}"

    class Saves(v1.train.CheckpointSaverListener):
        steps: list = []

        def after_save(self, session, global_step_value):
            self.steps.append(int(global_step_value))

    exporter = Exporter()
    model = line(tmp_path / "m", save_checkpoints_steps=2)
    metrics, exported = est.train_and_evaluate(
        model, est.TrainSpec(line_input_fn(epochs=20), max_steps=6, saving_listeners=[Saves()]),
        est.EvalSpec(line_input_fn(), steps=2, name="check", exporters=exporter,
                     throttle_secs=0))
    assert metrics["global_step"] == 6 and exported == ["exported 6"]
    assert [step for step, _ in events(model.eval_dir("check"))["loss"]] == [2, 4, 6]
    assert exporter.calls == [(2, False, "record"), (4, False, "record"), (6, True, "record")]
    assert all(type(final) is bool for _, final, _ in exporter.calls)
    assert Saves.steps == [0, 2, 4, 6]  # TrainSpec's own listeners run too
    assert est.train_and_evaluate(  # max_steps already reached: nothing to do, as the original
        model, est.TrainSpec(line_input_fn(), max_steps=6), est.EvalSpec(line_input_fn())) == \
        (None, None)
    assert metrics["loss"] == pytest.approx(float(model.evaluate(line_input_fn(), steps=2)["loss"]))

    throttled = line(tmp_path / "t", save_checkpoints_steps=2)
    est.train_and_evaluate(throttled, est.TrainSpec(line_input_fn(epochs=20), max_steps=6),
                           est.EvalSpec(line_input_fn(), throttle_secs=600))
    assert [step for step, _ in events(throttled.eval_dir())["loss"]] == [2, 6]  # first, last

    with pytest.raises(ValueError, match="Must specify max_steps > 0, given: 0"):
        est.TrainSpec(line_input_fn(), max_steps=0)
    with pytest.raises(ValueError, match="Must specify steps > 0, given: 0"):
        est.EvalSpec(line_input_fn(), steps=0)
    with pytest.raises(TypeError, match="`input_fn` must be callable"):
        est.EvalSpec("data.csv")
    with pytest.raises(TypeError, match="`exporters` must be Exporters"):
        est.EvalSpec(line_input_fn(), exporters=["latest"])
    with pytest.raises(TypeError, match="`train_spec` must have type"):
        est.train_and_evaluate(model, line_input_fn(), est.EvalSpec(line_input_fn()))


def test_linear_regressor_is_an_estimator_and_weights_its_eval_metrics(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.normal(size=40).astype(np.float32)
    y = (2.0 * x + 0.5 + rng.normal(scale=0.3, size=40)).astype(np.float32)
    w = rng.uniform(0.1, 3.0, size=40).astype(np.float32)  # uneven weights

    def input_fn():
        return tf.data.Dataset.from_tensor_slices(({"x": x, "w": w}, y)).batch(10)

    regressor = est.LinearRegressor([fc.numeric_column("x")], tmp_path / "lin", weight_column="w",
                                    config=est.RunConfig(log_step_count_steps=None))
    assert isinstance(regressor, est.Estimator)
    regressor.train(lambda: input_fn().repeat(), steps=20)
    results = regressor.evaluate(input_fn)
    slope = regressor.get_variable_value("linear/linear_model/x/weights").item()
    bias = regressor.get_variable_value("linear/linear_model/bias_weights").item()
    predicted = slope * x + bias
    assert results["average_loss"] == pytest.approx(np.average((y - predicted) ** 2, weights=w),
                                                    rel=1e-5)
    assert results["label/mean"] == pytest.approx(np.average(y, weights=w), rel=1e-5)
    assert results["prediction/mean"] == pytest.approx(np.average(predicted, weights=w), rel=1e-5)
    assert results["average_loss"] != pytest.approx(np.mean((y - predicted) ** 2), rel=1e-3)


def test_linear_regressor_sparse_combiner_combines_a_rows_categories(tmp_path):
    labels = np.array([1.0, 2.0, 3.0, 4.0], np.float32)

    def input_fn():  # rows with one, two and three categories
        tags = tf.ragged.constant([["a"], ["a", "b"], ["b", "b", "c"], ["c"]]).to_sparse()
        return {"tags": tags}, labels

    column = fc.categorical_column_with_vocabulary_list("tags", ["a", "b", "c"])
    config = est.RunConfig(log_step_count_steps=None)
    trained = {}
    for combiner in ("sum", "mean", "sqrtn"):
        regressor = est.LinearRegressor([column], tmp_path / combiner, sparse_combiner=combiner,
                                        optimizer=lambda: v1.train.GradientDescentOptimizer(0.05),
                                        config=config)
        regressor.train(input_fn, steps=1)
        trained[combiner] = regressor.get_variable_value("linear/linear_model/tags/weights")
    # one SGD step from zeros: each category's weight moves by its share of the error
    assert not np.allclose(trained["sum"], trained["mean"])
    assert not np.allclose(trained["mean"], trained["sqrtn"])
    with pytest.raises(ValueError, match="sparse_combiner must be one of"):
        est.LinearRegressor([column], sparse_combiner="max")


def test_checkpoints_can_be_turned_off_as_in_the_original(tmp_path):
    never = line(tmp_path / "never", save_checkpoints_steps=None, save_checkpoints_secs=None)
    never.train(line_input_fn(epochs=2), steps=3)
    assert never.latest_checkpoint() is None  # and evaluation runs from the initial values
    assert never.evaluate(line_input_fn())["global_step"] == 0
    with pytest.raises(ValueError, match="There should be a CheckpointSaverHook to use "
                                         "saving_listeners"):
        never.train(line_input_fn(), steps=1,
                    saving_listeners=[v1.train.CheckpointSaverListener()])


def test_model_fn_without_labels_refuses_an_input_fn_with_labels(tmp_path):
    def no_labels(features, mode, params):
        return line_model_fn(features, None, mode, params)

    model = est.Estimator(no_labels, tmp_path / "m", params={"w0": 0.0})
    with pytest.raises(ValueError, match="model_fn does not take labels, but input_fn returns"):
        model.train(line_input_fn(), steps=1)
    model.train(line_input_fn(features_only=True), steps=1)  # features only: fine
    assert model.global_step == 1


def test_non_scalar_metrics_are_written_as_tensors_and_names_must_be_strings(tmp_path):
    def with_vector(features, labels, mode, params):
        spec = line_model_fn(features, labels, mode, params)
        if mode != ModeKeys.EVAL:
            return spec
        vector = v1.metrics.mean_tensor(tf.stack([tf.reduce_mean(labels), 1.0]))
        return spec._replace(eval_metric_ops={**spec.eval_metric_ops, "vec": vector})

    model = est.Estimator(with_vector, tmp_path / "m", params={"w0": 0.5})
    results = model.evaluate(line_input_fn())
    assert np.shape(results["vec"]) == (2,)
    written = events(model.eval_dir())
    assert set(written) == {"loss", "mae", "vec"}  # no checkpoint yet: no checkpoint_path
    assert written["vec"] == [(0, "tensor")]
    with pytest.raises(TypeError, match="name must be a string, not int"):
        model.evaluate(line_input_fn(), name=1)


def linear_line(model_dir, **kwargs) -> est.LinearRegressor:
    return est.LinearRegressor([fc.numeric_column("x")], model_dir,
                               config=est.RunConfig(log_step_count_steps=None), **kwargs)


def linear_input_fn(weights=None, epochs=1):
    def input_fn():
        features = {"x": LINE_X, "w": LINE_X + 2.0 if weights is None else weights}
        return tf.data.Dataset.from_tensor_slices((features, LINE_Y)).repeat(epochs).batch(8)
    return input_fn


def test_linear_regressor_warm_starts_from_a_model_or_an_export(tmp_path):
    source = linear_line(tmp_path / "source")
    source.train(linear_input_fn(epochs=20), steps=40)
    expected = [p["predictions"] for p in source.predict(linear_input_fn())]
    assert np.ptp(expected) > 0.5  # trained: not the zeros a fresh model predicts
    receiver = est.export.build_raw_serving_input_receiver_fn({"x": tf.zeros([1])})
    exported = source.export_saved_model(tmp_path / "export", receiver)
    for start in (source.model_dir, str(exported)):  # a model folder; an exported SavedModel
        warm = linear_line(tmp_path / f"warm{len(str(start))}", warm_start_from=start)
        np.testing.assert_allclose([p["predictions"] for p in warm.predict(linear_input_fn())],
                                   expected, rtol=1e-6)
    untrained = linear_line(tmp_path / "untrained", warm_start_from=source.model_dir)
    again = untrained.export_saved_model(tmp_path / "again", receiver)  # the values it starts from
    served = tf.saved_model.load(str(again)).signatures["predict"](x=tf.constant(LINE_X))
    np.testing.assert_allclose(served["predictions"].numpy().ravel(), np.ravel(expected),
                               rtol=1e-6)


def test_linear_regressor_summaries_weight_columns_and_labels(tmp_path):
    for reduction, tags in (
            (v1.losses.Reduction.SUM, {"loss", "average_loss", "linear/bias",
                                       "linear/fraction_of_zero_weights"}),
            (v1.losses.Reduction.SUM_OVER_BATCH_SIZE, {"loss", "linear/bias",
                                                       "linear/fraction_of_zero_weights"})):
        model = est.LinearRegressor([fc.numeric_column("x")], tmp_path / reduction,
                                    loss_reduction=reduction, config=est.RunConfig(
                                        log_step_count_steps=None, save_summary_steps=1))
        model.train(linear_input_fn(), steps=2)
        written = events(model.model_dir)
        assert set(written) == tags  # the original's training summaries
        assert [step for step, _ in written["loss"]] == [1, 2]  # one per step, in order
        if "average_loss" in written:  # SUM: the summed loss per unit of weight (8 rows of 1)
            for (_, loss), (_, average) in zip(written["loss"], written["average_loss"]):
                assert average == pytest.approx(loss / 8, rel=1e-6) and average != loss
    by_name = linear_line(tmp_path / "name", weight_column="w")
    by_column = linear_line(tmp_path / "column", weight_column=fc.numeric_column("w"))
    unweighted = linear_line(tmp_path / "none")
    losses = [model.evaluate(linear_input_fn())["loss"] for model in (by_name, by_column,
                                                                       unweighted)]
    assert losses[0] == pytest.approx(losses[1], rel=1e-6) and losses[0] != losses[2]
    with pytest.raises(ValueError, match="You must provide a labels Tensor"):
        unweighted.train(lambda: tf.data.Dataset.from_tensor_slices({"x": LINE_X}).batch(8),
                         steps=1)


def test_dense_names_its_variables_as_tf_layers_and_follows_the_graph_seed():
    """estimator.dense stands for tf.layers.dense; unlike the original's Keras-2 layer, its
    initial weights follow the graph seed (a difference kept on purpose: lesson 06b)."""
    def first_weights(seed: int):
        with tf.Graph().as_default():
            v1.set_random_seed(seed)
            est.dense(est.dense(tf.ones([2, 3]), 4), 2, activation=tf.nn.relu)
            names = [v.op.name for v in v1.global_variables()]
            with v1.Session() as session:
                session.run(v1.global_variables_initializer())
                return names, session.run(v1.trainable_variables())

    names, weights = first_weights(42)
    assert names == ["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias"]
    assert [w.shape for w in weights] == [(3, 4), (4,), (4, 2), (2,)]
    assert not weights[1].any() and np.abs(weights[0]).max() <= np.sqrt(6 / 7)  # zeros; Glorot
    _, again = first_weights(42)
    _, other = first_weights(43)
    np.testing.assert_array_equal(weights[0], again[0])  # the same seed, the same draw
    assert not np.allclose(weights[0], other[0])
