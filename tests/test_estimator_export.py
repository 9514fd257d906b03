"""tflab.estimator's export: export_outputs choose the signatures, as tf.estimator 2.15 did.

Each expectation here was read off the real ``tf.estimator`` (TF 2.15.1, tensorflow-estimator
2.15.0) exporting the same ``model_fn``: signature names, method names, input and output
names, dtypes, shapes, and which signatures it leaves out.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
import tensorflow as tf

from tflab import estimator as est
from tflab.estimator import EstimatorSpec, ModeKeys

v1 = tf.compat.v1

PREDICT = "tensorflow/serving/predict"
CLASSIFY = "tensorflow/serving/classify"
REGRESS = "tensorflow/serving/regress"
CLASS_NAMES = [b"neg", b"pos"]


def export_outputs_of(kind: str, predictions: dict) -> dict | None:
    """The ``export_outputs`` a test's ``model_fn`` gives, by name."""
    scores, value, classes = (predictions[k] for k in ("scores", "value", "classes"))
    return {
        "none": None,
        "reg": {"reg": est.export.RegressionOutput(value)},
        "cls": {"cls": est.export.ClassificationOutput(scores=scores, classes=classes)},
        "many": {"serving_default": est.export.PredictOutput({"value": value,
                                                              "scores": scores}),
                 "reg": est.export.RegressionOutput(value),
                 "cls": est.export.ClassificationOutput(scores=scores)},
        "no_default": {"reg": est.export.RegressionOutput(value),
                       "cls": est.export.ClassificationOutput(scores=scores)},
    }[kind]


def model_fn(features, labels, mode, params):
    """A linear model of ``features['x']`` (3 numbers): two class scores, the first logit as
    a regression value, and the class names; ``params['kind']`` picks the export outputs."""
    logits = est.dense(features["x"], 2, name="linear")
    value = logits[:, :1]
    if mode == ModeKeys.PREDICT:
        predictions = {"scores": tf.nn.softmax(logits), "value": value,
                       "classes": tf.tile(tf.constant([CLASS_NAMES]), [tf.shape(logits)[0], 1])}
        if params["kind"] == "single":
            return EstimatorSpec(mode, predictions=value)
        return EstimatorSpec(mode, predictions=predictions,
                             export_outputs=export_outputs_of(params["kind"], predictions))
    loss = tf.reduce_mean(tf.square(value - labels))
    train_op = v1.train.GradientDescentOptimizer(0.1).minimize(
        loss, global_step=v1.train.get_global_step())
    return EstimatorSpec(mode, loss=loss, train_op=train_op)


def draw(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, 3)).astype(np.float32)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A checkpoint trained 20 steps on seeded data (every kind of model_fn shares it)."""
    folder = tmp_path_factory.mktemp("export_model")
    x = draw(64, seed=0)
    y = (x @ np.array([[1.5], [-2.0], [0.5]], np.float32) + 0.3).astype(np.float32)
    estimator = est.Estimator(model_fn, model_dir=folder, params={"kind": "none"},
                              config=est.RunConfig(tf_random_seed=7, log_step_count_steps=None))
    estimator.train(lambda: tf.data.Dataset.from_tensor_slices(({"x": x}, y)).batch(16).repeat(),
                    steps=20)
    return folder


def estimator_for(model_dir, kind: str) -> est.Estimator:
    return est.Estimator(model_fn, model_dir=model_dir, params={"kind": kind})


def predicted(estimator: est.Estimator, x: np.ndarray):
    """``predict``'s batches, joined: one array per prediction key (or one array)."""
    batches = list(estimator.predict(lambda: tf.data.Dataset.from_tensor_slices({"x": x})
                                     .batch(5), yield_single_examples=False))
    if not isinstance(batches[0], dict):
        return np.concatenate(batches)
    return {k: np.concatenate([b[k] for b in batches]) for k in batches[0]}


def serialized(x: np.ndarray) -> list[bytes]:
    """Each row of ``x`` as a serialized ``tf.train.Example`` with float feature 'x'."""
    return [tf.train.Example(features=tf.train.Features(feature={
        "x": tf.train.Feature(float_list=tf.train.FloatList(value=row))})).SerializeToString()
        for row in x]


