"""Exercises of lesson 08b, fast style transfer: the network's bounded output, and a judge that
uses no network (the colour histogram distance)."""

from __future__ import annotations

import numpy as np

from tflab.exercises.core import Exercise, Failed, call, calls_of, number, numbers, require_callable


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _reference_output(photo, change, bound):
    p = np.clip(photo.astype(np.float64), 1e-3, 1 - 1e-3)
    return _sigmoid(np.log(p / (1 - p)) + bound * np.tanh(change.astype(np.float64) / bound))


def _stylise(answer) -> str:
    require_callable(answer, "stylise(photo, change, bound) for (H, W, 3) arrays")
    rng = np.random.default_rng(880)
    for shape, bound in [((4, 5, 3), 1.5), ((6, 3, 3), 0.5)]:
        photo = rng.uniform(0, 1, shape).astype(np.float32)
        photo[0, 0] = 0.0   # a black pixel and a white one: the logit needs the clip
        photo[-1, -1] = 1.0
        change = rng.normal(0, 3, shape).astype(np.float32)
        want = _reference_output(photo, change, bound)
        got = numbers(call(answer, photo.copy(), change.copy(), bound), "the output")
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


def _colour_distance(answer) -> str:
    from tflab import multiscale

    require_callable(answer, "colour_distance(a, b) for two (H, W, 3) images in [0, 1]")
    rng = np.random.default_rng(881)
    cases = [(rng.uniform(0, 1, (6, 8, 3)), rng.uniform(0, 1, (5, 5, 3))),
             (rng.beta(2, 5, (7, 4, 3)), rng.beta(5, 2, (9, 9, 3))),
             (np.full((3, 3, 3), 0.99), np.ones((2, 4, 3)))]
    cases = [(a.astype(np.float32), b.astype(np.float32)) for a, b in cases]
    with calls_of(multiscale.histogram_distance) as library:
        results = [number(call(answer, a.copy(), b.copy()), "the distance") for a, b in cases]
    if library:
        raise Failed("your function calls multiscale.histogram_distance, which does the "
                     "exercise: count the colour cells yourself")
    for (a, b), got in zip(cases, results):
        want = multiscale.histogram_distance(a, b)
        if np.isclose(got, want, atol=1e-6):
            continue
        if np.isclose(got, 2 * want, atol=1e-6):
            raise Failed(f"you return {got:.4g}, twice the reference {want:.4g}: take half "
                         "the summed absolute difference")
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
             ["A pixel's cell: np.minimum((image * 8).astype(int), 7) per channel, then "
              "r * 64 + g * 8 + b. np.bincount(cells.ravel(), minlength=512) counts them.",
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
