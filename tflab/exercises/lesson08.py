"""Exercises of lesson 08, neural style transfer: Gram matrices, total variation, resizing."""

from __future__ import annotations

import random

import numpy as np

from tflab.exercises.core import Exercise, Failed, call, calls_of, number, numbers, require_callable

#: NumPy's generator, as the course imported it: an answer that rebinds np.random.default_rng
#: cannot change the inputs the checkers draw again (the course's module names come back when
#: the answer returns)
_generator = np.random.default_rng


def _fresh_seed() -> int:
    """A seed drawn at check time from the operating system, so that every check has new inputs
    (no table of answers can know them; tests patch this). While the answer runs, the checker
    holds only this int, which the answer cannot change; it draws the inputs again from it once
    the answer has returned, and computes the reference from those."""
    return random.SystemRandom().randrange(2**63)


def _features(seed: int) -> list[np.ndarray]:
    """08.1's feature maps from ``seed``: one example, then a batch of two to four, each of a
    drawn size; C < H·W and, in the batch, C ≠ B, so that each wrong divisor has its own factor."""
    rng = _generator(seed)
    shapes = []
    for batch in (1, int(rng.integers(2, 5))):
        h, w = (int(n) for n in rng.integers(3, 9, 2))
        shapes.append((batch, h, w, int(rng.choice([c for c in range(2, 9) if c != batch]))))
    return [rng.normal(size=shape).astype(np.float32) for shape in shapes]


def _gram(answer) -> str:
    from tflab import multiscale

    require_callable(answer, "gram(features) for (B, H, W, C) arrays")
    seed = _fresh_seed()
    for index, f in enumerate(_features(seed)):
        shape = f.shape
        with calls_of(multiscale._gram) as library:  # by any name
            got = call(answer, f)
        if library:
            raise Failed("your gram calls the course's own Gram matrix (multiscale._gram), which "
                         "does the exercise: multiply the features with themselves yourself "
                         "(np.einsum, or reshape to (B, H·W, C) and matmul)")
        got = numbers(got, "the Gram matrix")
        # the reference only now, from features drawn again: what the answer could reach while
        # it ran (the features it was handed, this frame) cannot change it
        f = _features(seed)[index].astype(np.float64)
        want = np.einsum("bijc,bijd->bcd", f, f) / (shape[1] * shape[2])
        if got.shape != want.shape:
            raise Failed(f"for features of shape {shape} the Gram matrix should have shape "
                         f"{want.shape}, yours has {got.shape}")
        if np.allclose(got, want, rtol=1e-4, atol=1e-4):
            continue
        raise Failed(_gram_mistake(f, got, want))
    return "matches the reference on inputs you have not seen."


def _gram_mistake(f: np.ndarray, got: np.ndarray, want: np.ndarray) -> str:
    """What is wrong with a Gram matrix ``got`` of the right shape: a known mistake where it
    is one (a wrong divisor, a reshape that mixes positions and channels), else by how much."""
    b, h, w, c = f.shape
    shape = f.shape
    mixed = f.reshape(b, c, h * w)  # reshape straight to channels first: positions and channels
    for factor, why in [  # got == want × factor
            (h * w, "you did not divide by H·W, the number of positions: the Gram matrix is "
                    "an average over the positions, so that images of any size compare"),
            (1 / (h * w), "you divided by H·W twice: divide the sums over positions by H·W once"),
            (1 / c, "you divided by H·W·C, the number of values of one example: divide by "
                    "H·W, the number of positions, only"),
            (1 / b, "you divided by B·H·W: each example of the batch has its own Gram matrix, "
                    "an average over its own H·W positions")]:
        if np.allclose(got, want * factor, rtol=1e-4, atol=1e-6):
            return (f"for features of shape {shape} your values are {factor:.3g} × the "
                    f"reference: {why}")
    for wrong, why in [
            (mixed @ mixed.transpose(0, 2, 1) / (h * w),
             "you reshaped (B, H, W, C) straight to (B, C, H·W), which mixes positions and "
             "channels (reshape keeps the order of the values): reshape to (B, H·W, C), or "
             "transpose before reshaping"),
            (np.einsum("bijc,bijd->cd", f, f)[None].repeat(b, axis=0) / (b * h * w),
             "you averaged over the whole batch: each example has its own Gram matrix")]:
        if np.allclose(got, wrong, rtol=1e-4, atol=1e-4):
            return f"for features of shape {shape}: {why}"
    worst = float(np.max(np.abs(got - want)))
    return (f"for features of shape {shape} the values differ from the reference by up to "
            f"{worst:.3g}: entry (b, c, d) is the sum over the positions (i, j) of "
            "f[b, i, j, c] · f[b, i, j, d], divided by H·W")


def _images(seed: int) -> list[np.ndarray]:
    """08.2's images from ``seed``: three channels, then one, each of a drawn size."""
    rng = _generator(seed)
    return [rng.uniform(0, 1, (*(int(n) for n in rng.integers(3, 11, 2)), channels))
            .astype(np.float32) for channels in (3, 1)]