RAW = est.export.build_raw_serving_input_receiver_fn({"x": tf.zeros([1, 3])})
PARSING = est.export.build_parsing_serving_input_receiver_fn(
    {"x": tf.io.FixedLenFeature([3], tf.float32)})


def signature_table(path) -> dict:
    """name -> (method name, {input: (dtype, shape)}, {output: (dtype, shape)}), as the
    SavedModel's MetaGraphDef records them."""
    def specs(infos):
        return {k: (tf.as_dtype(i.dtype).name, [d.size for d in i.tensor_shape.dim])
                for k, i in infos.items()}

    with v1.Session(graph=tf.Graph()) as session:
        meta_graph = v1.saved_model.loader.load(session, ["serve"], str(path))
    return {name: (s.method_name, specs(s.inputs), specs(s.outputs))
            for name, s in meta_graph.signature_def.items()}


def serve(path, name: str, **inputs) -> dict:
    """The outputs of signature ``name`` of the SavedModel at ``path`` on ``inputs`` (arrays
    or lists), as NumPy arrays."""
    signature = tf.saved_model.load(str(path)).signatures[name]
    return {k: v.numpy() for k, v in signature(**{k: tf.constant(v)
                                                  for k, v in inputs.items()}).items()}


SCORES = ("float32", [-1, 2])
VALUE = ("float32", [-1, 1])
CLASSES = ("string", [-1, 2])
EXAMPLES = ("string", [-1])


def test_no_export_outputs_serves_the_predictions_by_default(model_dir, tmp_path):
    estimator = estimator_for(model_dir, "none")
    path = estimator.export_saved_model(tmp_path, RAW)
    assert signature_table(path) == {"serving_default": (
        PREDICT, {"x": ("float32", [-1, 3])},
        {"scores": SCORES, "value": VALUE, "classes": CLASSES})}
    x = draw(7, seed=1)
    served, expected = serve(path, "serving_default", x=x), predicted(estimator, x)
    assert set(served) == set(expected) == {"scores", "value", "classes"}
    for key in expected:
        np.testing.assert_allclose(served[key], expected[key], rtol=1e-6) \
            if key != "classes" else np.testing.assert_array_equal(served[key], expected[key])
    assert np.ptp(expected["value"]) > 0.1  # the inputs matter: not a constant model


def test_a_single_prediction_tensor_is_served_as_output(model_dir, tmp_path):
    estimator = estimator_for(model_dir, "single")
    path = estimator.export_saved_model(tmp_path, PARSING)
    assert signature_table(path) == {"serving_default": (PREDICT, {"examples": EXAMPLES},
                                                         {"output": VALUE})}
    x = draw(6, seed=2)
    np.testing.assert_allclose(serve(path, "serving_default", examples=serialized(x))["output"],
                               predicted(estimator, x), rtol=1e-6)


def test_a_regression_output_is_served_under_its_key_and_by_default(model_dir, tmp_path):
    estimator = estimator_for(model_dir, "reg")
    path = estimator.export_saved_model(tmp_path, PARSING)
    regress = (REGRESS, {"inputs": EXAMPLES}, {"outputs": VALUE})
    assert signature_table(path) == {"reg": regress, "serving_default": regress}
    x = draw(9, seed=3)
    expected = predicted(estimator, x)["value"]
    for name in ("reg", "serving_default"):
        np.testing.assert_allclose(serve(path, name, inputs=serialized(x))["outputs"], expected,
                                   rtol=1e-6)


def test_a_classification_output_is_served_under_its_key_and_by_default(model_dir, tmp_path):
    estimator = estimator_for(model_dir, "cls")
    path = estimator.export_saved_model(tmp_path, PARSING)
    classify = (CLASSIFY, {"inputs": EXAMPLES}, {"classes": CLASSES, "scores": SCORES})
    assert signature_table(path) == {"cls": classify, "serving_default": classify}
    x = draw(5, seed=4)
    served, expected = serve(path, "cls", inputs=serialized(x)), predicted(estimator, x)
    np.testing.assert_allclose(served["scores"], expected["scores"], rtol=1e-6)
    np.testing.assert_array_equal(served["classes"], [CLASS_NAMES] * 5)


