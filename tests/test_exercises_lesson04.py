"""Lesson 04's exercises: typical wrong answers fail with a helpful message."""

from __future__ import annotations

import os

import pytest
from exercise_checks import caller_value, failed_with

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


@pytest.fixture
def old_count_models(monkeypatch):
    """Try it 04.1's models at the sizes they had before they were drawn (exact messages)."""
    from tflab.exercises import lesson04

    monkeypatch.setattr(lesson04, "_count_sizes", lambda draw: (6, 7, 9, 4, 11, 3))


def test_trainable_values_models_are_drawn_at_check_time(monkeypatch):
    import numpy as np

    from tflab.exercises import lesson04

    ex = exercises.try_it("04", 1)
    draws = {lesson04._count_sizes(np.random.default_rng()) for _ in range(3)}
    assert len(draws) > 1
    monkeypatch.setattr(lesson04, "_fresh_rng", lambda: np.random.default_rng(0))

    def table(model):  # gaming: the answers for the models the checker used to build
        return {4: 1225, 3: 238, 2: 36}[len(model.layers)]

    def freezes_then_zero(model):  # gaming: makes every weight untrainable, then counts none
        model.trainable = False
        return 0

    failed_with(ex, table, "for a small CNN (conv 3×3×3×8, pool, dense 8) you returned 1,225; "
                           "its trainable weights hold 1,832 values")
    failed_with(ex, freezes_then_zero, "you returned 0; its trainable weights hold 1,832 values")


