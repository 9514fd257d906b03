"""Exercises of lesson 06b, Estimators: the baseline, a hook, and a model_fn of one's own."""

from __future__ import annotations

import inspect
import tempfile

import numpy as np

from tflab import quiet_tensorflow
from tflab.exercises.core import (
    Exercise,
    Failed,
    NotAttempted,
    _holds_placeholder,
    call,
    calls_of,
    first_line,
    number,
    require_callable,
)

# -- Try it 06b.1: the baseline

def _label_cases(rng: np.random.Generator) -> list[tuple[str, np.ndarray]]:
    """Fresh 0/1 label arrays: 1 the commoner class, 0 the commoner, a tie, single labels."""
    cases = []
    for name, commoner in (("1 is the commoner class", 1), ("0 is the commoner class", 0)):
        n = int(rng.integers(15, 60))
        more = int(rng.integers(n // 2 + 2, n - 1))  # a clear majority, never all of them
        labels = np.full(n, 1 - commoner)
        labels[:more] = commoner
        cases.append((name, rng.permutation(labels)))
    n = 2 * int(rng.integers(4, 25))
    cases.append(("a tie", rng.permutation(np.repeat([0, 1], n // 2))))
    cases.append(("a single label", np.array([0])))
    cases.append(("a single label", np.array([1])))
    return cases


def _majority_rate(answer) -> str:
    require_callable(answer, "majority_rate(labels) returning a number")
    rng = np.random.default_rng()  # fresh labels on every check
    cases = _label_cases(rng)
    results = [number(call(answer, labels.copy()), "the majority-class rate")
               for _, labels in cases]
    ones = [float(np.mean(labels)) for _, labels in cases]  # computed once yours returned
    wants = [max(share, 1 - share) for share in ones]
    wrong = [i for i, (got, want) in enumerate(zip(results, wants))
             if not np.isclose(got, want, rtol=0, atol=1e-6)]  # float32 is fine
    if not wrong:
        return ("right on five label arrays you had not seen: either class the commoner, a tie "
                "and single labels.")
    i = wrong[0]
    (name, labels), got, share, want = cases[i], results[i], ones[i], wants[i]
    shown = (f"for {len(labels)} label{'s' * (len(labels) > 1)} with {int(labels.sum())} "
             f"ones ({name})")

    def always(rule) -> bool:
        return all(np.isclose(r, rule(o), rtol=0, atol=1e-6) for r, o in zip(results, ones))

    if always(lambda o: o):
        raise Failed(f"{shown} you return {got:.4g}, the share of 1s; always answering the "
                     f"commoner class gets {want:.4g} right: labels.mean() is that only when "
                     "1 is the commoner class")
    if always(lambda o: min(o, 1 - o)):
        raise Failed(f"{shown} you return {got:.4g}, the rarer class's share; the baseline "
                     f"answers the commoner class, which is right {want:.4g} of the time")
    if always(lambda o: 1 - o):
        raise Failed(f"{shown} you return {got:.4g}, the share of 0s; always answering the "
                     f"commoner class gets {want:.4g} right: 1 - labels.mean() is that only "
                     "when 0 is the commoner class")
    if always(lambda o: 100 * max(o, 1 - o)):
        raise Failed(f"{shown} you return {got:.4g}, a percentage; return the rate as a share "
                     f"between 0 and 1: {want:.4g}")
    counts = (int(labels.sum()), len(labels) - int(labels.sum()))
    if len(labels) > 1 and any(np.isclose(got, count) for count in counts):
        raise Failed(f"{shown} you return {got:g}, a count of labels; the rate is that count "
                     f"divided by the number of labels: {want:.4g}")
    if share != 0.5 and len(labels) > 1 and got == round(share):
        raise Failed(f"{shown} you return {got:g}, the commoner class itself; return how often "
                     f"always answering it is right: {want:.4g}")
    raise Failed(f"{shown} always answering the commoner class is right {want:.4g} of the "
                 f"time; you return {got:.4g}")


# -- Exercise 06b.1: a hook that stops at a loss threshold

def _regressor(model_dir: str):
    """A seeded LinearRegressor on y = 2x + 1 whose loss falls unevenly, and its input_fn."""
    import tensorflow as tf

    from tflab import estimator

    rng = np.random.default_rng(63)
    x = rng.uniform(-1, 1, 64).astype(np.float32)
    y = (2 * x + 1 + rng.normal(0, 0.1, 64)).astype(np.float32)

    def input_fn():
        return tf.data.Dataset.from_tensor_slices(({"x": x.reshape(-1, 1)}, y)).repeat().batch(16)

    config = estimator.RunConfig(tf_random_seed=0, log_step_count_steps=None,
                                 save_checkpoints_steps=1000)
    regressor = estimator.LinearRegressor(
        [tf.feature_column.numeric_column("x")], model_dir=model_dir, config=config,
        optimizer=lambda: tf.compat.v1.train.FtrlOptimizer(0.5),
        loss_reduction=tf.compat.v1.losses.Reduction.SUM_OVER_BATCH_SIZE)  # loss: the batch mean
    return regressor, input_fn


def _loss_recorder():
    """A hook that records every step's training loss."""
    import tensorflow as tf

    class LossRecorder(tf.compat.v1.train.SessionRunHook):
        def __init__(self):
            self.losses: list[float] = []

        def begin(self):
            self.loss = tf.compat.v1.losses.get_losses()[-1]

        def before_run(self, run_context):
            return tf.compat.v1.train.SessionRunArgs(self.loss)

        def after_run(self, run_context, run_values):
            self.losses.append(float(run_values.results))

    return LossRecorder()


MAX_STEPS = 60


_CHECKERS_TRAINING = ("your hook trains the checker's own model (lesson06b._regressor) to learn "
                      "its losses in advance: read the loss of the training it is given, in "
                      "after_run")


def _train(hooks: list) -> tuple[list[float], int]:
    """Train the seeded regressor for at most MAX_STEPS steps with a loss recorder first (its
    ``begin`` runs before any other hook's), then ``hooks``; the losses and the steps run,
    read from the checkpoint's global step. While it trains, the hooks cannot make another
    copy of the checker's model (to learn its loss curve beforehand)."""
    recorder = _loss_recorder()
    with tempfile.TemporaryDirectory() as model_dir, quiet_tensorflow():
        regressor, input_fn = _regressor(model_dir)
        try:  # call: the course's modules the hook rebinds (this checker's) are put back
            with calls_of(_regressor, rule=_CHECKERS_TRAINING):
                call(regressor.train, input_fn, steps=MAX_STEPS, hooks=[recorder, *hooks])
        except Failed as err:
            reason = str(err)
            if not reason.startswith("your function raised "):
                raise
            hint = ("; run_values.results is None unless before_run asks for the loss: return "
                    "tf.compat.v1.train.SessionRunArgs(loss) there" if "NoneType" in reason
                    else "")
            raise Failed(f"your hook raised {reason.removeprefix('your function raised ')}"
                         f"{hint}") from None
        steps = regressor.global_step
    return list(recorder.losses[:steps]), steps


def _thresholds(losses: list[float], rng: np.random.Generator, count: int = 4) -> list[float]:
    """``count`` thresholds that the loss curve first goes below at ``count`` different steps:
    each halfway between a new lowest loss and the lowest before it."""
    lowest = np.minimum.accumulate(losses)
    records = [i for i in range(1, len(losses))
               if losses[i] < lowest[i - 1] * 0.95]  # a clear new low: a safe margin
    chosen = sorted(rng.choice(records, size=count, replace=False))
    return [float(f"{(losses[i] + lowest[i - 1]) / 2:.4g}") for i in chosen]


def _first_below(losses: list[float], threshold: float) -> int | None:
    return next((step for step, loss in enumerate(losses, 1) if loss < threshold), None)


def _drawn_thresholds() -> list[float]:
    """Thresholds drawn from the loss curve of a run without the learner's hook, each first
    crossed at another step; only they leave this function (the curve does not)."""
    return _thresholds(_train([])[0], np.random.default_rng())


def _stop_below(answer) -> str:
    """The answer is a hook class StopBelow(threshold); judged on real Estimator runs with
    thresholds drawn from the loss curve, each first crossed at another step, by the losses the
    checker's own hook recorded in that run. No code of the learner's runs while the curve the
    thresholds come from exists; the curve for the messages is recomputed after every run."""
    import tensorflow as tf

    require_callable(answer, "StopBelow(threshold) (a class) making a SessionRunHook")
    runs = []
    for threshold in _drawn_thresholds():
        with calls_of(_regressor, rule=_CHECKERS_TRAINING):
            hook = call(answer, threshold)
        if not isinstance(hook, tf.compat.v1.train.SessionRunHook):
            raise Failed(f"StopBelow({threshold}) should make a tf.compat.v1.train.SessionRunHook,"
                         f" not {type(hook).__name__}: subclass tf.compat.v1.train.SessionRunHook")
        losses, stopped = _train([hook])
        runs.append((threshold, losses, stopped))
    curve, _ = _train([])  # only now: what a run without your hook logs, for the messages
    for threshold, losses, _ in runs:
        if not np.allclose(losses, curve[:len(losses)], rtol=1e-5, atol=1e-7):
            step = int(np.flatnonzero(~np.isclose(losses, curve[:len(losses)], rtol=1e-5,
                                                  atol=1e-7))[0])
            raise Failed(f"with threshold {threshold} the loss of step {step + 1} was "
                         f"{losses[step]:.4g}, where training without your hook gives "
                         f"{curve[step]:.4g}: your hook changed the training (or what the "
                         "checker recorded); only read the loss and request the stop")
    runs = [(threshold, losses, stopped, first if first is not None else
             _first_below(curve, threshold))  # in this run, else after it stopped
            for threshold, losses, stopped in runs
            for first in [_first_below(losses, threshold)]]
    if all(stopped == first for _, _, stopped, first in runs):
        return (f"stopped right after the first step whose loss was below the threshold, for "
                f"{len(runs)} thresholds first crossed at steps "
                f"{', '.join(str(first) for *_, first in runs)}.")
    stops = {stopped for _, _, stopped, _ in runs}
    for threshold, losses, stopped, first in runs:
        if first is not None and first != stopped and stopped == MAX_STEPS:
            raise Failed(f"with threshold {threshold} step {first} had loss "
                         f"{losses[first - 1]:.4g}, but training ran all {MAX_STEPS} steps: call "
                         "run_context.request_stop() in after_run")
    only = min(stops)
    if len(stops) == 1 and 1 < only < MAX_STEPS:
        raise Failed(f"your hook stopped after step {only} for each of the thresholds "
                     f"{', '.join(str(t) for t, *_ in runs)}, which the loss first goes below "
                     f"at steps {', '.join(str(first) for *_, first in runs)}: compare the loss "
                     "with the threshold given to __init__ (self.threshold)")
    for threshold, losses, stopped, first in runs:
        if first == stopped:
            continue
        if first is None or first > stopped:
            raise Failed(f"with threshold {threshold} your hook stopped training after step "
                         f"{stopped}, whose loss {losses[-1]:.4g} is not below {threshold}")
        late = stopped - first
        raise Failed(f"with threshold {threshold} step {first} had loss {losses[first - 1]:.4g}, "
                     f"but training went on to step {stopped} ({late} step{'s' * (late > 1)} "
                     "late): request the stop in after_run of the step whose loss is below")
    raise AssertionError("unreachable: some run stopped at the wrong step")


# -- Exercise 06b.2: a model_fn of one's own

class _ModelFnError(Exception):
    """The learner's model_fn raised while building the graph for ``mode``."""

    def __init__(self, mode: str, error: BaseException):
        super().__init__(f"{type(error).__name__}: {first_line(error)}")
        self.mode = mode


def _wrapped(answer):
    """The learner's model_fn as the Estimator calls it, its errors and ___ marked."""
    parameters = inspect.signature(answer).parameters
    by_name = any(p.kind == p.VAR_KEYWORD for p in parameters.values())  # **kwargs takes all
    missing = [name for name in ("features", "labels", "mode", "params")
               if name not in parameters and not by_name]
    if missing:
        raise Failed(f"the model_fn should take (features, labels, mode, params); yours lacks "
                     f"{', '.join(missing)}: the Estimator passes them by name")

    def model_fn(features, labels, mode, params):
        try:
            spec = answer(features=features, labels=labels, mode=mode, params=params)
        except (Exception, SystemExit) as err:
            raise _ModelFnError(mode, err) from None
        if _holds_placeholder(spec):
            raise NotAttempted
        return spec

    return model_fn


def _run(what: str, function, *args, **kwargs):
    """Run an Estimator method; its failures become a :class:`Failed` that says why."""
    try:
        return function(*args, **kwargs)
    except (NotAttempted, Failed):
        raise
    except _ModelFnError as err:
        if err.mode == "infer":
            raise Failed(f"in PREDICT mode your model_fn raised {str(err).rstrip('.')}. "
                         "predict passes labels=None "
                         "(it has features only): return the EstimatorSpec with the "
                         "predictions before anything uses labels") from None
        raise Failed(f"in {err.mode.upper()} mode your model_fn raised {err}") from None
    except (Exception, SystemExit) as err:
        import tensorflow as tf

        message = first_line(err)
        if "did not advance the global step" in message:
            raise Failed("training stopped after one step: tflab raised 'train_op did not "
                         "advance the global step'. Give minimize the global step: "
                         "optimizer.minimize(loss, global_step="
                         "tf.compat.v1.train.get_global_step())") from None
        if isinstance(err, tf.compat.v1.train.NanLossDuringTrainingError):
            raise Failed("the loss became NaN during training (it diverged): use the mean "
                         "squared error (tf.compat.v1.losses.mean_squared_error), not the sum, "
                         "and the learning rate params['learning_rate']") from None
        raise Failed(f"{what} failed with {type(err).__name__}: {message}") from None


def _variables(model_dir: str, checkpoint: str) -> tuple[float, float]:
    import tensorflow as tf

    reader = tf.train.load_checkpoint(checkpoint)
    values = []
    for name in ("w", "b"):
        if not reader.has_tensor(name):
            names = sorted(n for n in reader.get_variable_to_shape_map() if n != "global_step")
            raise Failed(f"no variable named {name!r} was trained (the checkpoint holds "
                         f"{names}): create it with tf.compat.v1.get_variable({name!r}, [], "
                         "initializer=tf.compat.v1.zeros_initializer())"[:400])
        value = np.asarray(reader.get_tensor(name), dtype=np.float64)
        if value.size != 1:
            raise Failed(f"{name} has shape {list(value.shape)}; make it a scalar (shape [])")
        values.append(float(value.reshape(())))
    return values[0], values[1]


def _one_step(w0: float, b0: float, w1: float, b1: float, x, y, rate: float) -> None:
    """Fail unless (w1, b1) is one gradient-descent step on the mean squared error from 0."""
    if (w0, b0) != (0.0, 0.0):
        raise Failed(f"w and b start at {w0:.4g} and {b0:.4g}: initialise both at 0 "
                     "(initializer=tf.compat.v1.zeros_initializer())")
    want = np.array([2 * rate * np.mean(x * y), 2 * rate * np.mean(y)])  # -rate * gradient at 0
    got = np.array([w1, b1])
    if np.allclose(got, want, rtol=1e-3, atol=1e-6):
        return
    shown = (f"after one training step from 0, (w, b) is ({w1:.4g}, {b1:.4g}); one step of "
             f"gradient descent at rate {rate} on the mean squared error gives "
             f"({want[0]:.4g}, {want[1]:.4g})")
    ratio = got / want
    if np.allclose(got, 0):
        raise Failed(f"{shown}: nothing was trained; minimise the loss of w * features['x'] "
                     "+ b in train_op")
    if np.isclose(w1, 0, atol=1e-9):
        raise Failed(f"{shown}: w did not move, so the prediction does not depend on x; "
                     "predict w * features['x'] + b")
    if np.isclose(ratio[0], ratio[1], rtol=1e-3):
        if np.isclose(ratio[0], len(x), rtol=1e-3):
            raise Failed(f"{shown}, {len(x)} times as far: your loss is summed over the "
                         f"{len(x)} examples; take the mean (tf.compat.v1.losses."
                         "mean_squared_error)")
        raise Failed(f"{shown}, {ratio[0]:.3g} times as far: use the learning rate "
                     "params['learning_rate'] and the mean squared error")
    raise Failed(shown)


def _step_recorder():
    """A hook that reads the learner's w and b after every training step."""
    import tensorflow as tf

    v1 = tf.compat.v1

    class StepRecorder(v1.train.SessionRunHook):
        def __init__(self):
            self.values: list[tuple[float, float]] = []

        def begin(self):
            found = {variable.op.name: variable for variable in v1.global_variables()}
            self.variables = [found.get("w"), found.get("b")]

        def after_run(self, run_context, run_values):
            if None not in self.variables:
                w, b = run_context.session.run(self.variables)
                self.values.append((float(w), float(b)))

    return StepRecorder()


def _every_step(path: list[tuple[float, float]], x, y, rate: float) -> None:
    """Fail unless each step of ``path`` (w, b after steps 1, 2, …) is one gradient-descent step
    on the mean squared error from the one before."""
    x, y = x.astype(np.float64), y.astype(np.float64)
    for step, (before, after) in enumerate(zip(path, path[1:]), 2):
        w, b = before
        residual = w * x + b - y
        want = np.array([w - rate * 2 * np.mean(residual * x), b - rate * 2 * np.mean(residual)])
        if not np.allclose(after, want, rtol=1e-4, atol=1e-5):
            raise Failed(f"training step {step} took (w, b) from ({w:.5g}, {b:.5g}) to "
                         f"({after[0]:.5g}, {after[1]:.5g}); one step of gradient descent at "
                         f"rate {rate} on the mean squared error goes to ({want[0]:.5g}, "
                         f"{want[1]:.5g}): train_op must take that step at every step, not only "
                         "the first")


def _column_prediction(answer) -> str:
    """A hint when the answer's prediction (PREDICT mode, in a graph of its own) is a column,
    shape (batch, 1), where the labels are a vector (batch,); else ''."""
    import tensorflow as tf

    from tflab import estimator

    x = np.linspace(-1, 1, 8, dtype=np.float32)
    try:
        with tf.Graph().as_default(), quiet_tensorflow():
            spec = call(answer, features={"x": tf.constant(x)}, labels=None,
                        mode=estimator.ModeKeys.PREDICT, params={"learning_rate": 0.1})
            shape = tuple(spec.predictions["y"].shape)
    except Exception:  # NotAttempted and Failed included: the message stands as it is
        return ""
    if shape != (len(x), 1):
        return ""
    return (f". Your prediction has shape (batch, 1) (({len(x)}, 1) for {len(x)} examples) "
            "where features['x'] and the labels have shape (batch,): the two do not line up "
            "(mean_squared_error refuses them, and labels - prediction broadcasts to a (batch, "
            "batch) table of every label against every prediction, which is not the mean "
            "squared error). Keep the prediction a vector: w * features['x'] + b, without "
            "reshaping it to a column")


def _linear_model_fn(answer) -> str:
    """The answer is a model_fn; trained by estimator.Estimator on fresh data; a prediction
    shaped as a column gets a hint on top of what went wrong."""
    try:
        return _judge_model_fn(answer)
    except Failed as err:
        hint = _column_prediction(answer) if callable(answer) else ""
        if not hint:
            raise
        raise Failed(f"{str(err).rstrip('.')}{hint}") from None


def _judge_model_fn(answer) -> str:
    """The answer is a model_fn; trained by estimator.Estimator on fresh data."""
    import tensorflow as tf

    from tflab import estimator

    require_callable(answer, "linear_model_fn(features, labels, mode, params)")
    model_fn = _wrapped(answer)
    rng = np.random.default_rng()  # fresh data and learning rate on every check
    slope, intercept = rng.uniform(-3, 3), rng.uniform(-2, 2)
    rate = round(float(rng.uniform(0.3, 0.6)), 2)
    n = int(rng.integers(40, 80))
    x = rng.uniform(-1, 1, n).astype(np.float32)
    y = (slope * x + intercept + rng.normal(0, 0.2, n)).astype(np.float32)
    x_new = rng.uniform(-2, 2, int(rng.integers(15, 30))).astype(np.float32)
    x_eval = rng.uniform(-1, 1, int(rng.integers(20, 40))).astype(np.float32)
    y_eval = (slope * x_eval + intercept + rng.normal(0, 0.2, len(x_eval))).astype(np.float32)

    def train_fn():
        return tf.data.Dataset.from_tensors(({"x": x}, y)).repeat()  # the whole set each step

    def predict_fn():
        return tf.data.Dataset.from_tensor_slices({"x": x_new}).batch(7)  # features only

    def eval_fn():
        return tf.data.Dataset.from_tensors(({"x": x_eval}, y_eval))

    steps = 150
    with tempfile.TemporaryDirectory() as model_dir, quiet_tensorflow():
        model = estimator.Estimator(model_fn, model_dir=model_dir, params={"learning_rate": rate},
                                    config=estimator.RunConfig(tf_random_seed=0,
                                                               log_step_count_steps=None))
        _run("training", model.train, train_fn, steps=1)
        start = _variables(model_dir, f"{model_dir}/model.ckpt-0")
        first = _variables(model_dir, model.latest_checkpoint())
        _one_step(*start, *first, x, y, rate)
        recorder = _step_recorder()  # every later step must be gradient descent too
        _run("training", model.train, train_fn, steps=steps - 1, hooks=[recorder])
        w, b = _variables(model_dir, model.latest_checkpoint())
        _every_step([first, *recorder.values], x, y, rate)
        want_w, want_b = np.polyfit(x.astype(np.float64), y.astype(np.float64), 1)
        if not np.allclose([w, b], [want_w, want_b], atol=2e-3):
            raise Failed(f"after {steps} steps (w, b) is ({w:.4g}, {b:.4g}); the least-squares "
                         f"line of the training data is ({want_w:.4g}, {want_b:.4g})")
        predictions = _run("predict", lambda: list(model.predict(predict_fn)))
        if not all(isinstance(p, dict) and "y" in p for p in predictions):
            kinds = sorted({f"dicts with keys {sorted(p)}" if isinstance(p, dict) else
                            f"{type(p).__name__} values" for p in predictions})
            raise Failed(f"predict gave {', '.join(kinds)}: return predictions={{'y': "
                         "prediction}, a dict with the key 'y'"[:400])
        if len(predictions) != len(x_new):
            raise Failed(f"predict gave {len(predictions)} predictions for {len(x_new)} "
                         "examples: predict one value per example, w * features['x'] + b")
        got = np.array([np.asarray(p["y"], np.float64).reshape(-1)[0] for p in predictions])
        want = w * x_new.astype(np.float64) + b
        if not np.allclose(got, want, rtol=1e-4, atol=1e-4):
            i = int(np.argmax(np.abs(got - want)))
            raise Failed(f"predict gives {got[i]:.4g} for x = {x_new[i]:.4g}; with the trained "
                         f"w = {w:.4g} and b = {b:.4g}, w * x + b is {want[i]:.4g}")
        results = _run("evaluate", model.evaluate, eval_fn)
    loss = number(results.get("loss"), "evaluate's loss")
    mse = float(np.mean((w * x_eval.astype(np.float64) + b - y_eval) ** 2))
    if not np.isclose(loss, mse, rtol=1e-3):
        why = (f", {len(x_eval)} times as large: take the mean, not the sum"
               if np.isclose(loss, len(x_eval) * mse, rtol=1e-3) else
               ", its square root: return the mean squared error itself"
               if np.isclose(loss, np.sqrt(mse), rtol=1e-3) else "")
        raise Failed(f"evaluate's loss on {len(x_eval)} examples is {loss:.4g}; their mean "
                     f"squared error is {mse:.4g}{why}")
    return (f"trained on data you had not seen, it reached the least-squares line "
            f"({want_w:.3f}, {want_b:.3f}) within 0.002 in {steps} steps; predict (features "
            "only) and evaluate agree with w * x + b.")


TRY_ITS = [
    Exercise("06b", 1, "Write majority_rate(labels): for a 1-D NumPy array of 0/1 labels, return "
             "the accuracy of always answering the commoner class (the share of the labels it "
             "gets right; 0.5 for a tie): the baseline a classifier must beat.", _majority_rate,
             ["labels.mean() is the share of 1s and 1 - labels.mean() the share of 0s. Which of "
              "the two does always answering the commoner class get right?",
              "The larger of the two: max(labels.mean(), 1 - labels.mean())."],
             """import numpy as np

def majority_rate(labels):
    ones = np.mean(labels)
    return max(ones, 1 - ones)

answer = majority_rate""", try_it=True),
]


EXERCISES = [
    Exercise("06b", 1, "Write a hook class StopBelow(threshold), a subclass of "
             "tf.compat.v1.train.SessionRunHook, that stops Estimator training right after the "
             "first step whose loss is below threshold.", _stop_below,
             ["The lesson's LossRecorder shows the pattern: find the loss in begin() "
              "(tf.compat.v1.losses.get_losses()[-1]), ask for it in before_run with "
              "tf.compat.v1.train.SessionRunArgs, and read run_values.results in after_run.",
              "In after_run: if run_values.results < self.threshold: run_context.request_stop(). "
              "The session stops after the step that asked."],
             """import tensorflow as tf


class StopBelow(tf.compat.v1.train.SessionRunHook):
    def __init__(self, threshold):
        self.threshold = threshold

    def begin(self):
        self.loss = tf.compat.v1.losses.get_losses()[-1]

    def before_run(self, run_context):
        return tf.compat.v1.train.SessionRunArgs(self.loss)

    def after_run(self, run_context, run_values):
        if run_values.results < self.threshold:
            run_context.request_stop()


answer = StopBelow"""),
    Exercise("06b", 2, "Write linear_model_fn(features, labels, mode, params), a model_fn for "
             "estimator.Estimator that predicts w * features['x'] + b (features['x'] and labels "
             "are float32 vectors of shape (batch,)), with w and b scalar variables made by "
             "tf.compat.v1.get_variable('w', ...) and tf.compat.v1.get_variable('b', ...), both "
             "starting at 0. In PREDICT mode return estimator.EstimatorSpec(mode, "
             "predictions={'y': prediction}); otherwise the loss is "
             "tf.compat.v1.losses.mean_squared_error(labels, prediction): EVAL returns it, and "
             "TRAIN returns it with a train_op that minimises it with "
             "tf.compat.v1.train.GradientDescentOptimizer(params['learning_rate']) and advances "
             "the global step.", _linear_model_fn,
             ["The lesson's my_model_fn has the shape: build the prediction, return for PREDICT "
              "before touching labels (predict passes labels=None), then the loss, return for "
              "EVAL, then the optimizer and train_op for TRAIN.",
              "w = tf.compat.v1.get_variable('w', [], "
              "initializer=tf.compat.v1.zeros_initializer()) (b the same); "
              "train_op = optimizer.minimize(loss, "
              "global_step=tf.compat.v1.train.get_global_step())."],
             """import tensorflow as tf

from tflab import estimator

def linear_model_fn(features, labels, mode, params):
    w = tf.compat.v1.get_variable("w", [], initializer=tf.compat.v1.zeros_initializer())
    b = tf.compat.v1.get_variable("b", [], initializer=tf.compat.v1.zeros_initializer())
    prediction = w * features["x"] + b
    if mode == estimator.ModeKeys.PREDICT:
        return estimator.EstimatorSpec(mode, predictions={"y": prediction})
    loss = tf.compat.v1.losses.mean_squared_error(labels, prediction)
    if mode == estimator.ModeKeys.EVAL:
        return estimator.EstimatorSpec(mode, loss=loss)
    optimizer = tf.compat.v1.train.GradientDescentOptimizer(params["learning_rate"])
    train_op = optimizer.minimize(loss, global_step=tf.compat.v1.train.get_global_step())
    return estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)

answer = linear_model_fn"""),
]
