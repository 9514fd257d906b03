"""Exercises of lesson 07, Keras: initialisation in deep networks, input scaling, callbacks;
its Try it: the factor a ReLU layer multiplies the spread by, for a variance-scaling initialiser."""

from __future__ import annotations

import numpy as np

from tflab.exercises.core import (
    Exercise,
    Failed,
    call,
    calls_of,
    first_line,
    number,
    numbers,
    require_callable,
)

INPUTS = 32
DEPTHS = (16, 32)
EPOCHS = 12


def _deep_net(answer) -> str:
    """The answer is build(depth) -> a deep classifier; judged by its signal and gradients."""
    import keras

    from tflab import probes

    require_callable(answer, "build(depth) returning a keras.Sequential")
    rng = np.random.default_rng(71)
    x = rng.normal(size=(256, INPUTS)).astype(np.float32)
    y = rng.integers(0, 10, 256)
    for depth in DEPTHS:
        keras.utils.set_random_seed(depth)
        model = call(answer, depth)
        if not isinstance(model, keras.Model):
            raise Failed(f"build({depth}) should return a keras.Sequential, not "
                         f"{type(model).__name__}")
        dense = probes.dense_layers(model)
        if len(dense) != depth + 1:
            raise Failed(f"build({depth}) has {len(dense)} Dense layers; it should have "
                         f"{depth + 1}: {depth} hidden ones and the output, put directly in "
                         "the Sequential (not nested in another model)")
        try:
            probabilities = np.asarray(model(x[:8]))
        except Exception as err:
            raise Failed(f"build({depth}) cannot take inputs of shape (N, {INPUTS}): "
                         f"{type(err).__name__}: {first_line(err)}") from None
        if probabilities.shape != (8, 10) or not np.allclose(probabilities.sum(axis=1), 1,
                                                               atol=1e-4):
            raise Failed(f"build({depth}) should output 10 probabilities per row (a softmax "
                         f"Dense(10) last); it gives shape {probabilities.shape}")
        spread = probes.activation_stats(model, x)[1]
        ratio = spread[depth - 1] / spread[0]
        if not 0.1 <= ratio <= 10:
            trend = "fades" if ratio < 0.1 else "grows"
            raise Failed(f"at depth {depth} the signal {trend}: the last hidden layer's outputs "
                         f"spread {ratio:.1e} times as much as the first's (needs within 10×). "
                         "Match the initialiser's scale to the activation: He for ReLU, Glorot "
                         "for tanh.")
        grads = probes.gradient_norms(model, x, y)
        ratio = grads[0] / grads[-1]
        if not 0.01 <= ratio <= 100:
            trend = "explodes" if ratio > 100 else "vanishes"  # 0/0 = nan: vanished
            raise Failed(f"at depth {depth} the gradient {trend}: the first layer's gradient "
                         f"norm is {ratio:.1e} times the output layer's (needs within 100×). "
                         "Choose an activation whose derivative stays near 1.")
    return (f"at depths {DEPTHS[0]} and {DEPTHS[1]} the signal keeps its size layer after layer "
            "and the first layer's gradient does not vanish.")


def _scaler_data(rng: np.random.Generator, n: int, shift: float) -> np.ndarray:
    """Four features on very different scales; ``shift`` moves every mean by that many stds."""
    means, stds = np.array([120.0, -5.0, 0.5, 2000.0]), np.array([30.0, 0.2, 0.01, 400.0])
    return (means + stds * (shift + rng.normal(size=(n, 4)))).astype(np.float32)


