"""The exercise framework: :class:`Exercise`, the ``___`` placeholder and the checking helpers.

A checker is a function ``checker(answer) -> str`` that returns a success message or raises
:class:`Failed` with what is wrong and by how much. Checkers judge behaviour (values within a
tolerance, a function's results on inputs the learner has not seen, a saved model's outputs),
never the answer's text.
"""

from __future__ import annotations

import contextlib
import gc
import inspect
import itertools
import operator
import os
import random
import sys
import sysconfig
import threading
import types
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["___", "Failed", "NotAttempted", "Exercise", "call", "first_line", "require_callable",
           "number", "numbers", "pair", "calls_of"]


class _Placeholder:
    def __repr__(self) -> str:
        return "___"


___ = _Placeholder()


class Failed(Exception):
    """An answer did not behave like the reference; the message says how."""


class NotAttempted(Exception):
    """The answer still holds (or returns) the placeholder ``___``."""


def _holds_placeholder(value: Any) -> bool:
    if value is ___:
        return True
    if isinstance(value, (tuple, list)):
        return any(item is ___ for item in value)
    if isinstance(value, dict):
        return any(item is ___ for item in value.values())
    return False


def first_line(err: BaseException, limit: int = 300) -> str:
    """The first line of an error's message, at most ``limit`` characters (Keras errors can
    print whole arrays)."""
    line = (str(err).strip().splitlines() or [""])[0]
    return line if len(line) <= limit else line[:limit] + " …"


def require_callable(answer: Any, expected: str) -> None:
    """Fail unless ``answer`` is a function; ``expected`` describes its signature."""
    if not callable(answer):
        raise Failed(f"the answer should be a function {expected}, not {type(answer).__name__}")


def _guarded(name: str, module: Any) -> bool:
    """Whether a checker relies on ``module`` (imported as ``name``) after the answer returns:
    NumPy (all of it: np.allclose reads numpy._core.numeric.isclose), math, builtins, the
    course's own (tflab.*) and the public APIs of TensorFlow (tf.saved_model.load ..., under
    whichever name it was imported) and Keras."""
    top = name.split(".")[0]
    public_tf = f"{os.sep}tensorflow{os.sep}_api{os.sep}" in (getattr(module, "__file__", "") or "")
    return (top in ("numpy", "math", "builtins", "tflab") or name in ("tensorflow", "keras")
            or public_tf
            or name.startswith(("tensorflow._api.", "keras.")) and not name.startswith("keras.src"))


def _guarded_classes() -> set:
    """The TensorFlow and Keras classes (with their bases) whose methods checkers call after
    the answer returns (Session.run, Layer.trainable_weights, tf.function's tracing ...), where
    those libraries are loaded."""
    tf, keras = sys.modules.get("tensorflow"), sys.modules.get("keras")
    key = (hasattr(tf, "compat"), hasattr(keras, "Sequential"))  # loaded, not half-way
    if key not in _CLASSES:
        _CLASSES[key] = _classes_of(tf, keras)
    return _CLASSES[key]


_CLASSES: dict[tuple[bool, bool], set] = {}


def _classes_of(tf: Any, keras: Any) -> set:
    roots = []
    if tf is not None and hasattr(tf, "compat"):
        roots += [tf.compat.v1.Session, tf.Graph, tf.Variable, tf.data.Dataset,
                  type(tf.function(lambda: 0)), type(tf.constant(0))]
    if keras is not None and hasattr(keras, "Sequential"):
        roots += [keras.Sequential, keras.layers.Dense]
    return {cls for root in roots for cls in root.__mro__} - {object}


def _lazy(value: Any, now: Any) -> bool:
    """A lazy loader that put the real module in its place on first use (tf.keras ...), or a
    module imported again under its submodule name (``import tensorflow.saved_model`` binds
    the same file, as a new module, to tf.saved_model)."""
    if not isinstance(value, types.ModuleType):
        return False
    return "Lazy" in type(value).__name__ or (
        isinstance(now, types.ModuleType) and getattr(now, "__file__", None) is not None
        and getattr(now, "__file__", None) == getattr(value, "__file__", ""))


