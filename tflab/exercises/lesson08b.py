"""Exercises of lesson 08b, fast style transfer: the network's bounded output, and a judge that
uses no network (the colour histogram distance); Try it 08b.1, instance normalisation."""

from __future__ import annotations

import contextlib

import numpy as np

from tflab.exercises.core import Exercise, Failed, call, calls_of, number, numbers, require_callable
from tflab.exercises.lesson08 import _fresh_seed, _generator


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _reference_output(photo, change, bound):
    p = np.clip(photo.astype(np.float64), 1e-3, 1 - 1e-3)
    return _sigmoid(np.log(p / (1 - p)) + bound * np.tanh(change.astype(np.float64) / bound))


def _photos(seed: int) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """08b.1's (photo, change, bound) from ``seed``: two photos of drawn sizes, a bound above 1
    and one below (at 1, dividing by the bound or not would agree)."""
    rng = _generator(seed)
    cases = []
    for low, high in [(1.2, 2.5), (0.3, 0.8)]:
        shape = (*(int(n) for n in rng.integers(3, 8, 2)), 3)
        bound = round(float(rng.uniform(low, high)), 2)
        photo = rng.uniform(0, 1, shape).astype(np.float32)
        photo[0, 0] = 0.0   # a black pixel and a white one: the logit needs the clip
        photo[-1, -1] = 1.0
        cases.append((photo, rng.normal(0, 3, shape).astype(np.float32), bound))
    return cases


_CHECKERS_OWN = ("your function calls the checker's own {} (lesson08b.{}), which is what this "
                 "exercise asks you to write: write it yourself")


def _stylise(answer) -> str:
    require_callable(answer, "stylise(photo, change, bound) for (H, W, 3) arrays")
    seed = _fresh_seed()
    for index, (photo, change, bound) in enumerate(_photos(seed)):
        shape = photo.shape
        with calls_of(_reference_output,
                      rule=_CHECKERS_OWN.format("output", "_reference_output")):
            got = numbers(call(answer, photo, change, bound), "the output")
        # the reference only now, from the photo and change drawn again: the answer can neither
        # read it nor change what it is computed from
        photo, change, bound = _photos(seed)[index]
        want = _reference_output(photo, change, bound)
        if got.shape != want.shape:
            raise Failed(f"for a photo of shape {shape} the output should have that shape, "
                         f"yours has {got.shape}")
        if not np.all(np.isfinite(got)):
            raise Failed("your output has nan or inf where the photo is 0 or 1: clip the photo "
                         "into [0.001, 0.999] before its logit")
        if np.allclose(got, want, atol=1e-4):
            continue
        p = np.clip(photo.astype(np.float64), 1e-3, 1 - 1e-3)
        logit = np.log(p / (1 - p))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            raw = photo.astype(np.float64)
            unclipped = _sigmoid(np.log(raw / (1 - raw)) + bound * np.tanh(change / bound))
        for wrong, why in [
                (unclipped, "clip the photo into [0.001, 0.999] before its logit: a pixel of 0 "
                            "or 1 then stays 0 or 1 whatever the change"),
                (_sigmoid(logit + change), "bound the change: bound · tanh(change / bound)"),
                (np.clip(photo + bound * np.tanh(change / bound), 0, 1),
                 "add the change to the photo's logit, not to its pixels"),
                (_sigmoid(bound * np.tanh(change / bound)),
                 "add the change to the photo's logit: the output is a change to the photo"),
                (_sigmoid(logit + np.tanh(change) * bound),
                 "divide the change by the bound inside tanh"),
                (photo, "apply the change: the untrained network returns the photo, "
                        "a trained one does not")]:
            if np.allclose(got, wrong, atol=1e-4):
                raise Failed(f"for a photo of shape {shape} and bound {bound}: {why}")
        worst = float(np.max(np.abs(got - want)))
        raise Failed(f"for a photo of shape {shape} and bound {bound} your output differs from "
                     f"the reference by up to {worst:.3g}")
    return ("matches on two photos you have not seen, black and white pixels included: it is "
            "transform_net's last lines.")