def _standardise(answer) -> str:
    """The answer is make_scaler(x_train) -> scaler; judged on x_train and on shifted new data."""
    require_callable(answer, "make_scaler(x_train) returning a function (or layer) scaler(x)")
    rng = np.random.default_rng(72)
    x_train, x_new = _scaler_data(rng, 300, 0.0), _scaler_data(rng, 80, 0.7)
    mean, std = x_train.astype(np.float64).mean(axis=0), x_train.astype(np.float64).std(axis=0)
    scaler = call(answer, x_train.copy())
    if not callable(scaler):
        raise Failed("make_scaler should return a function or a layer that scales data, not "
                     f"{type(scaler).__name__}")
    # new data first: a scaler that learns from the first data it is given has only x_new then
    new_output = numbers(call(scaler, x_new.copy()), "scaler(x_new)")  # now, not lazily later
    z = numbers(call(scaler, x_train.copy()), "scaler(x_train)")
    if z.shape != x_train.shape:
        raise Failed(f"scaler(x_train) has shape {z.shape}; it should keep x_train's "
                     f"{x_train.shape}")
    z_mean, z_std = z.mean(axis=0), z.std(axis=0)
    bad = np.flatnonzero((np.abs(z_mean) > 0.01) | (np.abs(z_std - 1) > 0.02))
    if len(bad):
        k = bad[0]
        message = (f"on x_train feature {k} has mean {z_mean[k]:.3g} and std {z_std[k]:.3g} after "
                   "scaling; every feature needs mean 0 and std 1.")
        if np.allclose(z.min(axis=0), 0, atol=1e-3) and np.allclose(z.max(axis=0), 1, atol=1e-3):
            message += " Your values fill [0, 1]: that is min-max scaling, not standardisation."
        elif np.allclose(z, x_train, rtol=1e-5):
            message += (" Your scaler returned the data unchanged: a Normalization layer learns "
                        "its statistics in layer.adapt(x_train).")
        elif abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.02:
            message += (" Over the whole array they are 0 and 1: use one mean and std per "
                        "feature (column), not one for everything.")
        elif np.all(np.abs(z_mean) <= 0.01) and np.allclose(z_std, np.sqrt(std), rtol=0.02):
            message += (" Your std is the square root of x_train's: a Normalization layer "
                        "takes the variance, std² (x_train.var(axis=0)), not the std.")
        elif _standardised(new_output):
            message += (" On new data, which this check gave it first, your scaler's output "
                        "has mean 0 and std 1: it learnt its statistics from the first data it "
                        "was given. Learn them from x_train, in make_scaler.")
        raise Failed(message)
    want = (x_new - mean) / std
    got = new_output
    if got.shape != want.shape:
        raise Failed(f"scaler(x_new) has shape {got.shape}; it should keep {want.shape}")
    error = np.max(np.abs(got - want))
    if error > 0.02:
        message = (f"on new data your scaler is up to {error:.2g} away from "
                   "(x - mean of x_train) / (std of x_train).")
        if np.all(np.abs(got.mean(axis=0)) < 0.01):
            message += (" Its output has mean 0 there too: it re-learnt the statistics from the "
                        "new data. Learn them once, from x_train, and apply them unchanged.")
        raise Failed(message)
    return ("mean 0 and std 1 per feature on the training data, and the training data's "
            "transform applied unchanged to new data.")


