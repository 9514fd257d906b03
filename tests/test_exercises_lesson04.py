"""Lesson 04's exercises: typical wrong answers fail with a helpful message."""

from __future__ import annotations

import os

from exercise_checks import failed_with

from tflab import exercises, saving


def _archive(model, path, *, input_shape=(None, 784), classes_type="int64"):
    import keras
    import tensorflow as tf

    def serve(images):
        scores = model(tf.reshape(images, (-1, 784)), training=False)
        return {"scores": scores,
                "classes": tf.argmax(scores, axis=1, output_type=tf.dtypes.as_dtype(classes_type))}

    archive = keras.export.ExportArchive()
    archive.add_endpoint(name="serving_default", fn=serve,
                         input_signature=[tf.TensorSpec(input_shape, tf.float32, name="images")])
    archive.write_out(str(path), verbose=False)


def test_trainable_values_wrong_answers():
    import numpy as np

    ex = exercises.try_it("04", 1)

    def every_weight(model):  # the summary's "Total params": moving averages, frozen layers too
        return sum(int(np.prod(w.shape)) for w in model.weights)

    def tensors(model):  # how many weight tensors, not how many values
        return len(model.trainable_weights)

    def kernels_only(model):  # near miss: forgets the biases
        return sum(int(np.prod(w.shape)) for w in model.trainable_weights if len(w.shape) > 1)

    def trainable_layers(model):  # near miss: BatchNormalization is a trainable layer, but
        return sum(layer.count_params() for layer in model.layers if layer.trainable)

    def first_model_only(model):  # gaming: the right count for the first model, then a constant
        return 1225

    for answer, message in [(lambda model: model.count_params(), "every weight, but 18 of them"),
                            (every_weight, "are not trainable"),
                            (trainable_layers, "count only model.trainable_weights"),
                            (tensors, "the number of weight tensors"),
                            (kernels_only, "the kernels only; the biases"),
                            (lambda model: 3_274_634, "you returned 3,274,634; its trainable "
                                                      "weights hold 1,225 values"),
                            (first_model_only, "with batch normalisation you returned 1,225"),
                            (lambda model: "1225", "with batch normalisation you returned"),
                            (lambda model: None, "should be the number of trainable values")]:
        failed_with(ex, answer, message)
    assert ex.judge(lambda model: sum(int(np.prod(v.shape)) for v in model.trainable_variables)
                    )[0] == "passed"


def test_export_with_classes_wrong_answers():
    ex = exercises.get("04", 1)

    def keras_default(model, path):  # Keras's own export: default input and output names
        model.export(str(path), verbose=False)

    def int32_classes(model, path):
        _archive(model, path, classes_type="int32")

    def images_28x28(model, path):
        _archive(model, path, input_shape=(None, 28, 28))

    def version_folder(model, path):  # TF Serving's layout, but not what was asked
        _archive(model, path / "1")

    def constant_classes(model, path):  # gaming: the right signature, classes always 0
        import keras
        import tensorflow as tf

        def serve(images):
            scores = model(images, training=False)
            return {"scores": scores, "classes": tf.zeros(tf.shape(images)[:1], tf.int64)}

        archive = keras.export.ExportArchive()
        archive.add_endpoint(name="serving_default", fn=serve, input_signature=[
            tf.TensorSpec([None, 784], tf.float32, name="images")])
        archive.write_out(str(path), verbose=False)

    def uniform_scores(model, path):  # gaming: ignores the images, scores all 0.1
        import keras
        import tensorflow as tf

        def serve(images):
            scores = tf.fill([tf.shape(images)[0], 10], 0.1)
            return {"scores": scores, "classes": tf.argmax(scores, axis=1)}

        archive = keras.export.ExportArchive()
        archive.add_endpoint(name="serving_default", fn=serve, input_signature=[
            tf.TensorSpec([None, 784], tf.float32, name="images")])
        archive.write_out(str(path), verbose=False)

    for answer, message in [(constant_classes, "'classes' are [0, 0, 0, 0, 0, 0, 0] but"),
                            (uniform_scores, "'scores' differ from the model's predictions"),
                            (keras_default, "no 'scores' output (it has ['output_0'])"),
                            (saving.export_saved_model, "no 'classes' output"),
                            (int32_classes, "'classes' is int32 [None]"),
                            (images_28x28, "'images' is float32 [None, 28, 28]"),
                            (version_folder, "no SavedModel at path"),
                            ("model.export", "should be a function")]:
        failed_with(ex, answer, message)


