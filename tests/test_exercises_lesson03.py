"""Lesson 03's exercises: typical wrong answers fail with a helpful message."""

from __future__ import annotations

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

    failed_with(ex, unnamed, "name the placeholder 'x' and the result 'y'")
    failed_with(ex, eager, "should return a tf.Graph")
    failed_with(ex, wrong_formula, "y should be")


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

    failed_with(ex, leaky, "the graph grew from")
    failed_with(ex, not_finalized, "not finalized")


def test_one_trace_wrong_answers():
    ex = exercises.get("03", 3)

    @tf.function
    def retraces(value):
        return 2.0 * value + 1.0

    failed_with(ex, retraces, "traced it")
    failed_with(ex, lambda value: 2 * value + 1, "should be a tf.function")

    @tf.function(input_signature=[tf.TensorSpec([], tf.float32)])
    def wrong(value):
        return 2.0 * value

    failed_with(ex, wrong, "should be")


def test_cache_wrong_answers():
    ex = exercises.get("03", 3 + 1)
    failed_with(ex, lambda ds: ds.prefetch(1), "still runs every epoch")
    failed_with(ex, lambda ds: ds.take(6).cache(), "each epoch should yield")
