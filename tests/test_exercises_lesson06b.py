"""Lesson 06b's exercises: typical wrong answers fail with a helpful message."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from exercise_checks import failed_with

from tflab import estimator, exercises

v1 = tf.compat.v1


def reference(exercise):
    namespace: dict = {}
    exec(exercise.solution_code, namespace)
    return namespace["answer"]


def test_the_solutions_pass():
    for exercise in [exercises.try_it("06b", 1), *exercises.for_lesson("06b")]:
        status, text = exercise.judge(reference(exercise))
        assert status == "passed", text
    assert [e.label for e in exercises.for_lesson("06b")] == ["Exercise 06b.1", "Exercise 06b.2"]
    with pytest.raises(KeyError):
        exercises.get("06", 4)  # the hook moved from 06 to 06b


# -- Try it 06b.1: the majority-class rate


def test_majority_rate_other_honest_forms_pass():
    ex = exercises.try_it("06b", 1)
    for answer in [lambda labels: np.bincount(labels, minlength=2).max() / len(labels),
                   lambda labels: float(max(np.mean(labels == 0), np.mean(labels == 1)))]:
        status, text = ex.judge(answer)
        assert status == "passed", text


@pytest.mark.parametrize("answer, message", [
    (lambda labels: labels.mean(), "the share of 1s"),  # right only when 1 is the commoner
    (lambda labels: 1 - labels.mean(), "the share of 0s"),
    (lambda labels: min(labels.mean(), 1 - labels.mean()), "the rarer class's share"),
    (lambda labels: np.bincount(labels, minlength=2).max(), "a count of labels"),
    (lambda labels: labels.sum(), "a count of labels"),
    (lambda labels: np.argmax(np.bincount(labels, minlength=2)), "the commoner class itself"),
    (lambda labels: 0.6957, "always answering the commoner class is right"),  # the lesson's
    (lambda labels: max(labels.mean(), 0.5),  # gaming: right unless 0 is the commoner
     "(0 is the commoner class) always answering"),
    (lambda labels: 0.5 if len(labels) % 2 == 0 else 1.0, "always answering"),  # gaming: shape
    (lambda labels: [labels.mean()], "should be the majority-class rate (a number)"),
    (lambda labels: 100 * max(labels.mean(), 1 - labels.mean()), "a percentage"),
])
def test_majority_rate_wrong_answers(answer, message):
    failed_with(exercises.try_it("06b", 1), answer, message)


def test_majority_rate_tie_and_single_labels_are_judged():
    """An answer right on clear majorities but wrong on a tie, or on a single label."""
    ex = exercises.try_it("06b", 1)

    def wrong_tie(labels):
        ones = labels.mean()
        return 0.0 if ones == 0.5 else max(ones, 1 - ones)

    def wrong_single(labels):
        ones = labels.mean()
        return 0.5 if len(labels) == 1 else max(ones, 1 - ones)

    failed_with(ex, wrong_tie, "(a tie) always answering the commoner class is right 0.5")
    failed_with(ex, wrong_single, "for 1 label with")


# -- Exercise 06b.1: StopBelow


class LossHook(tf.compat.v1.train.SessionRunHook):
    """Asks for the training loss every step, as the reference does."""

    def __init__(self, threshold):
        self.threshold = threshold

    def begin(self):
        self.loss = tf.compat.v1.losses.get_losses()[-1]

    def before_run(self, run_context):
        return tf.compat.v1.train.SessionRunArgs(self.loss)


class StopsAbove(LossHook):
    """Compares the wrong way round: stops after the first step."""

    def after_run(self, run_context, run_values):
        if run_values.results > self.threshold:
            run_context.request_stop()


class SetsAFlag(LossHook):
    """Notices the loss but never asks the Estimator to stop."""

    def after_run(self, run_context, run_values):
        if run_values.results < self.threshold:
            self.stop = True


class StopsInBeforeRun(LossHook):
    """Asks before the next step, which then still runs: one step late."""

    below = False

    def before_run(self, run_context):
        if self.below:
            run_context.request_stop()
        return super().before_run(run_context)

    def after_run(self, run_context, run_values):
        self.below = run_values.results < self.threshold


class AsksForNothing(tf.compat.v1.train.SessionRunHook):
    """Reads run_values.results without asking for the loss in before_run."""

    def __init__(self, threshold):
        self.threshold = threshold

    def after_run(self, run_context, run_values):
        if run_values.results < self.threshold:
            run_context.request_stop()


class FixedThreshold(LossHook):
    """Ignores its argument: the notes' 0.4 (issue 32: this passed when both thresholds tried
    were first crossed at the same step)."""

    def after_run(self, run_context, run_values):
        if run_values.results < 0.4:
            run_context.request_stop()


class FixedStep(tf.compat.v1.train.SessionRunHook):
    """Gaming: stops after step 9 whatever the loss."""

    def __init__(self, threshold):
        self.steps = 0

    def after_run(self, run_context, run_values):
        self.steps += 1
        if self.steps == 9:
            run_context.request_stop()


class NotAHook:
    def __init__(self, threshold):
        self.threshold = threshold


@pytest.mark.parametrize("answer, message", [
    (StopsAbove, "stopped training after step 1, whose loss"),
    (SetsAFlag, "training ran all 60 steps: call run_context.request_stop()"),
    (StopsInBeforeRun, "(1 step late)"),
    (AsksForNothing, "before_run asks for the loss"),
    (FixedThreshold, "your hook stopped after step 4 for each of the thresholds"),
    (FixedStep, "your hook stopped after step 9 for each of the thresholds"),
    (NotAHook, "subclass tf.compat.v1.train.SessionRunHook"),
    (StopsAbove(0.4), "should be a function"),  # an instance, not the class
    (lambda threshold: FixedThreshold(threshold), "compare the loss with the threshold"),
])
def test_stop_below_wrong_answers(answer, message):
    failed_with(exercises.get("06b", 1), answer, message)


def test_stop_below_tries_more_than_two_thresholds_crossed_at_different_steps():
    from tflab.exercises import lesson06b

    curve, steps = lesson06b._train([])
    assert steps == lesson06b.MAX_STEPS == len(curve)
    for seed in range(20):
        thresholds = lesson06b._thresholds(curve, np.random.default_rng(seed))
        firsts = [lesson06b._first_below(curve, t) for t in thresholds]
        assert len(thresholds) > 2 and len(set(firsts)) == len(firsts), (thresholds, firsts)


# -- Exercise 06b.2: linear_model_fn


def variables(initializer=None):
    initializer = initializer or v1.zeros_initializer()
    return (v1.get_variable("w", [], initializer=initializer),
            v1.get_variable("b", [], initializer=initializer))


def model_fn_with(predict=None, loss_fn=None, eval_loss=None, minimize=None, rate=None,
                  initializer=None, predictions=None, predict_labels=False):
    """The reference model_fn with one part replaced: each a typical mistake."""

    def model_fn(features, labels, mode, params):
        w, b = variables(initializer)
        prediction = predict(w, b, features["x"]) if predict else w * features["x"] + b
        if predict_labels:  # the loss built before the PREDICT check: labels is None there
            loss = v1.losses.mean_squared_error(labels, prediction)
        if mode == estimator.ModeKeys.PREDICT:
            out = predictions(prediction) if predictions else {"y": prediction}
            return estimator.EstimatorSpec(mode, predictions=out)
        loss = (loss_fn or v1.losses.mean_squared_error)(labels, prediction)
        if mode == estimator.ModeKeys.EVAL:
            return estimator.EstimatorSpec(mode, loss=eval_loss(loss, labels, prediction)
                                           if eval_loss else loss)
        optimizer = v1.train.GradientDescentOptimizer(rate or params["learning_rate"])
        train_op = (minimize or (lambda opt, loss: opt.minimize(
            loss, global_step=v1.train.get_global_step())))(optimizer, loss)
        return estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)

    return model_fn


def closed_form(features, labels, mode, params):
    """Gaming: no gradient descent, the least-squares line computed in the graph and assigned."""
    w, b = variables()
    x = features["x"]
    prediction = w * x + b
    if mode == estimator.ModeKeys.PREDICT:
        return estimator.EstimatorSpec(mode, predictions={"y": prediction})
    loss = v1.losses.mean_squared_error(labels, prediction)
    if mode == estimator.ModeKeys.EVAL:
        return estimator.EstimatorSpec(mode, loss=loss)
    dx, dy = x - tf.reduce_mean(x), labels - tf.reduce_mean(labels)
    slope = tf.reduce_sum(dx * dy) / tf.reduce_sum(dx * dx)
    train_op = tf.group(v1.assign(w, slope),
                        v1.assign(b, tf.reduce_mean(labels) - slope * tf.reduce_mean(x)),
                        v1.assign_add(v1.train.get_global_step(), 1))
    return estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)


def constant(features, labels, mode, params):
    """A constant prediction and no variables: training only counts steps."""
    prediction = tf.zeros_like(features["x"])
    if mode == estimator.ModeKeys.PREDICT:
        return estimator.EstimatorSpec(mode, predictions={"y": prediction})
    loss = v1.losses.mean_squared_error(labels, prediction)
    return estimator.EstimatorSpec(mode, loss=loss, train_op=v1.assign_add(
        v1.train.get_global_step(), 1))


def no_params(features, labels, mode):
    return None


@pytest.mark.parametrize("answer, message", [
    (model_fn_with(minimize=lambda opt, loss: opt.minimize(loss)),
     "'train_op did not advance the global step'. Give minimize the global step"),
    (model_fn_with(predict_labels=True), "in PREDICT mode your model_fn raised ValueError"),
    (model_fn_with(predict=lambda w, b, x: b + 0 * x), "w did not move"),  # constant in x
    (model_fn_with(predict=lambda w, b, x: b * tf.ones_like(x)), "w did not move"),
    (model_fn_with(loss_fn=lambda y, p: tf.reduce_sum(tf.square(p - y))),
     "your loss is summed over the"),
    (model_fn_with(loss_fn=lambda y, p: v1.losses.mean_squared_error(
        y, p, reduction=v1.losses.Reduction.SUM)), "your loss is summed over the"),
    (model_fn_with(rate=0.1), "use the learning rate params['learning_rate']"),
    (model_fn_with(initializer=v1.ones_initializer()), "w and b start at 1 and 1"),
    (model_fn_with(eval_loss=lambda loss, y, p: tf.sqrt(loss)), "its square root"),
    (model_fn_with(eval_loss=lambda loss, y, p: tf.reduce_sum(tf.square(p - y))),
     "times as large: take the mean, not the sum"),
    (model_fn_with(predictions=lambda p: p), "predict gave float32 values: return"),
    (model_fn_with(predictions=lambda p: {"predictions": p}), "dicts with keys ['predictions']"),
    (model_fn_with(predictions=lambda p: {"y": 2 * p}), "w * x + b is"),
    (model_fn_with(minimize=lambda opt, loss: None), "in TRAIN mode your model_fn raised "
                                                     "ValueError: Missing train_op"),
    (closed_form, "one step of gradient descent at rate"),  # gaming: the answer, not trained
    (constant, "no variable named 'w' was trained"),
    (no_params, "yours lacks params"),
    (lambda features, labels, mode, params: None, "should return an EstimatorSpec"),
])
def test_linear_model_fn_wrong_answers(answer, message):
    failed_with(exercises.get("06b", 2), answer, message)


def test_majority_rate_in_float32_is_right():
    from tflab import exercises

    def majority_rate(labels):
        ones = np.float32(np.mean(labels, dtype=np.float32))
        return max(ones, np.float32(1) - ones)

    status, text = exercises.try_it("06b", 1).judge(majority_rate)
    assert status == "passed" and "right on five label arrays" in text, text


def first_step_then(later):
    """Gaming (issue 32 review): the one gradient-descent step the checker used to look at,
    then ``later(w, b, x, labels, loss, step)`` as the train_op."""

    def model_fn(features, labels, mode, params):
        w, b = variables()
        x = features["x"]
        prediction = w * x + b
        if mode == estimator.ModeKeys.PREDICT:
            return estimator.EstimatorSpec(mode, predictions={"y": prediction})
        loss = v1.losses.mean_squared_error(labels, prediction)
        if mode == estimator.ModeKeys.EVAL:
            return estimator.EstimatorSpec(mode, loss=loss)
        step = v1.train.get_global_step()

        def descend():
            optimizer = v1.train.GradientDescentOptimizer(params["learning_rate"])
            return tf.group(optimizer.minimize(loss, global_step=step))

        train_op = tf.cond(tf.equal(step, 0), descend,
                           lambda: tf.group(later(w, b, x, labels, loss, step)))
        return estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)

    return model_fn


def closed_form_op(w, b, x, labels, loss, step):
    dx, dy = x - tf.reduce_mean(x), labels - tf.reduce_mean(labels)
    slope = tf.reduce_sum(dx * dy) / tf.reduce_sum(dx * dx)
    return (v1.assign(w, slope), v1.assign(b, tf.reduce_mean(labels) - slope * tf.reduce_mean(x)),
            v1.assign_add(step, 1))


def faster_rate_op(w, b, x, labels, loss, step):
    return v1.train.GradientDescentOptimizer(0.9).minimize(loss, global_step=step)


@pytest.mark.parametrize("later", [closed_form_op, faster_rate_op])
def test_linear_model_fn_every_step_is_gradient_descent(later):
    """Both passed when only the first step was compared with gradient descent."""
    failed_with(exercises.get("06b", 2), first_step_then(later),
                "train_op must take that step at every step, not only the first")


class CountsToTheCurve(tf.compat.v1.train.SessionRunHook):
    """Gaming (issue 32 review): reads the checker's loss curve from its frame in __init__,
    finds the first step below the threshold and stops after that many steps, never reading
    the loss (without a curve to read, after step 1)."""

    def __init__(self, threshold):
        from exercise_checks import caller_value

        curve = caller_value("curve", default=[])
        self.stop_at = next((i for i, loss in enumerate(curve, 1) if loss < threshold), 1)
        self.steps = 0

    def after_run(self, run_context, run_values):
        self.steps += 1
        if self.steps >= self.stop_at:
            run_context.request_stop()


class TrainsTheCheckersModel(CountsToTheCurve):
    """New cheat: the curve from the checker's own training, run in __init__."""

    def __init__(self, threshold):
        from tflab.exercises import lesson06b

        curve, _ = lesson06b._train([])
        self.stop_at = lesson06b._first_below(curve, threshold)
        self.steps = 0


