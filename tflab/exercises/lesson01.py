"""Exercises of lesson 01, linear regression: the exact answer, the gradient, TensorFlow code."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np

from tflab.exercises.core import (
    Exercise,
    Failed,
    call,
    calls_of,
    pair,
    require_callable,
)
from tflab.exercises.lesson00 import _returned
from tflab.exercises.lesson08 import _fresh_seed, _generator


def _toy(seed: int, n: int = 50) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 5, n)
    return x, -2.5 * x + 4.0 + rng.normal(0, 0.5, n)


def _exact_fire(answer) -> str:
    from tflab import data, solvers

    x, y = data.fire_theft()
    few = x < 13
    w, b = pair(answer, "slope", "intercept")
    exact = solvers.exact_least_squares(x[few], y[few])
    if abs(w - exact.intercept) < 1e-3 and abs(b - exact.coef) < 1e-3:
        raise Failed("you have the intercept and the slope the wrong way round: (slope, intercept)")
    error = max(abs(w - exact.coef), abs(b - exact.intercept))
    if error > 1e-4:
        two = (x > 30) & (y > 60)
        others = {"all 42 areas": np.ones_like(few), "the 40 areas without the two outlying "
                  "ones": ~two, "the areas with 13 fires or more": ~few}
        for name, mask in others.items():
            fit = solvers.exact_least_squares(x[mask], y[mask])
            if max(abs(w - fit.coef), abs(b - fit.intercept)) < 1e-3:
                raise Failed(f"that is the line through {name}; fit only the {int(few.sum())} "
                             "areas with fewer than 13 fires (x < 13)")
        swapped = solvers.exact_least_squares(y[few], x[few])
        if abs(w - swapped.coef) < 1e-3:
            raise Failed("that is the line that predicts fires from thefts; regress thefts (y) "
                         "on fires (x)")
        raise Failed(f"your line is {error:.3g} away from the least-squares answer (needs ≤ 1e-4)")
    return (f"slope {exact.coef:.4f}, intercept {exact.intercept:.4f}: among the "
            f"{int(few.sum())} areas with few fires, thefts rise {exact.coef:.1f} per fire.")


_EPOCH_MAP_RULE = ("your function calls solvers.epoch_map, the course's own descent step, which "
                   "does the exercise for you: write the formula yourself")
_GD_RULE = ("your function calls solvers.gradient_descent, the course's own descent, which "
            "works the gradient out for you: write the formula yourself")


def _autodiff() -> list[tuple[object, str]]:
    """TensorFlow's automatic differentiation, with the name a learner calls it by."""
    import tensorflow as tf

    return [(tf.GradientTape.gradient, "tape.gradient"), (tf.GradientTape.jacobian,
            "tape.jacobian"), (tf.GradientTape.batch_jacobian, "tape.batch_jacobian"),
            (tf.gradients, "tf.gradients"), (tf.compat.v1.gradients, "tf.compat.v1.gradients"),
            (tf.autodiff.ForwardAccumulator.__init__, "tf.autodiff.ForwardAccumulator")]


def _by_hand_only(*course: tuple[object, str]) -> contextlib.ExitStack:
    """While the block runs, ``course``'s (function, rule) pairs and TensorFlow's automatic
    differentiation are stubs that fail the answer: 01.2 asks for the derivative by hand."""
    stack = contextlib.ExitStack()
    for function, rule in course:
        stack.enter_context(calls_of(function, rule=rule))
    for function, name in _autodiff():
        stack.enter_context(calls_of(function, rule=(
            f"your function calls {name}, TensorFlow's automatic differentiation, which works "
            "the derivative out for you: this exercise asks for the gradient by hand, so write "
            "dL/dw and dL/db as formulas with NumPy")))
    return stack


def _which_component(w: float, b: float, got: tuple[float, float],
                     want: tuple[float, float], rtol: float) -> str:
    """Which of the answer's two derivatives differs from the gradient at (w, b) (by more than
    ``rtol`` of its size), and by how much."""
    wrong = [(name, g, v) for name, g, v in zip(("dL/dw", "dL/db"), got, want)
             if not np.isclose(g, v, rtol=rtol)]
    parts = "; ".join(f"your {name} is {g:.6g} where it should be {v:.6g}"
                      f" (off by {g - v:+.4g})" for name, g, v in wrong)
    right = {"dL/dw": "dL/db", "dL/db": "dL/dw"}
    ok = f"; your {right[wrong[0][0]]} is right" if len(wrong) == 1 else ""
    return (f"at w = {w:g}, b = {b:g} the gradient is ({want[0]:.6g}, {want[1]:.6g}): "
            f"{parts}{ok}. Check each derivative term by term: the residual r = w·x + b − y "
            "with all its terms, and what multiplies it")