def _image_pairs(seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """08b.2's pairs of images from ``seed``, of drawn sizes: uniform colours, dark against
    light, and almost white against pure white."""
    rng = _generator(seed)

    def size() -> tuple[int, int, int]:
        return (*(int(n) for n in rng.integers(2, 10, 2)), 3)

    pairs = [(rng.uniform(0, 1, size()), rng.uniform(0, 1, size())),
             (rng.beta(2, 5, size()), rng.beta(5, 2, size())),
             (np.full(size(), 0.99), np.ones(size()))]
    return [(a.astype(np.float32), b.astype(np.float32)) for a, b in pairs]


def _colour_distance(answer) -> str:
    from tflab import multiscale

    require_callable(answer, "colour_distance(a, b) for two (H, W, 3) images in [0, 1]")
    seed = _fresh_seed()
    with calls_of(multiscale.histogram_distance) as library, \
            calls_of(multiscale._histogram) as counts:
        try:
            results = [number(call(answer, a, b), "the distance") for a, b in _image_pairs(seed)]
        except Failed:
            if not (library or counts):
                raise
    if library:
        raise Failed("your function calls multiscale.histogram_distance, which does the "
                     "exercise: count the colour cells yourself")
    if counts:
        raise Failed("your function calls multiscale._histogram, the course's own count of the "
                     "colour cells, which is most of this exercise: count them yourself "
                     "(np.bincount or np.histogramdd)")
    # the references only now, from the images drawn again: what the answer was handed, or
    # found in this frame while it ran, cannot change them
    for (a, b), got in zip(_image_pairs(seed), results):
        want = multiscale.histogram_distance(a, b)
        if np.isclose(got, want, atol=1e-6):
            continue
        if np.isclose(got, 2 * want, atol=1e-6):
            raise Failed(f"you return {got:.4g}, twice the reference {want:.4g}: take half "
                         "the summed absolute difference")
        per_channel = [multiscale.histogram_distance(a[..., [k] * 3], b[..., [k] * 3])
                       for k in range(3)]  # one channel's 8 bins: its grey image's 512 cells
        if any(np.isclose(got, value, atol=1e-6)
               for value in (sum(per_channel), np.mean(per_channel), max(per_channel))):
            raise Failed(f"for images of sizes {a.shape[:2]} and {b.shape[:2]} you return "
                         f"{got:.4g}, the reference {want:.4g}: you compare each channel's 8 "
                         "bins on their own; count the pixels in the 512 cells of their "
                         "(r, g, b) bins together, so that two images with the same amounts of "
                         "red, green and blue, but in other colours, differ")
        raise Failed(f"for images of sizes {a.shape[:2]} and {b.shape[:2]} the distance is "
                     f"{want:.4g}; yours is {got:.4g} (8 bins per channel, value 1.0 in the "
                     "last bin, shares of pixels, not counts)")
    return ("matches multiscale.histogram_distance on three pairs you have not seen, pure "
            "white and images of different sizes included.")


EXERCISES = [
    Exercise("08b", 1, "Write stylise(photo, change, bound) for a photo (H, W, 3) in [0, 1] "
             "and a change of the same shape, in logits: what transform_net's last lines do with "
             "the last convolution's output. Clip the photo into [0.001, 0.999], take its logit "
             "log(p / (1 − p)), add the change bounded as bound · tanh(change / bound), and "
             "map back with the sigmoid.", _stylise,
             ["Four NumPy lines: np.clip, np.log(p / (1 - p)), np.tanh, and 1 / (1 + np.exp(-z)).",
              "p = np.clip(photo, 1e-3, 1 - 1e-3); z = np.log(p / (1 - p)) + bound * "
              "np.tanh(change / bound); return 1 / (1 + np.exp(-z))"],
             """import numpy as np

def stylise(photo, change, bound):
    p = np.clip(photo, 1e-3, 1 - 1e-3)
    z = np.log(p / (1 - p)) + bound * np.tanh(change / bound)
    return 1 / (1 + np.exp(-z))

answer = stylise"""),
    Exercise("08b", 2, "Write colour_distance(a, b) for two (H, W, 3) images in [0, 1], of any "
             "sizes: cut each channel into 8 equal bins (a value of 1.0 goes in the last bin), "
             "count each image's pixels in the 512 colour cells as shares of its pixels, and "
             "return half the summed absolute difference of the two images' shares: section 3's "
             "colour histogram distance, written without multiscale.histogram_distance.",
             _colour_distance,
             ["Section 3's cell counts one channel; for three at once, either "
              "np.histogramdd(image.reshape(-1, 3), bins=8, range=[(0, 1)] * 3), or a pixel's "
              "cell r * 64 + g * 8 + b from the bins np.minimum((image * 8).astype(int), 7) and "
              "np.bincount(cells.ravel(), minlength=512) to count them.",
              "Divide each count vector by its image's number of pixels, then "
              "0.5 * np.abs(p - q).sum()."],
             """import numpy as np

def colour_distance(a, b):
    def shares(image):
        bins = np.minimum((np.asarray(image) * 8).astype(int), 7)
        cells = bins[..., 0] * 64 + bins[..., 1] * 8 + bins[..., 2]
        return np.bincount(cells.ravel(), minlength=512) / cells.size
    return 0.5 * np.abs(shares(a) - shares(b)).sum()

answer = colour_distance"""),
]


def _normalised(x, axes, eps=1e-3, ddof=0):
    x = x.astype(np.float64)
    mean = x.mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(x.var(axis=axes, keepdims=True, ddof=ddof) + eps)


def _batches(seed: int) -> list[np.ndarray]:
    """Three batches (B, H, W, C) from ``seed``, of drawn sizes: channels of different means and
    spreads, a faint channel (its variance below epsilon) and a constant channel. In the last,
    W = B: there statistics of shape (B, C), taken without keepdims, broadcast against the batch
    without an error (along W and C), elsewhere they raise one."""
    rng = _generator(seed)
    batches = []
    for index in range(3):
        b, h, c = (int(n) for n in rng.integers(2, [4, 8, 5]))
        w = b if index == 2 else int(rng.choice([n for n in range(2, 7) if n != b]))
        shape = (b, h, w, c)
        spread = rng.uniform(0.5, 4.0, (b, 1, 1, c))
        spread[0, 0, 0, -1] = 0.01                  # faint: epsilon matters
        centre = rng.uniform(-3.0, 3.0, (b, 1, 1, c))
        x = rng.normal(0.0, 1.0, shape) * spread + centre
        x[-1, :, :, 0] = rng.uniform(-1.0, 1.0)     # constant: 0 / 0 without epsilon
        batches.append(x.astype(np.float32))
    return batches


def _instance_norm(answer) -> str:
    import keras

    require_callable(answer, "instance_norm(x) for a batch of feature maps (B, H, W, C)")
    with contextlib.ExitStack() as forbidden:
        # GroupNormalization(groups=-1), LayerNormalization(axis=[1, 2]), and
        # BatchNormalization in training on the positions as its batch, all do the exercise
        for layer in (keras.layers.GroupNormalization, keras.layers.LayerNormalization,
                      keras.layers.BatchNormalization):
            forbidden.enter_context(calls_of(layer.call, rule=(
                f"your function calls keras.layers.{layer.__name__}, a normalisation layer, "
                "which does the exercise: compute each channel's mean and variance yourself")))
        forbidden.enter_context(calls_of(_normalised, rule=_CHECKERS_OWN.format(
            "normalisation", "_normalised")))
        seed = _fresh_seed()
        results = [_normalised_by(answer, x) for x in _batches(seed)]
    for x, result in zip(_batches(seed), results):
        shape = x.shape
        try:
            got = np.asarray(result, dtype=np.float64)
        except (TypeError, ValueError):
            raise Failed(f"the output should be an array of numbers, not "
                         f"{type(result).__name__}") from None
        if got.shape != shape:
            raise Failed(f"for a batch of shape {shape} the output should have that shape, "
                         f"yours has {got.shape}")
        if not np.all(np.isfinite(got)):
            raise Failed(f"for a batch of shape {shape} your output has nan or inf where a "
                         "channel is constant (all its values equal, variance 0): add epsilon, "
                         "1e-3, to the variance before the square root")
        want = _normalised(x, (1, 2))
        if np.allclose(got, want, atol=1e-4):
            continue
        x64 = x.astype(np.float64)
        mean = x64.mean(axis=(1, 2), keepdims=True)
        var = x64.var(axis=(1, 2), keepdims=True)
        constant = np.broadcast_to(var < 1e-12, shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            no_epsilon = np.where(constant, got, (x64 - mean) / np.sqrt(var))
        for wrong, why in [
                (x64, "you return the batch unchanged"),
                (no_epsilon, "add epsilon, 1e-3, to the variance before the square root: "
                             "without it a constant channel (variance 0) divides 0 by 0, and a "
                             "faint one is blown up to a spread of 1"),
                (_normalised(x, (0, 1, 2)),
                 "you normalise each channel over the whole batch (axes 0, 1 and 2): that is "
                 "batch normalisation; instance normalisation uses each image's own positions "
                 "(axes 1 and 2)"),
                (_normalised(x, (1, 2, 3)),
                 "you normalise all the channels of an image together (axes 1, 2 and 3): "
                 "normalise each channel on its own (axes 1 and 2)"),
                (_normalised(x, (0, 1, 2, 3)),
                 "you normalise the whole batch at once: each channel of each image has its own "
                 "mean and variance (axes 1 and 2)"),
                (_normalised(x, (1, 2), ddof=1),
                 "take the variance over the positions as np.var does (divide by H·W, not "
                 "H·W − 1)"),
                ((x64 - mean) / (np.sqrt(var) + 1e-3),
                 "add epsilon to the variance, inside the square root: "
                 "(x − mean) / sqrt(variance + 1e-3)"),
                ((x64 - mean) / (var + 1e-3),
                 "divide by the square root of variance + epsilon, not by the variance"),
                (x64 / np.sqrt(var + 1e-3), "subtract each channel's mean first"),
                (_without_keepdims(x64),
                 "take the mean and variance with keepdims=True: without it their shape "
                 "(B, C) lines up with the batch's last two axes (W, C), so each value gets "
                 "another image's statistics (here W = B, so NumPy broadcasts without an "
                 "error); with it their shape (B, 1, 1, C) broadcasts over the positions"),
                (_normalised(x, (1, 2), eps=1e-5),
                 "epsilon is 1e-3 here (GroupNormalization's default, norm.epsilon), not 1e-5: "
                 "a faint channel shows the difference")]:
            # float32 rounding, blown up where a mistake divides by a small variance
            if np.allclose(got, wrong, rtol=1e-3, atol=1e-3):
                raise Failed(f"for a batch of shape {shape}: {why}")
        worst = float(np.max(np.abs(got - want)))
        raise Failed(f"for a batch of shape {shape} your output differs from the reference by "
                     f"up to {worst:.3g}: subtract each channel's mean over the positions of its "
                     "own image and divide by sqrt(variance + 1e-3)")
    return ("matches on three batches you have not seen, a faint and a constant channel "
            "included: what GroupNormalization(groups=-1) does in conv_block before its learned "
            "scale and offset (which start at 1 and 0).")


_KEEPDIMS = ("take the mean and variance with keepdims=True, so that their shape (B, 1, 1, C) "
             "broadcasts against the batch (B, H, W, C); without it their shape (B, C) lines up "
             "with the batch's last two axes (W, C)")


def _normalised_by(answer, x: np.ndarray):
    """The answer's output for ``x``; an error from statistics that do not broadcast (taken
    without keepdims) says so."""
    try:
        return call(answer, x)
    except Failed as failure:
        if not any(words in str(failure) for words in ("could not be broadcast",
                                                       "Incompatible shapes")):
            raise
        raise Failed(f"for a batch of shape {x.shape} {str(failure)[0].lower()}"
                     f"{str(failure)[1:]}: {_KEEPDIMS}") from None


def _without_keepdims(x: np.ndarray) -> np.ndarray:
    """What an answer gets that took the statistics without keepdims, where they broadcast
    (W = B); ``x`` itself elsewhere, which is checked before."""
    mean, var = x.mean(axis=(1, 2)), x.var(axis=(1, 2))
    try:
        return (x - mean) / np.sqrt(var + 1e-3)
    except ValueError:
        return x


TRY_ITS = [
    Exercise("08b", 1, "Write instance_norm(x) for a batch of feature maps x of shape "
             "(B, H, W, C): from each channel of each image subtract its mean over the positions "
             "(H and W) and divide by the square root of its variance over them plus epsilon, "
             "1e-3: what GroupNormalization(groups=-1) does in section 2's conv_block, before its "
             "learned scale and offset, written without that layer or another Keras "
             "normalisation layer.", _instance_norm,
             ["The statistics cell above takes the mean over the positions with "
              ".mean(axis=(1, 2)); keepdims=True keeps a shape (B, 1, 1, C) that broadcasts "
              "against x. np.var takes the variance the same way.",
              "mean = x.mean(axis=(1, 2), keepdims=True); var = x.var(axis=(1, 2), "
              "keepdims=True); return (x - mean) / np.sqrt(var + 1e-3)"],
             """import numpy as np

def instance_norm(x):
    mean = x.mean(axis=(1, 2), keepdims=True)
    var = x.var(axis=(1, 2), keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-3)

answer = instance_norm""", try_it=True),
]
