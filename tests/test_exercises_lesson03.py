"""Lesson 03's exercises: typical wrong answers fail with a helpful message."""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from exercise_checks import caller_value, failed_with

from tflab import exercises


def test_build_graph_wrong_answers():
    ex = exercises.get("03", 1)

    def unnamed():
        graph = tf.Graph()
        with graph.as_default():
            x = tf.compat.v1.placeholder(tf.float32, [None], name="x")
            _ = 3.0 * x + 2.0
        return graph

    def eager():
        return 3.0 * tf.constant([1.0]) + 2.0

    def wrong_formula():
        graph = tf.Graph()
        with graph.as_default():
            x = tf.compat.v1.placeholder(tf.float32, [None], name="x")
            tf.add(2.0 * x, 3.0, name="y")
        return graph

    def ignores_x():  # gaming: the right names and shape, y a constant 3·1 + 2
        graph = tf.Graph()
        with graph.as_default():
            x = tf.compat.v1.placeholder(tf.float32, [None], name="x")
            tf.add(tf.zeros_like(x), 5.0, name="y")
        return graph

    def constant_x():  # x a constant, not something to feed
        graph = tf.Graph()
        with graph.as_default():
            x = tf.constant([1.0, 2.0], name="x")
            tf.add(3.0 * x, 2.0, name="y")
        return graph

    def float64_x():  # honest mistake: the question asks for float32
        graph = tf.Graph()
        with graph.as_default():
            x = tf.compat.v1.placeholder(tf.float64, [None], name="x")
            tf.add(3.0 * x, 2.0, name="y")
        return graph

    def any_rank():  # honest mistake: shape=None takes a matrix too
        graph = tf.Graph()
        with graph.as_default():
            x = tf.compat.v1.placeholder(tf.float32, None, name="x")
            tf.add(3.0 * x, 2.0, name="y")
        return graph

    def seven_values():  # honest mistake: a fixed length, that of the values fed before
        graph = tf.Graph()
        with graph.as_default():
            x = tf.compat.v1.placeholder(tf.float32, [7], name="x")
            tf.add(3.0 * x, 2.0, name="y")
        return graph

    def numpy_inside():  # gaming: NumPy computes y inside the graph
        graph = tf.Graph()
        with graph.as_default():
            x = tf.compat.v1.placeholder(tf.float32, [None], name="x")
            y = tf.numpy_function(lambda v: 3 * v + 2, [x], tf.float32)
            tf.identity(y, name="y")
        return graph

    def python_in_a_function():  # gaming: the same, hidden in a tf.function called in the graph
        graph = tf.Graph()
        with graph.as_default():
            x = tf.compat.v1.placeholder(tf.float32, [None], name="x")

            @tf.function
            def formula(v):
                return tf.py_function(lambda a: 3 * a + 2, [v], tf.float32)

            tf.identity(formula(x), name="y")
        return graph

    def the_old_values():  # gaming: the checker's old inputs (seed 3, 7 values), precomputed
        values = np.random.default_rng(3).normal(size=7).astype(np.float32)
        graph = tf.Graph()
        with graph.as_default():
            x = tf.compat.v1.placeholder(tf.float32, [None], name="x")
            tf.add(tf.constant(3 * values + 2)[:tf.shape(x)[0]], 0 * x, name="y")
        return graph

    python = "your graph runs Python inside"
    failed_with(ex, float64_x, "x is a float64 placeholder; the question asks for float32")
    failed_with(ex, any_rank, "x's shape is unknown (shape=None")
    failed_with(ex, seven_values, "x's shape is [7]; give x the shape [None]")
    failed_with(ex, numpy_inside, python + " (PyFunc")
    failed_with(ex, python_in_a_function, python + " (EagerPyFunc")
    status, text = ex.judge(the_old_values)
    assert status == "failed" and ("y should be" in text or "raised" in text), text
    failed_with(ex, unnamed, "name the placeholder 'x' and the result 'y'")
    failed_with(ex, eager, "should return a tf.Graph")
    failed_with(ex, wrong_formula, "y should be")
    failed_with(ex, ignores_x, "y should be")
    failed_with(ex, constant_x, "x should be a placeholder")