def _gradient(answer) -> str:
    from tflab import solvers

    require_callable(answer, "mse_gradient(w, b, x, y) returning (dw, db)")
    # the last point lies far from the data's line, where the loss is about 1e17: a formula
    # is as exact there as anywhere, an estimate from nearby losses (finite differences) not
    points = [(1, (0.5, -1.0), 1e-4), (2, (3.0, 2.0), 1e-4), (2, (1e8, -5e7), 1e-6)]
    for seed, (w, b), rtol in points:
        x, y = _toy(seed)
        with _by_hand_only((solvers.epoch_map, _EPOCH_MAP_RULE),
                           (solvers.gradient_descent, _GD_RULE)):
            got = _returned(answer, w, b, x.copy(), y.copy(),
                            convert=lambda result: pair(result, "dw", "db"))
        # the reference only now, once the answer has returned: it cannot be read while it runs
        residual = w * x + b - y
        want = (2 * np.mean(residual * x), 2 * np.mean(residual))
        if np.allclose(got, want, rtol=rtol):
            continue
        if (w, b) == points[-1][1]:  # right at both points near the data, off only here
            off = float(np.max(np.abs(np.subtract(got, want)) / np.abs(want)))
            raise Failed(f"at w = {w:g}, b = {b:g}, far from the data's line, your gradient is off "
                         f"by {off:.1e} of its size (and right near the data): an estimate from "
                         "nearby values of the loss (finite differences) loses precision where "
                         "the loss is large; write dL/dw and dL/db as formulas")
        if np.allclose(got, [-v for v in want], rtol=1e-4):
            raise Failed("your gradient points the wrong way (the signs are flipped): "
                         "differentiate (w·x + b − y)², not (y − w·x − b) with the sign dropped")
        ratio = got[1] / want[1] if want[1] else float("nan")
        if np.isclose(ratio, 0.5, rtol=1e-3):
            raise Failed("your gradient is half the right size: the derivative of r² is 2r")
        if np.isclose(ratio, len(x), rtol=1e-3) or np.isclose(ratio, len(x) / 2, rtol=1e-3):
            raise Failed("your gradient is the gradient of the summed error; the loss is the mean")
        raise Failed(_which_component(w, b, got, want, rtol))
    return "right at three points of two data sets you had not seen, one far from the data."


_LIBRARY_LINE = ("your function calls graphs.least_squares_function, the course's own graph of "
                 "this formula, which does the exercise for you: write it with tf.reduce_mean "
                 "and tf.reduce_sum yourself")