def test_trainable_values_wrong_answers(old_count_models):
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
    import numpy as np

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

    def replays_the_callers_expected(model, path):  # gaming: the checker's values, any images
        import keras
        import tensorflow as tf

        want = tf.constant(caller_value("expected", np.zeros((7, 10), np.float32)))

        def serve(images):
            scores = tf.gather(want, tf.range(tf.shape(images)[0]))
            return {"scores": scores, "classes": tf.argmax(scores, axis=1)}

        archive = keras.export.ExportArchive()
        archive.add_endpoint(name="serving_default", fn=serve, input_signature=[
            tf.TensorSpec([None, 784], tf.float32, name="images")])
        archive.write_out(str(path), verbose=False)

    def changes_the_model_first(model, path):  # gaming: exports a model it made uniform
        model.set_weights([np.zeros_like(w) for w in model.get_weights()])
        _archive(model, path)

    for answer, message in [(replays_the_callers_expected, "'scores' differ from the model's"),
                            (changes_the_model_first, "'scores' differ from the model's"),
                            (constant_classes, "'classes' are [0, 0, 0, 0, 0, 0, 0] but"),
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


def test_safe_save_refuses_the_library_function_it_asks_for():
    ex = exercises.get("04", 2)
    refused = "saving.save_keras is what this exercise asks you to write"
    failed_with(ex, saving.save_keras, refused)
    failed_with(ex, lambda model, path: saving.save_keras(model, path), refused)
    before = saving.save_keras.__code__
    ex.judge(saving.save_keras)
    assert saving.save_keras.__code__ is before  # put back after the check


def _backup_and_restore(model, path):  # honest mistake: a crash while saving loses the model
    backup = path.with_name("backup-" + path.name)
    if path.exists():
        os.replace(path, backup)
    try:
        model.save(path)
    except BaseException:
        if backup.exists():
            os.replace(backup, path)
        raise
    backup.unlink(missing_ok=True)


def test_safe_save_is_crashed_part_way():
    import shutil
    import subprocess
    import sys
    import threading

    ex = exercises.get("04", 2)
    missing = "there was no model at path at all: a crash at that moment loses the model"
    partial = "the file at path was neither the old model nor the new one but a partly written"

    def copy_over(model, path):  # the finished file copied onto path: not one step
        tmp = path.with_name("tmp-" + path.name)
        try:
            model.save(tmp)
            shutil.copyfile(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    def remove_then_rename(model, path):  # a moment with no file between the two
        tmp = path.with_name("tmp-" + path.name)
        try:
            model.save(tmp)
            if path.exists():
                os.remove(path)
            os.rename(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def unwatched(model, path):  # gaming: switches off the checker's watch first
        sys.setprofile(None)
        _backup_and_restore(model, path)

    def in_a_thread(model, path):  # gaming: the non-atomic save runs in another thread
        errors = []

        def run():
            try:
                _backup_and_restore(model, path)
            except BaseException as err:
                errors.append(err)

        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
        if errors:
            raise errors[0]

    def copied_by_cp(model, path):  # cp run as another program: it writes into path itself
        tmp = path.with_name("tmp-" + path.name)
        try:
            model.save(tmp)
            subprocess.run(["cp", str(tmp), str(path)], check=True)
        finally:
            tmp.unlink(missing_ok=True)

    def moved_by_mv(model, path):  # atomic, but by another program, which cannot be crashed
        tmp = path.with_name("tmp-" + path.name)
        try:
            model.save(tmp)
            os.system(f"mv '{tmp}' '{path}'")
        finally:
            tmp.unlink(missing_ok=True)

    def written_in_place(model, path):  # gaming: one os.write over the old file, no truncation
        tmp = path.with_name("tmp-" + path.name)
        try:
            model.save(tmp)
            data = tmp.read_bytes()
            fd = os.open(path, os.O_WRONLY | os.O_CREAT)
            os.write(fd, data)
            os.ftruncate(fd, len(data))
            os.close(fd)
        finally:
            tmp.unlink(missing_ok=True)

    def in_a_bare_thread(model, path):  # gaming: _thread's threads start without the watch
        import _thread
        import time

        done = []

        def run():
            try:
                _backup_and_restore(model, path)
                done.append(None)
            except BaseException as err:
                done.append(err)

        _thread.start_new_thread(run, ())
        while not done:
            time.sleep(0.01)
        if done[0] is not None:
            raise done[0]

    def watch_off_and_on(model, path):  # gaming: switches the watch off, then puts it back
        watch = sys.getprofile()
        sys.setprofile(None)
        try:
            _backup_and_restore(model, path)
        finally:
            sys.setprofile(watch)

    def diluted(model, path):  # gaming: 400 harmless operations first, so that the crash test
        for _ in range(400):     # would sample 200 points and could miss the one that matters
            os.stat(path.parent)
        tmp = path.with_name("tmp-" + path.name)
        try:
            model.save(tmp)
            if path.exists():
                os.remove(path)
            os.rename(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    in_place = "your save wrote the new model into the file at path itself (the same file, " \
               "rewritten in place)"
    # refused while any answer runs (tflab.exercises.core.call), before the crash test
    another = "your answer started another program"
    failed_with(ex, copied_by_cp, another + " (subprocess.Popen) while it ran")
    failed_with(ex, moved_by_mv, another + " (os.system) while it ran")
    failed_with(ex, written_in_place, in_place)
    unseen = "where the checker could not watch them"
    failed_with(ex, in_a_bare_thread, "your function changed files (os.rename) " + unseen)
    failed_with(ex, watch_off_and_on, unseen)
    failed_with(ex, diluted, "file operation, os.remove), " + missing)
    failed_with(ex, _backup_and_restore, "killed part-way through a save (just after its 2nd "
                                         "file operation, os.replace), " + missing)
    failed_with(ex, copy_over, partial)
    failed_with(ex, remove_then_rename, "os.remove), " + missing)
    failed_with(ex, unwatched, "your function switched off sys.setprofile")
    failed_with(ex, in_a_thread, missing)


@pytest.fixture
def seeded_networks(monkeypatch):
    """04.3's networks drawn from a seeded generator (unseeded in a real check): a tanh network
    of two hidden layers, like the one the checker used to save, then a relu one."""
    import numpy as np

    from tflab.exercises import lesson04

    monkeypatch.setattr(lesson04, "_fresh_rng", lambda: np.random.default_rng(30))
    return lesson04._tf1_networks(np.random.default_rng(30))


def test_tf1_networks_are_drawn_at_check_time(seeded_networks):
    import numpy as np

    from tflab.exercises import lesson04

    assert len({activation for _, activation, _ in seeded_networks}) == 2
    draws = [lesson04._tf1_networks(np.random.default_rng()) for _ in range(2)]
    assert draws[0] != draws[1]


def test_tf1_by_name_wrong_answers(seeded_networks):
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

    def rebuilt_in_python(prefix, images):  # honest mistake: the lesson's graph, not the file's
        from tflab import models

        graph, t = models.tf1_classifier(hidden=16)
        with graph.as_default(), v1.Session(graph=graph) as sess:
            v1.train.Saver().restore(sess, prefix)
            return sess.run(t["output"], {t["input"]: images})

    def reads_the_callers_frame(prefix, images):  # gaming: looks for the expected values
        import inspect

        for frame in inspect.stack():
            for name in ("saved", "want", "expected"):
                if name in frame.frame.f_locals:
                    return frame.frame.f_locals[name]
        return uniform(prefix, images)

    def shapes_from_checkpoint(prefix, images):  # gaming: right variables, wrong network
        import numpy as np

        values = {name: tf.train.load_variable(prefix, name)
                  for name, _ in tf.train.list_variables(prefix)}
        h = images
        for i in range(3):
            h = h @ values[f"layer{i}/kernel"] + values[f"layer{i}/bias"]
            h = np.maximum(h, 0) if i < 2 else h  # relu, as the lesson's network
        e = np.exp(h - h.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def numpy_from_checkpoint(prefix, images):  # gaming: NumPy forward pass, every layer saved
        import numpy as np

        reader = tf.train.load_checkpoint(prefix)
        depth = len([name for name in reader.get_variable_to_shape_map() if "kernel" in name])
        h = images
        for i in range(depth):
            h = h @ reader.get_tensor(f"layer{i}/kernel") + reader.get_tensor(f"layer{i}/bias")
            h = np.tanh(h) if i < depth - 1 else h  # the activation of the old checker
        e = np.exp(h - h.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def rebuilt_from_checkpoint(prefix, images):  # honest mistake: a network rebuilt in Python
        graph = tf.Graph()  # with the checkpoint's names and shapes, restored with a Saver
        shapes = dict(tf.train.list_variables(prefix))
        depth = len([name for name in shapes if "kernel" in name])
        with graph.as_default(), v1.Session(graph=graph) as sess:
            x = v1.placeholder(tf.float32, [None, 784])
            h = x
            for i in range(depth):
                with v1.variable_scope(f"layer{i}"):
                    kernel = v1.get_variable("kernel", shapes[f"layer{i}/kernel"])
                    bias = v1.get_variable("bias", shapes[f"layer{i}/bias"])
                h = tf.matmul(h, kernel) + bias
                h = tf.nn.relu(h) if i < depth - 1 else h
            output = tf.nn.softmax(h)
            v1.train.Saver().restore(sess, prefix)
            return sess.run(output, {x: images})

    def graph_def_only(prefix, images):  # gaming: the graph without its Saver, nothing restored
        from tensorflow.core.protobuf import meta_graph_pb2

        meta = meta_graph_pb2.MetaGraphDef()
        with open(prefix + ".meta", "rb") as file:
            meta.ParseFromString(file.read())
        graph = tf.Graph()
        with graph.as_default(), v1.Session(graph=graph) as sess:
            tf.graph_util.import_graph_def(meta.graph_def, name="")
            return sess.run("output:0", {"input:0": images})

    def reads_the_networks(prefix, images):  # gaming: the drawn layers from the checker's frame
        networks = caller_value("networks")
        assert networks is None, "the checker's frame holds the networks while the answer runs"
        return numpy_from_checkpoint(prefix, images)

    def tampers(prefix, images):  # gaming: rewrites the files the reference is computed from
        graph = tf.Graph()
        with graph.as_default(), v1.Session(graph=graph) as sess:
            saver = v1.train.import_meta_graph(prefix + ".meta")
            sess.run(v1.global_variables_initializer())
            saver.save(sess, prefix)  # the initial weights saved over the trained ones
            return sess.run("output:0", {"input:0": images})

    drawn = "its layers and activation are drawn anew on every check"
    failed_with(ex, reads_the_networks, drawn)
    failed_with(ex, tampers, "your function changed the files saved at prefix: only read them")
    failed_with(ex, numpy_from_checkpoint, "If you computed the network yourself")
    failed_with(ex, numpy_from_checkpoint, drawn)
    failed_with(ex, rebuilt_from_checkpoint, drawn)
    failed_with(ex, graph_def_only, "raised FailedPreconditionError")
    lessons = "is not the lesson's tf1_classifier (a network you have not seen"
    for answer, message in [(rebuilt_in_python, "raised NotFoundError restoring the weights: "
                                                "the graph saved at prefix " + lessons),
                            (reads_the_callers_frame, "differ from the saved model's by up to"),
                            (shapes_from_checkpoint, "If you computed the network yourself (in "
                                                     "Python, or in NumPy from the checkpoint's "
                                                     "weights), note that the graph saved at "
                                                     "prefix " + lessons),
                            (uniform, "differ from the saved model's by up to"),
                            (eager, "raised RuntimeError"),
                            (initialised, "probabilities of the initial weights"),
                            (dropout_on, "keep_prob at 1.0"),
                            (classes, "yours has shape (6,)")]:
        failed_with(ex, answer, message)



def test_tf1_by_name_logits_are_not_probabilities(seeded_networks):
    """Review (issue 32): the logits tensor (the softmax's input) was told only that it
    differs from the saved model's probabilities; it is now told its rows do not sum to 1."""
    import tensorflow as tf

    v1 = tf.compat.v1

    def logits(prefix, images):
        graph = tf.Graph()
        with graph.as_default(), v1.Session(graph=graph) as sess:
            v1.train.import_meta_graph(prefix + ".meta").restore(sess, prefix)
            return sess.run(graph.get_operation_by_name("output").inputs[0], {"input:0": images})

    def exponentials(prefix, images):  # honest mistake: softmax without its division
        import numpy as np

        return np.exp(logits(prefix, images))

    ex = exercises.get("04", 3)
    failed_with(ex, logits, "your values are not probabilities: their rows should sum to 1")
    failed_with(ex, logits, "(they are logits, or log-probabilities: the softmax of your values "
                            "gives the probabilities). Fetch the tensor 'output:0'")
    failed_with(ex, exponentials, "your values are not probabilities")
    status, text = ex.judge(exponentials)
    assert "logits" not in text, text


def test_exercise_04_3_checks_where_op_determinism_is_on():
    """The notebooks run with op determinism on (doctor.setup), where a random op without a
    seed raises: the checker's own network must not need one from the learner."""
    import subprocess
    import sys

    code = ("import tensorflow as tf\n"
            "tf.keras.utils.set_random_seed(42)\n"
            "tf.config.experimental.enable_op_determinism()\n"
            "from tflab import exercises\n"
            "from tflab.exercises import ___\n"
            "def predict_by_name(prefix, images):\n"
            "    return ___\n"
            "print(exercises.get('04', 3).judge(predict_by_name)[0])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, check=True).stdout
    assert out.strip().splitlines()[-1] == "not attempted", out


def _replace_atomically(model, path):
    tmp = path.with_name("tmp-" + path.name)
    try:
        model.save(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def test_safe_save_judges_the_real_saves_too(monkeypatch):
    """An answer that saves the checker's stand-in of the crash test atomically, but rewrites
    the file in place for a real Keras model, fails on the real saves; one that hangs in the
    crash test fails when its time is up."""
    import time

    import keras

    from tflab.exercises import lesson04

    ex = exercises.get("04", 2)

    def in_place_for_keras(model, path):  # gaming: atomic only for the crash test's stand-in
        if not isinstance(model, keras.Model):
            return _replace_atomically(model, path)
        tmp = path.with_name("tmp-" + path.name)
        try:
            model.save(tmp)
            with open(path, "r+b" if path.exists() else "wb") as file:
                file.write(tmp.read_bytes())
                file.truncate()
        finally:
            tmp.unlink(missing_ok=True)

    def hangs_in_the_crash_test(model, path):
        if not isinstance(model, keras.Model):
            time.sleep(5)
        _replace_atomically(model, path)

    failed_with(ex, in_place_for_keras, "rewritten in place")

    def removed_for_keras(model, path):  # gaming: atomic for the stand-in, unlink + save else
        if not isinstance(model, keras.Model):
            return _replace_atomically(model, path)
        if path.exists():
            path.unlink()  # a moment with no model; the new file may get the freed inode
        model.save(path)

    def removed_inode_taken(model, path):  # the same, with the freed inode taken meanwhile
        if not isinstance(model, keras.Model):
            return _replace_atomically(model, path)
        hold = None
        if path.exists():
            path.unlink()
            hold = path.with_name("hold.keras")
            hold.write_bytes(b"x")
        model.save(path)
        if hold:
            hold.unlink()

    def moved_away_for_keras(model, path):  # gaming: the old model moved aside, then saved
        if not isinstance(model, keras.Model):
            return _replace_atomically(model, path)
        aside = path.with_name("aside.keras")
        if path.exists():
            os.replace(path, aside)
        model.save(path)
        aside.unlink(missing_ok=True)

    def removed_by_dir_fd(model, path):  # the same, the old file named relative to its folder
        if not isinstance(model, keras.Model):
            return _replace_atomically(model, path)
        if path.exists():
            folder = os.open(path.parent, os.O_RDONLY)
            os.unlink(path.name, dir_fd=folder)
            os.close(folder)
        model.save(path)

    removed = "your save removed the old model at path before the new one was in place"
    failed_with(ex, removed_by_dir_fd, removed)
    failed_with(ex, removed_for_keras, removed)
    status, text = ex.judge(removed_for_keras)
    assert "rewritten in place" not in text, text
    failed_with(ex, removed_inode_taken, removed)
    failed_with(ex, moved_away_for_keras, "your save moved away the old model at path before")
    monkeypatch.setattr(lesson04, "_CHILD_SECONDS", 1)
    failed_with(ex, hangs_in_the_crash_test, "your save did not finish within 1 s")
