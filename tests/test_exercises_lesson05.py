"""Lesson 05's exercises: typical wrong answers fail with a helpful message."""

from __future__ import annotations

import json
import types

import numpy as np
from exercise_checks import failed_with
from PIL import Image

from tflab import exercises, imaging, scoring


def _grey(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("L"), dtype=np.float32) / 255


def _small(pixels: np.ndarray, resample=Image.Resampling.BILINEAR) -> np.ndarray:
    image = Image.fromarray(np.round(pixels * 255).astype(np.uint8))
    return np.asarray(image.resize((28, 28), resample), dtype=np.float32) / 255


def test_preprocess_wrong_answers():
    ex = exercises.get("05", 1)

    def not_inverted(path):  # a dark digit on white, unlike MNIST
        return _small(_grey(path)).reshape(784)

    def grey_levels(path):  # 0–255, not scaled
        return (_small(1 - _grey(path)) * 255).reshape(784)

    def stretched(path):  # no padding: a wide picture is squeezed
        return _small(1 - _grey(path)).reshape(784)

    def float64(path):
        return _steps(path).astype(np.float64)

    def image_shaped(path):
        return _steps(path).reshape(28, 28)

    for answer, message in [(not_inverted, "white on black: use 1 − pixels"),
                            (grey_levels, "divide the 0–255 grey levels by 255"),
                            (stretched, "pad the picture to a square"),
                            (float64, "your pixels are float64"),
                            (image_shaped, "shape (28, 28); return the 784 pixels")]:
        failed_with(ex, answer, message)


def _steps(path) -> np.ndarray:
    """Section 5's steps for a dark digit on paper, written out with imaging's helpers."""
    square = imaging.pad_to_square(1 - _grey(path))
    return imaging.resize_square(square, 28).reshape(784)


def test_preprocess_accepts_the_steps_but_not_the_library_function_itself():
    ex = exercises.get("05", 1)
    assert ex.judge(_steps)[0] == "passed"
    from tflab.imaging import preprocess_image  # imported by name: still caught

    for gaming in (imaging.preprocess_image, preprocess_image,
                   lambda path: imaging.preprocess_image(str(path)).copy()):
        failed_with(ex, gaming, "calls imaging.preprocess_image, the function this exercise")
    assert imaging.read_image.__name__ == "read_image"  # the recorder is gone afterwards


def test_batches_wrong_answers():
    ex = exercises.get("05", 2)

    def one_at_a_time(predict, images, batch_size):  # the original load.py
        return np.concatenate([predict(images[i:i + 1]) for i in range(len(images))])

    def drops_remainder(predict, images, batch_size):
        return np.concatenate([predict(images[i * batch_size:(i + 1) * batch_size])
                               for i in range(len(images) // batch_size)])

    def all_at_once(predict, images, batch_size):
        return predict(images)

    def list_of_batches(predict, images, batch_size):
        return [predict(images[i:i + batch_size]) for i in range(0, len(images), batch_size)]

    def fixed_batches(predict, images, batch_size):  # gaming: ignores batch_size
        return np.concatenate([predict(images[i:i + 10]) for i in range(0, len(images), 10)])

    def no_predict(predict, images, batch_size):  # gaming: never calls predict
        return np.zeros((len(images), 10), np.float32)

    def library(predict, images, batch_size):  # gaming: the lesson's function, adapted
        model = types.SimpleNamespace(predict=predict)
        return scoring.score_batched(model, images, batch_size)

    for answer, message in [(library, "calls scoring.score_batched, the function this exercise"),
                            (fixed_batches,
                             "predict got 10 images at once; at most batch_size (5)"),
                            (no_predict, "the rows are not the scores of the images"),
                            (one_at_a_time, "you called predict 23 times"),
                            (drops_remainder, "the last, partial batch of 3 is missing"),
                            (all_at_once, "predict got 23 images at once"),
                            (list_of_batches, "np.concatenate the batches")]:
        failed_with(ex, answer, message)


def test_request_body_wrong_answers():
    ex = exercises.get("05", 3)

    def columnar(images):  # TF Serving's other format, which the lesson's server does not take
        return json.dumps({"inputs": images.tolist()})

    def numpy_inside(images):
        return json.dumps({"instances": images})

    def python_repr(images):
        return str({"instances": images.tolist()})

    def flattened(images):
        return json.dumps({"instances": images.ravel().tolist()})

    def rounded(images):
        return json.dumps({"instances": np.round(images, 2).tolist()})

    def a_dict(images):
        return {"instances": images.tolist()}

    def blank_images(images):  # gaming: ignores the images, sends blank ones of the right shape
        return json.dumps({"instances": np.zeros_like(images).tolist()})

    for answer, message in [(blank_images, "send every pixel as it is"),
                            (columnar, 'answered 400: expected a JSON object with "instances"'),
                            (numpy_inside, "raised TypeError"),
                            (python_repr, "the body is not valid JSON"),
                            (flattened, "images must have shape (N, 784)"),
                            (rounded, "send every pixel as it is"),
                            (a_dict, "not dict")]:
        failed_with(ex, answer, message)