def test_several_outputs_give_one_signature_each(model_dir, tmp_path):
    estimator = estimator_for(model_dir, "many")
    path = estimator.export_saved_model(tmp_path, PARSING)
    assert signature_table(path) == {
        "serving_default": (PREDICT, {"examples": EXAMPLES}, {"value": VALUE, "scores": SCORES}),
        "reg": (REGRESS, {"inputs": EXAMPLES}, {"outputs": VALUE}),
        "cls": (CLASSIFY, {"inputs": EXAMPLES}, {"scores": SCORES})}
    x = draw(8, seed=5)
    expected = predicted(estimator, x)
    examples = serialized(x)
    default = serve(path, "serving_default", examples=examples)
    np.testing.assert_allclose(default["value"], expected["value"], rtol=1e-6)
    np.testing.assert_allclose(default["scores"], expected["scores"], rtol=1e-6)
    np.testing.assert_allclose(serve(path, "reg", inputs=examples)["outputs"], expected["value"],
                               rtol=1e-6)
    np.testing.assert_allclose(serve(path, "cls", inputs=examples)["scores"], expected["scores"],
                               rtol=1e-6)


def test_classify_and_regress_need_one_string_input_else_are_left_out(model_dir, tmp_path,
                                                                      caplog):
    caplog.set_level(logging.INFO, logger="tensorflow")
    path = estimator_for(model_dir, "many").export_saved_model(tmp_path, RAW)
    assert signature_table(path) == {"serving_default": (
        PREDICT, {"x": ("float32", [-1, 3])}, {"value": VALUE, "scores": SCORES})}
    messages = [r.getMessage() for r in caplog.records if r.name == "tensorflow"]
    assert "Signatures INCLUDED in export for Predict: ['serving_default']" in messages
    assert "Signatures INCLUDED in export for Regress: None" in messages
    assert any(m.startswith("'reg' : Regression signatures can only accept a single tensor "
                            "input of type tf.string.") for m in messages)
    assert any(m.startswith("'cls' : Classification signatures can only accept a single "
                            "tensor input of type tf.string.") for m in messages)
    assert not any("Export includes no" in m for m in messages)

    caplog.clear()
    path = estimator_for(model_dir, "reg").export_saved_model(tmp_path, RAW)
    assert signature_table(path) == {}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "Export includes no signatures!" in warnings
    assert any(m.startswith("'serving_default' : Regression signatures")
               for m in (r.getMessage() for r in caplog.records))


def test_several_outputs_without_a_default_is_an_error(model_dir, tmp_path):
    with pytest.raises(ValueError, match="Multiple `export_outputs` were provided, but none of "
                                         "them are specified as the default"):
        estimator_for(model_dir, "no_default").export_saved_model(tmp_path, PARSING)
    assert not any(tmp_path.iterdir())  # nothing half-written


def test_receiver_alternatives_add_signatures_and_unfed_placeholders_are_left_out(
        model_dir, tmp_path, caplog):
    def receiver_fn():
        x = v1.placeholder(tf.float32, [None, 3], name="x_in")
        text = v1.placeholder(tf.string, [None], name="text_in")
        return est.export.ServingInputReceiver({"x": tf.identity(x)}, {"text": text},
                                               {"raw": {"x": x}})

    caplog.set_level(logging.INFO, logger="tensorflow")
    path = estimator_for(model_dir, "many").export_saved_model(tmp_path, receiver_fn)
    assert signature_table(path) == {"raw:serving_default": (
        PREDICT, {"x": ("float32", [-1, 3])}, {"value": VALUE, "scores": SCORES})}
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("'serving_default' : The signature's input tensors ['text_in:0'] "
                            "are insufficient") and "dependency on `x_in`" in m and
               m.endswith("<- Identity (Identity) <- x_in (Placeholder)") for m in messages)
    assert any(m.startswith("'raw:reg' : Regression signatures") for m in messages)
    assert "Export includes no default signature!" in messages
    x = draw(4, seed=6)
    np.testing.assert_allclose(serve(path, "raw:serving_default", x=x)["value"],
                               predicted(estimator_for(model_dir, "none"), x)["value"],
                               rtol=1e-6)


