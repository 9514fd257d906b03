"""tflab.graphs and tflab.pipelines: lesson 03's machinery."""

from __future__ import annotations

import time

import pytest
import tensorflow as tf

from tflab import data, graphs, pipelines, solvers


@pytest.fixture(scope="module")
def fire():
    return data.fire_theft()


def test_graph_and_function_compute_the_exact_answer(fire):
    x, y = fire
    exact = solvers.exact_least_squares(x, y)
    graph, t = graphs.least_squares_graph()
    with tf.compat.v1.Session(graph=graph) as sess:
        slope, intercept = sess.run([t["slope"], t["intercept"]], {t["x"]: x, t["y"]: y})
    assert abs(slope - exact.coef) < 1e-12 and abs(intercept - exact.intercept) < 1e-12
    fn = graphs.least_squares_function()
    for n in (5, 17, len(x)):  # vectors of different lengths share the input_signature's graph
        slope2, intercept2 = fn(tf.constant(x[:n]), tf.constant(y[:n]))
    assert abs(float(slope2) - exact.coef) < 1e-12
    assert abs(float(intercept2) - exact.intercept) < 1e-12
    assert fn.experimental_get_tracing_count() == 1


def test_running_a_graph_computes_only_what_the_fetches_need(fire):
    x, y = fire
    graph, t = graphs.least_squares_graph()
    assert {"x", "y", "x_mean", "slope", "intercept"} <= set(graphs.op_names(graph))
    with tf.compat.v1.Session(graph=graph) as sess:
        value, ran = graphs.executed_ops(sess, t["x_mean"], {t["x"]: x})  # y is not even fed
        assert value == pytest.approx(x.mean())
        assert "x_mean" in ran and not {"y", "y_mean", "slope", "intercept"} & set(ran)
        _, ran_all = graphs.executed_ops(sess, t["intercept"], {t["x"]: x, t["y"]: y})
        assert {"x_mean", "y_mean", "slope", "intercept"} <= set(ran_all)
    # no _SOURCE, _arg_..., _retval_...
    assert not [name for name in ran + ran_all if name.startswith("_")]
    names = graphs.op_names(graph)
    ours = [name for name in ran_all if name in names]
    # graph order first, Grappler's node last
    assert ran_all[:len(ours)] == ours and ours == [n for n in names if n in ours]
    assert ran_all[len(ours):] == ["ArithmeticOptimizer/ReplaceMulWithSquare_xx"]


def test_graph_as_run_shows_the_optimised_graph_and_its_settings_change_it(fire):
    x, y = fire
    graph, t = graphs.least_squares_graph()
    feed = {t["x"]: x, t["y"]: y}
    axes = ["Const", "Const_1", "Const_2", "Const_3"]  # four identical [0] reduction axes
    with tf.compat.v1.Session(graph=graph) as sess:
        ran = graphs.graph_as_run(sess, t["intercept"], feed)
    assert ran["intercept"][0] == "Sub" and "x" not in ran  # a fed placeholder becomes an _Arg
    assert any(kind == "_Arg" for kind, _ in ran.values())
    assert len({inputs[1] for name, (_, inputs) in ran.items()
                if name in ("x_mean", "y_mean", "sxy", "sxx")}) == 1  # one axis constant left
    assert len(set(axes) & set(ran)) == 1
    config = tf.compat.v1.ConfigProto()
    config.graph_options.rewrite_options.common_subgraph_elimination = \
        config.graph_options.rewrite_options.OFF
    config.graph_options.rewrite_options.arithmetic_optimization = \
        config.graph_options.rewrite_options.OFF
    config.graph_options.optimizer_options.opt_level = tf.compat.v1.OptimizerOptions.L0
    with tf.compat.v1.Session(graph=graph, config=config) as sess:
        ran = graphs.graph_as_run(sess, t["intercept"], feed)
        value, executed = graphs.executed_ops(sess, t["intercept"], feed)
    assert set(axes) <= set(ran) and ran["xx"] == ("Mul", ["x_centred", "x_centred"])
    assert set(axes) | {"xx"} <= set(executed)
    assert value == pytest.approx(solvers.exact_least_squares(x, y).intercept)


def test_write_graph_writes_an_event_file_with_the_graph(tmp_path):
    graph, _ = graphs.least_squares_graph()
    path = graphs.write_graph(graph, tmp_path / "logs" / "tf1")
    events = list(tf.compat.v1.train.summary_iterator(str(path)))
    assert any(e.graph_def for e in events)
    concrete = graphs.least_squares_function().get_concrete_function()
    assert graphs.write_graph(concrete.graph, tmp_path / "logs" / "tf2").stat().st_size > 0


def test_cache_stops_the_producer_after_the_first_epoch():
    produced = []
    dataset = pipelines.slow_source(5, 0.0, produced).cache()
    pipelines.time_epochs(dataset, 3, 0.0)
    assert sorted(produced) == [0, 1, 2, 3, 4]
    produced.clear()
    pipelines.time_epochs(pipelines.slow_source(5, 0.0, produced), 3, 0.0)
    assert len(produced) == 15


def items_made_ahead(dataset: tf.data.Dataset, produced: list, wait: float) -> list[int]:
    """For each item the consumer takes, how many more items the producer has made by then.

    After taking item k the consumer waits up to ``wait`` seconds for item k+1 to be made
    (as a training step would give the producer time to work). Without prefetch nothing
    runs in the background, so the count stays exactly 0 however long it waits.
    """
    ahead = []
    for k, _ in enumerate(dataset):
        deadline = time.monotonic() + wait
        while len(produced) < k + 2 and time.monotonic() < deadline:
            time.sleep(0.005)
        ahead.append(len(produced) - (k + 1))
    return ahead


def test_prefetch_overlaps_producer_and_consumer():
    # No wall-clock ratio: count what the producer has made when the consumer takes each item.
    n = 6
    produced: list = []
    plain = items_made_ahead(pipelines.slow_source(n, 0.0, produced), produced, wait=0.1)
    assert plain == [0] * n  # in turn: item k+1 is made only when the consumer asks for it
    produced = []
    prefetched = pipelines.slow_source(n, 0.0, produced).prefetch(1)
    overlapped = items_made_ahead(prefetched, produced, wait=10.0)
    # prefetch(1) made item k+1 while the consumer held item k (one ahead, no more: buffer of 1)
    assert overlapped == [1] * (n - 1) + [0]
    assert sorted(produced) == list(range(n))


def test_slow_source_rejects_bad_arguments():
    with pytest.raises(ValueError, match="n >= 1"):
        pipelines.slow_source(0, 0.1)