def test_safe_save_wrong_answers():
    ex = exercises.get("04", 2)

    def direct(model, path):  # the failed save overwrites the good file
        model.save(path)

    def tmp_suffix(model, path):  # Keras refuses a name that does not end in .keras
        tmp = str(path) + ".tmp"
        model.save(tmp)
        os.replace(tmp, path)

    def no_cleanup(model, path):
        tmp = path.with_name("tmp-" + path.name)
        model.save(tmp)
        os.replace(tmp, path)

    def hides_error(model, path):
        tmp = path.with_name("tmp-" + path.name)
        try:
            model.save(tmp)
            os.replace(tmp, path)
        except OSError as err:
            tmp.unlink(missing_ok=True)
            print("could not save:", err)

    def saves_nothing(model, path):  # gaming: ignores the model, nothing written
        pass

    def never_overwrites(model, path):  # keeps the first file: safe, but never updates it
        if not path.exists():
            model.save(path)

    for answer, message in [(saves_nothing, "after the first save, the file at path does not load"),
                            (never_overwrites, "after saving a second model over the first, the "
                                               "file at path holds a different model"),
                            (direct, "destroyed the good model"),
                            (tmp_suffix, "raised ValueError: Invalid filepath extension"),
                            (no_cleanup, "after a failed save, the folder also holds"),
                            (hides_error, "let the error reach the caller")]:
        failed_with(ex, answer, message)


def test_safe_save_accepts_the_library_function():
    assert exercises.get("04", 2).judge(saving.save_keras)[0] == "passed"


def test_tf1_by_name_wrong_answers():
    ex = exercises.get("04", 3)
    import tensorflow as tf

    v1 = tf.compat.v1

    def eager(prefix, images):  # no graph: import_meta_graph refuses in eager mode
        v1.train.import_meta_graph(prefix + ".meta")

    def initialised(prefix, images):  # runs the initializer instead of restoring
        graph = tf.Graph()
        with graph.as_default(), v1.Session(graph=graph) as sess:
            v1.train.import_meta_graph(prefix + ".meta")
            sess.run(v1.global_variables_initializer())
            return sess.run("output:0", {"input:0": images})

    def dropout_on(prefix, images):
        graph = tf.Graph()
        with graph.as_default(), v1.Session(graph=graph) as sess:
            v1.train.import_meta_graph(prefix + ".meta").restore(sess, prefix)
            return sess.run("output:0", {"input:0": images, "keep_prob:0": 0.5})

    def classes(prefix, images):
        graph = tf.Graph()
        with graph.as_default(), v1.Session(graph=graph) as sess:
            v1.train.import_meta_graph(prefix + ".meta").restore(sess, prefix)
            return sess.run(tf.argmax(graph.get_tensor_by_name("output:0"), 1),
                            {"input:0": images})

    def uniform(prefix, images):  # gaming: ignores the files, every digit equally likely
        import numpy as np

        return np.full((len(images), 10), 0.1, np.float32)

    for answer, message in [(uniform, "differ from the saved model's by up to"),
                            (eager, "raised RuntimeError"),
                            (initialised, "probabilities of the initial weights"),
                            (dropout_on, "keep_prob at 1.0"),
                            (classes, "yours has shape (6,)")]:
        failed_with(ex, answer, message)