def _line_data(seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Three data sets drawn from ``seed``, each around a line of its own: the first for the
    eager call, the other two (of one length) for the traced graph, which the answer never
    sees as numbers."""
    rng = _generator(seed)
    sizes = [int(rng.integers(25, 40)), int(rng.integers(41, 60))]
    sets = []
    for n in (sizes[0], sizes[1], sizes[1]):
        slope, intercept = rng.uniform(-4, 4), rng.uniform(-6, 6)
        x = rng.uniform(-3, 5, n)
        sets.append((x, slope * x + intercept + rng.normal(0, 0.5, n)))
    return sets


def _line(result) -> tuple[float, float]:
    return pair(result, "slope", "intercept")


def _tf_least_squares(answer) -> str:
    import tensorflow as tf

    from tflab import graphs

    require_callable(answer, "tf_least_squares(x, y) returning (slope, intercept) as tensors")
    seed = _fresh_seed()  # all the checker holds while the answer runs
    made_before = _made_by(graphs.least_squares_function)  # its graphs made before
    with contextlib.ExitStack() as forbidden:
        for function in [graphs.least_squares_function, graphs.least_squares_graph,
                         *made_before]:
            forbidden.enter_context(calls_of(function, rule=_LIBRARY_LINE))
        x, y = _line_data(seed)[0]
        eager = _returned(answer, tf.constant(x), tf.constant(y), convert=_line)
        # traced on symbols, not numbers, then run on two data sets it never saw eagerly
        spec = tf.TensorSpec([len(_line_data(seed)[1][0])], tf.float64)
        try:
            traced = call(tf.function(answer).get_concrete_function, spec, spec)
        except Failed as err:
            if not str(err).startswith("your function raised"):
                raise  # a forbidden call, a module rebound: its own message
            raise Failed(f"inside tf.function {err} — use TensorFlow ops only (tf.reduce_mean, "
                         "...), not NumPy, so that it can run as a graph") from None
        _no_python_inside(traced.graph)
        _no_library_graph_inside(traced.graph)
        in_graph = [_returned(traced, tf.constant(x), tf.constant(y), convert=_line)
                    for x, y in _line_data(seed)[1:]]
    # the references only now, from the data drawn again once the answer has returned
    sets = _line_data(seed)
    wants = [np.polyfit(x, y, 1) for x, y in sets]
    for got, want, where in [(eager, wants[0], "for the data you were given"),
                             (in_graph[0], wants[1], "as a graph, on data it had not seen"),
                             (in_graph[1], wants[2], "as a graph, on other data")]:
        if np.allclose(got, want, rtol=1e-6, atol=1e-6):
            continue
        stale = ""
        if where.startswith("as a graph") and np.allclose(got, wants[0], rtol=1e-6, atol=1e-6):
            stale = (": your graph returns the line of the data of the eager call, numbers "
                     "fixed when it was traced (computed with NumPy or .numpy()?); compute "
                     "the line from the graph's inputs x and y with TensorFlow ops")
        raise Failed(f"{where} the least-squares line is ({want[0]:.5f}, {want[1]:.5f}); "
                     f"yours is ({got[0]:.5f}, {got[1]:.5f}){stale}")
    return "exact on three data sets you had not seen, eagerly and as a traced graph."


def _made_by(factory) -> list:
    """One function of each kind ``factory`` defines inside itself and has made so far (the
    Python function behind each tf.function it returned): calls_of stubs all that share its
    code, so that ``.python_function`` of a graph built before the check is forbidden too."""
    import gc
    import types

    made = []
    for code in factory.__code__.co_consts:
        if isinstance(code, types.CodeType):
            made.extend([item for item in gc.get_referrers(code)
                         if isinstance(item, types.FunctionType) and item.__code__ is code][:1])
    return made


def _no_library_graph_inside(graph) -> None:
    """Fail if the traced ``graph`` calls graphs.least_squares_function's tf.function (made
    before the check, so that calls_of never saw the factory run)."""
    import re

    for op in graph.get_operations():
        if op.type in ("PartitionedCall", "StatefulPartitionedCall"):
            if re.fullmatch(r"__inference_least_squares_\d+", op.get_attr("f").name.decode()
                            if isinstance(op.get_attr("f").name, bytes)
                            else op.get_attr("f").name):
                raise Failed(_LIBRARY_LINE)


_PYTHON_OPS = {"PyFunc", "PyFuncStateless", "EagerPyFunc"}


def _no_python_inside(graph) -> None:
    """Fail if the traced ``graph``, or a function it calls, wraps Python (tf.py_function,
    tf.numpy_function)."""
    types = {op.type for op in graph.get_operations()}
    for function in graph.as_graph_def().library.function:  # tf.functions called inside
        types.update(node.op for node in function.node_def)
    wrapped = sorted(types & _PYTHON_OPS)
    if wrapped:
        raise Failed(f"your graph runs Python inside ({', '.join(wrapped)}: tf.py_function or "
                     "tf.numpy_function): write the formula with TensorFlow ops only "
                     "(tf.reduce_mean, ...)")


_DESCENT_RULE = ("train calls solvers.gradient_descent, which does the exercise for you: write "
                 "the loop with tf.GradientTape yourself")
_EPOCH_RULE = ("train calls solvers.epoch_map, the course's own descent step, which does the "
               "exercise for you: write the loop with tf.GradientTape yourself")
_PATH_RULE = ("train calls the checker's own descent (lesson01._descent_path), which is what "
              "this exercise asks you to write: write the loop with tf.GradientTape yourself")


def _keras_training(who: str = "train", how: str = "with tf.GradientTape"
                    ) -> list[tuple[object, str]]:
    """Keras's training loops (model.fit and the steps it runs), each with its rule (``who``
    calls it; write the loop yourself, ``how``). The functions themselves, not Keras's
    error-handling wrapper around fit, whose code every wrapped Keras function
    (Layer.__call__ ...) shares."""
    import inspect

    import keras

    return [(inspect.unwrap(function), f"{who} calls Keras's model.{name}, which runs the "
             f"training loop for you: write the loop yourself, {how}")
            for name, function in [("fit", keras.Model.fit),
                                   ("train_on_batch", keras.Model.train_on_batch),
                                   ("train_step", keras.Model.train_step)]]


def _bent(gradient, loss):
    """What the tape hands back in the checker's last run: ``gradient · (1 + L / (L + g²))``,
    elementwise, ``L`` the target's value. A loop that steps with the tape's gradients of the
    MSE follows a path :func:`_descent_path` computes; one that asks the tape about another
    target (a dummy v·v to learn what the checker does), or steps with a gradient of its own,
    leaves it."""
    import tensorflow as tf

    if gradient is None:
        return None
    g = tf.stop_gradient(tf.convert_to_tensor(gradient))
    g64 = tf.cast(g, tf.float64)
    return tf.cast(g64 * (1 + loss / (loss + g64 * g64)), g.dtype)


@contextlib.contextmanager
def _tape_gradients(bend: bool = False) -> Iterator[list]:
    """Watch GradientTape.gradient while the block runs (any tape, any thread, eagerly or while
    a tf.function traces). The list gets, per call, the value of the target (the sum of its
    elements), or None for a target inside a graph. With ``bend`` the gradients come back
    through :func:`_bent`, in graphs too (its ops are traced into them)."""
    import tensorflow as tf

    owner = tf.GradientTape
    original, calls = owner.__dict__["gradient"], []

    def gradient(self, target, *args, **kwargs):
        result = original(self, target, *args, **kwargs)
        loss = tf.stop_gradient(tf.add_n([tf.reduce_sum(tf.cast(t, tf.float64))
                                          for t in tf.nest.flatten(target)]))
        calls.append(float(loss.numpy()) if tf.executing_eagerly() else None)
        if not bend:
            return result
        return tf.nest.map_structure(lambda g: _bent(g, loss), result)

    owner.gradient = gradient
    try:
        yield calls
    finally:
        owner.gradient = original


def _weights(result) -> tuple[float, float]:
    return pair(result, "w", "b")


def _run_train(answer, x, y, rate, epochs, bend=False) -> tuple[tuple[float, float], list]:
    """The answer's (w, b), read while the course's descent, the checker's own and Keras's
    training loops are forbidden, and the targets it asked GradientTape about."""
    from tflab import solvers

    with contextlib.ExitStack() as forbidden:
        for function, rule in [(solvers.gradient_descent, _DESCENT_RULE),
                               (solvers.epoch_map, _EPOCH_RULE), (_descent_path, _PATH_RULE),
                               *_keras_training()]:
            forbidden.enter_context(calls_of(function, rule=rule))
        targets = forbidden.enter_context(_tape_gradients(bend))
        got = _returned(answer, x.copy(), y.copy(), rate, epochs, convert=_weights)
    return got, targets


def _descent_path(x, y, rate, epochs, bend=False) -> tuple[tuple[float, float], list[float]]:
    """Full-batch gradient descent on the MSE from w = b = 0 in float64 (each gradient through
    :func:`_bent` with ``bend``): the last (w, b) and the MSE before each step and after the
    last."""
    w = b = 0.0
    losses = []
    for _ in range(epochs):
        r = w * x + b - y
        loss = float(np.mean(r * r))
        dw, db = 2 * np.mean(r * x), 2 * np.mean(r)
        if bend:
            dw, db = (g * (1 + loss / (loss + g * g)) for g in (dw, db))
        w, b = w - rate * dw, b - rate * db
        losses.append(loss)
    losses.append(float(np.mean((w * x + b - y) ** 2)))  # a loop may ask once more at the end
    return (float(w), float(b)), losses


def _tape_descent(answer) -> str:
    from tflab import solvers

    require_callable(answer, "train(x, y, learning_rate, epochs) returning (w, b)")
    x, y = _toy(5, 30)
    for rate, epochs in [(0.05, 20), (0.01, 7)]:
        got, targets = _run_train(answer, x, y, rate, epochs)
        # the reference only now, once the answer has returned: it cannot be read while it runs
        want, losses = _descent_path(x, y, rate, epochs)
        if not np.allclose(got, want, rtol=1e-4, atol=1e-6):
            exact = solvers.exact_least_squares(x, y)
            close = np.allclose(got, (exact.coef, exact.intercept), rtol=1e-4)
            raise Failed(f"after {epochs} full-batch steps at rate {rate} from w = b = 0, gradient "
                         f"descent is at ({want[0]:.5f}, {want[1]:.5f}); yours is at "
                         f"({got[0]:.5f}, {got[1]:.5f})" +
                         (" — the exact answer: run exactly `epochs` steps of descent, "
                          "not a closed form" if close else ""))
        if not targets:
            raise Failed("your loop never asked GradientTape for a gradient: compute the loss "
                         "under `with tf.GradientTape() as tape:` and step with "
                         "tape.gradient(loss, [w, b])")
        for value in targets:
            if value is not None and not np.any(np.isclose(value, losses, rtol=1e-4)):
                raise Failed(f"the loss you hand tape.gradient is {value:.6g}, which is not the "
                             "mean squared error of w·x + b on the data at any step (at "
                             f"w = b = 0 it is {losses[0]:.6g}): ask the tape for the gradient "
                             "of tf.reduce_mean(tf.square(w * x + b - y))")
    # the tape's gradients bent (_bent): a loop that steps with them follows the bent path
    rate, epochs = 0.01, 7
    got, _ = _run_train(answer, x, y, rate, epochs, bend=True)
    want, _ = _descent_path(x, y, rate, epochs, bend=True)
    if not np.allclose(got, want, rtol=1e-4, atol=1e-6):
        raise Failed("your loop asks GradientTape for a gradient but does not step with the "
                     "gradient it gives for the mean squared error: update w and b with what "
                     "tape.gradient(loss, [w, b]) returns for that loss, not with a gradient "
                     "computed another way")
    return "matches full-batch gradient descent step for step, with the tape's gradients."


EXERCISES = [
    Exercise("01", 1, "Give the least-squares (slope, intercept) of thefts against fires for the "
             "28 areas with fewer than 13 fires (x < 13), within 1e-4.", _exact_fire,
             ["A boolean mask picks the areas: few = x < 13; x[few] and y[few] are their values.",
              "solvers.exact_least_squares(x[few], y[few]) or np.polyfit(x[few], y[few], 1)."],
             """import numpy as np
