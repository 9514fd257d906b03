"""Exercises of lesson 04, train and save: a Try it on counting a model's trainable values, then
a serving signature, a safe save, TF1 names."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from tflab.exercises.core import (
    Exercise,
    Failed,
    call,
    first_line,
    number,
    numbers,
    require_callable,
)

_DISK_FULL = "no space left on device (simulated by the checker)"


def _dense_model(rng: np.random.Generator, inputs: int, outputs: int, activation=None):
    """A one-layer Keras model with random weights (the global seeds are left alone)."""
    import keras

    model = keras.Sequential([keras.Input((inputs,), name="images"),
                              keras.layers.Dense(outputs, activation=activation)])
    model.layers[-1].set_weights([rng.normal(0, 0.1, (inputs, outputs)).astype(np.float32),
                                  rng.normal(0, 0.1, outputs).astype(np.float32)])
    return model


def _spec_text(spec) -> str:
    return f"{spec.dtype.name} {spec.shape.as_list()}"


def _export_with_classes(answer) -> str:
    import tensorflow as tf

    require_callable(answer, "export(model, path)")
    rng = np.random.default_rng(404)
    model = _dense_model(rng, 784, 10, "softmax")
    images = rng.uniform(0, 1, (7, 784)).astype(np.float32)
    expected = model(images, training=False).numpy()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mnist_savedmodel"
        call(answer, model, path)
        if not (path / "saved_model.pb").is_file():
            raise Failed(f"there is no SavedModel at path afterwards (no saved_model.pb in "
                         f"{path.name}/): write the folder at exactly the path you are given")
        try:
            loaded = tf.saved_model.load(str(path))
        except Exception as err:
            raise Failed(f"tf.saved_model.load could not read it: {type(err).__name__}: "
                         f"{first_line(err)}") from None
        signature = loaded.signatures.get("serving_default")
        if signature is None:
            raise Failed(f"the SavedModel has no 'serving_default' signature, only "
                         f"{sorted(loaded.signatures)}: name the endpoint 'serving_default'")
        inputs = signature.structured_input_signature[1]
        if sorted(inputs) != ["images"]:
            raise Failed(f"the signature's inputs are {sorted(inputs)}; a server sends one input "
                         "named 'images': tf.TensorSpec([None, 784], tf.float32, name='images')")
        if _spec_text(inputs["images"]) != "float32 [None, 784]":
            raise Failed(f"'images' is {_spec_text(inputs['images'])}; it should be float32 "
                         "[None, 784]: any number of images of 784 pixels")
        outputs = signature.structured_outputs
        for name, want in [("scores", "float32 [None, 10]"), ("classes", "int64 [None]")]:
            if not isinstance(outputs, dict) or name not in outputs:
                found = sorted(outputs) if isinstance(outputs, dict) else outputs
                raise Failed(f"the signature has no {name!r} output (it has {found}): return a "
                             "dict {'scores': ..., 'classes': ...} from the endpoint")
            if _spec_text(outputs[name]) != want:
                raise Failed(f"{name!r} is {_spec_text(outputs[name])}; it should be {want}"
                             + (" (tf.argmax's default output_type)" if name == "classes" else ""))
        result = signature(images=tf.constant(images))
        scores, classes = result["scores"].numpy(), result["classes"].numpy()
    error = float(np.abs(scores - expected).max())
    if error > 1e-5:
        raise Failed(f"on 7 new images 'scores' differ from the model's predictions by up to "
                     f"{error:.3g}: return model(images, training=False)")
    if not np.array_equal(classes, expected.argmax(axis=1)):
        raise Failed(f"'classes' are {classes.tolist()} but the most likely classes are "
                     f"{expected.argmax(axis=1).tolist()}: tf.argmax(scores, axis=1)")
    return "serving_default maps images [None, 784] to the right scores and int64 classes."


class _HalfSave:
    """A model whose save writes half a file and then fails, like a full disk."""

    def save(self, filepath, *args, **kwargs) -> None:
        if not str(filepath).endswith(".keras"):
            raise ValueError(f"Invalid filepath extension for saving: {filepath} (like Keras, "
                             "this model only saves to a name ending in .keras)")
        Path(filepath).write_bytes(b"PK\x03\x04 half a model")
        raise OSError(_DISK_FULL)


def _same_model(path: Path, model, images: np.ndarray, when: str) -> None:
    import keras

    try:
        loaded = keras.saving.load_model(path)
    except Exception as err:
        raise Failed(f"{when}, the file at path does not load: {type(err).__name__}: "
                     f"{first_line(err)}") from None
    if not np.allclose(loaded(images), model(images), atol=1e-6):
        raise Failed(f"{when}, the file at path holds a different model from the one saved")


def _leftovers(folder: Path, target: Path, when: str) -> None:
    others = sorted(p.name for p in folder.iterdir() if p != target)
    if others:
        raise Failed(f"{when}, the folder also holds {others}: remove the temporary file "
                     "(it is renamed onto path on success; delete it on failure)")


def _safe_save(answer) -> str:
    require_callable(answer, "save_safely(model, path)")
    rng = np.random.default_rng(4040)
    images = rng.normal(size=(5, 4)).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        target = folder / "mnist_cnn.keras"
        first, second = _dense_model(rng, 4, 3), _dense_model(rng, 4, 3)
        call(answer, first, target)
        _same_model(target, first, images, "after the first save")
        _leftovers(folder, target, "after the first save")
        call(answer, second, target)
        _same_model(target, second, images, "after saving a second model over the first")
        _leftovers(folder, target, "after the second save")
        good = target.read_bytes()
        try:
            call(answer, _HalfSave(), target)
        except Failed as err:
            if _DISK_FULL not in str(err):
                raise Failed(f"{err} — when model.save fails, clean up and let the original "
                             "error through (a bare `raise`)") from None
        else:
            raise Failed("when model.save failed (OSError: disk full) your function returned as "
                         "if all was well: let the error reach the caller")
        if not target.is_file() or target.read_bytes() != good:
            raise Failed("a save that failed half-way destroyed the good model at path: "
                         "model.save to a temporary .keras file in the same folder, and "
                         "os.replace it onto path only after the save succeeded")
        _leftovers(folder, target, "after a failed save")
    return "two saves replaced the file, and a save that failed half-way left the good one intact."


def _tf1_model(folder: Path, rng: np.random.Generator
               ) -> tuple[str, np.ndarray, np.ndarray, np.ndarray]:
    """A small TF1 graph with random weights, saved with Saver: (prefix, images, and the
    probabilities for the images with the saved weights and with the initial ones)."""
    import tensorflow as tf

    from tflab import models

    v1 = tf.compat.v1
    images = rng.uniform(0, 1, (6, 784)).astype(np.float32)
    graph, t = models.tf1_classifier(hidden=16)
    with v1.Session(graph=graph) as sess:
        sess.run(t["init"])
        initial = sess.run(t["output"], {t["input"]: images})
        with graph.as_default():
            sess.run([v.assign(rng.normal(0, 0.2, v.shape).astype(np.float32))
                      for v in v1.trainable_variables()])
            prefix = v1.train.Saver().save(sess, str(folder / "tf1" / "mnist"))
        saved = sess.run(t["output"], {t["input"]: images})
    return prefix, images, saved, initial


def _tf1_by_name(answer) -> str:
    require_callable(answer, "predict_by_name(prefix, images) returning the probabilities")
    rng = np.random.default_rng(4041)
    with tempfile.TemporaryDirectory() as tmp:
        prefix, images, saved, initial = _tf1_model(Path(tmp), rng)
        got = call(answer, prefix, images.copy())
    got = numbers(got, "what predict_by_name returns")
    if got.shape != saved.shape:
        raise Failed(f"for 6 images the result should have shape (6, 10), the values of "
                     f"'output:0'; yours has shape {got.shape}")
    if np.allclose(got, initial, atol=1e-5):
        raise Failed("those are the probabilities of the initial weights: restore the saved "
                     "weights with saver.restore(sess, prefix) instead of running the initializer")
    error = float(np.abs(got - saved).max())
    if error > 1e-5:
        raise Failed(f"your probabilities differ from the saved model's by up to {error:.3g}: "
                     "restore the weights, and leave keep_prob at 1.0 (its default) so that "
                     "dropout is off")
    return "the graph and weights came back from the files, found by their names alone."


def _size(weights) -> int:
    return int(sum(np.prod(w.shape, dtype=np.int64) for w in weights))


def _count_models():
    """Models the learner has not seen: (description, model), each with something to get right."""
    import keras

    zeros = {"kernel_initializer": "zeros"}  # values do not matter here; no random draws
    conv = keras.Sequential([keras.Input((12, 12, 3)), keras.layers.Conv2D(6, 3, **zeros),
                             keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
                             keras.layers.Dense(7, **zeros)])
    normed = keras.Sequential([keras.Input((20,)), keras.layers.Dense(9, use_bias=False, **zeros),
                               keras.layers.BatchNormalization(),
                               keras.layers.Dense(4, activation="softmax", **zeros)])
    frozen = keras.Sequential([keras.Input((16,)), keras.layers.Dense(11, **zeros),
                               keras.layers.Dense(3, **zeros)])
    frozen.layers[0].trainable = False  # its 16·11 + 11 weights stay as they are
    return [("a small CNN (conv 3×3×3×6, pool, dense 7)", conv),
            ("a dense net with batch normalisation", normed),
            ("a dense net whose first layer is frozen", frozen)]


def _trainable_values(answer) -> str:
    require_callable(answer, "trainable_values(model) returning a number")
    for what, model in _count_models():
        got = number(call(answer, model), "the number of trainable values")
        want = _size(model.trainable_weights)
        if got == want:
            continue
        if got == _size(model.weights):
            raise Failed(f"for {what} you counted {got:,.0f}, every weight, but "
                         f"{got - want:,.0f} of them are not trainable (batch normalisation's "
                         "moving averages, a frozen layer's weights): count only "
                         "model.trainable_weights")
        if got == len(model.trainable_weights):
            raise Failed(f"for {what} you returned {got:,.0f}, the number of weight tensors; "
                         "count the values in them: multiply out each tensor's shape")
        if got == _size(w for w in model.trainable_weights if len(w.shape) > 1):
            raise Failed(f"for {what} you counted {got:,.0f}, the kernels only; the biases "
                         f"(one-dimensional weights) are trainable too: {want:,} in all")
        raise Failed(f"for {what} you returned {got:,.0f}; its trainable weights hold "
                     f"{want:,} values")
    return ("right on three new models, a frozen layer and batch normalisation's moving "
            "averages left out.")


TRY_ITS = [
    Exercise("04", 1, "Write trainable_values(model): the number of values that training "
             "changes in a Keras model, the sizes of its trainable weight tensors added up "
             "(a kernel of shape (5, 5, 1, 32) holds 5·5·1·32 values). It is tried on models "
             "it has not seen, including one with a frozen layer and one with batch "
             "normalisation, whose moving averages are weights that training does not change.",
             _trainable_values,
             ["model.trainable_weights lists the tensors that training changes; each has a "
              ".shape. The summary above prints the total as 'Trainable params'.",
              "sum(int(np.prod(w.shape)) for w in model.trainable_weights). "
              "model.count_params() counts the non-trainable weights too."],
             """import numpy as np

