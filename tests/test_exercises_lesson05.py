"""Lesson 05's exercises: typical wrong answers fail with a helpful message."""

from __future__ import annotations

import json
import sys
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

    for answer, message in [(library, "calls scoring.score_batched, the course's own batching"),
                            (fixed_batches,
                             "predict got 10 images at once; at most batch_size (5)"),
                            (no_predict, "you never called predict"),
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



def _seed_preprocess(image):
    """The ModelArts guide's _preprocess, for one picture: 0–255 floats, ndarray.resize."""
    pixels = np.array(image, dtype=np.float32)
    pixels.resize((1, 784))
    return pixels


def _bilinear(image) -> np.ndarray:
    small = Image.fromarray(image).resize((28, 28), Image.Resampling.BILINEAR)
    return np.asarray(small, dtype=np.float32).reshape(1, 784)


def test_model_input_try_it_wrong_answers():
    ex = exercises.try_it("05", 1)

    def scaled_then_wrapped(image):  # /255 fixed, the array still cut or padded to 784
        return _seed_preprocess(image) / 255

    def not_scaled(image):  # resized properly, but 0–255 as the guide sent them
        return _bilinear(image)

    def constant(image):  # gaming: a blank input of the right shape and type
        return np.zeros((1, 784), np.float32)

    def top_left_corner(image):  # cropped to 28×28 instead of resized (padded when smaller)
        out = np.zeros((28, 28), np.float32)
        corner = image[:28, :28] / 255
        out[:corner.shape[0], :corner.shape[1]] = corner
        return out.reshape(1, 784)

    def nearest(image):  # no smoothing: picks one pixel of each block
        small = Image.fromarray(image).resize((28, 28), Image.Resampling.NEAREST)
        return (np.asarray(small, dtype=np.float32) / 255).reshape(1, 784)

    def inverted(image):
        return 1 - _bilinear(image) / 255

    def one_row(image):
        return (_bilinear(image) / 255).reshape(784)

    def float64(image):
        return (_bilinear(image) / 255).astype(np.float64)

    for answer, message in [
            (_seed_preprocess, "pixels go from 0 to 255: the model was trained on x / 255"),
            (not_scaled, "0–255 grey levels are the guide's skew: divide by 255"),
            (scaled_then_wrapped, "your 784 values are its first 784 pixels (cut off), as "
                                  "ndarray.resize((1, 784)) gives"),
            (constant, "returned the same pixels for all 6 pictures"),
            (top_left_corner, "for the 29×29 picture your pixels differ from the correct input"),
            (nearest, "with a smoothing filter"),
            (inverted, "do not invert them"),
            (one_row, "shape (784,); the model takes a batch"),
            (float64, "your pixels are float64")]:
        failed_with(ex, answer, message)


def test_model_input_try_it_takes_any_smoothing_resize():
    import tensorflow as tf

    ex = exercises.try_it("05", 1)

    def with_tensorflow(image):
        pixels = tf.convert_to_tensor(image[..., None], tf.float32) / 255
        return tf.reshape(tf.image.resize(pixels, (28, 28), antialias=True), (1, 784))

    def with_lesson_helper(image):
        return imaging.resize_square(image / 255, 28).reshape(1, 784)

    for answer in (with_tensorflow, with_lesson_helper):
        assert ex.judge(answer)[0] == "passed", ex.judge(answer)


def test_model_input_try_it_pictures_wrap_as_the_guide_would():
    from tflab.exercises import lesson05

    pictures = lesson05._try_pictures()
    assert [p.shape for p in pictures] == [(s, s) for s in lesson05._TRY_SIDES]
    assert all(p.dtype == np.uint8 and p.max() == 255 and p[0, 0] == 0 for p in pictures)
    for picture in pictures:  # the checker's model of the guide's resize is the real thing
        np.testing.assert_array_equal(lesson05._wrapped(picture), _seed_preprocess(picture) / 255)


def _checker_local(name):
    """What a cheating answer finds in the checker's frames: the first local called ``name``."""
    frame = sys._getframe(2)
    while frame is not None:
        if name in frame.f_locals:
            return frame.f_locals[name]
        frame = frame.f_back
    return None


def test_preprocess_cannot_read_or_change_the_reference():
    """Issue 32's corpus: the reference is computed after the answer returns, from a picture
    drawn afresh, not from the file the answer was handed."""
    ex = exercises.get("05", 1)

    def reads_want(path):
        want = _checker_local("want")
        return np.zeros(784, np.float32) if want is None else want

    def blanks_the_file(path):  # new cheat: paint the file white, then white is "right"
        image = Image.open(path)
        Image.new(image.mode, image.size, "white").save(path)
        return np.zeros(784, np.float32)

    for cheat in (reads_want, blanks_the_file):
        failed_with(ex, cheat, "your pixels differ from the reference")


def test_batches_rejects_score_threads_and_changed_inputs():
    """Issue 32's corpus: score_threads does 05.2 too; what the answer is handed may be
    changed, the reference is drawn afresh."""
    ex = exercises.get("05", 2)

    def threads(predict, images, batch_size):
        return scoring.score_threads(types.SimpleNamespace(predict=predict), images,
                                     threads=4, batch_size=batch_size)

    failed_with(ex, threads, "calls scoring.score_threads, the course's own batching")

    def zeroes_the_weights(predict, images, batch_size):  # new cheat: then zeros are right
        _weights_of(predict)[...] = 0
        return np.concatenate([predict(images[i:i + batch_size])
                               for i in range(0, len(images), batch_size)])

    def few_images(predict, images, batch_size):  # new cheat: scores with the weights itself
        for i in range(0, len(images), batch_size):
            predict(images[i:i + 1])  # as many calls as asked, of small batches
        return images @ _weights_of(predict)

    def own_scores(predict, images, batch_size):  # new cheat: calls predict, ignores its scores
        for i in range(0, len(images), batch_size):
            predict(images[i:i + batch_size])
        return images @ _weights_of(predict)

    def out_of_order(predict, images, batch_size):  # a mistake: the batches reversed
        starts = range(0, len(images), batch_size)
        return np.concatenate([predict(images[i:i + batch_size]) for i in reversed(starts)])

    failed_with(ex, zeroes_the_weights, "the rows are not the scores of the images")
    failed_with(ex, few_images, "predict was not given every image exactly once")
    failed_with(ex, own_scores, "the rows are not the scores of the images")
    failed_with(ex, out_of_order, "the rows are not the scores of the images")

    def threaded(predict, images, batch_size):  # threads calling predict are fine
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(4) as pool:
            return np.concatenate(list(pool.map(
                predict, [images[i:i + batch_size] for i in range(0, len(images), batch_size)])))

    assert ex.judge(threaded)[0] == "passed"


def _weights_of(predict):
    """A cheat's helper: the scoring weights predict holds in its closure."""
    return next(cell.cell_contents for cell in predict.__closure__
                if getattr(cell.cell_contents, "shape", None) == (784, 10))


def test_batches_record_cannot_be_rewritten_and_one_left_over_counts():
    """Issue 32, second review: the answer rewrote the checker's log of predict's calls
    (predict.calls) so that one call of all the images looked like small batches; and the
    off-by-one range(0, N - 1, batch_size) passed, since no case left a single image over."""
    ex = exercises.get("05", 2)

    def rewrites_the_log(predict, images, batch_size):
        out = predict(images)
        batch, off = predict.calls[-1]
        predict.calls[-1:] = [(batch[i:i + batch_size], off)
                              for i in range(0, len(batch), batch_size)]
        return out

    def rewrites_the_closure(predict, images, batch_size):  # new: the same through __closure__
        out = predict(images)
        calls = next(cell.cell_contents for cell in predict.__closure__
                     if isinstance(cell.cell_contents, list))
        data, off = calls[-1]
        rows = len(data) // (784 * 4)
        calls[-1:] = [(data[i * 784 * 4:(i + batch_size) * 784 * 4], off)
                      for i in range(0, rows, batch_size)]
        return out

    def off_by_one(predict, images, batch_size):
        return np.concatenate([predict(images[i:i + batch_size])
                               for i in range(0, len(images) - 1, batch_size)])

    failed_with(ex, rewrites_the_log, "your function raised AttributeError: 'function' object "
                                      "has no attribute 'calls'")
    failed_with(ex, rewrites_the_closure, "predict's record of its calls was changed")
    failed_with(ex, off_by_one, "for 21 images in batches of 5 the scores have shape (20, 10), "
                                "not (21, 10): the last, partial batch of 1 is missing")


def test_preprocess_cannot_replace_the_reference(monkeypatch):
    """New cheat: the answer swaps imaging.preprocess_image for one that agrees with it."""
    ex = exercises.get("05", 1)
    original = imaging.preprocess_image

    def replaces_the_reference(path):
        imaging.preprocess_image = lambda source: np.zeros(784, np.float32)
        return np.zeros(784, np.float32)

    monkeypatch.setattr(imaging, "preprocess_image", original)  # put back whatever happens
    failed_with(ex, replaces_the_reference, "replaced or reloaded tflab.imaging.preprocess_image")
    assert imaging.preprocess_image is original


class _AlwaysClose(np.ndarray):
    """New cheat: zeros that say they differ from anything by nothing."""

    def __sub__(self, other):
        return np.zeros_like(other)

    __rsub__ = __sub__


class _LateReader:
    """New cheat: hands its pixels over only when asked, by then hoping to find the reference."""

    def numpy(self):
        want = _checker_local("want")
        return np.zeros(784, np.float32) if want is None else want


def test_preprocess_answers_cannot_compare_themselves():
    ex = exercises.get("05", 1)
    failed_with(ex, lambda path: np.zeros(784, np.float32).view(_AlwaysClose),
                "your pixels differ from the reference")
    failed_with(ex, lambda path: _LateReader(), "your pixels differ from the reference")


def test_preprocess_forbids_the_grey_and_invert_step_however_it_is_reached():
    """Issue 32: preprocess_image's four steps called one by one passed while the function
    itself was forbidden. 05.1 asks for the grey levels and the inversion: ink_pixels is off
    limits, however it is reached; read_image, pad_to_square and resize_square are allowed."""
    import threading

    ex = exercises.get("05", 1)
    rule = "calls imaging.ink_pixels, section 5's grey-and-invert step"

    def four_steps(path):  # the review's answer: preprocess_image's body, inlined
        ink = imaging.ink_pixels(imaging.read_image(path))
        return imaging.resize_square(imaging.pad_to_square(ink), 28).reshape(784)

    def in_a_thread(path):  # the step run where a profiler would not see it
        result = {}

        def work():
            try:
                result["ink"] = imaging.ink_pixels(imaging.read_image(path))
            except Exception:  # the error stays in the thread; the checker saw the call
                pass

        worker = threading.Thread(target=work)
        worker.start()
        worker.join()
        ink = result.get("ink", 1 - _grey(path))
        return imaging.resize_square(imaging.pad_to_square(ink), 28).reshape(784)

    copied = types.FunctionType(imaging.ink_pixels.__code__, imaging.ink_pixels.__globals__)

    def a_copy(path):  # new cheat: a copy of the function made before the check
        ink = copied(imaging.read_image(path))
        return imaging.resize_square(imaging.pad_to_square(ink), 28).reshape(784)

    for cheat in (four_steps, in_a_thread, a_copy):
        failed_with(ex, cheat, rule)

    def with_read_image(path):  # the allowed helpers, the grey levels and inversion written
        grey = np.asarray(imaging.read_image(path).convert("L"), dtype=np.float32) / 255
        return imaging.resize_square(imaging.pad_to_square(1 - grey), 28).reshape(784)

    assert ex.judge(with_read_image)[0] == "passed"
    assert "Grey and invert yourself; imaging's read_image" in ex.question


class _LazyPixels:
    """New cheat: hands back an object whose .numpy() calls the library only when asked,
    after the answer has returned."""

    def __init__(self, path):
        self.path = path

    def numpy(self):
        return imaging.preprocess_image(self.path)


def test_preprocess_converts_the_answer_while_its_rules_hold():
    failed_with(exercises.get("05", 1), _LazyPixels,
                "calls imaging.preprocess_image, the function this exercise asks you to write")


def test_batches_padding_the_last_batch_says_so():
    """Issue 32: padding the last batch up to batch_size (and trimming its scores) was told
    'not given every image exactly once'; the message now names the padding."""
    ex = exercises.get("05", 2)

    def padded(predict, images, batch_size):
        out = []
        for i in range(0, len(images), batch_size):
            batch = images[i:i + batch_size]
            short = batch_size - len(batch)
            if short:
                batch = np.concatenate([batch, np.zeros((short, 784), batch.dtype)])
            out.append(predict(batch)[:batch_size - short])
        return np.concatenate(out)

    def repeats_the_last(predict, images, batch_size):  # new: pads with copies of the last image
        out = []
        for i in range(0, len(images), batch_size):
            batch = images[i:i + batch_size]
            short = batch_size - len(batch)
            batch = np.concatenate([batch, np.repeat(batch[-1:], short, axis=0)])
            out.append(predict(batch)[:batch_size - short])
        return np.concatenate(out)

    def sorted_batches(predict, images, batch_size):  # new: each batch's rows reordered
        return np.concatenate([predict(images[i:i + batch_size][::-1])[::-1]
                               for i in range(0, len(images), batch_size)])

    failed_with(ex, padded, "predict was given 2 rows not among the images (zeros: did you pad "
                            "the last batch up to batch_size?)")
    failed_with(ex, repeats_the_last, "predict was given a batch of 5 images that are not a run "
                                      "of consecutive images")
    failed_with(ex, sorted_batches, "not a run of consecutive images")


def test_model_input_try_it_forbids_the_checkers_own_pipeline():
    """Issue 32, second review: to_input calling lesson05._reference_input passed."""
    import threading

    from tflab.exercises import lesson05

    ex = exercises.try_it("05", 1)
    rule = "calls the checker's own correct pipeline (lesson05._reference_input)"

    def in_a_thread(image):  # new: where a profiler would not see it
        result = {}

        def work():
            try:
                result["x"] = lesson05._reference_input(image)
            except Exception:  # the error stays in the thread; the checker saw the call
                pass

        worker = threading.Thread(target=work)
        worker.start()
        worker.join()
        return result.get("x", np.zeros((1, 784), np.float32))

    for cheat in (lesson05._reference_input, lambda image: lesson05._reference_input(image) + 0,
                  in_a_thread, lambda image: _LazyInput(image)):
        failed_with(ex, cheat, rule)


class _LazyInput:
    """New cheat: the checker's pipeline called only when the checker asks for .numpy()."""

    def __init__(self, image):
        self.image = image

    def numpy(self):
        from tflab.exercises import lesson05

        return lesson05._reference_input(self.image)


def test_preprocess_padding_inverted_with_the_picture_says_so():
    """Issue 32, second review: padding with black before inverting (the padding turns white)
    was told to pad to a square, which it did."""
    ex = exercises.get("05", 1)

    def pads_then_inverts(path):
        square = imaging.pad_to_square(_grey(path))
        return imaging.resize_square(1 - square, 28).reshape(784)

    def pads_with_white_after(path):  # new: the right order, the wrong colour
        ink = 1 - _grey(path)
        square = 1 - imaging.pad_to_square(1 - ink)
        return imaging.resize_square(square, 28).reshape(784)

    for answer in (pads_then_inverts, pads_with_white_after):
        failed_with(ex, answer, "for the 150×100 RGB picture the padding around your digit came "
                                "out white")
    failed_with(ex, lambda path: _small(1 - _grey(path)).reshape(784),
                "pad the picture to a square, digit centred")  # not padded at all: as before
