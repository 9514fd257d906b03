"""Lesson 03's exercises: typical wrong answers fail with a helpful message."""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from exercise_checks import failed_with

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
            z = tf.compat.v1.placeholder(tf.float64, [5])
            store = tf.compat.v1.Variable(tf.zeros([5], tf.float64))
            assign = store.assign(z)
            y = store + 0 * x
            init = tf.compat.v1.global_variables_initializer()
        graph.finalize()
        sess = tf.compat.v1.Session(graph=graph)
        sess.run(init)

        def predict(values):
            sess.run(assign, {z: w * np.asarray(values) + b})
            return sess.run(y, {x: values})

        return predict

    outside = "what it returns was computed outside the graph"
    failed_with(ex, carries_numpy_beside_x, outside + ": run on x alone, your sess.run fails")
    failed_with(ex, default_carries_numpy, outside + ": fed other values for x")
    failed_with(ex, stored_in_a_variable, outside + ": fed other values for x")
    failed_with(ex, leaky, "the graph grew from")
    failed_with(ex, not_finalized, "not finalized")
    failed_with(ex, numpy_and_a_constant, "without running the graph it was given")
    failed_with(ex, runs_something_else, "did not feed it the values it was given")
    failed_with(ex, feeds_the_answer, "did not feed it the values it was given")
    failed_with(ex, session_per_call, "30 calls opened 30 sessions")
    failed_with(ex, default_graph, "without running the graph it was given")


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
