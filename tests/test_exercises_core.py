"""calls_of makes a forbidden function unusable while an answer runs: in every thread, under any
name, whatever the answer does to the profiler, and gives it back afterwards."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

from tflab import solvers
from tflab.exercises.core import Failed, calls_of
from tflab.solvers import epoch_map as imported_by_name

X = np.arange(5.0)


def _in_a_thread(function):
    """Run ``function`` in a new thread; what it returned or the message of what it raised."""
    out = []

    def run():
        try:
            out.append(function())
        except Failed as err:
            out.append(f"failed: {err}")

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return out[0]


def test_a_forbidden_call_from_a_thread_fails():
    with calls_of(solvers.epoch_map) as calls:
        got = _in_a_thread(lambda: solvers.epoch_map(X, X, 0.01))
    assert got.startswith("failed: your answer calls solvers.epoch_map"), got
    assert len(calls) == 1


def test_a_forbidden_call_after_switching_the_profiler_off_fails():
    def escape():
        sys.setprofile(None)
        return imported_by_name(X, X, 0.01)

    with calls_of(solvers.epoch_map) as calls:
        with pytest.raises(Failed, match="your answer calls solvers.epoch_map"):
            escape()
        assert _in_a_thread(escape).startswith("failed: ")
    assert len(calls) == 2


def test_a_rule_fails_the_block_even_where_the_answer_caught_the_error():
    with pytest.raises(Failed, match="^no epoch maps here$"):
        with calls_of(solvers.epoch_map, rule="no epoch maps here"):
            try:
                solvers.epoch_map(X, X, 0.01)
            except Exception:  # the answer hides the stub's error
                pass


def test_the_function_comes_back_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with calls_of(solvers.epoch_map):
            raise ZeroDivisionError
    M, c = solvers.epoch_map(X, X, 0.01)
    assert M.shape == (2, 2)
    assert imported_by_name(X, X, 0.01)[0].shape == (2, 2)


def test_a_reload_of_the_module_fails():
    import importlib

    original = solvers.epoch_map
    try:
        with pytest.raises(Failed, match="replaced or reloaded tflab.solvers.epoch_map"):
            with calls_of(solvers.epoch_map):
                solvers.epoch_map = lambda *args: None  # what a reload does to the name
    finally:
        solvers.epoch_map = original
    assert importlib.import_module("tflab.solvers").epoch_map is original


def test_a_function_with_a_closure_can_be_forbidden():
    def make():
        value = 3

        def inner():
            return value

        return inner

    inner = make()
    with calls_of(inner) as calls:
        with pytest.raises(Failed, match="your answer calls"):
            inner()
    assert calls and inner() == 3


def test_the_stub_keeps_the_signature():
    """Keras reads a layer's call signature: the stub must show the same one."""
    import inspect

    def f(a, b=2, /, c=3, *args, d, e=5, **kw):
        return a

    for function in (f, solvers.gradient_descent):
        before = inspect.signature(function)
        with calls_of(function):
            assert inspect.signature(function) == before


def test_a_copy_made_beforehand_is_forbidden_too():
    import types

    copy = types.FunctionType(solvers.epoch_map.__code__, solvers.epoch_map.__globals__)
    with calls_of(solvers.epoch_map) as calls:
        assert _in_a_thread(lambda: copy(X, X, 0.01, 1)).startswith("failed: ")
    assert len(calls) == 1
    assert copy(X, X, 0.01, 1)[0].shape == (2, 2)


def test_a_copy_made_after_an_earlier_block_is_forbidden_too():
    """calls_of keeps gc's list of a function's copies from one block to the next: a copy made
    in between, from its code or by giving another function that code, is found all the same,
    and so is a nested function made again by its outer function."""
    import types

    def other(x, y, rate, epochs):
        return None

    with calls_of(solvers.epoch_map):  # gc's list of epoch_map's copies, kept
        pass
    copy = types.FunctionType(solvers.epoch_map.__code__, solvers.epoch_map.__globals__)
    for function in (copy, other):
        if function is other:
            other.__code__ = solvers.epoch_map.__code__
        with calls_of(solvers.epoch_map) as calls:
            with pytest.raises(Failed, match="your answer calls"):
                function(X, X, 0.01, 1)
        assert len(calls) == 1
    assert copy(X, X, 0.01, 1)[0].shape == (2, 2)  # its own code again

    def make():
        def inner():
            return 3

        return inner

    first = make()
    with calls_of(first):
        pass
    second = make()  # the same code, no event
    with calls_of(first):
        with pytest.raises(Failed, match="your answer calls"):
            second()
    assert second() == 3


def test_an_answer_that_patches_numpy_fails_and_numpy_comes_back():
    from tflab import exercises

    allclose, bound = np.allclose, solvers.stability_bound

    def patches(x, y, learning_rate, epochs):
        np.allclose = lambda *args, **kwargs: True  # every comparison after it "passes"
        return 0.0, 0.0

    def replaces_the_reference(x):  # the checker's fire/theft bound, the answer's own
        solvers.stability_bound = lambda *args, **kwargs: 1.0
        return 1.0

    status, text = exercises.get("01", 4).judge(patches)
    assert status == "failed" and "your answer replaced or reloaded numpy.allclose" in text, text
    assert np.allclose is allclose
    status, text = exercises.get("02", 1).judge(replaces_the_reference)
    assert status == "failed" and "replaced or reloaded tflab.solvers.stability_bound" in text, text
    assert solvers.stability_bound is bound