def test_parsing_receiver_fn_builds_the_original_graph():
    with tf.Graph().as_default():
        receiver = est.build_parsing_serving_input_receiver_fn(
            {"x": tf.io.FixedLenFeature([3], tf.float32),
             "tags": tf.io.VarLenFeature(tf.string)}, default_batch_size=4)()
        (key, examples), = receiver.receiver_tensors.items()
        assert (key, examples.name, examples.dtype, examples.shape.as_list()) == \
            ("examples", "input_example_tensor:0", tf.string, [4])
        assert sorted(receiver.features) == ["tags", "x"]
        assert receiver.features["x"].shape.as_list() == [4, 3]
        assert isinstance(receiver.features["tags"], tf.SparseTensor)
        assert receiver.receiver_tensors_alternatives is None
        with v1.Session() as session:
            x = session.run(receiver.features["x"],
                            {examples: serialized(draw(4, seed=8))})
        np.testing.assert_allclose(x, draw(4, seed=8))


def test_the_export_namespace_mirrors_tf_estimator_export():
    names = {"ServingInputReceiver", "build_raw_serving_input_receiver_fn",
             "build_parsing_serving_input_receiver_fn", "ExportOutput", "PredictOutput",
             "ClassificationOutput", "RegressionOutput"}
    assert {k for k in vars(est.export) if not k.startswith("_")} == names
    for name in names:
        assert getattr(est.export, name) is getattr(est, name)
        assert name in est.__all__
    assert issubclass(est.PredictOutput, est.ExportOutput)


def test_estimator_spec_completes_export_outputs_as_the_original():
    with tf.Graph().as_default():
        y = v1.placeholder(tf.float32, [None, 1])
        default = EstimatorSpec(ModeKeys.PREDICT, predictions={"y": y}).export_outputs
        assert list(default) == ["serving_default"]
        assert isinstance(default["serving_default"], est.PredictOutput)
        assert default["serving_default"].outputs == {"y": y}
        single = EstimatorSpec(ModeKeys.PREDICT, predictions=y).export_outputs
        assert single["serving_default"].outputs == {"output": y}
        given = {"reg": est.RegressionOutput(y)}
        spec = EstimatorSpec(ModeKeys.PREDICT, predictions=y, export_outputs=given)
        assert sorted(spec.export_outputs) == ["reg", "serving_default"]
        assert spec.export_outputs["serving_default"] is given["reg"]
        assert list(given) == ["reg"]  # the caller's dict is left alone
        # _replace checks again: new predictions keep the export_outputs given...
        assert spec._replace(predictions={"z": y}).export_outputs == spec.export_outputs
        # ...and export_outputs=None serves the new predictions
        again = spec._replace(predictions={"z": y}, export_outputs=None).export_outputs
        assert again["serving_default"].outputs == {"z": y}
        with pytest.raises(ValueError, match="mode of EstimatorSpec cannot be changed"):
            spec._replace(mode=ModeKeys.EVAL)
        # TRAIN and EVAL keep export_outputs as given, unchecked (as the original)
        loss = tf.reduce_sum(y)
        assert EstimatorSpec(ModeKeys.EVAL, loss=loss, export_outputs=[1]).export_outputs == [1]


def test_signature_defs_of_each_output():
    with tf.Graph().as_default():
        text = v1.placeholder(tf.string, [None], name="text")
        x = v1.placeholder(tf.float32, [None, 2], name="x")
        scores = tf.nn.softmax(x)
        classes = tf.constant([["a", "b"]])
        predict = est.PredictOutput({("head", "y"): x}).as_signature_def({"x": x})
        assert (predict.method_name, list(predict.inputs), list(predict.outputs)) == \
            (PREDICT, ["x"], ["head/y"])
        classify = est.ClassificationOutput(scores=scores, classes=classes) \
            .as_signature_def({"t": text})
        assert (classify.method_name, list(classify.inputs), sorted(classify.outputs)) == \
            (CLASSIFY, ["inputs"], ["classes", "scores"])
        assert classify.outputs["scores"].name == scores.name
        only_classes = est.ClassificationOutput(classes=classes).as_signature_def({"t": text})
        assert list(only_classes.outputs) == ["classes"]
        regress = est.RegressionOutput(x[:, :1]).as_signature_def({"t": text})
        assert (regress.method_name, list(regress.inputs), list(regress.outputs)) == \
            (REGRESS, ["inputs"], ["outputs"])
        for output, kind in ((est.RegressionOutput(x), "Regression"),
                             (est.ClassificationOutput(scores=scores), "Classification")):
            for receivers in ({"x": x}, {"t": text, "u": text}):
                with pytest.raises(ValueError, match=f"^{kind} signatures can only accept a "
                                                     "single tensor input of type tf.string"):
                    output.as_signature_def(receivers)


