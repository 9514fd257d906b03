"""Exercises of lesson 04, train and save: a Try it on counting a model's trainable values, then
a serving signature, a safe save, TF1 names."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from tflab.exercises.core import (
    PROGRAM_EVENTS,
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
    model = _dense_model(np.random.default_rng(404), 784, 10, "softmax")
    weights = [w.copy() for w in model.get_weights()]  # what the answer is handed to export
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mnist_savedmodel"
        call(answer, model, path)
        # what the export is compared with exists only now: new images, and a model of its own
        # with the weights the answer was handed (changing them does not change the reference)
        images = np.random.default_rng().uniform(0, 1, (7, 784)).astype(np.float32)
        reference = _dense_model(np.random.default_rng(0), 784, 10, "softmax")
        reference.set_weights(weights)
        expected = reference(images, training=False).numpy()
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


class _Written:
    """A model whose save writes the bytes of a real .keras file in four pieces, in plain
    Python (a forked child may not use TensorFlow)."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def save(self, filepath, *args, **kwargs) -> None:
        if not str(filepath).endswith(".keras"):
            raise ValueError(f"Invalid filepath extension for saving: {filepath}")
        step = len(self._data) // 4 + 1
        with open(filepath, "wb") as file:
            for start in range(0, len(self._data), step):
                file.write(self._data[start:start + step])
                file.flush()  # in the system's hands: a kill now leaves a partial file


def _file_operation(function) -> str | None:
    """``function``'s name if calling it may change files (os functions, open, a file's
    methods), else None."""
    module = getattr(function, "__module__", None)
    name = getattr(function, "__name__", "?")
    if module in ("posix", "nt"):
        return f"os.{name}"
    if module in ("io", "_io"):
        return name
    owner = getattr(function, "__self__", None)
    if owner is not None and type(owner).__module__ in ("io", "_io"):
        return f"a file's {name}"
    return None


#: audit events that change files or folders
_CHANGES = ("os.rename", "os.remove", "os.rmdir", "os.mkdir", "os.truncate", "os.link",
            "os.symlink", "shutil.")
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
#: operations that never change a file's name or another file than the one written: the crash
#: test may sample them when a save makes many (writes into path itself are caught otherwise)
_ROUTINE = ("write", "read", "readinto", "flush", "stat", "lstat", "fstat", "fspath", "getpid",
            "getcwd", "access", "listdir", "scandir", "seek", "tell", "fileno", "isatty",
            "readable", "writable", "seekable", "close", "__exit__", "__enter__")
_CHILD_SECONDS = 60


def _changes_files(event: str, args: tuple) -> bool:
    if event == "open":
        mode, flags = (args + (None, None))[1:3]
        return (isinstance(mode, str) and any(c in mode for c in "wax+")) or \
            (isinstance(flags, int) and bool(flags & _WRITE_FLAGS))
    return event.startswith(_CHANGES)