class TrainsItInBegin(CountsToTheCurve):
    """New cheat: the same, once training has begun (the hook's begin)."""

    def __init__(self, threshold):
        self.threshold, self.steps, self.stop_at = threshold, 0, 1

    def begin(self):
        from tflab.exercises import lesson06b

        curve = lesson06b._train([])[0]
        self.stop_at = lesson06b._first_below(curve, self.threshold)


class RewritesTheRecord(FixedStep):
    """New cheat: stops after step 9 and writes a loss below any threshold into the
    checker's record of that step."""

    def after_run(self, run_context, run_values):
        from exercise_checks import caller_value

        super().after_run(run_context, run_values)
        if self.steps == 9:
            caller_value("recorder").losses[-1] = -1.0


class RebindsTheJudge(FixedStep):
    """New cheat: stops after step 9 and makes the checker's _first_below say 9."""

    def after_run(self, run_context, run_values):
        from tflab.exercises import lesson06b

        super().after_run(run_context, run_values)
        lesson06b._first_below = lambda losses, threshold: 9


@pytest.mark.parametrize("answer, message", [
    (CountsToTheCurve, "your hook stopped training after step 1, whose loss"),
    (TrainsTheCheckersModel, "your hook trains the checker's own model (lesson06b._regressor)"),
    (TrainsItInBegin, "your hook trains the checker's own model (lesson06b._regressor)"),
    (RewritesTheRecord, "your hook changed the training (or what the checker recorded)"),
    (RebindsTheJudge, "replaced or reloaded tflab.exercises.lesson06b._first_below"),
])
def test_stop_below_cannot_learn_the_curve_beforehand(answer, message):
    failed_with(exercises.get("06b", 1), answer, message)