def _folder_sha256_in_a_subprocess(path) -> str:
    """A cheat: the course's own function, run by another Python where no stub reaches."""
    import subprocess

    code = "import sys; from tflab import files; print(files.folder_sha256(sys.argv[1]))"
    return subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                          text=True, check=True).stdout.strip()


def _second_copy_of_files():
    """A cheat: tflab.files loaded again from its source, so that no stub is in it."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "files_copy", importlib.util.find_spec("tflab.files").origin)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_an_answer_may_not_start_another_program(tmp_path):
    import os

    from tflab.exercises.core import call

    with pytest.raises(Failed, match=r"started another program \(subprocess.Popen\)"):
        call(_folder_sha256_in_a_subprocess, tmp_path)

    def caught(path):  # the refusal caught: still a failure
        try:
            return _folder_sha256_in_a_subprocess(path)
        except Failed:
            return "0" * 64

    with pytest.raises(Failed, match=r"started another program \(subprocess.Popen\)"):
        call(caught, tmp_path)
    with pytest.raises(Failed, match=r"started another program \(os.system\)"):
        call(lambda: os.system("true"))
    got = _in_a_thread(lambda: call(lambda: _in_a_thread(
        lambda: _folder_sha256_in_a_subprocess(tmp_path))))
    assert "started another program (subprocess.Popen)" in got, got
    # outside an answer, programs start as ever (the checkers' own child processes)
    assert len(_folder_sha256_in_a_subprocess(tmp_path)) == 64


def test_an_answer_may_not_load_a_second_copy_of_a_course_module(tmp_path):
    from tflab.exercises.core import call

    with pytest.raises(Failed, match="loaded a second copy of tflab.files"):
        call(_second_copy_of_files)
    assert call(lambda: __import__("tflab.files").files.folder_sha256(tmp_path))  # the module
    assert _second_copy_of_files().folder_sha256(tmp_path)  # outside an answer: allowed


def test_an_answer_may_not_patch_the_libraries_a_checker_uses_afterwards():
    """NumPy's submodules (np.allclose reads numpy._core.numeric.isclose), TensorFlow's public
    API and the TensorFlow and Keras classes a checker calls are put back, and the answer
    fails."""
    import keras
    import numpy._core.numeric as numeric
    import tensorflow as tf
    import tensorflow.saved_model  # noqa: F401 - tf.saved_model is now this module, as after

    from tflab.exercises.core import call
    # an answer's import (a new module object of the same file, under another name)

    eigvalsh, isclose, load = np.linalg.eigvalsh, numeric.isclose, tf.saved_model.load

    def patches_linalg():
        np.linalg.eigvalsh = lambda h: np.array([1.0, 2.0])

    def patches_isclose():  # np.allclose would then say yes to anything
        numeric.isclose = lambda a, b, **kw: np.ones(np.broadcast(a, b).shape, bool)

    def patches_saved_model():
        tf.saved_model.load = lambda *a, **kw: None

    def patches_a_property():  # every model would then have no weights
        keras.layers.Layer.trainable_weights = property(lambda self: [])

    def adds_a_method():  # Session's own run, in front of BaseSession's
        tf.compat.v1.Session.run = lambda self, *a, **kw: 0

    for answer, name in [(patches_linalg, "numpy.linalg.eigvalsh"),
                         (patches_isclose, "numpy._core.numeric.isclose"),
                         (patches_saved_model, r"tensorflow\S*saved_model.load"),
                         (patches_a_property, "Layer.trainable_weights"),
                         (adds_a_method, "Session.run")]:
        with pytest.raises(Failed, match=f"replaced or reloaded {name} while it ran"):
            call(answer)
    assert np.linalg.eigvalsh is eigvalsh and numeric.isclose is isclose
    assert tf.saved_model.load is load and not np.allclose(1.0, 2.0)
    assert "run" not in vars(tf.compat.v1.Session)
    assert isinstance(vars(keras.layers.Layer)["trainable_weights"], property)
    assert keras.layers.Dense(2).trainable_weights == []  # unbuilt: the real property
    assert call(lambda: tf.keras.layers.Dense(3).units) == 3  # tf.keras's lazy loader may load
    # Python makes a class's __annotations__ the first time it is read: not a patch
    from tflab.exercises.core import _guarded_classes

    fresh = [cls for cls in _guarded_classes() if "__annotations__" not in vars(cls)]
    assert fresh and call(lambda: [cls.__annotations__ for cls in fresh]) is not None


def test_an_answer_may_not_leave_a_thread_running():
    """A thread that waits for the check to return and then patches NumPy would escape the
    restore; threads that end soon after the answer returns are fine."""
    import time

    from tflab.exercises.core import call

    done = threading.Event()

    def patches_later():
        def later():
            done.wait(5)
        threading.Thread(target=later, name="later", daemon=True).start()
        return 1.0

    with pytest.raises(Failed, match=r"left a thread running \(later\) after it returned"):
        call(patches_later)
    done.set()

    class Later(threading.Thread):
        def run(self):
            done.wait(5)

    done.clear()
    with pytest.raises(Failed, match="left a thread running"):
        call(lambda: Later(daemon=True).start())
    with pytest.raises(Failed, match="left a thread running"):
        call(lambda: threading.Timer(5, lambda: None).start())
    done.set()
    # a short-lived thread of its own, which ends by itself, passes
    assert call(lambda: threading.Thread(target=time.sleep, args=(0.01,)).start() or 2) == 2
    assert call(lambda: threading.Thread(target=lambda: time.sleep(0.05)).start() or 3) == 3
