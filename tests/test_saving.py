"""tflab.saving's SavedModel export: each variable stored once, the same signature and scores."""

from __future__ import annotations

import subprocess
from collections import Counter

import keras
import numpy as np
import pytest
import tensorflow as tf

from tflab import files, models, saving


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    return models.lesson_04().seed_cnn()  # untrained: size and scores do not depend on training


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
    archive = saving.serving_archive(model)
    archive.track(model)  # what the export did before: a second copy of every weight
    archive.write_out(str(tmp_path / "tracked"), verbose=False)
    tracked = tf.saved_model.load(str(tmp_path / "tracked")).signatures["serving_default"]
    np.testing.assert_array_equal(scores, tracked(images=tf.constant(images))["scores"])
    assert saving.variables_bytes(tmp_path / "tracked") > 1.9 * _weight_bytes(model)  # the old way


def test_variables_bytes_and_serving_memory_need_a_saved_model_folder(tmp_path):
    with pytest.raises(saving.ModelError, match="no variables/"):
        saving.variables_bytes(tmp_path)
    with pytest.raises(saving.ModelError, match="no saved_model.pb"):
        saving.serving_memory_mb(tmp_path)


def test_serving_memory_is_in_megabytes_of_a_million_bytes(tmp_path, monkeypatch):
    """/proc counts KiB: 1,000,000 KiB is 1024 MB (10⁶ bytes), not 1000 (as was printed)."""
    (tmp_path / "saved_model.pb").write_bytes(b"")
    ran = subprocess.CompletedProcess([], 0, stdout="TensorFlow noise\n1000000 50000 2\n",
                                      stderr="")
    monkeypatch.setattr(saving.subprocess, "run", lambda *a, **k: ran)
    assert saving.serving_memory_mb(tmp_path) == (1024.0, 51.2, 2 * 1024 / 1e6)


# ---- a save replaces only what a save of its kind writes (issue 20)

def _tiny():
    keras.utils.set_random_seed(1)
    return keras.Sequential([keras.Input((saving.PIXELS,)),
                             keras.layers.Dense(saving.CLASSES, activation="softmax")])


def test_export_refuses_a_folder_holding_other_files_and_deletes_nothing(tmp_path):
    model, path = _tiny(), tmp_path / "mnist"
    saving.export_saved_model(model, path)
    before = files.folder_sha256(path)
    (path / "notes.txt").write_text("my notes")
    (path / "assets" / "vocab.txt").write_text("words")
    with pytest.raises(saving.ModelError, match=r"assets/vocab.txt, notes.txt"):
        saving.export_saved_model(model, path)
    assert (path / "notes.txt").read_text() == "my notes"
    (path / "notes.txt").unlink()
    (path / "assets" / "vocab.txt").unlink()
    assert files.folder_sha256(path) == before  # the old SavedModel untouched
    (tmp_path / "plain").write_text("a file")
    with pytest.raises(saving.ModelError, match="a file is there"):
        saving.export_saved_model(model, tmp_path / "plain")
    assert (tmp_path / "plain").read_text() == "a file"


def test_export_replaces_its_own_savedmodel_and_an_empty_folder(tmp_path):
    model = _tiny()
    path = saving.export_saved_model(model, tmp_path / "mnist")
    saving.export_saved_model(model, path)  # its own kind of files only: replaced
    (tmp_path / "empty").mkdir()
    saving.export_saved_model(model, tmp_path / "empty")
    assert (tmp_path / "empty" / "saved_model.pb").is_file()


def test_save_keras_refuses_a_folder_or_a_foreign_file_at_its_path(tmp_path):
    model = _tiny()
    folder = tmp_path / "model.keras"
    folder.mkdir()
    (folder / "important.txt").write_text("keep")
    with pytest.raises(saving.ModelError, match="other than a .keras file"):
        saving.save_keras(model, folder)
    assert (folder / "important.txt").read_text() == "keep"
    text = tmp_path / "text.keras"
    text.write_text("not a model")
    with pytest.raises(saving.ModelError, match="other than a .keras file"):
        saving.save_keras(model, text)
    assert text.read_text() == "not a model"
    saved = saving.save_keras(model, tmp_path / "ok.keras")
    saving.save_keras(model, saved)  # a .keras file it wrote: replaced


def test_save_checkpoint_refuses_a_folder_holding_other_files(tmp_path):
    model, path = _tiny(), tmp_path / "ckpt"
    saving.save_checkpoint(model, path)
    saving.save_checkpoint(model, path)  # its own files: replaced
    (path / "train.log").write_text("log")
    with pytest.raises(saving.ModelError, match="train.log"):
        saving.save_checkpoint(model, path)
    assert (path / "train.log").read_text() == "log"
    assert (path / "ckpt.index").is_file()


def test_a_save_removes_stale_temporary_copies_a_killed_save_left(tmp_path):
    import os
    import time

    path = tmp_path / "mnist"
    stale, fresh = tmp_path / ".mnist.abc123.tmp", tmp_path / ".mnist.def456.tmp"
    for tmp in (stale, fresh):
        (tmp / "mnist" / "variables").mkdir(parents=True)
        (tmp / "mnist" / "saved_model.pb").write_bytes(b"half")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    other = tmp_path / ".other.zzz.tmp"  # another path's temporary copy: not ours to remove
    other.mkdir()
    os.utime(other, (old, old))
    saving.export_saved_model(_tiny(), path)
    assert not stale.exists()  # left by a killed save long ago
    assert fresh.exists()  # maybe a save still running elsewhere
    assert other.exists()
    assert files.remove_stale_temps(path, older_than=0.0) == [fresh]


# ---- scoring needs no optimizer (issue 19)

def test_load_keras_compile_false_skips_the_optimizer(tmp_path):
    model = _tiny()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.optimizer.build(model.trainable_variables)
    path = saving.save_keras(model, tmp_path / "m.keras")
    with_optimizer = saving.load_keras(path)
    assert len(with_optimizer.optimizer.variables) == len(model.optimizer.variables)
    assert getattr(saving.load_keras(path, compile=False), "optimizer", None) is None