def _run_killed(answer, model, target: Path, kill_at: int) -> dict:
    """Run ``answer(model, target)`` in a forked child, killed with SIGKILL just after its
    ``kill_at``-th file operation (0: never). Returns what the child saw: ``operations`` (its
    file operations), ``on`` (whether the watch stayed on), ``programs`` (programs it started),
    ``unseen`` (files it changed in a thread without the watch), ``error`` (what it raised);
    and ``killed``, ``timed_out``."""
    import json

    read, write = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork of a threaded process
        pid = os.fork()
    if pid == 0:  # the child: plain Python file operations only, then _exit
        try:
            os.close(read)
            signal.alarm(_CHILD_SECONDS)  # a save that hangs ends the child
            seen: list[str] = []
            report: dict = {"programs": [], "unseen": [], "error": ""}

            def watch(frame, event, arg):
                if event in ("c_return", "c_exception"):
                    name = _file_operation(arg)
                    if name is not None:
                        seen.append(name)
                        if len(seen) == kill_at:
                            os.kill(os.getpid(), signal.SIGKILL)

            def audit(event, args):  # every thread, and no way to take it off
                if event.startswith(PROGRAM_EVENTS) or event == "ctypes.call_function":
                    report["programs"].append(event)
                elif sys.getprofile() is not watch and _changes_files(event, args):
                    report["unseen"].append(event)

            threading.setprofile(watch)
            sys.setprofile(watch)
            sys.addaudithook(audit)
            try:
                answer(model, target)
            except BaseException as err:  # the files left behind are what is judged
                report["error"] = f"{type(err).__name__}: {first_line(err, 150)}"
            on = sys.getprofile() is watch
            sys.setprofile(None)
            report.update(on=on, operations=seen)
            data = json.dumps(report).encode()
            while data:
                data = data[os.write(write, data):]
            os.close(write)
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:  # read before waiting: a long report fills the pipe
        text = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    report = json.loads(text) if text else {"operations": [], "on": True, "programs": [],
                                             "unseen": [], "error": ""}
    signalled = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    report.update(killed=signalled == signal.SIGKILL, timed_out=signalled == signal.SIGALRM)
    return report


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _kill_points(operations: list[str]) -> list[int]:
    """After which operations the crash test kills the save: all, up to 200; beyond, every one
    that may rename, remove or create a file, and up to 200 of the others evenly spread."""
    count = len(operations)
    if count <= 200:
        return list(range(1, count + 1))
    needed = [i for i, name in enumerate(operations, 1)
              if not name.rsplit(".", 1)[-1].rsplit(" ", 1)[-1].endswith(_ROUTINE)]
    if len(needed) > 2000:
        raise Failed(f"your save made {len(needed):,} file operations that may rename, remove or "
                     "create files; the checker crashes it after each: save with model.save to "
                     "one temporary file and os.replace it onto path")
    spread = np.linspace(1, count, 200).round().astype(int).tolist()
    return sorted(set(needed) | set(spread))


def _crashed(answer, folder: Path, target: Path, old: bytes, new: bytes) -> int:
    """Kill the learner's save of a new model over ``old`` just after each of its file
    operations; the old or the new model must be at ``target`` every time, and after a save
    that ran to its end, the new model in a new file. Returns the number of kills."""
    def reset() -> None:
        for leftover in folder.iterdir():
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()
        target.write_bytes(old)

    reset()
    old_file = target.stat().st_ino
    report = _run_killed(answer, _Written(new), target, 0)
    if report["timed_out"]:
        raise Failed(f"in the crash test your save did not finish within {_CHILD_SECONDS} s: "
                     "save with model.save and os.replace only")
    if report["programs"]:
        raise Failed(f"your save started another program or C function "
                     f"({report['programs'][0]}), which the checker cannot crash part-way: "
                     "do it in Python, with model.save to a temporary file and os.replace")
    if not report["on"]:
        raise Failed("your function switched off sys.setprofile, the checker's watch on its file "
                     "operations: leave it alone, so that the save can be crashed part-way")
    if report["unseen"]:
        raise Failed(f"your function changed files ({report['unseen'][0]}) where the checker "
                     "could not watch them (a thread without sys.setprofile's watch): leave the "
                     "watch alone, so that the save can be crashed part-way")
    whole = target.read_bytes() if target.is_file() else None
    new_file = target.stat().st_ino if target.is_file() else None
    operations = report["operations"]
    points = _kill_points(operations)
    for kill_at in points:
        reset()
        _run_killed(answer, _Written(new), target, kill_at)
        after = (f"killed part-way through a save (just after its {_ordinal(kill_at)} file "
                 f"operation, {operations[kill_at - 1]})")
        if not target.is_file():
            raise Failed(f"{after}, there was no model at path at all: a crash at that moment "
                         "loses the model. Save to a temporary file in the same folder and "
                         "os.replace it onto path: one step, never a moment without a model")
        if target.read_bytes() not in (old, new):
            raise Failed(f"{after}, the file at path was neither the old model nor the new "
                         "one but a partly written file: never write into path itself; save to "
                         "a temporary file in the same folder and os.replace it onto path")
    reset()
    if whole != new:
        raised = f" (it raised {report['error']})" if report["error"] else ""
        raise Failed("in the crash test (a stand-in model whose save(path) writes a .keras file, "
                     f"saved in a child process) your function did not leave the new model at "
                     f"path{raised}: call model.save(tmp), then os.replace(tmp, path)")
    if new_file == old_file:
        raise Failed(_IN_PLACE)
    return len(points)


