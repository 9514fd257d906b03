"""Exercises of lesson 05, load once and score many: image files, batches, the REST API;
its Try it: the model input from a picture of any size (the train/serve skew)."""

from __future__ import annotations

import http.client
import json
import math
import tempfile
import threading
from pathlib import Path

import numpy as np

from tflab.exercises.core import Exercise, Failed, call, calls_of, require_callable

# (width, height, Pillow mode, ink colour, paper colour) of the pictures 05.1 is judged on
_PICTURES = [(28, 28, "L", (0, 0, 0), (255, 255, 255)),
             (200, 200, "L", (30, 30, 30), (255, 255, 255)),
             (64, 64, "RGB", (20, 40, 160), (255, 255, 255)),
             (150, 100, "RGB", (0, 0, 0), (240, 236, 225)),
             (90, 160, "L", (0, 0, 0), (250, 250, 250))]
_MEAN_TOLERANCE = 0.012  # bilinear, bicubic, Lanczos and box filters all stay below 0.011
# 05.1 asks for the grey levels and the inversion: imaging's functions that do them are off
# limits (reading, padding and resizing with read_image, pad_to_square, resize_square is fine)
_STEP_RULE = ("your preprocess calls imaging.{name}, {what}: turn the picture into grey levels "
              "and invert them yourself (Pillow's .convert('L'), then 1 − pixels); "
              "imaging.read_image, pad_to_square and resize_square may do the other steps")


def _draw_digit(path: Path, rng: np.random.Generator, width: int, height: int, mode: str,
                ink: tuple, paper: tuple) -> Path:
    """A digit-like loop and stroke in ``ink`` on ``paper``, saved as a PNG."""
    _digit_picture(rng, width, height, mode, ink, paper).save(path)
    return path