def _guarded_modules() -> list[Any]:
    """The modules of :func:`_guarded` now loaded; each name's verdict is kept for as long as
    the same module object stays under it (call() asks before every answer)."""
    modules = []
    for name, module in list(sys.modules.items()):
        known = _VERDICTS.get(name)
        if known is None or known[0] is not module:
            known = _VERDICTS[name] = (module, module is not None and _guarded(name, module))
        if known[1]:
            modules.append(module)
    return modules


_VERDICTS: dict[str, tuple[Any, bool]] = {}


def _snapshot() -> list[tuple[Any, dict]]:
    return [(item, vars(item).copy()) for item in _guarded_modules() + list(_guarded_classes())]


def _restore(snapshot: list[tuple[Any, dict]]) -> list[str]:
    """Put back every name the answer rebound or deleted in those modules and classes (names it
    added to a module, as a lazy import does, stay; names added to a class go); the names
    that had changed."""
    changed = []
    for item, before in snapshot:
        now = vars(item)
        if len(now) == len(before) and all(map(operator.is_, now, before)) \
                and all(map(operator.is_, now.values(), before.values())):
            continue  # the same names bound to the same objects, in the same order: untouched
        owner = getattr(item, "__qualname__", None) or item.__name__
        for name, value in before.items():
            if now.get(name, _MISSING) is not value and not _lazy(value, now.get(name)):
                changed.append(f"{owner}.{name}")
                setattr(item, name, value)
        if isinstance(item, type):  # (Python makes a class's __annotations__ on first read)
            for name in set(now) - set(before) - {"__annotations__"}:
                changed.append(f"{owner}.{name}")
                delattr(item, name)
    return changed


_MISSING = object()

#: audit events of another program started from Python
PROGRAM_EVENTS = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
                  "os.fork", "os.forkpty", "os.startfile", "pty.spawn")
_ANSWERS_RUNNING = [0]  # how many call()s are inside the learner's function now
_ESCAPES: list[str] = []  # what the audit hook refused while an answer ran
_STUB_FILE = "<forbidden>"  # the file name of calls_of's stubs
_SHARING_EVENTS = [0]  # how many audit events _may_share_code has counted
_PUTTING_BACK = [0]  # the thread in which calls_of puts the original code back, while it does


def _second_copy(code: types.CodeType) -> str | None:
    """The name of the course module whose source ``code`` runs again, if it was imported
    already (a copy loaded with importlib escapes the stubs of :func:`calls_of`)."""
    filename = code.co_filename
    if "tflab" not in filename:
        return None
    for name, module in list(sys.modules.items()):
        if (name.split(".")[0] == "tflab" and getattr(module, "__file__", None) == filename
                and not getattr(getattr(module, "__spec__", None), "_initializing", False)):
            return name
    return None


def _audit(event: str, args: tuple) -> None:
    """Refuse, while an answer runs (in any thread), to start another program or to load a
    second copy of a course module: both run the course's code out of the checker's sight.
    Count, always, the events after which a function may share a code object anew."""
    if _may_share_code(event, args):
        _SHARING_EVENTS[0] += 1
    if not _ANSWERS_RUNNING[0]:
        return
    if event.startswith(PROGRAM_EVENTS):
        what = f"started another program ({event})"
    elif event == "exec" and args and isinstance(args[0], types.CodeType) \
            and (module := _second_copy(args[0])) is not None:
        what = f"loaded a second copy of {module}"
    else:
        return
    _ESCAPES.append(what)
    raise Failed(_escaped(what))


def _may_share_code(event: str, args: tuple) -> bool:
    """Whether an audit event may have given a function an existing code object: a function
    made from a code object, a function's code replaced, code executed (it defines functions
    again), the C API through ctypes. :func:`calls_of`'s own code swaps do not count."""
    if event == "object.__setattr__":
        return (args[1:2] == ("__code__",) and not _is_stub(args[2:3])
                and _PUTTING_BACK[0] != threading.get_ident())
    if event in ("function.__new__", "exec"):
        return not _is_stub(args[:1])
    return event.startswith("ctypes.")


def _is_stub(args: tuple) -> bool:
    return bool(args) and getattr(args[0], "co_filename", None) == _STUB_FILE


def _escaped(what: str) -> str:
    return (f"your answer {what} while it ran: the checker judges the code you wrote, run "
            "here, so compute the answer in your own function")


sys.addaudithook(_audit)  # audit hooks stay for the life of the process