_IN_PLACE = ("your save wrote the new model into the file at path itself (the same file, "
             "rewritten in place): a crash during that write leaves a partly written model. "
             "Save to a new temporary file in the same folder and os.replace it onto path")
_REMOVED = ("your save {} the old model at path before the new one was in place: a crash "
            "between the two leaves no model at all. Save to a new temporary file in the same "
            "folder and os.replace it onto path: one step, never a moment without a model")

def _old_model_watch():
    """An audit hook (every thread, for the life of the process) and a context manager that
    turns it on for one save: it notes each removal or move of the file at the target path.
    What it watches lives in this closure, not in a module name an answer could clear."""
    watched: list[str] = []
    taken_away: list[str] = []

    def hook(event: str, args: tuple) -> None:
        if not watched or event not in ("os.remove", "os.rename") or not args:
            return
        try:
            path = os.fsdecode(args[0])
            folder = args[1] if event == "os.remove" and len(args) > 1 else args[2]
            if isinstance(folder, int) and not os.path.isabs(path):  # dir_fd=...
                path = os.path.join(os.readlink(f"/proc/self/fd/{folder}"), path)
            path = os.path.realpath(path)
        except (TypeError, ValueError, IndexError, OSError):
            return
        if path == watched[0]:
            taken_away.append("removed" if event == "os.remove" else "moved away")

    @contextmanager
    def watching(target: Path) -> Iterator[list[str]]:
        watched[:], taken_away[:] = [os.path.realpath(target)], []
        try:
            yield taken_away
        finally:
            watched.clear()

    sys.addaudithook(hook)  # audit hooks stay for the life of the process
    return watching


_old_model_watched = _old_model_watch()


def _refuse_save_keras(model, path):
    raise RuntimeError("tflab's saving.save_keras is what this exercise asks you to write; "
                       "write save_safely with model.save and os.replace instead of calling it")


@contextmanager
def _without_save_keras() -> Iterator[None]:
    """While the answer runs, saving.save_keras raises, wherever it is called from."""
    from tflab import saving

    code = saving.save_keras.__code__
    saving.save_keras.__code__ = _refuse_save_keras.__code__
    try:
        yield
    finally:
        saving.save_keras.__code__ = code


def _safe_save(answer) -> str:
    with _without_save_keras():
        return _judge_safe_save(answer)


def _judge_safe_save(answer) -> str:
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
        first_file = target.read_bytes()
        # held open while the second save runs: its inode cannot be freed and given to a new
        # file, so the same inode afterwards means the old file was rewritten in place
        with open(target, "rb") as old, _old_model_watched(target) as taken_away:
            call(answer, second, target)
            taken_away = list(taken_away)
            first_inode = os.fstat(old.fileno()).st_ino
            rewritten = target.is_file() and target.stat().st_ino == first_inode
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
        kills = _crashed(answer, folder, target, good, first_file) if hasattr(os, "fork") else 0
    # the real saves too: the old file replaced in one step, not removed first, not rewritten
    if taken_away:  # removed or moved aside, then saved anew: a moment without a model
        raise Failed(_REMOVED.format(taken_away[0]))
    if rewritten:
        raise Failed(_IN_PLACE)
    crashes = (f", and {kills} saves killed at every step left the old or the new model"
               if kills else "")
    return ("two saves replaced the file, a save that failed half-way left the good one "
            f"intact{crashes}.")


_ACTIVATIONS = ("tanh", "relu", "sigmoid", "elu", "softsign")


def _fresh_rng() -> np.random.Generator:
    """An unseeded generator: Try it 04.1's models and 04.3's networks differ on every check
    (tests seed it)."""
    return np.random.default_rng()


def _tf1_networks(draw: np.random.Generator) -> list[tuple[tuple[int, ...], str, int]]:
    """Two networks drawn at check time, as (hidden layer sizes, activation, seed): one to three
    hidden layers each, and two different activations, so that a forward pass written by hand
    from the checkpoint's weights cannot know the one network it has to compute."""
    activations = draw.choice(_ACTIVATIONS, size=2, replace=False)
    return [(tuple(int(n) for n in draw.integers(16, 40, size=int(draw.integers(1, 4)))),
             str(activation), int(draw.integers(2**31))) for activation in activations]