def _digit_picture(rng: np.random.Generator, width: int, height: int, mode: str,
                   ink: tuple, paper: tuple):
    """A digit-like loop and stroke in ``ink`` on ``paper``: a Pillow image of ``mode``."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), paper)
    draw = ImageDraw.Draw(image)
    side = min(width, height)
    cx = width / 2 + rng.uniform(-0.08, 0.08) * side
    cy = height / 2 + rng.uniform(-0.08, 0.08) * side
    rx, ry = rng.uniform(0.12, 0.22) * side, rng.uniform(0.25, 0.35) * side
    stroke = max(2, round(side / 12))
    draw.ellipse([cx - rx, cy - ry, cx + rx, cy + ry * 0.2], outline=ink, width=stroke)
    draw.line([cx + rx, cy - ry * 0.4, cx + rx * rng.uniform(-1, 1), cy + ry], fill=ink,
              width=stroke)
    return image.convert(mode)


def _preprocess(answer) -> str:
    from tflab import imaging

    require_callable(answer, "preprocess(path) returning 784 float32 pixels")
    with tempfile.TemporaryDirectory() as tmp:
        for i, (width, height, mode, ink, paper) in enumerate(_PICTURES):
            what = f"the {width}×{height} {mode} picture"
            path = _draw_digit(Path(tmp) / f"digit{i}.png", np.random.default_rng(505 + i),
                               width, height, mode, ink, paper)
            with calls_of(imaging.preprocess_image, _STEP_RULE.format(
                    name="preprocess_image", what="the function this exercise asks you to "
                    "write")), calls_of(imaging.ink_pixels, _STEP_RULE.format(
                    name="ink_pixels", what="section 5's grey-and-invert step")):
                got = call(answer, path)
                if hasattr(got, "numpy") and not isinstance(got, np.ndarray):
                    got = call(got.numpy)  # a tf.Tensor is fine too (still the answer's code)
            if not isinstance(got, np.ndarray):
                raise Failed(f"preprocess should return a NumPy array, not {type(got).__name__}")
            got = np.array(got)  # a plain copy: a subclass of the answer's cannot compare itself
            # The reference only now, from the picture drawn afresh in memory: while the answer
            # ran it did not exist, and whatever the answer did to the file does not count.
            want = imaging.preprocess_image(_digit_picture(np.random.default_rng(505 + i),
                                                            width, height, mode, ink, paper))
            if got.shape != (784,):
                raise Failed(f"for {what} your array has shape {got.shape}; return the 784 "
                             "pixels as shape (784,) (.reshape(784))")
            if got.dtype != np.float32:
                raise Failed(f"your pixels are {got.dtype}; the model's signature takes float32 "
                             "(.astype(np.float32))")
            if got.max() > 1.0 or got.min() < 0.0:
                raise Failed(f"for {what} your pixels go from {got.min():.3g} to {got.max():.3g}; "
                             "they should be in [0, 1]: divide the 0–255 grey levels by 255")
            error = float(np.abs(got - want).mean())
            if error <= _MEAN_TOLERANCE:
                continue
            if np.abs((1 - got) - want).mean() < error / 2:
                raise Failed(f"for {what} your digit is dark on a light background; MNIST digits "
                             "are white on black: use 1 − pixels")
            if width != height and _white_padding(got, want):
                raise Failed(f"for {what} the padding around your digit came out white: you "
                             "padded the dark-on-light picture with black, then inverted it. "
                             "Pad after inverting (white digit, black padding), or pad with the "
                             "paper's colour")
            if width != height:
                raise Failed(f"for {what} your pixels differ from the reference by {error:.3f} "
                             f"on average (allowed {_MEAN_TOLERANCE}): pad the picture to a "
                             "square, digit centred, before resizing, or the digit is stretched")
            raise Failed(f"for {what} your pixels differ from the reference by {error:.3f} on "
                         f"average (allowed {_MEAN_TOLERANCE}): convert to grey, resize to "
                         "28×28 with a smoothing filter (Image.Resampling.BILINEAR, or "
                         "tf.image.resize with antialias=True), invert")
    return f"within {_MEAN_TOLERANCE} of imaging.preprocess_image on {len(_PICTURES)} new pictures."


def _white_padding(got: np.ndarray, want: np.ndarray) -> bool:
    """Whether an edge of ``got`` (28×28 flattened) that is black padding in ``want`` came out
    mostly white: a picture padded with black before it was inverted."""
    got, want = got.reshape(28, 28), want.reshape(28, 28)
    edges = [(0, slice(None)), (-1, slice(None)), (slice(None), 0), (slice(None), -1)]
    return any(got[edge].mean() > 0.5 and want[edge].mean() < 0.25 for edge in edges)


_TRY_SIDES = (28, 29, 27, 32, 64, 120)  # square uint8 pictures Try it 05.1 is judged on


def _try_pictures() -> list[np.ndarray]:
    """White digit-like strokes on black (0–255, uint8), one square picture per side."""
    rng = np.random.default_rng(5051)
    return [np.asarray(_digit_picture(rng, side, side, "L", (255, 255, 255), (0, 0, 0)))
            for side in _TRY_SIDES]


_CHECKERS_OWN_INPUT = ("your function calls the checker's own correct pipeline "
                       "(lesson05._reference_input), which is what this Try it asks you to "
                       "write: write it yourself")


def _reference_input(image: np.ndarray) -> np.ndarray:
    """The correct pipeline: resize the picture to 28×28 (bilinear), scale to [0, 1]."""
    from PIL import Image

    small = Image.fromarray(image).resize((28, 28), Image.Resampling.BILINEAR)
    return (np.asarray(small, dtype=np.float32) / 255).reshape(1, 784)


def _wrapped(image: np.ndarray) -> np.ndarray:
    """What ``ndarray.resize((1, 784))`` makes of ``image / 255``: its first 784 values,
    zero-padded when it has fewer (the rows wrap at 28 pixels instead of the picture's side)."""
    flat = image.astype(np.float32).ravel() / 255
    out = np.zeros(784, np.float32)
    out[:min(784, flat.size)] = flat[:784]
    return out.reshape(1, 784)


def _model_input(answer) -> str:
    require_callable(answer, "to_input(image) returning the (1, 784) float32 model input")
    pictures = _try_pictures()
    results = []
    for image in pictures:
        what = f"the {image.shape[0]}×{image.shape[1]} picture"
        with calls_of(_reference_input, rule=_CHECKERS_OWN_INPUT):
            got = call(answer, image.copy())
            if hasattr(got, "numpy") and not isinstance(got, np.ndarray):
                got = call(got.numpy)  # a tf.Tensor is fine too (still the answer's code)
        if not isinstance(got, np.ndarray):
            raise Failed(f"to_input should return a NumPy array, not {type(got).__name__}")
        got = np.array(got)  # a plain copy: a subclass of the answer's cannot compare itself
        if got.shape != (1, 784):
            raise Failed(f"for {what} your array has shape {got.shape}; the model takes a batch "
                         "of rows of 784 pixels: return shape (1, 784)"
                         + (" (.reshape(1, 784))" if got.size == 784 else
                            ", after resizing the picture itself to 28×28"))
        if got.dtype != np.float32:
            raise Failed(f"your pixels are {got.dtype}; the model's signature takes float32 "
                         "(.astype(np.float32))")
        if not np.all(np.isfinite(got)):
            raise Failed(f"for {what} your pixels contain NaN or infinite values")
        if got.max() > 1.5:
            raise Failed(f"for {what} your pixels go from {got.min():.3g} to {got.max():.3g}: "
                         "the model was trained on x / 255, in [0, 1]; 0–255 grey levels are the "
                         "guide's skew: divide by 255")
        if got.max() > 1.01 or got.min() < -0.01:  # a filter's overshoot of 0.01 is fine
            raise Failed(f"for {what} your pixels go from {got.min():.3g} to {got.max():.3g}; "
                         "the model's pixels are in [0, 1]")
        results.append(got)
    wants = [_reference_input(image) for image in pictures]
    if all(np.array_equal(results[0], got) for got in results[1:]):
        raise Failed(f"your function returned the same pixels for all {len(pictures)} pictures, "
                     "which differ: the model input must come from the image it is given")
    for image, got, want in zip(pictures, results, wants):
        what = f"the {image.shape[0]}×{image.shape[1]} picture"
        error = float(np.abs(got - want).mean())
        if error <= _MEAN_TOLERANCE:
            continue
        if float(np.abs(got - _wrapped(image)).mean()) <= _MEAN_TOLERANCE:
            raise Failed(f"for {what} your 784 values are its first 784 pixels "
                         f"({'cut off' if image.size > 784 else 'padded with zeros'}), as "
                         "ndarray.resize((1, 784)) gives: the rows wrap at 28 pixels and the "
                         "digit is sheared. Resize the picture itself to 28×28 (Pillow's "
                         "Image.resize), then reshape")
        if float(np.abs((1 - got) - want).mean()) < error / 2:
            raise Failed(f"for {what} your digit is dark on light; these pictures are already "
                         "white on black, as MNIST's are: do not invert them")
        raise Failed(f"for {what} your pixels differ from the correct input by {error:.3f} on "
                     f"average (allowed {_MEAN_TOLERANCE}): resize the picture to 28×28 with a "
                     "smoothing filter (Image.Resampling.BILINEAR, or tf.image.resize with "
                     "antialias=True), then divide by 255")
    sides = ", ".join(str(side) for side in _TRY_SIDES)
    return (f"the same model input as the correct pipeline for unseen pictures of sides {sides}: "
            "every size resized, not cut or padded, and scaled to [0, 1].")


def _recording_predict(weights: np.ndarray):
    """A stand-in for ``model.predict`` and a way to read what it was given: ``predict`` (a
    plain function, no attributes) records every batch it is given and the offset it added,
    each call its own random one, so only its own output is right; ``record()`` returns a copy
    of those records, (batch, offset) pairs. The records live only inside these two closures,
    as bytes: the answer, handed ``predict`` alone, cannot rewrite them."""
    weights = np.array(weights, dtype=np.float32)  # a copy: the checker's stays its own
    calls: list[tuple[bytes, np.float32]] = []
    offsets = np.random.default_rng()  # unseeded: nobody can know the next offset

    def predict(images, *args, **kwargs) -> np.ndarray:  # accepts verbose=0 and such
        batch = np.array(images, dtype=np.float32).reshape(-1, 784)
        offset = np.float32(offsets.uniform(1, 2))
        calls.append((batch.tobytes(), offset))
        return batch @ weights + offset

    def record() -> list[tuple[np.ndarray, np.float32]]:
        return [(np.frombuffer(data, np.float32).reshape(-1, 784), offset)
                for data, offset in list(calls)]

    return predict, record


def _scored(calls: list, weights: np.ndarray, images: np.ndarray, case: str) -> np.ndarray:
    """The scores ``predict`` should have returned, with ``weights``, put where its batches sit
    in ``images``; Failed, saying what went wrong, unless every image was given to predict
    exactly once, in runs of consecutive images."""
    consecutive = ("score images[start:start + batch_size] for start = 0, batch_size, …; the "
                   "last batch may be smaller")
    if len({offset for _, offset in calls}) != len(calls):  # each call draws its own
        raise Failed(f"for {case} predict's record of its calls was changed: call predict, "
                     "and leave it alone")
    known = {row.tobytes() for row in images}
    scores, times = np.zeros((len(images), 10), np.float32), np.zeros(len(images), int)
    for batch, offset in calls:
        strangers = [row for row in batch if row.tobytes() not in known]
        if strangers:
            zeros = all(not row.any() for row in strangers)
            rows = f"{len(strangers)} row{'s' * (len(strangers) > 1)}"
            raise Failed(f"for {case} predict was given {rows} not among the images"
                         + (" (zeros: did you pad the last batch up to batch_size?)" if zeros
                            else "")
                         + ": give predict only the images themselves; the last batch may "
                         "hold fewer than batch_size")
        starts = [s for s in range(len(images) - len(batch) + 1)
                  if np.array_equal(images[s:s + len(batch)], batch)]
        if not len(batch):
            raise Failed(f"for {case} predict was given an empty batch: " + consecutive)
        if not starts:
            raise Failed(f"for {case} predict was given a batch of {len(batch)} images that are "
                         "not a run of consecutive images: " + consecutive)
        scores[starts[0]:starts[0] + len(batch)] = batch @ weights + offset
        times[starts[0]:starts[0] + len(batch)] += 1
    if np.any(times != 1):
        i = int(np.flatnonzero(times != 1)[0])
        how = "never" if times[i] == 0 else f"{times[i]} times"
        raise Failed(f"for {case} predict was not given every image exactly once (image {i} "
                     f"{how}): " + consecutive)
    return scores


def _batch_case(k: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Case ``k`` of 05.2: the scoring weights (784, 10) and ``n`` images (n, 784)."""
    rng = np.random.default_rng(5050 + k)
    return (rng.normal(size=(784, 10)).astype(np.float32),
            rng.uniform(0, 1, (n, 784)).astype(np.float32))


def _batches(answer) -> str:
    from tflab import scoring

    require_callable(answer, "score_in_batches(predict, images, batch_size) returning scores")
    # (21, 5): one image left for the last batch, which range(0, N - 1, batch_size) misses
    for k, (n, batch_size) in enumerate([(23, 5), (20, 4), (3, 10), (21, 5)]):
        weights, images = _batch_case(k, n)
        predict, record = _recording_predict(weights)
        del weights
        with calls_of(scoring.score_batched) as batched, \
                calls_of(scoring.score_threads) as threaded:
            try:
                result = call(answer, predict, images.copy(), batch_size)
            except Failed:
                if not (batched or threaded):
                    raise
        if batched or threaded:
            name = "score_batched" if batched else "score_threads"
            raise Failed(f"score_in_batches calls scoring.{name}, the course's own batching, "
                         "which is what this exercise asks you to write: slice the images and "
                         "call predict yourself")
        try:
            scores = np.asarray(result, dtype=np.float32)
        except (TypeError, ValueError):
            raise Failed(f"return one array of shape (N, 10), not {type(result).__name__}"
                         + (": np.concatenate the batches' scores"
                            if isinstance(result, (list, tuple)) else "")) from None
        case = f"{n} images in batches of {batch_size}"
        if scores.shape != (n, 10):
            missing = n % batch_size if scores.shape[:1] == (n - n % batch_size,) else 0
            raise Failed(f"for {case} the scores have shape {scores.shape}, not ({n}, 10)"
                         + (f": the last, partial batch of {missing} is missing" if missing else
                            ": one row of 10 scores per image, in one array"))
        calls = record()
        sizes = [len(batch) for batch, _ in calls]
        if not sizes:
            raise Failed(f"for {case} you never called predict: the scores must come from "
                         "the function you are given")
        weights, images = _batch_case(k, n)  # afresh: the answer may change what it was handed
        want = _scored(calls, weights, images, case)
        if not np.allclose(scores, want, rtol=1e-5, atol=1e-4):
            raise Failed(f"for {case} the rows are not the scores of the images in their order: "
                         "score images[start:start + batch_size] for start = 0, batch_size, …")
        if max(sizes) > batch_size:
            raise Failed(f"for {case} predict got {max(sizes)} images at once; at most "
                         f"batch_size ({batch_size}) at a time")
        fewest = math.ceil(n / batch_size)
        if len(sizes) != fewest:
            raise Failed(f"for {case} you called predict {len(sizes)} times (batches of "
                         f"{sizes}); {fewest} full batches, the last one partial, will do")
    return "every image scored once, in order, in as few calls as the batch size allows."


_SERVED_FOLDER: tempfile.TemporaryDirectory | None = None


def _served_model() -> Path:
    """A small SavedModel with the lesson's signature, written once per process."""
    global _SERVED_FOLDER
    import keras

    from tflab import saving

    if _SERVED_FOLDER is None:
        folder = tempfile.TemporaryDirectory(prefix="tflab-exercise-05-")
        rng = np.random.default_rng(5005)
        model = keras.Sequential([keras.Input((784,), name="images"),
                                  keras.layers.Dense(10, activation="softmax")])
        model.layers[-1].set_weights([rng.normal(0, 0.1, (784, 10)).astype(np.float32),
                                      rng.normal(0, 0.1, 10).astype(np.float32)])
        saving.export_saved_model(model, Path(folder.name) / "mnist")
        _SERVED_FOLDER = folder
    return Path(_SERVED_FOLDER.name) / "mnist"


def _post(server, body: bytes) -> tuple[int, dict]:
    host, port = server.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=30)
    try:
        connection.request("POST", "/v1/models/mnist:predict", body=body,
                           headers={"Content-Type": "application/json"})
        reply = connection.getresponse()
        return reply.status, json.loads(reply.read())
    finally:
        connection.close()


def _request_body(answer) -> str:
    from tflab import serving

    require_callable(answer, "request_body(images) returning JSON text")
    rng = np.random.default_rng(5055)
    server = serving.make_server(_served_model(), name="mnist", port=0)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    try:
        for n in (3, 1):
            images = rng.uniform(0, 1, (n, 784)).astype(np.float32)
            body = call(answer, images.copy())
            if isinstance(body, str):
                body = body.encode()
            if not isinstance(body, bytes):
                raise Failed(f"request_body should return the JSON text (a str, e.g. from "
                             f"json.dumps), not {type(body).__name__}")
            status, reply = _post(server, body)
            if status != 200:
                raise Failed(f"for {n} image(s) the server answered {status}: "
                             f"{reply.get('error', reply)}")
            got = np.asarray(reply["predictions"], dtype=np.float64)
            want = server.model.predict(images)
            if got.shape != want.shape:
                raise Failed(f"the server scored {len(got)} images when you sent {n}: one "
                             "instance per image")
            error = float(np.abs(got - want).max())
            if error > 1e-5:
                raise Failed(f"the server's scores differ from those of your images by up to "
                             f"{error:.3g}: send every pixel as it is (images.tolist())")
    finally:
        server.shutdown()
        server.server_close()
    return "the lesson's server accepted your requests and scored exactly the images you sent."


EXERCISES = [
    Exercise("05", 1, "Write preprocess(path) for a PNG of a dark digit on light paper (grey "
             "or colour, any size or shape): return 784 float32 pixels, shape (784,), in [0, 1], "
             "white on black, centred on a square, resized to 28×28. Grey and invert yourself; "
             "imaging's read_image, pad_to_square and resize_square may help.", _preprocess,
             ["Pillow does most of it: Image.open(path).convert('L') gives grey levels 0–255; "
              "np.asarray turns it into numbers.",
              "Section 5's steps: invert (1 − grey levels), centre on a black square of "
              "side max(width, height) (imaging.pad_to_square), resize to 28×28 with a "
              "smoothing filter (imaging.resize_square), .reshape(784)."],
             """import numpy as np
from PIL import Image

def preprocess(path):
    grey = Image.open(path).convert("L")
    ink = Image.fromarray(255 - np.asarray(grey))  # white digit on black
    side = max(ink.size)
    square = Image.new("L", (side, side), 0)
    square.paste(ink, ((side - ink.width) // 2, (side - ink.height) // 2))
    small = square.resize((28, 28), Image.Resampling.BILINEAR)
    return (np.asarray(small, dtype=np.float32) / 255).reshape(784)

answer = preprocess"""),
    Exercise("05", 2, "Write score_in_batches(predict, images, batch_size): call predict on "
             "consecutive slices of at most batch_size images (the last may be smaller) and "
             "return all the scores, in order, as one array of shape (N, 10).", _batches,
             ["Section 3's scoring.score_batched does this with model.predict; here predict is "
              "the function itself. There are ceil(N / batch_size) batches; the last one holds "
              "what is left.",
              "np.concatenate([predict(images[i:i + batch_size]) for i in "
              "range(0, len(images), batch_size)])"],
             """import numpy as np

def score_in_batches(predict, images, batch_size):
    return np.concatenate([predict(images[i:i + batch_size])
                           for i in range(0, len(images), batch_size)])

answer = score_in_batches"""),
    Exercise("05", 3, "Write request_body(images): the JSON text (a str) of a TensorFlow Serving "
             "REST predict request that the lesson's server scores, for float32 images of shape "
             "(N, 784).", _request_body,
             ["Section 6 posts one; the body is a JSON object whose \"instances\" hold one list "
              "of 784 numbers per image.",
              "json.dumps({\"instances\": images.tolist()}) — .tolist() turns NumPy floats into "
              "numbers json can write."],
             """import json

def request_body(images):
    return json.dumps({"instances": images.tolist()})

answer = request_body"""),
]


TRY_ITS = [
    Exercise("05", 1, "Write to_input(image) for a square uint8 picture (a white digit on "
             "black, grey levels 0–255) of any side: return the (1, 784) float32 input the "
             "model expects, the picture resized to 28×28 with a smoothing filter and scaled to "
             "[0, 1], as the model was trained.", _model_input,
             ["Two things the guide's _preprocess skipped: resize the picture (not the array) to "
              "28×28, and divide by 255. Image.fromarray(image) makes a Pillow image of it.",
              "Image.fromarray(image).resize((28, 28), Image.Resampling.BILINEAR), then "
              "np.asarray(..., dtype=np.float32) / 255 and .reshape(1, 784)."],
             """import numpy as np
from PIL import Image

def to_input(image):
    small = Image.fromarray(image).resize((28, 28), Image.Resampling.BILINEAR)
    return (np.asarray(small, dtype=np.float32) / 255).reshape(1, 784)

answer = to_input""", try_it=True),
]