def _standardised(output) -> bool:
    """Whether ``output`` is an (N, 4) array of numbers with mean 0 and std 1 per column."""
    try:
        values = np.asarray(output, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return (values.ndim == 2 and values.shape[1] == 4 and bool(np.all(np.isfinite(values)))
            and bool(np.all(np.abs(values.mean(axis=0)) <= 0.01))
            and bool(np.all(np.abs(values.std(axis=0) - 1) <= 0.02)))


def _blobs(rng: np.random.Generator, n: int, separation: float) -> tuple[np.ndarray, np.ndarray]:
    y = rng.integers(0, 2, n)
    x = rng.normal(size=(n, 2)) + separation * (2 * y[:, None] - 1) * np.array([1.0, 0.5])
    return x.astype(np.float32), y


def _stop_at_accuracy(answer) -> str:
    """The answer is a callback class StopAtAccuracy(target); judged on real fits' History for
    targets drawn at check time from a reference fit on fresh data, each first reached at a
    different epoch (an answer that ignores its target stops at the wrong epoch for one). While
    the answer's code runs, neither the reference curve nor the epochs it should stop at exist
    anywhere: only the targets and the seed of the data; the curve is fitted again after all of
    the answer's fits, and the checker's fits cannot be started from the answer's code."""
    require_callable(answer, "StopAtAccuracy(target) (a class) making a keras callback")
    seed, targets = _stop_case(_fresh_rng())
    histories = [_answer_fit(answer, target, seed) for target in targets]
    # the reference only now, after all of the answer's fits: it never existed while they ran
    curve = _fit(seed, [])["val_accuracy"]
    epochs = ", ".join(str(_stopped_at(history, target, curve))
                       for history, target in zip(histories, targets))
    shown = ", ".join(f"{target:g}" for target in targets)
    return (f"stopped after epochs {epochs}, the first whose val_accuracy reached {shown}, "
            "targets drawn for this check.")


def _fresh_rng() -> np.random.Generator:
    """An unseeded generator: 07.3's data and targets differ on every check (tests seed it)."""
    return np.random.default_rng()


_OWN_FIT = ("your callback runs the checker's own fit (lesson07.{}) to learn the validation "
            "accuracy before it is logged: watch logs['val_accuracy'] in on_epoch_end instead")
_FITS = {"running": 0, "nested": 0}  # a fit started inside another: the answer's doing


def _fit(seed: int, callbacks: list) -> dict:
    """A small classifier fitted for EPOCHS epochs on data drawn from ``seed``: a copy of its
    History's values (the History itself emptied, so that no old fit's curve stays in memory)."""
    import keras
    import tensorflow as tf

    if _FITS["running"]:
        _FITS["nested"] += 1
        raise Failed(_OWN_FIT.format("_fit"))
    _FITS["running"] += 1
    try:
        keras.utils.set_random_seed(seed)
        rng = np.random.default_rng(seed)
        train = tf.data.Dataset.from_tensor_slices(_blobs(rng, 256, 2.0)).batch(64)
        val = tf.data.Dataset.from_tensor_slices(_blobs(rng, 64, 1.0)).batch(64)  # harder
        model = keras.Sequential([keras.Input((2,)),
                                  keras.layers.Dense(2, activation="softmax")])
        model.compile(optimizer=keras.optimizers.SGD(0.02),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                      jit_compile=False)
        history = call(model.fit, train, epochs=EPOCHS, validation_data=val,
                       callbacks=callbacks, shuffle=False, verbose=0)
        values = {name: [float(v) for v in logged] for name, logged in history.history.items()}
        history.history.clear()
        return values
    finally:
        _FITS["running"] -= 1


def _stop_case(rng: np.random.Generator) -> tuple[int, list[float]]:
    """A seed and two or three targets, each first reached at a different epoch before the
    last of the seed's reference fit (no callback), drawn between two new bests above chance
    (0.5); one of them is exactly the new best (val_accuracy counts k of 64 examples, so the
    same fit logs exactly that value) and comes last (a callback that never stops fails before
    it), another 0.0001 above the best before it. The reference curve stays in here."""
    import gc

    for attempt in range(6):
        seed = int(rng.integers(1, 2**31 - 1)) if attempt < 5 else 73  # 73: rises 6 times
        curve = _fit(seed, [])["val_accuracy"]
        best, steps = 0.0, []  # (epoch, previous best, new best) where the best rises
        for epoch, value in enumerate(curve, 1):
            if value > best:
                steps.append((epoch, best, value))
                best = value
        steps = [step for step in steps if 2 <= step[0] < EPOCHS and step[1] >= 0.5]
        if len(steps) >= 2:
            chosen = sorted(rng.choice(len(steps), min(3, len(steps)), replace=False))
            targets = []
            for i in chosen:
                _, low, high = steps[i]
                target = round(float(rng.uniform(low, high)), 4)
                targets.append(target if low < target <= high else high)
            # one target is exactly a new best: "at least target" stops there, "above" does not;
            # another just above the best before it: rounding or a tolerance stops too early
            exact, near = (int(i) for i in rng.permutation(len(chosen))[:2])
            targets[exact] = steps[chosen[exact]][2]
            targets[near] = round(steps[chosen[near]][1] + 1e-4, 6)
            targets.append(targets.pop(exact))
            del curve, steps
            gc.collect()  # the reference fits' models and logs, before the answer runs
            return seed, targets
    raise RuntimeError("no fit whose val_accuracy rose at two epochs; rerun the check")


def _answer_fit(answer, target: float, seed: int) -> dict:
    """The History's values of the seed's fit with the learner's StopAtAccuracy(target)."""
    import keras

    with calls_of(_fit, rule=_OWN_FIT.format("_fit")), \
            calls_of(_stop_case, rule=_OWN_FIT.format("_stop_case")):
        callback = call(answer, target)
    if not isinstance(callback, keras.callbacks.Callback):
        raise Failed(f"StopAtAccuracy({target}) should make a keras.callbacks.Callback, not "
                     f"{type(callback).__name__}: subclass keras.callbacks.Callback")
    _FITS["nested"] = 0
    try:
        history = _fit(seed, [callback])
    except Failed:
        if not _FITS["nested"]:
            raise
    if _FITS["nested"]:
        raise Failed(_OWN_FIT.format("_fit"))
    return history


def _stopped_at(history: dict, target: float, curve: list[float]) -> int:
    """The epoch after which the learner's callback stopped its fit (``history``) for
    ``target``, if right; ``curve`` is the same fit's val_accuracy without the callback."""
    val_accuracy, accuracy = history["val_accuracy"], history["accuracy"]
    stopped = len(val_accuracy)
    changed = ("the callback should only watch the logs and stop, not change the training or "
               "what it logs")
    if not np.allclose(val_accuracy[:-1], curve[:stopped - 1], atol=1e-6):
        raise Failed(f"with your callback the fit's val_accuracy was "
                     f"{np.round(val_accuracy, 3).tolist()}, without it "
                     f"{np.round(curve[:stopped], 3).tolist()}: {changed}")
    # judged by the fit without the callback: the answer cannot change what it is judged on
    reached = [epoch for epoch, v in enumerate(curve, 1) if v >= target]
    went_on = reached and reached[0] < stopped  # then its last epoch may have been cut short
    if not went_on and not np.isclose(val_accuracy[-1], curve[stopped - 1], atol=1e-6):
        raise Failed(f"after epoch {stopped} your fit logged val_accuracy "
                     f"{val_accuracy[-1]:.3f}, the same fit without your callback "
                     f"{curve[stopped - 1]:.3f}: {changed}")
    if reached and reached[0] == stopped:
        return stopped
    if (not reached or reached[0] > stopped) and stopped < EPOCHS:
        value = curve[stopped - 1]
        if 0 < target - value <= 0.01:
            raise Failed(f"your callback stopped training after epoch {stopped}, when "
                         f"val_accuracy was {value:g}, {target - value:.2g} below the target "
                         f"{target:g}: compare the logged value itself with the target, without "
                         "rounding either or allowing a tolerance")
        message = (f"your callback stopped training after epoch {stopped}, when val_accuracy was "
                   f"only {value:.3f} (< {target})")
        if accuracy[-1] >= target:
            message += (f"; the training accuracy ({accuracy[-1]:.3f}) had reached it: watch "
                        "logs['val_accuracy'], not logs['accuracy']")
        raise Failed(message)
    first = reached[0]
    above = [epoch for epoch, v in enumerate(curve, 1) if v > target]
    if curve[first - 1] == target and stopped == (above[0] if above else EPOCHS):
        raise Failed(f"epoch {first} reached val_accuracy {curve[first - 1]:g}, exactly the "
                     f"target {target:g}, but your callback went on to epoch {stopped}"
                     + (", the first above it" if above else "")
                     + ": 'at least target' includes equal to it: compare with >=, not >")
    if stopped == EPOCHS:
        raise Failed(f"epoch {first} reached val_accuracy {curve[first - 1]:.3f} ≥ "
                     f"{target}, but training ran all {EPOCHS} epochs: in on_epoch_end, set "
                     "self.model.stop_training = True")
    late = stopped - first
    raise Failed(f"epoch {first} reached val_accuracy {curve[first - 1]:.3f} ≥ {target}, "
                 f"but training went on to epoch {stopped} ({late} epoch{'s' * (late > 1)} "
                 "late): stop in on_epoch_end of the epoch that reaches it")


EXERCISES = [
    Exercise("07", 1, f"Write build(depth) returning a keras.Sequential for {INPUTS} input "
             "features with depth hidden Dense layers and a Dense(10, softmax) output. At depths "
             f"{DEPTHS[0]} and {DEPTHS[1]} the last hidden layer's output spread must stay within "
             "10× of the first's, and the first layer's gradient norm within 100× of the last's.",
             _deep_net,
             ["Section 4.2 measures the spread per layer, section 4.4 the gradient norm per layer "
              "(probes.activation_stats and probes.gradient_norms); which pairs kept both?",
              "ReLU with He initialisation: models.mlp((32,), hidden=[100] * depth, "
              "activation='relu', kernel_initializer='he_normal')."],
             """from tflab import models


def build(depth):
    return models.mlp((32,), hidden=[100] * depth, activation="relu",
                      kernel_initializer="he_normal")


answer = build"""),
    Exercise("07", 2, "Write make_scaler(x_train) returning a function (or Keras layer) "
             "scaler(x) that standardises every feature with x_train's statistics: "
             "scaler(x_train) has mean 0 and std 1 per column, and new data gets the same "
             "transform.", _standardise,
             ["Learn one mean and one standard deviation per column from x_train, once; then "
              "(x - mean) / std for any x.",
              "keras.layers.Normalization() learns them with layer.adapt(x_train); return the "
              "layer."],
             """import keras


def make_scaler(x_train):
    layer = keras.layers.Normalization()
    layer.adapt(x_train)
    return layer


answer = make_scaler"""),
    Exercise("07", 3, "Write a callback class StopAtAccuracy(target), a subclass of "
             "keras.callbacks.Callback, that stops fit at the end of the first epoch whose "
             "validation accuracy (logs['val_accuracy']) is at least target.", _stop_at_accuracy,
             ["Keras calls on_epoch_end(epoch, logs) after each epoch, validation included; "
              "logs holds 'val_accuracy'.",
              "In on_epoch_end: if logs['val_accuracy'] >= self.target: "
              "self.model.stop_training = True (remember super().__init__())."],
             """import keras


class StopAtAccuracy(keras.callbacks.Callback):
    def __init__(self, target):
        super().__init__()
        self.target = target

    def on_epoch_end(self, epoch, logs=None):
        if (logs or {}).get("val_accuracy", 0.0) >= self.target:
            self.model.stop_training = True


answer = StopAtAccuracy"""),
]


# (fan_in, fan_out, scale, mode) of the layers Try it 07.1 is judged on; the notebook prints
# 784 -> 5120, 100 -> 100 and 5120 -> 10, none of these
_GAIN_LAYERS = [(300, 100, 2.0, "fan_avg"), (50, 800, 2.0, "fan_in"), (400, 40, 1.0, "fan_avg"),
                (64, 256, 1.0, "fan_out"), (1000, 10, 2.0, "fan_out"), (128, 128, 2.0, "fan_avg"),
                (200, 600, 3.0, "fan_avg")]
# a ReLU's output of a zero-mean Gaussian: its std over its root mean square, √(1 − 1/π) ≈ 0.826
_STD_OF_RMS = float(np.sqrt(1 - 1 / np.pi))
_GAIN_TOLERANCE = 0.05  # relative: a gain measured from one drawn kernel is within 1 %


def _fans(fan_in: int, fan_out: int, mode: str) -> float:
    return {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]


def _gain(fan_in: int, fan_out: int, scale: float, mode: str) -> float:
    """The spread a ReLU layer passes on: √(fan_in · variance · ½), variance = scale / n."""
    return float(np.sqrt(fan_in * scale / _fans(fan_in, fan_out, mode) / 2))


def _relu_gain(answer) -> str:
    """The answer is relu_gain(fan_in, fan_out, scale, mode); judged on unseen layer shapes."""
    require_callable(answer, "relu_gain(fan_in, fan_out, scale, mode) returning a number")
    with calls_of(_gain, rule="your relu_gain calls the checker's own factor (lesson07._gain), "
                  "which is what this Try it asks you to write: write it yourself"):
        got = np.array([number(call(answer, *layer), f"relu_gain{layer}")
                        for layer in _GAIN_LAYERS])
    want = np.array([_gain(*layer) for layer in _GAIN_LAYERS])

    def close(values) -> bool:
        return bool(np.all(np.abs(got / np.asarray(values) - 1) <= _GAIN_TOLERANCE))

    if close(want):
        return (f"the factor a ReLU layer multiplies the spread by, right for {len(want)} layer "
                "shapes, scales and modes you had not seen.")
    if np.any(got <= 0):
        k = int(np.flatnonzero(got <= 0)[0])
        raise Failed(f"relu_gain{_GAIN_LAYERS[k]} is {got[k]:.3g}; a factor on a root mean "
                     "square is positive")
    scales = np.array([layer[2] for layer in _GAIN_LAYERS])
    if np.ptp(got) <= 1e-9 * np.abs(got).max():
        raise Failed(f"your function returns {got[0]:.3g} for every layer; the factor depends on "
                     "the layer's fans, the scale and the mode")
    if close(np.sqrt(scales / 2)):
        raise Failed("your factor depends only on scale (it is √(scale / 2)): that holds for mode "
                     "'fan_in' alone. The variance is scale / n, n the count the mode names, "
                     "while each unit still sums fan_in inputs: √(fan_in · variance · ½)")
    if close(want * _STD_OF_RMS):
        raise Failed("your factors are about 0.83 of the expected: that is the standard "
                     "deviation of the ReLU's output, measured around its own mean (np.std). "
                     "The factor asked for is on the root mean square, √(mean of x²), which is "
                     "what the next layer's variance depends on: √(fan_in · variance · ½)")
    if close(want * np.sqrt(2)):
        raise Failed("your factors are √2 times too large: ReLU zeroes the negative half of its "
                     "inputs and keeps half of the variance (the ½)")
    if close(want ** 2):
        raise Failed("you return fan_in · variance · ½, the factor on the variance; the spread, "
                     "a standard deviation, grows by its square root")
    if close([_gain(i, o, s, m) / (np.sqrt(2) if m == "fan_avg" else 1)  # n = fan_in + fan_out
              for i, o, s, m in _GAIN_LAYERS]):
        raise Failed("for mode 'fan_avg' n is the mean of the fans, (fan_in + fan_out) / 2, not "
                     "their sum")
    if close([np.sqrt(o * s / _fans(i, o, m) / 2) for i, o, s, m in _GAIN_LAYERS]):
        raise Failed("each unit of a layer sums fan_in inputs (the kernel's first dimension), so "
                     "the factor is √(fan_in · variance · ½), not √(fan_out · …)")
    for fixed in (1.0, 2.0):
        if close([_gain(i, o, fixed, m) for i, o, s, m in _GAIN_LAYERS]):
            raise Failed(f"your factor is right for scale {fixed:g} only: it must follow the "
                         "scale argument (the variance is scale / n)")
    k = int(np.flatnonzero(np.abs(got / want - 1) > _GAIN_TOLERANCE)[0])
    fan_in, fan_out, scale, mode = _GAIN_LAYERS[k]
    raise Failed(f"for a {fan_in} → {fan_out} layer, VarianceScaling(scale={scale:g}, "
                 f"mode='{mode}'), your factor is {got[k]:.3g}, more than "
                 f"{_GAIN_TOLERANCE:.0%} from √(fan_in · variance · ½) with variance = scale / n")


TRY_ITS = [
    Exercise("07", 1, "Write relu_gain(fan_in, fan_out, scale, mode): the factor by which one "
             "ReLU layer multiplies the root-mean-square spread √(mean of x²) of its input "
             "(not np.std of its output, taken around the mean) when its "
             "(fan_in, fan_out) kernel is drawn by keras.initializers.VarianceScaling(scale, "
             "mode), mode being 'fan_in', 'fan_out' or 'fan_avg'. It is tried on layers it has "
             "not seen.", _relu_gain,
             ["Two steps from section 4.2: the weights' variance is scale / n, where the mode "
              "says what n counts; then the ReLU rule √(fan_in · variance · ½).",
              "n = {'fan_in': fan_in, 'fan_out': fan_out, 'fan_avg': (fan_in + fan_out) / 2}"
              "[mode]; return math.sqrt(fan_in * scale / n / 2)."],
             """import math


def relu_gain(fan_in, fan_out, scale, mode):
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    return math.sqrt(fan_in * (scale / n) / 2)


answer = relu_gain""", try_it=True),
]