def _tf1_graph(hidden: tuple[int, ...], activation: str, seed: int):
    """The checker's TF1 classifier: the tensor names of models.tf1_classifier ('input',
    'keep_prob', 'output') around a network the lesson never builds (hidden layers of the
    sizes ``hidden`` with ``activation``, other variable names), so that only the saved meta
    graph, not Python code, gives it back. Returns (graph, input, output, init, saved weights
    as assign ops)."""
    import tensorflow as tf

    v1 = tf.compat.v1
    rng = np.random.default_rng(seed)
    sizes = [784, *hidden, 10]
    act = {"tanh": tf.tanh, "relu": tf.nn.relu, "sigmoid": tf.sigmoid, "elu": tf.nn.elu,
           "softsign": tf.nn.softsign}[activation]
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(seed)  # dropout's op: needed where op determinism is on (notebooks)
        x = v1.placeholder(tf.float32, [None, 784], name="input")
        keep_prob = v1.placeholder_with_default(1.0, [], name="keep_prob")
        h, assigns = x, []
        for i, shape in enumerate(zip(sizes, sizes[1:])):
            with v1.variable_scope(f"layer{i}"):
                kernel = v1.get_variable("kernel", initializer=rng.normal(
                    0, 0.1, shape).astype(np.float32))
                bias = v1.get_variable("bias", initializer=np.zeros(shape[1], np.float32))
            assigns += [kernel.assign(rng.normal(0, 0.3, shape).astype(np.float32)),
                        bias.assign(rng.normal(0, 0.3, shape[1]).astype(np.float32))]
            h = tf.matmul(h, kernel) + bias
            if i < len(sizes) - 2:
                h = tf.nn.dropout(act(h), rate=1.0 - keep_prob)
        output = tf.nn.softmax(h, name="output")
        init = v1.global_variables_initializer()
    return graph, x, output, init, assigns


def _save_tf1(folder: Path) -> list[str]:
    """Two networks drawn now (:func:`_tf1_networks`), trained weights assigned, each saved with
    Saver under ``folder``: their prefixes. Nothing else of them outlives this function (the
    answer cannot read their layers from the checker's frame): the reference is computed from
    the files after the answer returns."""
    import tensorflow as tf

    prefixes = []
    for k, network in enumerate(_tf1_networks(_fresh_rng())):  # other networks on every check
        graph, _, _, init, assigns = _tf1_graph(*network)
        with tf.compat.v1.Session(graph=graph) as sess, graph.as_default():
            sess.run(init)
            sess.run(assigns)
            prefixes.append(str(folder / f"tf1-{k}" / "mnist"))
            tf.compat.v1.train.Saver().save(sess, prefixes[-1])
    return prefixes