def _variation(answer) -> str:
    import inspect

    import tensorflow as tf

    total_variation = inspect.unwrap(tf.image.total_variation)  # past TensorFlow's wrappers
    require_callable(answer, "variation(image) for one (H, W, C) image")
    seed = _fresh_seed()
    for index, image in enumerate(_images(seed)):
        shape = image.shape
        with calls_of(total_variation) as library:  # by any name
            got = call(answer, image)
        if library:
            raise Failed("your variation calls tf.image.total_variation, which does the "
                         "exercise: compute the neighbours' differences yourself (np.diff)")
        got = number(got, "the variation")
        # the reference only now, once the answer has returned, from the image drawn again:
        # it cannot be read, nor changed through the image the answer was handed, while it runs
        image = _images(seed)[index]
        down = np.abs(np.diff(image, axis=0)).sum()
        across = np.abs(np.diff(image, axis=1)).sum()
        want = (down + across) / image.size
        if np.isclose(got, want, rtol=1e-4):
            continue
        for wrong, why in [(down + across, "divide by the number of values H·W·C"),
                           (down / image.size, "add the differences across columns too"),
                           (across / image.size, "add the differences down rows too"),
                           ((np.square(np.diff(image, axis=0)).sum() +
                             np.square(np.diff(image, axis=1)).sum()) / image.size,
                            "use absolute differences, not squares")]:
            if np.isclose(got, wrong, rtol=1e-4):
                raise Failed(f"for a {shape} image you return {got:.4g}, the reference "
                             f"{want:.4g}: {why}")
        raise Failed(f"for a {shape} image the variation is {want:.4g}; yours is {got:.4g}")
    return "matches on two images you have not seen; it is variation_loss of section 3."


def _resize(answer) -> str:
    require_callable(answer, "resize(image, max_side) returning (H', W', C)")
    from tflab import data, style

    with calls_of(style.resize) as library, calls_of(data._to_float_rgb) as loader:
        try:
            verdict = _check_resize(answer)
        except Failed:
            if not (library or loader):
                raise
            verdict = ""
    if library:
        raise Failed("your function calls tflab.style.resize, the function this exercise asks "
                     "you to write: compute the new size and call tf.image.resize yourself")
    if loader:
        raise Failed("your function calls the course's image loader (data._to_float_rgb), "
                     "which already resizes to a longer side: compute the new size and call "
                     "tf.image.resize yourself")
    return verdict