def column_prediction(features, labels, mode, params):
    """A prediction of shape (batch, 1): labels - prediction broadcasts to (batch, batch)."""
    w, b = variables()
    prediction = tf.reshape(w * features["x"] + b, [-1, 1])
    if mode == estimator.ModeKeys.PREDICT:
        return estimator.EstimatorSpec(mode, predictions={"y": prediction})
    loss = tf.reduce_mean(tf.square(labels - prediction))
    if mode == estimator.ModeKeys.EVAL:
        return estimator.EstimatorSpec(mode, loss=loss)
    train_op = v1.train.GradientDescentOptimizer(params["learning_rate"]).minimize(
        loss, global_step=v1.train.get_global_step())
    return estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)


def test_a_column_prediction_gets_a_hint():
    """Review: this got only the numbers of the first step; with mean_squared_error it gets
    TensorFlow's shape error and the same hint. Squeezed for the loss, it is right."""
    hint = ("Your prediction has shape (batch, 1) ((8, 1) for 8 examples) where features['x'] "
            "and the labels have shape (batch,): the two do not line up")
    failed_with(exercises.get("06b", 2), column_prediction, hint)
    failed_with(exercises.get("06b", 2), model_fn_with(
        predict=lambda w, b, x: tf.reshape(w * x + b, [-1, 1])), hint)
    squeezed = model_fn_with(predict=lambda w, b, x: tf.reshape(w * x + b, [-1, 1]),
                             loss_fn=lambda y, p: v1.losses.mean_squared_error(y, p[:, 0]))
    assert exercises.get("06b", 2).judge(squeezed)[0] == "passed"