def bad_outputs():
    """(what is built, error type, message) for each bad export output."""
    x = v1.placeholder(tf.float32, [None, 2])
    ints = tf.cast(x, tf.int32)
    spec = {"mode": ModeKeys.PREDICT, "predictions": x}
    return [
        (lambda: est.PredictOutput({1: x}), ValueError,
         "Prediction output key must be a string; got 1."),
        (lambda: est.PredictOutput({"a": 3.0}), ValueError,
         "Prediction output value must be a Tensor; got 3.0."),
        (lambda: est.ClassificationOutput(), ValueError,
         "Cannot create a ClassificationOutput with empty arguments. At least one of `scores` "
         "and `classes` must be defined."),
        (lambda: est.ClassificationOutput(scores=ints), ValueError,
         "Classification scores must be a float32 Tensor; got Tensor"),
        (lambda: est.ClassificationOutput(classes=x), ValueError,
         "Classification classes must be a string Tensor; got Tensor"),
        (lambda: est.RegressionOutput(ints), ValueError,
         "Regression output value must be a float32 Tensor; got Tensor"),
        (lambda: est.RegressionOutput(1.0), ValueError,
         "Regression output value must be a float32 Tensor; got 1.0"),
        (lambda: EstimatorSpec(ModeKeys.PREDICT, predictions={"p": 1.0}), TypeError,
         "predictions[p] must be Tensor, given: 1.0"),
        (lambda: EstimatorSpec(ModeKeys.PREDICT, predictions=[x]), TypeError,
         "predictions must be Tensor, given: [<tf.Tensor"),
        (lambda: EstimatorSpec(**spec, export_outputs=[est.PredictOutput(x)]), TypeError,
         "`export_outputs` must be dict, received: ["),
        (lambda: EstimatorSpec(**spec, export_outputs={"a": x}), TypeError,
         "Values in `export_outputs` must be ExportOutput objects, received: {'a': "),
        (lambda: EstimatorSpec(**spec, export_outputs={"a": est.PredictOutput(x),
                                                       "b": est.RegressionOutput(x)}),
         ValueError, "Multiple `export_outputs` were provided, but none of them are specified "
                     "as the default."),
        (lambda: est.ServingInputReceiver(None, x), ValueError, "features must be defined."),
        (lambda: est.ServingInputReceiver({("a",): x}, x), ValueError,
         "feature keys must be strings or ints: ('a',)."),
        (lambda: est.ServingInputReceiver(x, {1: x}), ValueError,
         "receiver_tensor keys must be strings: 1."),
        (lambda: est.ServingInputReceiver({"a": 1.0}, x), ValueError,
         "feature a must be a Tensor, SparseTensor, or RaggedTensor."),
        (lambda: est.ServingInputReceiver(x, {"r": [1]}), ValueError,
         "receiver_tensor r must be a Tensor, SparseTensor, or RaggedTensor."),
        (lambda: est.ServingInputReceiver(x, x, [x]), ValueError,
         "receiver_tensors_alternatives must be a dict: ["),
        (lambda: est.ServingInputReceiver(x, x, {"alt": {"y": 2}}), ValueError,
         "receiver_tensors_alternative y must be a Tensor"),
        (lambda: est.build_parsing_serving_input_receiver_fn([("x", 1)]), TypeError,
         "feature_spec must be a dict of name -> tf.io.FixedLenFeature or VarLenFeature, "
         "not list"),
        (lambda: est.build_raw_serving_input_receiver_fn(x), TypeError,
         "features must be a dict of name -> example Tensor, not SymbolicTensor"),
    ]


def test_bad_export_outputs_and_receivers_raise_clear_errors():
    with tf.Graph().as_default():
        cases = bad_outputs()
        for build, error, message in cases:
            with pytest.raises(error) as raised:
                build()
            assert str(raised.value).startswith(message), (message, str(raised.value))
    assert len(cases) == 21


