"""Exercises of lesson 03, graphs and sessions: building a graph, leaks, retracing, caching."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager

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
from tflab.exercises.lesson01 import _no_python_inside


def _build_graph(answer) -> str:
    import tensorflow as tf

    require_callable(answer, "build() returning a tf.Graph")
    graph = call(answer)
    if not isinstance(graph, tf.Graph):
        raise Failed(f"build() should return a tf.Graph, not {type(graph).__name__}")
    try:
        x, y = graph.get_tensor_by_name("x:0"), graph.get_tensor_by_name("y:0")
    except (KeyError, ValueError) as err:
        raise Failed(f"{err}; name the placeholder 'x' and the result 'y' (name=...)") from None
    if x.op.type != "Placeholder":
        raise Failed(f"x should be a placeholder (tf.compat.v1.placeholder), not a {x.op.type}")
    if x.dtype != tf.float32:
        raise Failed(f"x is a {x.dtype.name} placeholder; the question asks for float32: "
                     "tf.compat.v1.placeholder(tf.float32, [None], name='x')")
    if x.shape.rank != 1 or x.shape[0] is not None:
        shape = "unknown (shape=None: a matrix would be accepted too)" if x.shape.rank is None \
            else str(x.shape.as_list())
        raise Failed(f"x's shape is {shape}; give x the shape [None]: one dimension, of any "
                     "length")
    _no_python_inside(graph)
    # values drawn now, of a length drawn now: nothing in the graph can know them beforehand
    draw = np.random.default_rng()
    values = draw.normal(size=int(draw.integers(3, 12))).astype(np.float32)
    try:
        with tf.compat.v1.Session(graph=graph) as sess:
            got = np.asarray(sess.run(y, {x: values}))
    except Exception as err:
        raise Failed(f"running y with x fed raised {type(err).__name__}: "
                     f"{first_line(err)}") from None
    if got.shape != values.shape:
        raise Failed(f"feeding {len(values)} values of x should give {len(values)} values of y, "
                     f"not shape {got.shape}: y = 3x + 2 for each x")
    if not np.allclose(got, 3 * values + 2, rtol=1e-5):
        worst = int(np.argmax(np.abs(got - (3 * values + 2))))
        raise Failed(f"for x = {values[worst]:.3f} y should be {3 * values[worst] + 2:.3f}, "
                     f"yours is {got[worst]:.3f}")
    return "y = 3x + 2 for any number of x values, and nothing runs until a session does."


@contextmanager
def _watching_sessions(graph, runs: list) -> Iterator[None]:
    """While the learner's predictor runs, record every session run on ``graph``.

    ``runs`` gets one ``(session, fetches, feed_dict, result)`` per ``Session.run`` on
    ``graph`` (``Tensor.eval`` and ``Operation.run`` go through it too).
    """
    import tensorflow as tf

    classes = [tf.compat.v1.Session, tf.compat.v1.InteractiveSession]
    saved = {cls: vars(cls).get("run") for cls in classes}

    def watching(original):
        def run(self, fetches, feed_dict=None, *args, **kwargs):
            result = original(self, fetches, feed_dict, *args, **kwargs)
            if self.graph is graph:
                runs.append((self, fetches, feed_dict, result))
            return result
        return run

    try:
        for cls in classes:
            cls.run = watching(cls.run)
        yield
    finally:
        for cls, method in saved.items():
            if method is None:
                delattr(cls, "run")
            else:
                cls.run = method


def _fed(feed_dict, values: np.ndarray) -> bool:
    """Whether ``feed_dict`` feeds ``values`` (the checker's inputs) to some tensor."""
    for fed in (feed_dict or {}).values():
        try:
            if np.array_equal(np.asarray(fed, dtype=np.float64).ravel(), values):
                return True
        except (TypeError, ValueError):
            continue
    return False


def _produced(result, got: np.ndarray, close: bool = False) -> bool:
    """Whether ``got`` is one of the values a session run returned (``close``: within the
    tolerance predict is judged by, as a float32 placeholder computes w·x + b)."""
    import tensorflow as tf

    for value in tf.nest.flatten(result):
        try:
            value = np.asarray(value, dtype=np.float64).ravel()
            if value.shape == got.ravel().shape and (
                    np.allclose(value, got.ravel(), rtol=1e-5, atol=1e-5) if close
                    else np.array_equal(value, got.ravel())):
                return True
        except (TypeError, ValueError):
            continue
    return False


def _computed_by_the_graph(producing: list, values: np.ndarray, rng, runs: list) -> None:
    """Run again what predict ran, feeding other values in place of ``values``.

    y = w·x + b computed in NumPy and handed to the graph (another placeholder, or x itself)
    cannot follow values that only the graph sees: the result must be w·x + b for them too.
    """
    fresh = rng.normal(size=values.shape)
    want = 1.5 * fresh - 2.0
    problem = ("predict ran the graph with values for x, but what it returns was computed "
               "outside the graph")
    for session, fetches, feed, _ in producing:
        if not _fed(feed, values):
            continue
        if getattr(session, "_closed", False):  # a session per call: the sessions check fails it
            return
        # the same run with other values for x; what else it fed (w and b, say) stays
        other_x = {key: fresh if _fed({key: fed}, values) else fed for key, fed in feed.items()}
        before = len(runs)
        try:
            again = type(session).run(session, fetches, other_x)
        except Exception as err:
            del runs[before:]
            raise Failed(f"{problem}: run again with other values for x, your sess.run fails "
                         f"({type(err).__name__}: {first_line(err, 120)}). Build y = x * w + b "
                         "in the graph and feed x") from None
        del runs[before:]
        if _produced(again, want, close=True):
            return
    raise Failed(f"{problem}: fed other values for x, the run you made did not give w·x + b "
                 "for them. Build y = x * w + b from the placeholder, and feed only x")


def _no_leak(answer) -> str:
    import tensorflow as tf

    require_callable(answer, "make_predictor(graph, w, b) returning predict(values)")
    graph = tf.Graph()
    runs: list = []
    with _watching_sessions(graph, runs):
        predict = call(answer, graph, 1.5, -2.0)
        require_callable(predict, "predict(values)")
        rng = np.random.default_rng(4)
        sizes = []
        for _ in range(30):
            values = rng.normal(size=int(rng.integers(2, 9)))  # any number of values
            before = len(runs)
            try:
                got = numbers(call(predict, values), "what predict returns")
            except Failed as err:
                if "Cannot feed value of shape" not in str(err):
                    raise
                raise Failed(f"predict failed on {len(values)} values ({str(err)[:200]}): "
                             "a placeholder of fixed length takes only that many. Give x the "
                             "shape [None], any number of values") from None
            want = 1.5 * values - 2.0
            if got.shape != want.shape:
                raise Failed(f"predict of {len(values)} values should return {len(values)} "
                             f"values, not shape {got.shape}")
            if not np.allclose(got, want, rtol=1e-5, atol=1e-5):
                worst = int(np.argmax(np.abs(got - want)))
                raise Failed(f"for x = {values[worst]:.4f} predict should give "
                             f"{want[worst]:.4f}; yours gives {got[worst]:.4f}")
            calls = runs[before:]
            if not calls:
                raise Failed("predict returned the right values without running the graph it "
                             "was given in a session: build y = w·x + b inside "
                             "`with graph.as_default():` and return sess.run(y, {x: values})")
            if not any(_fed(feed, values) for _, _, feed, _ in calls):
                raise Failed("predict ran the graph but did not feed it the values it was "
                             "given: feed them to the placeholder, sess.run(y, {x: values})")
            producing = [run for run in calls if _produced(run[3], got)]
            if not producing:
                raise Failed("what predict returns is not what its session run computed: "
                             "return the result of sess.run(y, {x: values})")
            _computed_by_the_graph(producing, values, rng, runs)
            sizes.append(len(graph.get_operations()))
    _no_python_inside(graph)
    sessions = {id(session) for session, _, _, _ in runs}  # runs keeps them alive: ids distinct
    if sizes[-1] > sizes[0]:
        raise Failed(f"the graph grew from {sizes[0]} to {sizes[-1]} operations over 30 calls: "
                     "build the ops once, outside predict")
    if not graph.finalized:
        raise Failed("the graph does not grow, but it is not finalized: call graph.finalize() so "
                     "that a future leak raises at once")
    if len(sessions) > 1:
        raise Failed(f"30 calls opened {len(sessions)} sessions: open one session in "
                     "make_predictor and reuse it in every call")
    return (f"{sizes[0]} operations after 30 calls, each run in the same session, and the graph "
            "is finalized.")


def _counted_source(n: int, counter: list) -> tuple:
    """Section 7's slow source of ``n`` items, 7·i + 5, whose slow function appends to
    ``counter``, and a function that says how many items the source has produced, counted
    a second time in a closure that no frame names: an answer that trims ``counter`` (found in
    the checker's frame) does not change that count."""
    import tensorflow as tf

    from tflab import pipelines

    runs = [0]

    def tick(i):
        runs[0] += 1
        return i

    def counted(i):
        return tf.py_function(tick, [i], tf.int64)

    source = pipelines.slow_source(n, 0.0, counter).map(counted)
    return source.map(lambda i: 7 * i + 5), lambda: runs[0]


def _epoch(ds) -> list[int]:
    """One epoch of the learner's dataset, sorted; items that are not single numbers (batches)
    fail with what they are."""
    items = []
    try:
        for value in ds:
            shape = np.shape(value)
            if shape != ():
                raise Failed(f"your dataset yields items of shape {shape}, not the single "
                             "items of ds (numbers): keep the items as ds gives them (batch "
                             "later, when you train), and cache ds itself")
            items.append(int(value))
    except Failed:
        raise
    except Exception as err:
        raise Failed(f"iterating over your dataset raised {type(err).__name__}: "
                     f"{first_line(err)}") from None
    return sorted(items)


def _cached(answer) -> str:
    import tensorflow as tf

    require_callable(answer, "faster(ds) returning a tf.data.Dataset")
    n = 12
    counter: list = []
    source, produced = _counted_source(n, counter)
    items = [7 * i + 5 for i in range(n)]  # values the learner has not seen
    ds = call(answer, source)
    if not isinstance(ds, tf.data.Dataset):
        raise Failed(f"faster should return a tf.data.Dataset, not {type(ds).__name__}")
    changed = ("your answer changed the checker's count of the slow function's runs: "
               "return a dataset built from ds, and leave the checker's objects alone")
    if len(counter) != produced():
        raise Failed(changed)
    if counter:
        raise Failed(f"faster produced {len(counter)} of the {n} items before returning (read "
                     "into a list or tensor?): the dataset then holds every item in memory at "
                     "once and training waits for all of them. Return a dataset that remembers "
                     "the items as the first epoch passes them")
    epochs = [_epoch(ds) for _ in range(3)]
    if len(counter) != produced():
        raise Failed(changed)
    if any(epoch != items for epoch in epochs):
        other = (", not the items of ds: transform the dataset you are given"
                 if all(len(epoch) == n for epoch in epochs) else "")
        raise Failed(f"each epoch should yield the {n} items of ds once each; yours yielded "
                     f"{[len(epoch) for epoch in epochs]} items{other}")
    if len(counter) > n:
        raise Failed(f"the source produced {len(counter)} items in 3 epochs of {n}: the slow "
                     "work still runs every epoch. Cache the results.")
    if len(counter) < n:
        raise Failed(f"the slow function ran {len(counter)} times for {n} items: the items "
                     "come from somewhere else than ds; transform the dataset you are given")
    return f"{len(counter)} items produced for 3 epochs of {n}: the slow work runs once."


EXERCISES = [
    Exercise("03", 1, "Write build(): a new tf.Graph with a float32 placeholder named 'x' of "
             "shape [None] and a tensor named 'y' equal to 3x + 2.", _build_graph,
             ["Build inside `with graph.as_default():`; every op takes name=....",
              "tf.compat.v1.placeholder(tf.float32, [None], name='x'); "
              "tf.add(3.0 * x, 2.0, name='y')."],
             """import tensorflow as tf

def build():
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None], name="x")
        tf.add(3.0 * x, 2.0, name="y")
    return graph

answer = build"""),
    Exercise("03", 2, "Fix section 5's leak: write make_predictor(graph, w, b) that builds "
             "y = w·x + b in `graph` once, finalizes it, and returns predict(values), for values "
             "of any length, run in one session.", _no_leak,
             ["Everything that adds an op (placeholder, multiply, add) must happen before "
              "predict is defined.", "Open one tf.compat.v1.Session(graph=graph) after "
              "graph.finalize(); predict only calls sess.run."],
             """import tensorflow as tf

def make_predictor(graph, w, b):
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float64, [None], name="x")
        y = x * w + b
    graph.finalize()
    sess = tf.compat.v1.Session(graph=graph)

    def predict(values):
        return sess.run(y, {x: values})

    return predict

answer = make_predictor"""),
    Exercise("03", 3, "Write faster(ds): given a dataset whose items are slow to produce, return "
             "a dataset with the same items per epoch in which each item is produced only once "
             "over three epochs.", _cached,
             ["One of the two transformations of section 7 remembers the items after the "
              "first epoch.", "return ds.cache().prefetch(tf.data.AUTOTUNE)"],
             """import tensorflow as tf

def faster(ds):
    return ds.cache().prefetch(tf.data.AUTOTUNE)

answer = faster"""),
]


def _scaled(function, value: float) -> None:
    got = number(call(function, value), f"scale({value})")
    if abs(got - (2 * value + 1)) > 1e-5 * max(1.0, abs(2 * value + 1)):
        raise Failed(f"scale({value}) returned {got:g}; 2·{value} + 1 is {2 * value + 1:g}")


def _traced_once(answer) -> str:
    import tensorflow as tf

    require_callable(answer, "scale(x), a tf.function")
    function_class = type(tf.function(abs))  # the class tf.function returns
    if not isinstance(answer, function_class):
        call(answer, 1.0)  # an unfinished plain function (it returns ___) is "not attempted"
        raise Failed("the answer should be a tf.function (decorate it with @tf.function), so that "
                     f"its traces can be counted, not {type(answer).__name__}")
    # fresh values on every check, so that traces left by earlier calls cannot hide retracing
    values = [float(v) for v in np.random.default_rng().uniform(-50, 50, 8).round(3)]
    for value in values:
        _scaled(answer, value)
    # The traces are counted here, not asked of the answer: a fresh tf.function with the same
    # Python function and options (input_signature, reduce_retracing, ...) and an empty cache,
    # whose Python function is wrapped to count the times tracing runs it.
    traced: list = []
    python_function = answer.python_function

    @functools.wraps(python_function)
    def counted(*args, **kwargs):
        traced.append(args)
        return python_function(*args, **kwargs)

    fresh = function_class._clone(answer, counted)
    for value in values:
        _scaled(fresh, value)
    traces = len(traced)
    if not traces:
        raise Failed("scale returned the right values without its Python function ever being "
                     "traced: write the body inside the @tf.function-decorated function")
    if traces > 1:
        raise Failed(f"{len(values)} calls with different Python floats traced it {traces} times: "
                     "each new Python value is a new signature. Give it an input_signature")
    return (f"{len(values)} calls with different Python floats, {traces} new trace"
            f"{'' if traces == 1 else 's'}.")


TRY_ITS = [
    Exercise("03", 1, "Write scale(x), a tf.function returning 2·x + 1, that is traced at most "
             "once however many different Python floats it is called with.", _traced_once,
             ["A Python number is part of a tf.function's signature: a new value, a new trace. "
              "Declare the argument as a tensor instead.",
              "Decorate it with @tf.function(input_signature=[tf.TensorSpec([], tf.float32)])."],
             """import tensorflow as tf

@tf.function(input_signature=[tf.TensorSpec([], tf.float32)])
def scale(x):
    return 2 * x + 1

answer = scale""", try_it=True),
]