def trainable_values(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)

answer = trainable_values""", try_it=True),
]


EXERCISES = [
    Exercise("04", 1, "Write export(model, path): save a Keras MNIST model (784 pixels → 10 "
             "probabilities) as a SavedModel at path whose 'serving_default' signature takes "
             "'images' (float32 [None, 784]) and returns 'scores' (float32 [None, 10]) and "
             "'classes' (int64 [None], the most likely digit).", _export_with_classes,
             ["serving_archive, written in section 4 of the notebook, builds everything "
              "but 'classes': start from its keras.export.ExportArchive code and write the "
              "archive out with archive.write_out(str(path)).",
              "The endpoint's fn can return {'scores': s, 'classes': tf.argmax(s, axis=1)} "
              "with s = model(images, training=False); argmax gives int64."],
             """import keras
import tensorflow as tf

def export(model, path):
    def serve(images):
        scores = model(images, training=False)
        return {"scores": scores, "classes": tf.argmax(scores, axis=1)}

    archive = keras.export.ExportArchive()
    archive.add_endpoint(name="serving_default", fn=serve,
                         input_signature=[tf.TensorSpec([None, 784], tf.float32, name="images")])
    archive.write_out(str(path), verbose=False)

answer = export"""),
    Exercise("04", 2, "Write save_safely(model, path) that saves model to the .keras file path "
             "(a pathlib.Path) so that a save which fails half-way leaves the old file at path "
             "untouched, lets the error reach the caller, and leaves no temporary file behind.",
             _safe_save,
             ["Never let model.save write to path itself: save somewhere else in the same "
              "folder, then move the finished file into place in one step, as section 4 "
              "describes (files.replace_atomically does it for the course's savers).",
              "Keras only saves to names ending in .keras, e.g. path.with_name('.tmp-' + "
              "path.name); os.replace(tmp, path) after model.save(tmp), and in a "
              "try/except delete tmp and re-raise (`raise`)."],
             """import os

def save_safely(model, path):
    tmp = path.with_name(".tmp-" + path.name)
    try:
        model.save(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise

answer = save_safely"""),
    Exercise("04", 3, "Write predict_by_name(prefix, images): import the TF1 graph that "
             "tf.compat.v1.train.Saver saved at prefix (as in section 5), restore its weights, "
             "and return the tensor 'output:0' (the probabilities, shape (N, 10)) for the "
             "float32 images (N, 784), dropout off.", _tf1_by_name,
             ["Do it in a fresh graph (`with tf.Graph().as_default():`) and a v1.Session: "
              "import_meta_graph does not work in eager mode.",
              "saver = tf.compat.v1.train.import_meta_graph(prefix + '.meta'); "
              "saver.restore(sess, prefix); sess.run('output:0', {'input:0': images}) — "
              "keep_prob defaults to 1.0."],
             """import tensorflow as tf

def predict_by_name(prefix, images):
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        saver = tf.compat.v1.train.import_meta_graph(prefix + ".meta")
        saver.restore(sess, prefix)
        return sess.run("output:0", {"input:0": images, "keep_prob:0": 1.0})

answer = predict_by_name"""),
]