def test_good_receivers_are_wrapped_as_the_original():
    with tf.Graph().as_default():
        x = v1.placeholder(tf.float32, [None, 2])
        receiver = est.ServingInputReceiver(x, x, {"alt": x})
        assert receiver.features == {"feature": x} and receiver.receiver_tensors == {"input": x}
        assert receiver.receiver_tensors_alternatives == {"alt": {"input": x}}
        assert est.ServingInputReceiver({1: x}, {"r": x}).features == {1: x}
        features, receivers, alternatives = est.ServingInputReceiver(x, x)
        assert alternatives is None


def test_export_errors_name_what_was_wrong(model_dir, tmp_path):
    estimator = estimator_for(model_dir, "none")
    with pytest.raises(ValueError, match="An input_receiver_fn must be defined."):
        estimator.export_saved_model(tmp_path, None)
    with pytest.raises(TypeError, match="serving_input_receiver_fn must be a function returning "
                                        "a ServingInputReceiver, not str"):
        estimator.export_saved_model(tmp_path, "receiver")
    with pytest.raises(TypeError, match="serving_input_receiver_fn must return a "
                                        "ServingInputReceiver, not dict"):
        estimator.export_saved_model(tmp_path, lambda: {"x": tf.zeros([1, 3])})
    with pytest.raises(ValueError, match="Couldn't find trained model at "):
        est.Estimator(model_fn, model_dir=tmp_path / "empty", params={"kind": "none"}) \
            .export_saved_model(tmp_path, RAW)
    assert not any(p.name.isdigit() for p in tmp_path.iterdir())


def test_local_variables_are_initialised_in_the_export_as_in_predict(model_dir, tmp_path):
    def with_offset(features, mode):  # a local variable, as streaming metrics make
        value = est.dense(features["x"], 2, name="linear")[:, :1]
        offset = v1.get_local_variable("offset", initializer=tf.constant(3.0))
        return EstimatorSpec(mode, predictions={"value": value + offset})

    estimator = est.Estimator(with_offset, model_dir=model_dir)
    path = estimator.export_saved_model(tmp_path, RAW)
    x = draw(4, seed=9)
    expected = predicted(estimator, x)["value"]
    np.testing.assert_allclose(expected - predicted(estimator_for(model_dir, "none"), x)["value"],
                               3.0, rtol=1e-6)
    np.testing.assert_allclose(serve(path, "serving_default", x=x)["value"], expected, rtol=1e-6)


def test_linear_regressor_exports_the_regression_heads_three_signatures(tmp_path):
    x = draw(48, seed=5)
    y = (x @ np.array([[0.5], [1.0], [-1.5]], np.float32) + 2.0).astype(np.float32)
    regressor = est.LinearRegressor(
        [tf.feature_column.numeric_column("x", shape=[3])], tmp_path / "lin",
        config=est.RunConfig(log_step_count_steps=None))
    regressor.train(lambda: tf.data.Dataset.from_tensor_slices(({"x": x}, y)).batch(16).repeat(),
                    steps=30)
    path = regressor.export_saved_model(tmp_path / "export", PARSING)
    regress = (REGRESS, {"inputs": EXAMPLES}, {"outputs": VALUE})
    assert signature_table(path) == {
        "serving_default": regress, "regression": regress,
        "predict": (PREDICT, {"examples": EXAMPLES}, {"predictions": VALUE})}
    new = draw(5, seed=6)
    expected = np.stack([p["predictions"] for p in regressor.predict(
        lambda: tf.data.Dataset.from_tensor_slices({"x": new}).batch(5))])
    assert np.ptp(expected) > 0.1  # trained: the inputs matter
    for name, key, inputs in (("serving_default", "outputs", "inputs"),
                              ("regression", "outputs", "inputs"),
                              ("predict", "predictions", "examples")):
        np.testing.assert_allclose(serve(path, name, **{inputs: serialized(new)})[key], expected,
                                   rtol=1e-6)
    raw = regressor.export_saved_model(tmp_path / "raw", RAW)  # regress needs serialized input
    assert set(signature_table(raw)) == {"predict"}