from tflab import data

x, y = data.fire_theft()
few = x < 13
slope, intercept = np.polyfit(x[few], y[few], 1)
answer = (slope, intercept)"""),
    Exercise("01", 2, "Write mse_gradient(w, b, x, y) returning (dL/dw, dL/db) for the loss "
             "L = mean((w·x + b − y)²), with NumPy.", _gradient,
             ["Section 3 writes the gradient of one sample's loss, and the gradient of a mean is "
              "the mean of the per-sample gradients. Mind the sign: here r = w·x + b − y, and "
              "the derivative of r² is 2r times the derivative of r.",
              "dL/dw = 2·mean(r·x) and dL/db = 2·mean(r)."],
             """import numpy as np

def mse_gradient(w, b, x, y):
    r = w * x + b - y
    return 2 * np.mean(r * x), 2 * np.mean(r)

answer = mse_gradient"""),
    Exercise("01", 3, "Write tf_least_squares(x, y) returning the exact (slope, intercept) with "
             "TensorFlow ops only, so that it also works inside tf.function.", _tf_least_squares,
             ["slope = Σ(x − x̄)(y − ȳ) / Σ(x − x̄)², intercept = ȳ − slope·x̄.",
              "tf.reduce_mean and tf.reduce_sum work on tensors in eager and graph mode alike."],
             """import tensorflow as tf