def test_leak_wrong_answers():
    ex = exercises.get("03", 2)

    def leaky(graph, w, b):
        with graph.as_default():
            x = tf.compat.v1.placeholder(tf.float64, [None], name="x")
        sess = tf.compat.v1.Session(graph=graph)

        def predict(values):
            with graph.as_default():
                y = x * w + b  # new ops on every call
            return sess.run(y, {x: values})

        return predict

    def not_finalized(graph, w, b):
        with graph.as_default():
            x = tf.compat.v1.placeholder(tf.float64, [None], name="x")
            y = x * w + b
        sess = tf.compat.v1.Session(graph=graph)
        return lambda values: sess.run(y, {x: values})

    def numpy_and_a_constant(graph, w, b):  # gaming: the graph is never run
        with graph.as_default():
            tf.constant(0.0)
        graph.finalize()
        return lambda values: w * np.asarray(values) + b

    def runs_something_else(graph, w, b):  # gaming: a session run, but the answer is NumPy's
        with graph.as_default():
            one = tf.constant(1.0)
        graph.finalize()
        sess = tf.compat.v1.Session(graph=graph)
        return lambda values: sess.run(one) * (w * np.asarray(values) + b)

    def feeds_the_answer(graph, w, b):  # gaming: NumPy computes y, the graph only echoes it
        with graph.as_default():
            x = tf.compat.v1.placeholder(tf.float64, [None])
            y = tf.identity(x)
        graph.finalize()
        sess = tf.compat.v1.Session(graph=graph)
        return lambda values: sess.run(y, {x: w * np.asarray(values) + b})

    def session_per_call(graph, w, b):
        with graph.as_default():
            x = tf.compat.v1.placeholder(tf.float64, [None], name="x")
            y = x * w + b
        graph.finalize()

        def predict(values):
            with tf.compat.v1.Session(graph=graph) as sess:
                return sess.run(y, {x: values})

        return predict

    def default_graph(graph, w, b):  # builds in another graph than the one it is given
        other = tf.Graph()
        with other.as_default():
            x = tf.compat.v1.placeholder(tf.float64, [None], name="x")
            y = x * w + b
        other.finalize()
        sess = tf.compat.v1.Session(graph=other)
        return lambda values: sess.run(y, {x: values})

    def carries_numpy_beside_x(graph, w, b):  # gaming: x is fed, but y is NumPy's, carried in z
        with graph.as_default():
            x = tf.compat.v1.placeholder(tf.float64, [None], name="x")
            z = tf.compat.v1.placeholder(tf.float64, [None], name="z")
            y = tf.identity(z) + 0 * x
        graph.finalize()
        sess = tf.compat.v1.Session(graph=graph)
        return lambda values: sess.run(y, {x: values, z: w * np.asarray(values) + b})

    def default_carries_numpy(graph, w, b):  # gaming: the same through a placeholder_with_default
        with graph.as_default():
            x = tf.compat.v1.placeholder(tf.float64, [None], name="x")
            z = tf.compat.v1.placeholder_with_default(tf.zeros([5], tf.float64), [None])
            y = z + 0 * x
        graph.finalize()
        sess = tf.compat.v1.Session(graph=graph)
        return lambda values: sess.run(y, {x: values, z: w * np.asarray(values) + b})

    def stored_in_a_variable(graph, w, b):  # gaming: NumPy's y assigned to a variable first
        with graph.as_default():
            x = tf.compat.v1.placeholder(tf.float64, [None], name="x")
            z = tf.compat.v1.placeholder(tf.float64, [None])
            store = tf.compat.v1.Variable(tf.zeros([5], tf.float64), shape=tf.TensorShape(None))
            assign = store.assign(z, read_value=False)
            y = store + 0 * x
            init = tf.compat.v1.global_variables_initializer()
        graph.finalize()
        sess = tf.compat.v1.Session(graph=graph)
        sess.run(init)

        def predict(values):
            sess.run(assign, {z: w * np.asarray(values) + b})
            return sess.run(y, {x: values})

        return predict

    def fixed_length(graph, w, b):  # honest mistake: the placeholder takes 5 values only
        with graph.as_default():
            x = tf.compat.v1.placeholder(tf.float64, [5], name="x")
            y = x * w + b
        graph.finalize()
        sess = tf.compat.v1.Session(graph=graph)
        return lambda values: sess.run(y, {x: values})

    def numpy_inside(graph, w, b):  # gaming: NumPy computes y inside the graph
        with graph.as_default():
            x = tf.compat.v1.placeholder(tf.float64, [None], name="x")
            y = tf.numpy_function(lambda v: v * w + b, [x], tf.float64)
        graph.finalize()
        sess = tf.compat.v1.Session(graph=graph)
        return lambda values: sess.run(y, {x: values})

    def python_in_a_function(graph, w, b):  # gaming: the same, inside a tf.function in the graph
        with graph.as_default():
            x = tf.compat.v1.placeholder(tf.float64, [None], name="x")

            @tf.function
            def formula(v):
                return tf.py_function(lambda a: a * w + b, [v], tf.float64)

            y = formula(x)
        graph.finalize()
        sess = tf.compat.v1.Session(graph=graph)
        return lambda values: sess.run(y, {x: values})

    outside = "what it returns was computed outside the graph"
    failed_with(ex, fixed_length, "predict failed on 7 values")
    failed_with(ex, fixed_length, "a placeholder of fixed length takes only that many. Give x "
                                  "the shape [None]")
    failed_with(ex, numpy_inside, "your graph runs Python inside (PyFunc")
    failed_with(ex, python_in_a_function, "your graph runs Python inside (EagerPyFunc")
    failed_with(ex, carries_numpy_beside_x, outside + ": fed other values for x")
    failed_with(ex, default_carries_numpy, outside + ": fed other values for x")
    failed_with(ex, stored_in_a_variable, outside + ": fed other values for x")
    failed_with(ex, leaky, "the graph grew from")
    failed_with(ex, not_finalized, "not finalized")
    failed_with(ex, numpy_and_a_constant, "without running the graph it was given")
    failed_with(ex, runs_something_else, "did not feed it the values it was given")
    failed_with(ex, feeds_the_answer, "did not feed it the values it was given")
    failed_with(ex, session_per_call, "30 calls opened 30 sessions")
    failed_with(ex, default_graph, "without running the graph it was given")


