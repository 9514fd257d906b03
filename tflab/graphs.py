"""What TensorFlow does under the hood: graphs, sessions and traced functions.

The TF1 side uses ``tf.compat.v1`` inside an explicit ``tf.Graph`` (no global switch to
graph mode), so the same process can show TF2 code next to it.
"""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf

__all__ = ["least_squares_graph", "least_squares_function", "op_names", "executed_ops",
           "graph_as_run", "write_graph"]


def least_squares_graph() -> tuple[tf.Graph, dict[str, tf.Tensor]]:
    """The exact least-squares line as a TF1 graph.

    Returns the graph and its named tensors: placeholders ``x`` and ``y`` (float64
    vectors) and the outputs ``x_mean``, ``y_mean``, ``slope`` and ``intercept``
    (slope = Σ(x−x̄)(y−ȳ) / Σ(x−x̄)², intercept = ȳ − slope·x̄).
    """
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float64, [None], name="x")
        y = tf.compat.v1.placeholder(tf.float64, [None], name="y")
        x_mean = tf.reduce_mean(x, name="x_mean")
        y_mean = tf.reduce_mean(y, name="y_mean")
        xc = tf.subtract(x, x_mean, name="x_centred")
        yc = tf.subtract(y, y_mean, name="y_centred")
        sxy = tf.reduce_sum(tf.multiply(xc, yc, name="xy"), name="sxy")
        sxx = tf.reduce_sum(tf.multiply(xc, xc, name="xx"), name="sxx")
        slope = tf.divide(sxy, sxx, name="slope")
        intercept = tf.subtract(y_mean, tf.multiply(slope, x_mean, name="slope_x_mean"),
                                name="intercept")
    tensors = dict(x=x, y=y, x_mean=x_mean, y_mean=y_mean, slope=slope, intercept=intercept)
    return graph, tensors


def least_squares_function():
    """The same computation as a TF2 ``tf.function`` taking float64 vectors ``x, y``.

    Returns ``(slope, intercept)``. Its graph is built (traced) on the first call, or by
    ``get_concrete_function``.
    """

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float64, name="x"),
                                  tf.TensorSpec([None], tf.float64, name="y")])
    def least_squares(x, y):
        xc = x - tf.reduce_mean(x)
        yc = y - tf.reduce_mean(y)
        slope = tf.reduce_sum(xc * yc) / tf.reduce_sum(xc * xc)
        return slope, tf.reduce_mean(y) - slope * tf.reduce_mean(x)

    return least_squares


def op_names(graph: tf.Graph) -> list[str]:
    """Names of the operations of ``graph``, in the order they were added."""
    return [op.name for op in graph.get_operations()]


def executed_ops(session: tf.compat.v1.Session, fetches,
                 feed_dict: dict) -> tuple[object, list[str]]:
    """Run ``fetches`` with tracing on; return the result and the names of the ops that ran.

    The names come from the run's trace (``RunMetadata.step_stats``). The graph's own
    operations that ran come first, in graph order. Nodes whose names start with ``_``
    are the runtime's own (``_SOURCE``, and the ``_arg_…``/``_retval_…`` nodes standing
    for feeds and fetches) and are dropped. Any other name that is not in the graph is a
    node that TensorFlow's graph optimiser (Grappler) created, such as
    ``"ArithmeticOptimizer/ReplaceMulWithSquare_xx"``; those come last, sorted. Ops the
    fetches did not need never appear at all.
    """
    options = tf.compat.v1.RunOptions(trace_level=tf.compat.v1.RunOptions.FULL_TRACE)
    metadata = tf.compat.v1.RunMetadata()
    result = session.run(fetches, feed_dict, options=options, run_metadata=metadata)
    ran = {node.node_name for dev in metadata.step_stats.dev_stats for node in dev.node_stats}
    names = op_names(session.graph)
    ours = [name for name in names if name in ran]
    created = sorted(name for name in ran - set(names) if not name.startswith("_"))
    return result, ours + created


def graph_as_run(session: tf.compat.v1.Session, fetches,
                 feed_dict: dict) -> dict[str, tuple[str, list[str]]]:
    """Run ``fetches`` and return the graph the runtime executed, as ``{name: (type, inputs)}``.

    This is the graph after the session pruned it to what the fetches need and after
    TensorFlow's optimisers rewrote it. The session stands in an ``_Arg`` node for each fed
    tensor and adds a ``_Retval`` node for each fetch.
    """
    options = tf.compat.v1.RunOptions(output_partition_graphs=True)
    metadata = tf.compat.v1.RunMetadata()
    session.run(fetches, feed_dict, options=options, run_metadata=metadata)
    return {node.name: (node.op, [name.split(":")[0].lstrip("^") for name in node.input])
            for partition in metadata.partition_graphs for node in partition.node}


def write_graph(graph: tf.Graph, logdir: str | Path) -> Path:
    """Write ``graph`` (a ``tf.Graph`` or a ``tf.function``'s graph) for TensorBoard.

    View it with ``tensorboard --logdir <logdir>`` and open the Graphs tab. Returns the
    event file written.
    """
    logdir = Path(logdir)
    logdir.mkdir(parents=True, exist_ok=True)
    before = set(logdir.glob("events.out.tfevents.*"))
    writer = tf.summary.create_file_writer(str(logdir))
    with writer.as_default():
        tf.summary.graph(graph)
    writer.close()
    (new,) = set(logdir.glob("events.out.tfevents.*")) - before
    return new