#: where library code lives (the standard library, installed packages, the course's own):
#: threads running it are the libraries' own pools, not the learner's
_LIBRARY_DIRS = tuple({*(sysconfig.get_paths()[key] for key in ("stdlib", "purelib", "platlib")),
                       os.path.dirname(os.path.dirname(os.path.abspath(__file__)))})


def _thread_code(thread: threading.Thread) -> types.CodeType | None:
    """The code a thread runs: its target, a Timer's function or a subclass's run."""
    target = getattr(thread, "_target", None)
    if isinstance(thread, threading.Timer):
        target = thread.function
    elif type(thread).run is not threading.Thread.run:
        target = type(thread).run
    target = getattr(target, "__func__", target)
    return getattr(target, "__code__", None)


def _threads_left(before: set) -> list[str]:
    """The learner's threads that the answer started and that still run after it returned
    (one could patch what the checker uses next), given a short while to end."""
    left = []
    for thread in threading.enumerate():
        if thread.ident in before:
            continue
        code = _thread_code(thread)
        if code is None or code.co_filename.startswith(_LIBRARY_DIRS):
            continue
        thread.join(0.5)
        if thread.is_alive():
            left.append(thread.name)
    return left


def call(function: Callable, *args, **kwargs) -> Any:
    """Call the learner's function; its exceptions become :class:`Failed`, ``___`` NotAttempted.

    Names the function rebinds in NumPy, math, builtins or the course's modules (np.allclose,
    a course function the checker uses afterwards) are put back when it returns, and the
    answer fails: a checker compares with what these libraries really do. Starting another
    program or loading a second copy of a course module while it runs fails as well, and so
    does leaving a thread of its own running after it returns.
    """
    snapshot, escapes = _snapshot(), len(_ESCAPES)
    threads = {thread.ident for thread in threading.enumerate()}
    _ANSWERS_RUNNING[0] += 1
    try:
        result = function(*args, **kwargs)
    except (NotAttempted, Failed):
        raise
    except (Exception, SystemExit) as err:  # the learner's bug, reported instead of a traceback
        raise Failed(f"your function raised {type(err).__name__}: {first_line(err)}") from None
    finally:
        _ANSWERS_RUNNING[0] -= 1
        changed = _restore(snapshot)
    if len(_ESCAPES) > escapes:  # refused, even where the answer caught the error
        raise Failed(_escaped(_ESCAPES[escapes]))
    left = _threads_left(threads)
    if left:
        raise Failed(f"your answer left a thread running ({left[0]}) after it returned: finish "
                     "the work (join the threads you start) before you return")
    if changed:
        raise Failed(f"your answer replaced or reloaded {', '.join(changed[:3])} while it ran: "
                     "leave NumPy, TensorFlow, Keras and the course's modules as they are")
    if _holds_placeholder(result):
        raise NotAttempted
    return result


def number(answer: Any, what: str) -> float:
    """``answer`` as a finite float, or :class:`Failed` saying that ``what`` should be one."""
    try:
        value = float(answer)
    except (TypeError, ValueError):
        raise Failed(f"the answer should be {what} (a number), not {answer!r}"[:300]) from None
    if not np.isfinite(value):
        raise Failed(f"{what} came out as {value}: a diverged or undefined result")
    return value


def pair(result: Any, first: str, second: str) -> tuple[float, float]:
    """``result`` unpacked as two finite numbers named ``first`` and ``second``."""
    try:
        a, b = result
    except (TypeError, ValueError):
        message = f"the answer should be a pair ({first}, {second}), not {result!r}"
        raise Failed(message[:300]) from None
    return number(a, first), number(b, second)


def numbers(answer: Any, what: str) -> np.ndarray:
    """``answer`` (a NumPy array, tensor or nested list) as finite float64 values."""
    try:
        values = np.asarray(answer, dtype=np.float64)
    except (TypeError, ValueError):
        raise Failed(f"{what} should be an array of numbers, not {type(answer).__name__}") from None
    if not np.all(np.isfinite(values)):
        raise Failed(f"{what} contains NaN or infinite values: a diverged or undefined result")
    return values


@contextlib.contextmanager
def kept_random_state() -> Iterator[None]:
    """Run a check that seeds Python's and NumPy's generators, then give the learner theirs back."""
    python_state, numpy_state = random.getstate(), np.random.get_state()
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