def _pictures(seed: int) -> list[tuple[np.ndarray, int]]:
    """08.3's (image, max_side) from ``seed``: landscape, portrait, square, uneven. Each a
    smooth picture (a coarse random grid, blown up) with a black and a white bar, whose sharp
    edges make bicubic overshoot: smoothing filters all stay close on it."""
    import tensorflow as tf

    rng = _generator(seed)
    pictures = []
    for (h, w), side in [((60, 90), 30), ((80, 40), 50), ((33, 33), 11), ((47, 71), 30)]:
        coarse = rng.uniform(0.1, 0.9, (1, 4, 4, 3)).astype(np.float32)
        image = tf.image.resize(coarse, (h, w), method="bilinear")[0].numpy()
        image[h // 4:h // 4 + max(2, h // 6)] = 1.0
        image[:, w // 2:w // 2 + max(2, w // 6)] = 0.0
        pictures.append((image, side))
    return pictures


def _check_resize(answer) -> str:
    import tensorflow as tf

    seed = _fresh_seed()
    for index, (image, side) in enumerate(_pictures(seed)):
        h, w = image.shape[:2]
        got = numbers(call(answer, image, side), "the resized image")
        image = _pictures(seed)[index][0]  # drawn again: the answer cannot change it
        scale = side / max(h, w)
        want = (round(h * scale), round(w * scale), 3)
        if got.shape != want:
            raise Failed(f"a {h} × {w} image resized to a longer side of {side} should be "
                         f"{want[0]} × {want[1]} (aspect ratio kept, each side rounded to the "
                         f"nearest pixel), shape {want}; yours has shape {got.shape}")
        if got.min() < -1e-3 or got.max() > 1 + 1e-3:
            raise Failed("the pixels should stay floats in [0, 1] (clip after bicubic resizing)")
        if abs(float(got.mean()) - float(image.mean())) > 0.05:
            raise Failed("the resized image's mean brightness changed: resize, do not crop or pad")
        reference = tf.clip_by_value(tf.image.resize(image, want[:2], method="bicubic"), 0, 1)
        error = float(np.abs(got - reference.numpy()).mean())
        if error > 0.08:
            raise Failed(f"a {h} × {w} image resized to {want[0]} × {want[1]} differs from the "
                         f"picture it was, resized, by {error:.3f} on average (allowed 0.08): "
                         "return the image itself, resized, not other pixels of that shape")
    return "right sizes for landscape, portrait and square images."


EXERCISES = [
    Exercise("08", 1, "Write gram(features) for feature maps of shape (B, H, W, C), returning "
             "(B, C, C) channel correlations divided by H·W.", _gram,
             ["Flatten the H and W axes into one axis of positions.",
              "np.einsum('bijc,bijd->bcd', f, f) / (H * W)."],
             """import numpy as np

def gram(f):
    b, h, w, c = f.shape
    return np.einsum("bijc,bijd->bcd", f, f) / (h * w)

answer = gram"""),
    Exercise("08", 2, "Write variation(image) for one (H, W, C) image: the sum of the absolute "
             "differences between vertically and horizontally neighbouring pixels, divided by "
             "H·W·C: what `variation_loss` of section 3 gets from `tf.image.total_variation`, "
             "for one image, written without that function.", _variation,
             ["np.diff(image, axis=0) gives the differences down the rows (TensorFlow's "
              "tf.image.image_gradients gives both kinds for a batch, padded with zeros: "
              "fine too, as any way of taking the differences is).",
              "(np.abs(np.diff(image, axis=0)).sum() + np.abs(np.diff(image, axis=1)).sum()) "
              "/ image.size"],
             """import numpy as np

def variation(image):
    down = np.abs(np.diff(image, axis=0)).sum()
    across = np.abs(np.diff(image, axis=1)).sum()
    return (down + across) / image.size

answer = variation"""),
    Exercise("08", 3, "Write resize(image, max_side) for one (H, W, 3) image in [0, 1]: scale it "
             "so that its longer side is max_side pixels, keep the aspect ratio (round each side "
             "to the nearest pixel) and the values in [0, 1], and return an (H′, W′, 3) array, "
             "not a batch of one as `style.resize` does.", _resize,
             ["The scale factor is max_side / max(H, W); apply it to both sides.",
              "tf.image.resize(image, (round(h * s), round(w * s)), method='bicubic'), then "
              "tf.clip_by_value(..., 0.0, 1.0)."],
             """import tensorflow as tf

def resize(image, max_side):
    h, w = image.shape[:2]
    s = max_side / max(h, w)
    out = tf.image.resize(image, (round(h * s), round(w * s)), method="bicubic")
    return tf.clip_by_value(out, 0.0, 1.0).numpy()

answer = resize"""),
]


def _pairs(seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Try it 08.1's (x, target) pairs from ``seed``: two, four and one dimensions, of drawn
    sizes."""
    rng = _generator(seed)
    pairs = []
    for dimensions in (2, 4, 1):
        shape = tuple(int(n) for n in rng.integers(2, 8, dimensions))
        target = rng.normal(1.0, 2.0, shape).astype(np.float32)
        pairs.append(((target + rng.normal(0.0, 1.5, shape)).astype(np.float32), target))
    return pairs


def _relative_distance(answer) -> str:
    from tflab import multiscale

    require_callable(answer, "relative_distance(x, target) for two arrays of one shape")
    seed = _fresh_seed()
    for index, (x, target) in enumerate(_pairs(seed)):
        shape = x.shape
        with calls_of(multiscale._relative, rule=(
                "your function calls the course's own distance (multiscale._relative), which "
                "is what this exercise asks you to write: compute it with np.mean yourself")):
            got = number(call(answer, x, target), "the relative distance")
        # the reference only now, from the arrays drawn again: the answer can neither read it
        # nor change what it is computed from
        x, target = _pairs(seed)[index]
        want = float(np.mean((x - target) ** 2) / np.mean(target ** 2))
        if np.isclose(got, want, rtol=1e-4):
            continue
        for wrong, why in [
                (np.mean((x - target) ** 2), "divide by the mean square of the target"),
                (np.mean((x - target) ** 2) / np.mean(x ** 2),
                 "divide by the mean square of the target, not of x"),
                (np.sqrt(want), "keep the squares: no square root"),
                (np.mean(np.abs(x - target)) / np.mean(np.abs(target)),
                 "square the differences and the target, not absolute values"),
                (np.sum((x - target) ** 2) / np.mean(target ** 2),
                 "take the mean of the squared differences, not their sum")]:
            if np.isclose(got, wrong, rtol=1e-4):
                raise Failed(f"for arrays of shape {shape} you return {got:.4g}, the reference "
                             f"{want:.4g}: {why}")
        raise Failed(f"for arrays of shape {shape} the relative distance is {want:.4g}; "
                     f"yours is {got:.4g}")
    if not np.isclose(number(call(answer, target.copy(), target.copy()), "the distance"), 0.0,
                      atol=1e-6):
        raise Failed("an array's distance to itself should be 0")
    return ("matches on three pairs of arrays you have not seen: each term of style_loss and "
            "content_loss is this distance.")


TRY_ITS = [
    Exercise("08", 1, "Write relative_distance(x, target) for two arrays of the same shape: the "
             "mean squared difference between them divided by the mean square of the target, "
             "the distance each term of section 3's style_loss and content_loss computes (for a "
             "Gram matrix, and for the content maps).", _relative_distance,
             ["Look at the list comprehension in style_loss: tf.reduce_mean(tf.square(a - b)) "
              "divided by tf.reduce_mean(tf.square(b)); NumPy has np.mean and np.square.",
              "np.mean(np.square(x - target)) / np.mean(np.square(target))"],
             """import numpy as np

def relative_distance(x, target):
    return np.mean(np.square(x - target)) / np.mean(np.square(target))

answer = relative_distance""", try_it=True),
]