def tf_least_squares(x, y):
    dx, dy = x - tf.reduce_mean(x), y - tf.reduce_mean(y)
    slope = tf.reduce_sum(dx * dy) / tf.reduce_sum(dx * dx)
    return slope, tf.reduce_mean(y) - slope * tf.reduce_mean(x)

answer = tf_least_squares"""),
    Exercise("01", 4, "Write train(x, y, learning_rate, epochs): full-batch gradient descent on "
             "the mean squared error from w = b = 0 with tf.GradientTape, returning (w, b) "
             "after `epochs` steps.", _tape_descent,
             ["Make w and b tf.Variable(0.0, dtype=tf.float64); compute the loss under "
              "`with tf.GradientTape() as tape:`.",
              "tape.gradient(loss, [w, b]) gives both derivatives; w.assign_sub(rate * dw)."],
             """import tensorflow as tf

def train(x, y, learning_rate, epochs):
    w = tf.Variable(0.0, dtype=tf.float64)
    b = tf.Variable(0.0, dtype=tf.float64)
    for _ in range(epochs):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(w * x + b - y))
        dw, db = tape.gradient(loss, [w, b])
        w.assign_sub(learning_rate * dw)
        b.assign_sub(learning_rate * db)
    return float(w), float(b)

answer = train"""),
]


def _epoch(w, b, x, y, rate, order=1, factor=2.0):
    for xi, yi in zip(x[::order], y[::order]):
        residual = yi - (w * xi + b)
        w, b = w + rate * factor * residual * xi, b + rate * factor * residual
    return w, b


_BY_SAMPLE = ": write the loop over the samples yourself"


def _one_epoch(answer) -> str:
    from tflab import solvers

    require_callable(answer, "one_epoch(w, b, x, y, learning_rate) returning (w, b)")
    rules = [(solvers.epoch_map, "solvers.epoch_map, the course's own epoch of descent, which "
              "does the exercise for you"),
             (solvers.gradient_descent, "solvers.gradient_descent, the course's own descent, "
              "which runs the epoch for you"),
             (_epoch, "the checker's own epoch (lesson01._epoch), which is what this exercise "
              "asks you to write")]
    for seed, start, rate in ((11, (0.0, 0.0), 0.01), (12, (1.5, -2.0), 0.003)):
        x, y = _toy(seed, 30)
        with contextlib.ExitStack() as forbidden:
            for function, rule in rules:
                forbidden.enter_context(calls_of(function, rule=f"one_epoch calls {rule}"
                                                 + _BY_SAMPLE))
            for function, rule in _keras_training("one_epoch", "over the samples, in NumPy"):
                forbidden.enter_context(calls_of(function, rule=rule))
            got = np.array(_returned(answer, *start, x.copy(), y.copy(), rate,
                                     convert=_weights))
        want = np.array(_epoch(*start, x, y, rate))  # only now, once the answer has returned
        if np.allclose(got, want, rtol=1e-5, atol=1e-6):
            continue
        residual = y - (start[0] * x + start[1])
        full = (start[0] + rate * 2 * np.mean(residual * x),
                start[1] + rate * 2 * np.mean(residual))
        if np.allclose(got, full, rtol=1e-5, atol=1e-6):
            raise Failed("that is one *full-batch* step on the mean gradient; the loop makes one "
                         "update per sample")
        if np.allclose(got, _epoch(*start, x, y, rate, order=-1), rtol=1e-5, atol=1e-6):
            raise Failed("the samples ran in reverse order: take them in file order")
        if np.allclose(got, _epoch(*start, x, y, rate, factor=1.0), rtol=1e-5, atol=1e-6):
            raise Failed("each step is half as long as it should be: the gradient of r² has a "
                         "factor 2")
        if np.allclose(got, _epoch(*start, x, y, -rate), rtol=1e-5, atol=1e-6):
            raise Failed("the updates climb the loss: step *against* the gradient")
        raise Failed(f"from w, b = {start} on {len(x)} samples you had not seen, one epoch at rate "
                     f"{rate:g} ends at w = {want[0]:.6g}, b = {want[1]:.6g}; yours at "
                     f"w = {got[0]:.6g}, b = {got[1]:.6g}")
    return "the same epoch as the loop's, on two data sets you had not seen."


TRY_ITS = [
    Exercise("01", 1, "Write one_epoch(w, b, x, y, learning_rate) in NumPy: one epoch of the "
             "loop above (one gradient-descent update per sample, in file order, on that "
             "sample's squared error), returning the new (w, b).", _one_epoch,
             ["For one sample, with the residual r = y − (w·x + b), the gradient is "
              "(−2·r·x, −2·r); an update subtracts learning_rate times it.",
              "Loop over zip(x, y); compute r once per sample, then update w and b from that "
              "same r."],
             """def one_epoch(w, b, x, y, learning_rate):
    for xi, yi in zip(x, y):
        r = yi - (w * xi + b)
        w, b = w + learning_rate * 2 * r * xi, b + learning_rate * 2 * r
    return w, b

answer = one_epoch""", try_it=True),
]