class _ForbiddenCall(Failed):
    """Raised by a function that :func:`calls_of` has made unusable while an answer runs."""


#: a stub's number -> (the calls list of the calls_of that made it, its message)
_WATCHED: dict[int, tuple[list, str]] = {}
_WATCH_LOCK = threading.Lock()
_STUB_NUMBERS = itertools.count(1)


def _forbidden_call(key: int) -> None:
    """What every stub does: note the call (in any thread) and raise the exercise's rule."""
    calls, message = _WATCHED.get(key, (None, "this function may not be called here"))
    if calls is not None:
        calls.append(threading.current_thread().name)
    raise _ForbiddenCall(message)


def _parameters(code: types.CodeType) -> str:
    """``code``'s parameter list without defaults (they live on the function object, which
    keeps them): the stub has ``function``'s signature, so that callers inspecting it (Keras
    reads a layer's ``call``) see no difference."""
    names, argcount = code.co_varnames, code.co_argcount
    kwonly = code.co_kwonlyargcount
    parts = list(names[:argcount])
    if code.co_posonlyargcount:
        parts.insert(code.co_posonlyargcount, "/")
    rest = argcount + kwonly
    if code.co_flags & inspect.CO_VARARGS:
        parts.append("*" + names[rest])
        rest += 1
    elif kwonly:
        parts.append("*")
    parts.extend(names[argcount:argcount + kwonly])
    if code.co_flags & inspect.CO_VARKEYWORDS:
        parts.append("**" + names[rest])
    return ", ".join(parts)


def _stub_code(function: types.FunctionType, key: int) -> types.CodeType:
    """A code object that calls :func:`_forbidden_call`, with ``function``'s parameters, name
    and as many free variables (so that it can replace ``function.__code__``)."""
    free = function.__code__.co_freevars
    cells = "".join(f"    {name} = None\n" for name in free) or "    pass\n"
    uses = ", ".join(free)
    source = (f"def _outer():\n{cells}"
              f"    def _stub({_parameters(function.__code__)}):\n"
              f"        __import__('sys').modules['tflab.exercises.core']._forbidden_call({key})\n"
              + (f"        return ({uses},)\n" if free else "")
              + "    return _stub\n")
    namespace: dict = {}
    exec(compile(source, _STUB_FILE, "exec"), namespace)  # noqa: S102 - our own fixed text
    return namespace["_outer"]().__code__.replace(co_name=function.__code__.co_name)


def _functions_running(code: types.CodeType) -> tuple[list[types.FunctionType], int]:
    """The functions whose code is ``code`` (copies made with types.FunctionType share it), and
    the count of :data:`_SHARING_EVENTS` they are valid for. gc's answer (it reads every object
    in memory) is kept for a function defined at a module's top level or in a class there, as
    long as no event has counted since: only such events can give its code to another function.
    """
    known = _KNOWN_COPIES.get(code)
    if known is not None and known[0] == _SHARING_EVENTS[0]:
        functions = (ref() for ref in known[1])  # (a nested calls_of finds them stubbed)
        return [item for item in functions if item is not None and item.__code__ is code], known[0]
    events = _SHARING_EVENTS[0]
    return [item for item in gc.get_referrers(code)
            if isinstance(item, types.FunctionType) and item.__code__ is code], events


def _keep_copies(code: types.CodeType, copies: list[types.FunctionType], events: int) -> None:
    """Keep gc's answer for ``code`` (see :func:`_functions_running`); a nested function's code
    is defined again by each call of its outer function, without an event: never kept."""
    if "<locals>" not in getattr(code, "co_qualname", "<locals>"):  # (Python 3.10: never)
        _KNOWN_COPIES[code] = (events, [weakref.ref(item) for item in copies])


#: code -> (the count of _SHARING_EVENTS when gc last looked, weak references to its functions)
_KNOWN_COPIES: dict[types.CodeType, tuple[int, list]] = {}


def _default_rule(function: Callable) -> str:
    module = getattr(function, "__module__", "") or ""
    name = f"{module.rsplit('.', 1)[-1]}.{function.__qualname__}" if module else function.__name__
    return (f"your answer calls {name}, which does what this exercise asks you to write: "
            "write it yourself")