def test_leak_takes_w_and_b_fed_each_run():
    """Feeding w and b as placeholders of their own builds the graph once too: the check runs
    again with other values for x only, and keeps what else was fed."""
    def fed_weights(graph, w, b):
        with graph.as_default():
            x = tf.compat.v1.placeholder(tf.float64, [None], name="x")
            w_in = tf.compat.v1.placeholder(tf.float64, [])
            b_in = tf.compat.v1.placeholder(tf.float64, [])
            y = x * w_in + b_in
        graph.finalize()
        sess = tf.compat.v1.Session(graph=graph)
        return lambda values: sess.run(y, {x: values, w_in: w, b_in: b})

    status, text = exercises.get("03", 2).judge(fed_weights)
    assert status == "passed", text


def test_leak_check_puts_session_run_back():
    before = tf.compat.v1.Session.run
    exercises.get("03", 2).judge(lambda graph, w, b: (lambda values: 1 / 0))
    assert tf.compat.v1.Session.run is before and "run" not in vars(tf.compat.v1.Session)


def test_cache_wrong_answers():
    ex = exercises.get("03", 3)
    failed_with(ex, lambda ds: ds.prefetch(1), "still runs every epoch")
    failed_with(ex, lambda ds: ds.take(6).cache(), "each epoch should yield")
    failed_with(ex, lambda ds: ds.cache().repeat(2), "yielded [24, 24, 24] items")
    # gaming: ignores its input and yields 0 … 11, what the lesson's slow source yields
    failed_with(ex, lambda ds: tf.data.Dataset.range(12),
                "not the items of ds: transform the dataset you are given")
    # gaming: the right items from elsewhere, the slow function never runs
    failed_with(ex, lambda ds: tf.data.Dataset.range(12).map(lambda i: 7 * i + 5),
                "the slow function ran 0 times for 12 items")
    # gaming: every item read eagerly into memory, then served from a tensor
    failed_with(ex, lambda ds: tf.data.Dataset.from_tensor_slices(list(ds)),
                "faster produced 12 of the 12 items before returning")


