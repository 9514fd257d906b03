"""Lesson 07's exercises: typical wrong answers fail with a helpful message."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from exercise_checks import caller_value, failed_with
from sklearn.preprocessing import MinMaxScaler

from tflab import exercises, models


def deep(activation, initializer, hidden=100):
    def build(depth):
        return models.mlp((32,), hidden=[hidden] * depth, activation=activation,
                          kernel_initializer=initializer)

    return build


@pytest.mark.parametrize("answer, message", [
    (deep("sigmoid", "glorot_uniform"), "the gradient vanishes"),
    (deep("tanh", keras.initializers.RandomNormal(stddev=0.05)), "the signal fades"),
    (deep("relu", "glorot_uniform"), "the signal fades"),  # Glorot halves ReLU's variance
    (deep("relu", keras.initializers.RandomNormal(stddev=0.5)), "the signal grows"),
    # gaming: ignores depth, always the 16 layers of the first check
    (lambda depth: models.mlp((32,), hidden=[100] * 16, kernel_initializer="he_normal"),
     "build(32) has 17 Dense layers; it should have 33"),
    (lambda depth: models.mlp((32,), hidden=[100] * (depth - 1), kernel_initializer="he_normal"),
     "it should have 17: 16 hidden ones"),
    (lambda depth: models.mlp((32,), hidden=[100] * depth, kernel_initializer="he_normal",
                              output_activation=None), "10 probabilities per row"),
])
def test_deep_net_wrong_answers(answer, message):
    failed_with(exercises.get("07", 1), answer, message)


def min_max(x_train):
    return MinMaxScaler().fit(x_train).transform


def one_mean_for_all(x_train):
    mean, std = x_train.mean(), x_train.std()
    return lambda x: (x - mean) / std


def refits(x_train):
    return lambda x: (x - x.mean(axis=0)) / x.std(axis=0)


def divides_by_variance(x_train):
    mean, var = x_train.mean(axis=0), x_train.var(axis=0)
    return lambda x: (x - mean) / var


def remembers_the_answer(x_train):  # gaming: ignores x, returns scaled x_train every time
    z = (x_train - x_train.mean(axis=0)) / x_train.std(axis=0)
    return lambda x: z


def learns_from_its_first_call(x_train):  # issue 32, second review: passed when the checker
    stats = []                            # called scaler(x_train) first

    def scaler(x):
        if not stats:
            stats.extend([x.mean(axis=0), x.std(axis=0)])
        return (x - stats[0]) / stats[1]

    return scaler


def normalization_given_the_std(x_train):  # Normalization takes the variance
    return keras.layers.Normalization(mean=x_train.mean(axis=0), variance=x_train.std(axis=0))


def learns_from_the_largest(x_train):  # new cheat: keeps the statistics of the longest data
    stats = {}

    def scaler(x):
        if len(x) > stats.get("n", 0):
            stats.update(n=len(x), mean=x.mean(axis=0), std=x.std(axis=0))
        return (x - stats["mean"]) / stats["std"]

    return scaler


class _Lazy:
    """Scaled only when converted to an array, with the statistics known by then."""

    def __init__(self, x, stats):
        self.x, self.stats = x, stats

    def __array__(self, dtype=None, copy=None):
        return np.asarray((self.x - self.stats[0]) / self.stats[1], dtype=dtype)


def learns_lazily(x_train):  # new cheat: learns from its last call, scales when read
    stats = []

    def scaler(x):
        stats[:] = [x.mean(axis=0), x.std(axis=0)]
        return _Lazy(x, stats)

    return scaler


def returns_the_scaled_data(x_train):
    return (x_train - x_train.mean(axis=0)) / x_train.std(axis=0)


@pytest.mark.parametrize("answer, message", [
    (min_max, "that is min-max scaling"),
    (one_mean_for_all, "one mean and std per feature"),
    (refits, "re-learnt the statistics from the new data"),
    (divides_by_variance, "every feature needs mean 0 and std 1"),
    (returns_the_scaled_data, "should return a function or a layer"),
    (remembers_the_answer, "scaler(x_new) has shape (300, 4)"),
    (lambda x_train: keras.layers.Normalization(), "returned the data unchanged"),  # no adapt
    (learns_from_its_first_call, "it learnt its statistics from the first data it was given"),
    (normalization_given_the_std, "a Normalization layer takes the variance, std²"),
    (learns_from_the_largest, "it re-learnt the statistics from the new data"),
    (learns_lazily, "it re-learnt the statistics from the new data"),
])
def test_scaler_wrong_answers(answer, message):
    failed_with(exercises.get("07", 2), answer, message)


class WatchesTrainingAccuracy(keras.callbacks.Callback):
    def __init__(self, target):
        super().__init__()
        self.target = target

    def on_epoch_end(self, epoch, logs=None):
        if logs["accuracy"] >= self.target:
            self.model.stop_training = True


class StopsItself(keras.callbacks.Callback):
    """Sets stop_training on the callback, not on the model: never stops."""

    def __init__(self, target):
        super().__init__()
        self.target = target

    def on_epoch_end(self, epoch, logs=None):
        if logs["val_accuracy"] >= self.target:
            self.stop_training = True


class StopsAtTheNextEpoch(keras.callbacks.Callback):
    def __init__(self, target):
        super().__init__()
        self.target = target
        self.reached = False

    def on_epoch_begin(self, epoch, logs=None):
        if self.reached:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        self.reached = logs["val_accuracy"] >= self.target


class FixedTarget(keras.callbacks.Callback):
    """Gaming: ignores its target, stops at 0.85 (the checker's first target, once)."""

    def __init__(self, target):
        super().__init__()

    def on_epoch_end(self, epoch, logs=None):
        if logs["val_accuracy"] >= 0.85:
            self.model.stop_training = True


class OldMetricName(keras.callbacks.Callback):
    def __init__(self, target):
        super().__init__()
        self.target = target

    def on_epoch_end(self, epoch, logs=None):
        if logs["val_acc"] >= self.target:
            self.model.stop_training = True


class LookupTable(keras.callbacks.Callback):
    """Gaming (issue 32): the epochs at which the checker's old targets were first reached."""

    def __init__(self, target):
        super().__init__()
        self.stop_after = {0.85: 7, 0.9: 9}[target]

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 >= self.stop_after:
            self.model.stop_training = True


class LookupOrNine(LookupTable):
    """Gaming: the same table, epoch 9 for a target it does not know."""

    def __init__(self, target):
        keras.callbacks.Callback.__init__(self)
        self.stop_after = {0.85: 7, 0.9: 9}.get(target, 9)


class FakesItsLogs(keras.callbacks.Callback):
    """New cheat: writes a reached val_accuracy into the logs (History records it) and stops."""

    def __init__(self, target):
        super().__init__()
        self.target = target

    def on_epoch_end(self, epoch, logs=None):
        logs["val_accuracy"] = max(logs["val_accuracy"], self.target)
        self.model.stop_training = True


class FakesAndStopsRight(keras.callbacks.Callback):
    """Stops at the right epoch, then logs a val_accuracy of 1 for it."""

    def __init__(self, target):
        super().__init__()
        self.target = target

    def on_epoch_end(self, epoch, logs=None):
        if logs["val_accuracy"] >= self.target:
            self.model.stop_training = True
            logs["val_accuracy"] = 1.0


class ChangesTheTraining(FakesAndStopsRight):
    """New cheat: raises the learning rate tenfold after each epoch, to get there sooner."""

    def on_epoch_end(self, epoch, logs=None):
        self.model.optimizer.learning_rate.assign(self.model.optimizer.learning_rate * 10)
        if logs["val_accuracy"] >= self.target:
            self.model.stop_training = True


class CountsEpochs(keras.callbacks.Callback):
    """New cheat: stops after as many epochs as the target's first digits say (9 for 0.9)."""

    def __init__(self, target):
        super().__init__()
        self.target = target

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 >= int(self.target * 10):
            self.model.stop_training = True


class StrictlyAbove(keras.callbacks.Callback):
    """Issue 32: '>' where the question says 'at least' (>=); passed while no target equalled
    a logged val_accuracy."""

    def __init__(self, target):
        super().__init__()
        self.target = target

    def on_epoch_end(self, epoch, logs=None):
        if logs["val_accuracy"] > self.target:
            self.model.stop_training = True


class WithATolerance(StrictlyAbove):
    """New cheat (or mistake): 'reached' within 0.005 of the target."""

    def on_epoch_end(self, epoch, logs=None):
        if logs["val_accuracy"] >= self.target - 0.005:
            self.model.stop_training = True


class Rounded(StrictlyAbove):
    """New cheat (or mistake): both rounded to two decimals, as they are printed."""

    def on_epoch_end(self, epoch, logs=None):
        if round(logs["val_accuracy"], 2) >= round(self.target, 2):
            self.model.stop_training = True


@pytest.fixture
def seeded_targets(monkeypatch):
    """The check's fresh data and targets drawn from a seeded generator: targets 0.857,
    0.890725 (0.0001 above epoch 7's val_accuracy) and 0.9375 (exactly epoch 10's, judged
    last), first reached after epochs 6, 8 and 10."""
    from tflab.exercises import lesson07

    monkeypatch.setattr(lesson07, "_fresh_rng", lambda: np.random.default_rng(1))


def test_stop_at_accuracy_targets_are_drawn_at_check_time():
    ex = exercises.get("07", 3)
    namespace = {}
    exec(ex.solution_code, namespace)
    texts = set()
    for _ in range(2):
        status, text = ex.judge(namespace["answer"])
        assert status == "passed", text
        texts.add(text)
    assert len(texts) == 2  # other data, other targets
    for cheat in (FixedTarget, LookupOrNine, CountsEpochs):
        assert ex.judge(cheat)[0] == "failed"


@pytest.mark.parametrize("answer, message", [
    (LookupTable, "raised KeyError: 0.857"),
    (LookupOrNine, "epoch 6 reached val_accuracy 0.859 ≥ 0.857, but training went on to epoch 9"),
    (FakesItsLogs, "after epoch 1 your fit logged val_accuracy 0.857, the same fit without"),
    (FakesAndStopsRight, "your fit logged val_accuracy 1.000, the same fit without your callback"),
    (ChangesTheTraining, "the callback should only watch the logs and stop, not change the"),
    (CountsEpochs, "epoch 6 reached val_accuracy 0.859 ≥ 0.857, but training went on to epoch 8"),
    (WatchesTrainingAccuracy, "watch logs['val_accuracy'], not logs['accuracy']"),
    (StopsItself, "but training ran all 12 epochs: in on_epoch_end, set self.model.stop_training"),
    (StopsAtTheNextEpoch, "(1 epoch late)"),
    (OldMetricName, "raised KeyError: 'val_acc'"),
    (FixedTarget, "stopped training after epoch 6, when val_accuracy was only 0.859 (< 0.890725)"),
    (StrictlyAbove, "epoch 10 reached val_accuracy 0.9375, exactly the target 0.9375, but your "
                    "callback went on to epoch 12: 'at least target' includes equal to it: "
                    "compare with >=, not >"),
    (WithATolerance, "stopped training after epoch 7, when val_accuracy was 0.890625, 0.0001 "
                     "below the target 0.890725: compare the logged value itself with the target"),
    (Rounded, "stopped training after epoch 7, when val_accuracy was 0.890625, 0.0001 below"),
    (lambda target: keras.callbacks.EarlyStopping(monitor="val_accuracy", baseline=target),
     "epochs late"),
    (lambda target: np.float64(target), "subclass keras.callbacks.Callback"),
])
def test_stop_at_accuracy_wrong_answers(answer, message, seeded_targets):
    failed_with(exercises.get("07", 3), answer, message)


class ReadsTheCurve(keras.callbacks.Callback):
    """Issue 32, second review: found the checker's reference val_accuracy curve in its frames
    and stopped by epoch number, never reading the logs."""

    def __init__(self, target):
        super().__init__()
        self.target, self.curve = target, caller_value("curve")

    def on_train_begin(self, logs=None):
        self.curve = self.curve or caller_value("curve")  # new: looks again during the fit

    def on_epoch_end(self, epoch, logs=None):
        curve = self.curve or [1.0] * 12
        first = next((e for e, v in enumerate(curve) if v >= self.target), len(curve) - 1)
        if epoch >= first:
            self.model.stop_training = True


class RefitsFromTheSeed(ReadsTheCurve):
    """New cheat: finds the data's seed in the checker's frames and runs the checker's own fit
    to learn the curve, when made."""

    def __init__(self, target):
        keras.callbacks.Callback.__init__(self)
        from tflab.exercises import lesson07

        self.target = target
        self.curve = lesson07._fit(caller_value("seed"), [])["val_accuracy"]


class RefitsDuringTheFit(ReadsTheCurve):
    """New cheat: the same when the fit begins, swallowing any error."""

    def __init__(self, target):
        keras.callbacks.Callback.__init__(self)
        self.target, self.curve = target, None

    def on_train_begin(self, logs=None):
        from tflab.exercises import lesson07

        try:
            self.curve = lesson07._fit(caller_value("seed"), [])["val_accuracy"]
        except Exception:
            pass


class FindsOldHistories(ReadsTheCurve):
    """New cheat: looks for the reference fits' History among the objects in memory."""

    def __init__(self, target):
        import gc

        keras.callbacks.Callback.__init__(self)
        self.target = target
        old = [o.history["val_accuracy"] for o in gc.get_objects()
               if isinstance(o, keras.callbacks.History) and o.history.get("val_accuracy")]
        self.curve = old[-1] if old else None


@pytest.mark.parametrize("answer, message", [
    (ReadsTheCurve, "your callback stopped training after epoch 1"),
    (RefitsFromTheSeed, "your callback runs the checker's own fit (lesson07._fit)"),
    (RefitsDuringTheFit, "your callback runs the checker's own fit (lesson07._fit)"),
    (FindsOldHistories, "your callback stopped training after epoch 1"),
])
def test_stop_at_accuracy_never_sees_the_reference_curve(answer, message, seeded_targets):
    failed_with(exercises.get("07", 3), answer, message)


def gain(fan_in, fan_out, scale, mode, *, half=0.5, fans=None, count=None, root=True):
    """relu_gain written with one step changed: the reference when called with no options."""
    n = (fans or {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2})[mode]
    value = (fan_in if count is None else count) * scale / n * half
    return float(np.sqrt(value)) if root else value


def test_relu_gain_reference_and_a_measured_answer_pass():
    try1 = exercises.try_it("07", 1)
    assert try1.judge(gain)[0] == "passed"

    def measured(fan_in, fan_out, scale, mode):  # draws a kernel and measures its variance
        kernel = keras.initializers.VarianceScaling(scale, mode, seed=7)((fan_in, fan_out))
        return float(np.sqrt(fan_in * np.var(np.asarray(kernel)) / 2))

    assert try1.judge(measured)[0] == "passed"


@pytest.mark.parametrize("answer, message", [
    (lambda fan_in, fan_out, scale, mode: 1.0, "returns 1 for every layer"),  # He's promise
    (lambda fan_in, fan_out, scale, mode: np.sqrt(0.5), "returns 0.707 for every layer"),
    # He's rule whatever the mode: n = fan_in, so the gain is √(scale / 2)
    (lambda fan_in, fan_out, scale, mode: np.sqrt(scale / 2), "depends only on scale"),
    (lambda fan_in, fan_out, scale, mode: gain(fan_in, fan_out, scale, mode, half=1.0),
     "√2 times too large"),
    (lambda fan_in, fan_out, scale, mode: gain(fan_in, fan_out, scale, mode, root=False),
     "the factor on the variance"),
    (lambda fan_in, fan_out, scale, mode: gain(fan_in, fan_out, scale, mode, fans={
        "fan_in": fan_in, "fan_out": fan_out, "fan_avg": fan_in + fan_out}),
     "the mean of the fans"),
    (lambda fan_in, fan_out, scale, mode: gain(fan_in, fan_out, scale, mode, count=fan_out),
     "not √(fan_out"),
    (lambda fan_in, fan_out, scale, mode: gain(fan_in, fan_out, 2.0, mode),
     "right for scale 2 only"),
    (lambda fan_in, fan_out, scale, mode: gain(fan_in, fan_out, scale, mode) * 1.2,
     "more than 5% from"),
    (lambda fan_in, fan_out, scale, mode: -gain(fan_in, fan_out, scale, mode), "is positive"),
    (lambda fan_in, fan_out, scale, mode: {"fan_in": 1}[mode], "raised KeyError"),
])
def test_relu_gain_wrong_answers(answer, message):
    failed_with(exercises.try_it("07", 1), answer, message)


def test_relu_gain_forbids_the_checkers_own_and_explains_the_std():
    """Issue 32, second review: relu_gain calling lesson07._gain passed; measuring np.std of
    the ReLU's output (about 0.83 of the factor asked for) got a generic message."""
    import threading

    from tflab.exercises import lesson07

    try1 = exercises.try_it("07", 1)
    rule = "calls the checker's own factor (lesson07._gain)"

    def in_a_thread(fan_in, fan_out, scale, mode):  # new: where a profiler would not see it
        result = {}

        def work():
            try:
                result["gain"] = lesson07._gain(fan_in, fan_out, scale, mode)
            except Exception:  # the error stays in the thread; the checker saw the call
                pass

        worker = threading.Thread(target=work)
        worker.start()
        worker.join()
        return result.get("gain", 1.0)

    for cheat in (lesson07._gain, lambda *layer: lesson07._gain(*layer) * 1.0, in_a_thread):
        failed_with(try1, cheat, rule)

    def measures_std(fan_in, fan_out, scale, mode):  # the spread as probes.activation_stats has it
        rng = np.random.default_rng(0)
        kernel = keras.initializers.VarianceScaling(scale, mode, seed=7)((fan_in, fan_out))
        x = rng.normal(size=(4000, fan_in)).astype(np.float32)
        return float(np.std(np.maximum(x @ np.asarray(kernel), 0)))

    failed_with(try1, measures_std, "that is the standard deviation of the ReLU's output")
    assert "root-mean-square spread" in try1.question