@contextlib.contextmanager
def calls_of(function: Callable, rule: str | None = None) -> Iterator[list]:
    """Make the Python ``function`` unusable while the block runs, in every thread, under any name.

    The function object's code (and that of any copy sharing it) is swapped for a stub that
    raises :class:`Failed` with ``rule``
    (default: "your answer calls …, which does what this exercise asks you to write"), so every
    name it was imported under, every callback holding it and every thread reaches the stub;
    its original code comes back when the block ends, exceptions included. Yields a list that
    gets one entry per attempted call. With ``rule`` the block fails with it if the answer
    called the function (even where the answer caught the error); without, the stub's error
    is absorbed at the end of the block and the checker reads the list and words its own
    message (the older interface, kept for the checkers that use it).
    """
    function = getattr(function, "__func__", function)  # a bound method: its function
    if not isinstance(function, types.FunctionType):
        raise TypeError(f"calls_of watches Python functions, not {type(function).__name__}")
    message = rule or _default_rule(function)
    module = sys.modules.get(function.__module__ or "")
    name = function.__name__
    on_module = module is not None and getattr(module, name, None) is function
    key, calls = next(_STUB_NUMBERS), []
    stub, original = _stub_code(function, key), function.__code__
    # copies made beforehand (types.FunctionType(f.__code__, ...)) share the code: stub them too
    copies, events = _functions_running(original)
    with _WATCH_LOCK:
        _WATCHED[key] = (calls, message)
        for item in copies:
            item.__code__ = stub
    failed = False
    try:
        yield calls
    except Exception:
        if not calls:
            raise
        failed = True
        if rule is not None:
            raise Failed(message) from None
    finally:
        with _WATCH_LOCK:
            _PUTTING_BACK[0] = threading.get_ident()
            try:
                for item in copies:
                    item.__code__ = original
            finally:
                _PUTTING_BACK[0] = 0
            _WATCHED.pop(key, None)
            if _SHARING_EVENTS[0] == events:  # no event since gc looked
                _keep_copies(original, copies, events)
    if on_module and getattr(module, name, None) is not function:
        setattr(module, name, function)
        raise Failed(f"your answer replaced or reloaded {module.__name__}.{name} while it ran: "
                     "leave the course's modules as they are")
    if calls and rule is not None and not failed:
        raise Failed(message)


@dataclass
class Exercise:
    """One exercise: its question, a checker, hints and the reference solution.

    ``solution_code`` is runnable on its own and defines ``answer``. A "Try it" (``try_it=True``)
    is a short exercise placed right after the section it practises; the end-of-lesson
    exercises combine sections.
    """

    lesson: str
    number: int
    question: str
    checker: Callable[[Any], str]
    hints: list[str] = field(default_factory=list)
    solution_code: str = ""
    try_it: bool = False

    @property
    def label(self) -> str:
        kind = "Try it" if self.try_it else "Exercise"
        return f"{kind} {self.lesson}.{self.number}"

    def judge(self, answer: Any = ___) -> tuple[str, str]:
        """("passed" | "failed" | "not attempted", message) for ``answer``, printing nothing."""
        if _holds_placeholder(answer):
            return "not attempted", "replace ___ with your answer and run the cell again."
        try:
            with kept_random_state():  # a checker may seed; the learner's generators stay theirs
                return "passed", self.checker(answer)
        except NotAttempted:
            return "not attempted", ("your function still returns ___; finish it and run the "
                                     "cell again.")
        except Failed as err:
            return "failed", str(err)
        except (Exception, SystemExit) as err:  # an answer of a shape the checker did not foresee
            return "failed", (f"this answer could not be judged ({type(err).__name__}: "
                              f"{first_line(err)}); "
                              "check what your answer returns against the question")

    def check(self, answer: Any = ___) -> None:
        """Judge ``answer`` and print the verdict: correct, not yet (and why) or not attempted."""
        status, message = self.judge(answer)
        verdict = {"passed": "correct!", "failed": "not yet.", "not attempted": "not attempted —"}
        print(f"{self.label}: {verdict[status]} {message}")

    def hint(self, level: int = 1) -> None:
        """Print hint number ``level`` (1 is the gentlest)."""
        if not self.hints:
            print("No hint for this one.")
            return
        level = min(max(1, level), len(self.hints))
        print(f"Hint {level} of {len(self.hints)}: {self.hints[level - 1]}")

    def solution(self) -> None:
        """Print the reference solution."""
        print(self.solution_code.strip())