def _digest(folder: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(folder)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def _tf1_outputs(prefix: str, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The probabilities for ``images`` of the network saved at ``prefix``, with its initial
    and with its saved weights."""
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        saver = tf.compat.v1.train.import_meta_graph(prefix + ".meta")
        sess.run(tf.compat.v1.global_variables_initializer())
        initial = sess.run("output:0", {"input:0": images})
        saver.restore(sess, prefix)
        return initial, sess.run("output:0", {"input:0": images})


_NOT_THE_LESSONS = ("the graph saved at prefix is not the lesson's tf1_classifier (a network you "
                    "have not seen, with the same tensor names): load it from the files with "
                    "tf.compat.v1.train.import_meta_graph(prefix + '.meta') instead of "
                    "building it in Python")


def _tf1_by_name(answer) -> str:
    require_callable(answer, "predict_by_name(prefix, images) returning the probabilities")
    images = np.random.default_rng(4041).uniform(0, 1, (6, 784)).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        prefixes = _save_tf1(folder)
        before = _digest(folder)
        answers = []
        for prefix in prefixes:
            try:
                answers.append(call(answer, prefix, images.copy()))
            except Failed as err:
                text = str(err)
                if any(sign in text for sign in ("not found in checkpoint", "NotFoundError",
                                                 "shapes of both tensors", "Assign requires")):
                    raise Failed(f"{text.split(':')[0]} restoring the weights: "
                                 f"{_NOT_THE_LESSONS}") from None
                raise
        if _digest(folder) != before:
            raise Failed("your function changed the files saved at prefix: only read them")
        # computed after the answer returned, from the files it was given
        references = [_tf1_outputs(prefix, images) for prefix in prefixes]
    for got, (initial, saved) in zip(answers, references):
        got = numbers(got, "what predict_by_name returns")
        if got.shape != saved.shape:
            raise Failed(f"for 6 images the result should have shape (6, 10), the values of "
                         f"'output:0'; yours has shape {got.shape}")
        if np.allclose(got, initial, atol=1e-5):
            raise Failed("those are the probabilities of the initial weights: restore the saved "
                         "weights with saver.restore(sess, prefix) instead of running the "
                         "initializer")
        error = float(np.abs(got - saved).max())
        sums = got.sum(axis=1)
        if error > 1e-5 and not np.allclose(sums, 1, atol=1e-3):
            shifted = np.exp(got - got.max(axis=1, keepdims=True))
            logits = np.allclose(shifted / shifted.sum(axis=1, keepdims=True), saved, atol=1e-5)
            raise Failed("your values are not probabilities: their rows should sum to 1, yours "
                         f"sum to {sums.min():.3g} … {sums.max():.3g}"
                         + (" (they are logits, or log-probabilities: the softmax of your "
                            "values gives the probabilities)" if logits else "")
                         + ". Fetch the tensor 'output:0', the softmax's output, by that name")
        if error > 1e-5:
            raise Failed(f"your probabilities differ from the saved model's by up to "
                         f"{error:.3g}: restore the weights, and leave keep_prob at 1.0 (its "
                         "default) so that dropout is off. If you computed the network "
                         "yourself (in Python, or in NumPy from the checkpoint's weights), note "
                         "that " + _NOT_THE_LESSONS + ": its layers and activation are drawn "
                         "anew on every check")
    return ("two networks you had not seen, their graphs and weights back from the files, "
            "found by their names alone.")


def _size(weights) -> int:
    return int(sum(np.prod(w.shape, dtype=np.int64) for w in weights))


def _count_sizes(draw: np.random.Generator) -> tuple[int, ...]:
    """The layer sizes of Try it 04.1's three models, drawn at check time (a table of the
    answers for fixed models cannot know them): conv filters, dense units and so on."""
    return tuple(int(draw.integers(low, high))
                 for low, high in [(4, 9), (5, 10), (6, 12), (3, 6), (8, 14), (2, 5)])


def _count_models(sizes: tuple[int, ...]):
    """Models the learner has not seen, of the layer sizes ``sizes``: (description, model),
    each with something to get right."""
    import keras

    filters, dense, units, classes, frozen_units, outputs = sizes
    zeros = {"kernel_initializer": "zeros"}  # values do not matter here; no random draws
    conv = keras.Sequential([keras.Input((12, 12, 3)), keras.layers.Conv2D(filters, 3, **zeros),
                             keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
                             keras.layers.Dense(dense, **zeros)])
    normed = keras.Sequential([keras.Input((20,)),
                               keras.layers.Dense(units, use_bias=False, **zeros),
                               keras.layers.BatchNormalization(),
                               keras.layers.Dense(classes, activation="softmax", **zeros)])
    frozen = keras.Sequential([keras.Input((16,)), keras.layers.Dense(frozen_units, **zeros),
                               keras.layers.Dense(outputs, **zeros)])
    frozen.layers[0].trainable = False  # its weights stay as they are
    return [(f"a small CNN (conv 3×3×3×{filters}, pool, dense {dense})", conv),
            ("a dense net with batch normalisation", normed),
            ("a dense net whose first layer is frozen", frozen)]


def _trainable_values(answer) -> str:
    require_callable(answer, "trainable_values(model) returning a number")
    sizes = _count_sizes(_fresh_rng())
    for index, (what, model) in enumerate(_count_models(sizes)):
        got = number(call(answer, model), "the number of trainable values")
        model = _count_models(sizes)[index][1]  # built anew: the answer may have changed its own
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
             "float32 images (N, 784), dropout off. The network saved there is not section "
             "5's: only its tensor names are the same.", _tf1_by_name,
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