def test_leak_takes_a_float32_placeholder():
    """A float32 placeholder computes w·x + b in float32: the run again with other values for x
    is judged within predict's tolerance, not bit for bit against float64."""
    def float32_predictor(graph, w, b):
        with graph.as_default():
            x = tf.compat.v1.placeholder(tf.float32, [None], name="x")
            y = x * w + b
        graph.finalize()
        sess = tf.compat.v1.Session(graph=graph)
        return lambda values: sess.run(y, {x: values})

    status, text = exercises.get("03", 2).judge(float32_predictor)
    assert status == "passed", text

    def float32_carries_numpy(graph, w, b):  # gaming: NumPy's y carried in a float32 placeholder
        with graph.as_default():
            x = tf.compat.v1.placeholder(tf.float32, [None], name="x")
            z = tf.compat.v1.placeholder(tf.float32, [None], name="z")
            y = tf.identity(z) + 0 * x
        graph.finalize()
        sess = tf.compat.v1.Session(graph=graph)
        return lambda values: sess.run(y, {x: values, z: w * np.asarray(values) + b})

    failed_with(exercises.get("03", 2), float32_carries_numpy,
                "computed outside the graph: fed other values for x")


def test_cache_count_is_tamper_evident():
    ex = exercises.get("03", 3)

    def trims_the_counter(ds):  # gaming: no cache; a map trims the checker's counter to 12
        counter = caller_value("counter")

        def trim(v):
            del counter[12:]
            return v

        return ds.map(lambda v: tf.py_function(trim, [v], tf.int64))

    def clears_after_reading(ds):  # gaming: reads every item, then hides that it did
        items = [int(v) for v in ds]
        caller_value("counter").clear()
        return tf.data.Dataset.from_tensor_slices(items)

    def pads_the_counter(ds):  # gaming: the right items from elsewhere, 12 fake runs counted
        counter = caller_value("counter")
        counter.extend(range(12))
        return tf.data.Dataset.range(12).map(lambda i: 7 * i + 5)

    changed = "your answer changed the checker's count"
    failed_with(ex, trims_the_counter, changed)
    failed_with(ex, clears_after_reading, changed)
    failed_with(ex, pads_the_counter, changed)


def test_cache_of_batches_says_items_not_batches():
    failed_with(exercises.get("03", 3), lambda ds: ds.batch(4).cache(),
                "yields items of shape (4,), not the single items of ds")


def test_traced_once_wrong_answers():
    ex = exercises.try_it("03", 1)

    @tf.function
    def retraces(x):
        return 2 * x + 1

    @tf.function(input_signature=[tf.TensorSpec([], tf.float32)])
    def wrong(x):
        return 2 * x

    failed_with(ex, lambda x: 2 * x + 1, "should be a tf.function")  # plain Python
    failed_with(ex, retraces, "traced it 8 times")
    failed_with(ex, wrong, " + 1 is ")
    failed_with(ex, retraces, "traced it 8 times")  # again: new values, not the cached traces

    def reports_one_trace(x):  # gaming: a plain function that reports its own count
        return 2.0 * x + 1.0

    reports_one_trace.experimental_get_tracing_count = lambda: 1
    failed_with(ex, reports_one_trace, "should be a tf.function")

    @tf.function(input_signature=[tf.TensorSpec([], tf.float32)])
    def constant(x):  # gaming: ignores its input
        return tf.constant(1.0)

    failed_with(ex, constant, "returned 1;")


def test_traced_once_counts_the_traces_itself():
    ex = exercises.try_it("03", 1)

    @tf.function
    def lies_about_its_count(x):  # gaming: a real tf.function that retraces, reporting none
        return 2 * x + 1

    lies_about_its_count.experimental_get_tracing_count = lambda: 0
    failed_with(ex, lies_about_its_count, "traced it 8 times")

    function_class = type(tf.function(abs))

    class PythonInside(function_class):  # gaming: computes in Python, never traces, no count
        def __call__(self, x):
            return 2.0 * x + 1.0

        def experimental_get_tracing_count(self):
            return 0

    failed_with(ex, PythonInside(lambda x: 2 * x + 1, "scale"), "traced it 8 times")

    class Traced(function_class):  # gaming: a retracing function that reports one trace
        def experimental_get_tracing_count(self):
            return 1

    failed_with(ex, Traced(lambda x: 2 * x + 1, "scale"), "traced it 8 times")

    @tf.function(reduce_retracing=True)
    def reduced(x):  # near miss: reduce_retracing does not generalise Python floats
        return 2 * x + 1

    failed_with(ex, reduced, "traced it 8 times")
