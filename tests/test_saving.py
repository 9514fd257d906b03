"""tflab.saving's SavedModel export: each variable stored once, the same signature and scores."""

from __future__ import annotations

from collections import Counter

import keras
import numpy as np
import pytest
import tensorflow as tf

from tflab import models, saving


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    return models.seed_cnn()  # untrained: size and scores do not depend on training


@pytest.fixture(scope="module")
def exported(model, tmp_path_factory):
    return saving.export_saved_model(model, tmp_path_factory.mktemp("export") / "mnist")


def _weight_bytes(model) -> int:
    return sum(weight.numpy().nbytes for weight in model.weights)


def test_export_stores_each_weight_once(model, exported):
    ratio = saving.variables_bytes(exported) / _weight_bytes(model)
    assert 1.0 <= ratio <= 1.05, f"variables/ holds {ratio:.3f}x the weights"  # was 2.0x
    reader = tf.train.load_checkpoint(str(exported / "variables" / "variables"))
    stored = [tuple(shape) for key, shape in reader.get_variable_to_shape_map().items()
              if key != "_CHECKPOINTABLE_OBJECT_GRAPH"]
    assert Counter(stored) == Counter(tuple(w.shape) for w in model.weights)


def test_export_keeps_the_signature_and_the_scores(model, exported, tmp_path):
    signature = tf.saved_model.load(str(exported)).signatures["serving_default"]
    inputs = signature.structured_input_signature[1]
    assert list(inputs) == ["images"] and list(signature.structured_outputs) == ["scores"]
    assert inputs["images"].shape.as_list() == [None, 784] and inputs["images"].dtype == tf.float32
    out = signature.structured_outputs["scores"]
    assert out.shape.as_list() == [None, 10] and out.dtype == tf.float32

    # The scores equal the model's and those of Keras's documented track()+add_endpoint export.
    images = np.random.default_rng(0).uniform(0, 1, (5, 784)).astype(np.float32)
    scores = signature(images=tf.constant(images))["scores"].numpy()
    np.testing.assert_allclose(scores, model(images, training=False), rtol=0, atol=1e-6)
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(name="serving_default", fn=lambda x: {"scores": model(x, training=False)},
                         input_signature=[tf.TensorSpec([None, 784], tf.float32, name="images")])
    archive.write_out(str(tmp_path / "tracked"), verbose=False)
    tracked = tf.saved_model.load(str(tmp_path / "tracked")).signatures["serving_default"]
    np.testing.assert_array_equal(scores, tracked(images=tf.constant(images))["scores"])
    assert saving.variables_bytes(tmp_path / "tracked") > 1.9 * _weight_bytes(model)  # the old way


def test_variables_bytes_and_serving_memory_need_a_saved_model_folder(tmp_path):
    with pytest.raises(saving.ModelError, match="no variables/"):
        saving.variables_bytes(tmp_path)
    with pytest.raises(saving.ModelError, match="no saved_model.pb"):
        saving.serving_memory_mb(tmp_path)
