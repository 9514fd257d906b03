"""Lessons 04-05's library: tflab.models, saving, registry (load once), scoring, imaging
(preprocess) and serving (HTTP)."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import keras
import numpy as np
import pytest
import tensorflow as tf

from tflab import data, imaging, models, registry, saving, scoring, serving

LESSON = models.lesson_04()  # seed_cnn, train_steps, serving_archive: notebook 04's cells


@pytest.fixture(scope="module")
def digits():
    return data.mnist(flatten=True)


@pytest.fixture(scope="module")
def trained(digits):
    """A small CNN trained briefly: good enough to tell digits apart, quick to make."""
    keras.utils.set_random_seed(0)
    model = LESSON.seed_cnn()
    LESSON.train_steps(model, *digits.train, steps=60, batch_size=50, learning_rate=1e-3)
    return model


@pytest.fixture(scope="module")
def saved(trained, tmp_path_factory):
    return saving.export_saved_model(trained, tmp_path_factory.mktemp("models") / "mnist")


def test_lesson_04s_code_is_run_from_the_notebook():
    for function in vars(LESSON).values():
        assert function.__code__.co_filename == f"<{models.LESSON_04}>"
    assert saving.serving_archive.__module__ == "tflab.saving"  # the later lessons' entry point


def test_seed_cnn_and_mlp_shapes():
    cnn = LESSON.seed_cnn()
    assert cnn.input_shape == (None, 784) and cnn.output_shape == (None, 10)
    kinds = [type(layer).__name__ for layer in cnn.layers]
    assert kinds == ["Reshape", "Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten",
                     "Dense", "Dropout", "Dense"]
    assert cnn.count_params() == 3_274_634
    net = models.mlp((28, 28), hidden=(64, 32), dropout=0.2)
    dropouts = [layer for layer in net.layers if "dropout" in layer.name]
    assert net.output_shape == (None, 10) and len(dropouts) == 2
    with pytest.raises(ValueError, match="positive"):
        models.mlp(hidden=(0,))


def test_training_learns_and_logs(trained, digits):
    assert models.accuracy(trained, *digits.validation) > 0.8
    assert models.accuracy(trained, digits.validation.images[:100].copy(),
                           digits.validation.labels[:100]) > 0.7
    with pytest.raises(ValueError, match="labels"):
        models.accuracy(trained, digits.test.images[:3], digits.test.labels[:2])


def test_accuracy_takes_a_function_and_counts_right_answers_over_batches():
    images = np.arange(12, dtype=np.float32).reshape(12, 1)  # image i: the one number i
    labels = np.arange(12) % 10

    def answers(offsets):  # scores whose best class is (i + offsets[i]) % 10 for image i
        def predict(batch):
            i = batch[:, 0].astype(int)
            return np.eye(10)[(i + offsets[i]) % 10]
        return predict

    right, wrong = np.zeros(12, int), np.ones(12, int)
    half = np.array([0, 1] * 6)
    assert models.accuracy(answers(right), images, labels, batch_size=5) == 1.0
    assert models.accuracy(answers(wrong), images, labels, batch_size=5) == 0.0
    assert models.accuracy(answers(half), images, labels, batch_size=5) == 0.5
    with pytest.raises(TypeError, match="model must be a Keras model or a function"):
        models.accuracy("model", images, labels)


def test_train_steps_logs_every_step_and_continues(digits):
    model = models.mlp(hidden=(16,))
    history = LESSON.train_steps(model, *digits.train, steps=25, learning_rate=1e-2)
    assert len(history["loss"]) == len(history["accuracy"]) == 25
    assert all(0.0 <= a <= 1.0 for a in history["accuracy"])
    assert np.mean(history["loss"][-5:]) < np.mean(history["loss"][:5])  # it learns
    assert model.optimizer.iterations.numpy() == 25  # the optimizer is kept on the model
    LESSON.train_steps(model, *digits.train, steps=5)
    assert model.optimizer.iterations.numpy() == 30  # a second call trains further


def test_train_steps_trains_a_model_compiled_with_a_loss_name(digits):
    """A model compiled as lesson 07 compiles (the loss given by name) trains too."""
    model = models.mlp(hidden=(16,))
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    loss = LESSON.train_steps(model, *digits.train, steps=25)["loss"]
    assert np.all(np.isfinite(loss)) and np.mean(loss[-5:]) < np.mean(loss[:5])
    assert model.optimizer.iterations.numpy() == 25


def test_serving_archive_is_the_exported_signature(trained, tmp_path):
    archive = saving.serving_archive(trained)
    archive.write_out(str(tmp_path / "sm"), verbose=False)
    signature = tf.saved_model.load(str(tmp_path / "sm")).signatures["serving_default"]
    images = np.random.default_rng(0).uniform(0, 1, (3, 784)).astype(np.float32)
    np.testing.assert_allclose(signature(images=tf.constant(images))["scores"],
                               trained(images, training=False), rtol=0, atol=1e-6)


def test_three_formats_round_trip_with_identical_predictions(trained, saved, digits, tmp_path):
    images = digits.test.images[:64]
    expected = trained(images, training=False).numpy()
    keras_file = saving.save_keras(trained, tmp_path / "mnist.keras")
    np.testing.assert_array_equal(saving.load_keras(keras_file)(images, training=False), expected)
    prefix = saving.save_checkpoint(trained, tmp_path / "ckpt")
    fresh = saving.restore_checkpoint(LESSON.seed_cnn(), prefix)
    np.testing.assert_array_equal(fresh(images, training=False), expected)
    with registry.load(saved, scope="block") as model:
        np.testing.assert_allclose(model.predict(images), expected, rtol=0, atol=1e-6)


def test_signature_names_and_shapes(saved):
    signature = tf.saved_model.load(str(saved)).signatures["serving_default"]
    (spec,) = signature.structured_input_signature[1].values()
    assert list(signature.structured_input_signature[1]) == ["images"]
    assert spec.shape.as_list() == [None, 784] and spec.dtype == tf.float32
    out = signature.structured_outputs["scores"]
    assert out.shape.as_list() == [None, 10] and out.dtype == tf.float32


def test_an_interrupted_save_leaves_the_old_model(trained, saved, tmp_path, monkeypatch):
    keras_file = saving.save_keras(trained, tmp_path / "good.keras")
    before = keras_file.read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(keras.Model, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        saving.save_keras(trained, keras_file)
    assert keras_file.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.keras"]  # no temporary left
    folder = saving.export_saved_model(trained, tmp_path / "sm")
    monkeypatch.setattr(tf.saved_model, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        saving.export_saved_model(trained, folder)
    assert (folder / "saved_model.pb").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.keras", "sm"]


def test_missing_or_corrupt_models_give_clear_errors(tmp_path):
    with pytest.raises(saving.ModelError, match="no such model"):
        registry.load(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(saving.ModelError, match="not a SavedModel folder"):
        registry.load(tmp_path / "empty")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "saved_model.pb").write_bytes(b"garbage")
    with pytest.raises(saving.ModelError, match="damaged"):
        registry.load(tmp_path / "bad")
    (tmp_path / "bad.keras").write_bytes(b"not a zip")
    with pytest.raises(saving.ModelError, match="bad.keras"):
        saving.load_keras(tmp_path / "bad.keras")
    with pytest.raises(saving.ModelError, match="no checkpoint"):
        saving.restore_checkpoint(LESSON.seed_cnn(), tmp_path / "ckpt")
    with pytest.raises(ValueError, match=".keras"):
        saving.save_keras(models.mlp(hidden=(2,)), tmp_path / "model.h5")


def test_registry_loads_once_under_threads_and_scopes_lifetimes(saved):
    barrier = threading.Barrier(8)

    def grab(_):
        barrier.wait()
        return registry.load(saved, scope="block")

    before = registry.load_count(saved)
    with ThreadPoolExecutor(8) as pool:
        handles = list(pool.map(grab, range(8)))
    assert registry.load_count(saved) == before + 1
    assert len({id(h.saved_model) for h in handles}) == 1  # one model shared by all 8
    assert registry.open_handles(saved) == 8
    for handle in handles:
        handle.close()
        handle.close()  # closing twice is harmless
    assert registry.open_handles(saved) == 0
    assert saved.resolve() not in registry.loaded_paths()  # block scope: released at the end
    with pytest.raises(saving.ModelError, match="closed"):
        handles[0].predict(np.zeros((1, 784)))
    with registry.load(saved, scope="block"):
        assert saved.resolve() in registry.loaded_paths() and registry.open_handles(saved) == 1
    assert saved.resolve() not in registry.loaded_paths()
    with pytest.raises(ValueError, match="scope"):
        registry.load(saved, scope="thread")


def test_scoring_three_ways_agrees(saved, digits):
    images = digits.validation.images[:40]
    with registry.load(saved, scope="block") as model:
        one = scoring.score_per_image(model, images)
        batched = scoring.score_batched(model, images, batch_size=16)
        threaded = scoring.score_threads(model, images, threads=8)
        with pytest.raises(ValueError, match="shape"):
            model.predict(np.zeros((2, 100)))
        with pytest.raises(ValueError, match="NaN"):
            model.predict(np.full((1, 784), np.nan))
        for bad in (0, -4, 2.5, True):
            with pytest.raises(ValueError, match="batch_size must be a positive integer"):
                scoring.score_batched(model, images, batch_size=bad)
        with pytest.raises(ValueError, match="threads must be a positive integer"):
            scoring.score_threads(model, images, threads=0)
    np.testing.assert_allclose(one, batched, atol=1e-5)
    np.testing.assert_allclose(threaded, batched, atol=1e-5)


@pytest.mark.parametrize("mode, invert, size", [("L", False, 28), ("L", True, 56),
                                                ("RGB", False, 100), ("RGB", True, 37),
                                                ("RGBA", False, 64), ("RGBA", True, 28)])
def test_image_files_preprocess_back_to_the_digit(digits, tmp_path, mode, invert, size):
    digit = digits.test.images[0]
    path = imaging.save_digit_image(digit, tmp_path / "d.png", size=size, mode=mode,
                                    invert=invert)
    from PIL import Image
    assert Image.open(path).mode == mode and Image.open(path).size == (size, size)
    pixels = imaging.preprocess_image(path)
    assert pixels.shape == (784,) and pixels.dtype == np.float32
    assert np.abs(pixels - digit).mean() < 0.05  # white on black again, at 28×28


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA"])
@pytest.mark.parametrize("invert", [False, True])
def test_a_wide_picture_is_padded_back_to_the_digit_shrunk(digits, tmp_path, mode, invert):
    from PIL import Image

    digit = digits.test.images[0]
    path = imaging.save_digit_image(digit, tmp_path / "d.png", size=(84, 56), mode=mode,
                                    invert=invert)
    assert Image.open(path).size == (84, 56)
    ink = imaging.ink_pixels(imaging.read_image(path))
    assert ink.shape == (56, 84) and ink[:, :10].max() == 0  # the sheet around is background
    square = imaging.pad_to_square(ink)
    assert square.shape == (84, 84) and square[:14].max() == 0
    # the digit fills the middle 56 of 84 rows: it comes back shrunk by 2/3, not stretched
    want = imaging.resize_square(imaging.pad_to_square(
        np.pad(imaging.resize_square(digit.reshape(28, 28), 56), 14)), 28)
    assert np.abs(imaging.preprocess_image(path) - want.reshape(784)).mean() < 0.03


def test_ink_pixels_composites_a_mostly_opaque_picture_over_white():
    from PIL import Image

    rgba = np.zeros((20, 20, 4), np.uint8)
    rgba[..., 3] = 255         # an opaque black sheet, with a half-transparent square:
    rgba[5:15, 5:15, 3] = 128  # over white paper it is mid-grey, the rest stays black
    ink = imaging.ink_pixels(Image.fromarray(rgba, "RGBA"))
    assert ink[0, 0] == 0.0 and ink[10, 10] == pytest.approx(127 / 255, abs=0.01)


def test_the_steps_reject_bad_shapes_and_sizes(tmp_path):
    with pytest.raises(ValueError, match="pixels must be one grey image"):
        imaging.pad_to_square(np.zeros((4, 4, 3)))
    with pytest.raises(ValueError, match="pixels must be a square"):
        imaging.resize_square(np.zeros((4, 6)))
    with pytest.raises(ValueError, match="size must be"):
        imaging.save_digit_image(np.zeros(784), tmp_path / "d.png", size=(0, 10))
    with pytest.raises(ValueError, match="mode must be"):
        imaging.save_digit_image(np.zeros(784), tmp_path / "d.png", mode="CMYK")


def test_preprocess_pads_to_square_and_rejects_non_images(tmp_path):
    from PIL import Image
    wide = np.zeros((20, 60), np.uint8)
    wide[5:15, 25:35] = 255
    Image.fromarray(wide).save(tmp_path / "wide.png")
    pixels = imaging.preprocess_image(tmp_path / "wide.png").reshape(28, 28)
    assert pixels[14, 14] > 0.5 and pixels[2, 14] == 0  # centred, not stretched
    (tmp_path / "x.png").write_text("not an image")
    with pytest.raises(ValueError, match="x.png: not a readable image"):
        imaging.preprocess_image(tmp_path / "x.png")
    with pytest.raises(FileNotFoundError, match="no such image"):
        imaging.preprocess_image(tmp_path / "missing.png")


def test_postprocess_gives_class_and_probabilities():
    scores = np.eye(10)[[3, 7]] * 0.9 + 0.01
    out = scoring.postprocess(scores)
    assert [o["class"] for o in out] == [3, 7]
    assert out[0]["probability"] == pytest.approx(0.91) and len(out[0]["probabilities"]) == 10


# ---------------------------------------------------------------- HTTP, in this process

@pytest.fixture(scope="module")
def server(saved):
    srv = serving.make_server(saved, name="mnist", port=0, max_body=200_000)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def _call(url, body=None, raw=None, headers=None):
    data_ = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url, data=data_, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _check_predictions(url: str, images: np.ndarray, expected: np.ndarray) -> None:
    """POST ``images`` in each of the three request formats; the scores must be ``expected``."""
    n = len(images)
    for instances in (images.tolist(), images.reshape(n, 28, 28).tolist(),
                      [{"images": row} for row in images.tolist()]):  # flat, nested, row format
        status, reply = _call(f"{url}:predict", {"instances": instances})
        assert status == 200, reply
        np.testing.assert_allclose(reply["predictions"], expected, rtol=0, atol=1e-5)


def test_server_status_and_predict(server, trained, digits):
    status, reply = _call(f"{server}/v1/models/mnist")
    assert status == 200 and reply["model_version_status"][0]["state"] == "AVAILABLE"
    images = digits.test.images[:5]
    expected = trained(images, training=False).numpy()  # the model's own scores
    _check_predictions(f"{server}/v1/models/mnist", images, expected)


class _WrongModel:
    """A served model that answers with well-shaped scores (N, 10) that are wrong."""

    def __init__(self, right, wrong):
        self.right, self.wrong = right, wrong

    def predict(self, batch):
        return self.wrong(self.right.predict(batch))


@pytest.mark.parametrize("wrong", [
    lambda scores: np.full_like(scores, 0.1),  # a constant: every class equally likely
    lambda scores: scores[::-1].copy(),  # the right scores, for the wrong images
    lambda scores: np.roll(scores, 1, axis=1),  # every answer one class off
    lambda scores: np.round(scores, 1),  # the right classes, scores rounded to 0.1
], ids=["constant", "rows-reversed", "classes-shifted", "rounded"])
def test_the_prediction_check_fails_a_server_with_well_shaped_wrong_scores(saved, trained,
                                                                            digits, wrong):
    images = digits.test.images[:5]
    expected = trained(images, training=False).numpy()
    srv = serving.make_server(saved, name="mnist", port=0)
    srv.model = _WrongModel(srv.model, wrong)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(AssertionError):
            _check_predictions(f"http://127.0.0.1:{srv.server_address[1]}/v1/models/mnist",
                               images, expected)
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.mark.parametrize("path, raw, code, message", [
    ("mnist:predict", b"{not json", 400, "not valid JSON"),
    ("mnist:predict", b'{"inputs": []}', 400, "instances"),
    ("mnist:predict", b'{"instances": []}', 400, "non-empty"),
    ("mnist:predict", b'{"instances": [[1, 2, 3]]}', 400, "shape"),
    ("mnist:predict", b'{"instances": [[0.5], [0.1, 0.2]]}', 400, "different lengths"),
    ("mnist:predict", b'{"instances": [' + b",".join([b"0"] * 2000) + b"]}", 400,
     "images must have shape (N, 784)"),  # numbers, not images: not "over the limit"
    ("mnist:predict", b'{"instances": [["a", "b"]]}', 400, "numbers"),
    ("mnist:predict", b'{"instances": [[true, false]]}', 400, "numbers"),
    ("mnist:predict", b'{"instances": [' + b"[" + b",".join([b"NaN"] * 784) + b"]]}", 400, "NaN"),
    ("mnist:predict", b'{"instances": [' + b"[" + b",".join([b"1e999"] * 784) + b"]]}", 400,
     "NaN or infinite"),
    ("mnist:predict", b'{"instances": [[0]], "signature_name": "other"}', 400, "signature"),
    ("mnist:predict", b'{"instances": [{"images": [0]}, [0]]}', 400, "row format"),
    ("mnist:predict", b'{"instances": [[1' + b"0" * 400 + b']]}', 400, "too large"),
    ("other:predict", b'{"instances": [[0]]}', 404, "not served here"),
    ("mnist:classify", b'{"instances": [[0]]}', 404, "unknown path"),
])
def test_server_rejects_bad_requests_and_keeps_serving(server, path, raw, code, message):
    status, reply = _call(f"{server}/v1/models/{path}", raw=raw)
    assert status == code and message in reply["error"]
    assert _call(f"{server}/v1/models/mnist")[0] == 200


def test_server_refuses_oversized_bodies_and_unknown_models(server):
    status, reply = _call(f"{server}/v1/models/mnist:predict", raw=b"[" + b"0," * 150_000 + b"0]")
    assert status == 413 and "over the limit" in reply["error"]
    assert _call(f"{server}/v1/models/other")[0] == 404
    assert _call(f"{server}/v1/models/mnist")[0] == 200


def test_server_answers_a_bad_content_length_and_keeps_serving(server):
    import http.client
    from urllib.parse import urlparse

    host = urlparse(server)
    for length in ["\u00b2", "-5", "abc"]:
        conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
        conn.putrequest("POST", "/v1/models/mnist:predict")
        conn.putheader("Content-Length", length)
        conn.endheaders()
        reply = conn.getresponse()
        assert reply.status == 411 and "Content-Length" in json.loads(reply.read())["error"]
        conn.close()
    assert _call(f"{server}/v1/models/mnist")[0] == 200


def test_server_survives_200_concurrent_requests_from_20_clients(server, digits):
    body = {"instances": digits.test.images[:2].tolist()}

    def client(_):
        return [_call(f"{server}/v1/models/mnist:predict", body)[0] for _ in range(10)]

    with ThreadPoolExecutor(20) as pool:
        codes = [c for batch in pool.map(client, range(20)) for c in batch]
    assert len(codes) == 200 and set(codes) == {200}


# ---------------------------------------------------------------- limits and faults (issue 20)

@contextlib.contextmanager
def _serve(saved, **options):
    """An in-process server with ``options`` (make_server's limits); yields it and its URL."""
    srv = serving.make_server(saved, name="mnist", port=0, **options)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv, f"http://127.0.0.1:{srv.server_address[1]}/v1/models/mnist"
    finally:
        srv.shutdown()
        srv.server_close()


class _CountingModel:
    """A served model that records how many ``predict`` calls run at once (each lasts 0.1 s)."""

    def __init__(self, model):
        self.model, self.lock = model, threading.Lock()
        self.running, self.most, self.most_large = 0, 0, 0
        self.large_running = 0

    def predict(self, batch):
        large = len(batch) > 50
        with self.lock:
            self.running += 1
            self.large_running += large
            self.most = max(self.most, self.running)
            self.most_large = max(self.most_large, self.large_running)
        time.sleep(0.1)  # long enough for requests to overlap when nothing stops them
        with self.lock:
            self.running -= 1
            self.large_running -= large
        return self.model.predict(batch)


def test_server_scores_at_most_workers_requests_at_once(saved, digits):
    small = {"instances": digits.test.images[:1].tolist()}
    large = {"instances": np.round(digits.test.images[:100], 3).tolist()}  # > SMALL_BODY
    assert len(json.dumps(large)) > serving.SMALL_BODY
    with _serve(saved, workers=3) as (srv, url):
        srv.model = _CountingModel(srv.model)
        with ThreadPoolExecutor(16) as pool:
            codes = list(pool.map(lambda body: _call(f"{url}:predict", body)[0],
                                  [small] * 10 + [large] * 6))
        assert codes == [200] * 16
        assert 1 <= srv.model.most <= 3  # 16 requests at once, never more than 3 scored
        assert srv.model.most_large <= 2  # large bodies leave a worker to the small ones


def test_server_caps_instances_per_request_and_says_the_cap(saved, trained, digits):
    images = digits.test.images[:4]
    with _serve(saved, max_instances=3) as (_, url):
        status, reply = _call(f"{url}:predict", {"instances": images.tolist()})
        assert status == 400 and "4 instances" in reply["error"] \
            and "limit of 3" in reply["error"]
        status, reply = _call(f"{url}:predict", {"instances": images[:3].tolist()})
        assert status == 200
        np.testing.assert_allclose(reply["predictions"], trained(images[:3], training=False),
                                   rtol=0, atol=1e-5)


def test_a_request_of_max_instances_images_gets_the_models_scores(saved, trained, digits):
    images = np.round(digits.test.images[:serving.MAX_INSTANCES], 4)
    body = json.dumps({"instances": images.tolist()}).encode()
    with _serve(saved) as (_, url):
        status, reply = _call(f"{url}:predict", raw=body)
    assert status == 200 and len(reply["predictions"]) == serving.MAX_INSTANCES
    np.testing.assert_allclose(reply["predictions"][::97], trained(images[::97], training=False),
                               rtol=0, atol=1e-5)


def _trickle(sock, data: bytes, interval: float, limit: float) -> tuple[int, bytes]:
    """Send ``data`` a byte every ``interval`` s until the server closes or replies, at
    most ``limit`` s; the bytes sent and what the server answered."""
    import select

    sent, end = 0, time.monotonic() + limit
    while sent < len(data) and time.monotonic() < end:
        if select.select([sock], [], [], 0)[0]:
            break  # the server answered or closed the connection
        try:
            sock.sendall(data[sent:sent + 1])
        except OSError:
            break
        sent += 1
        time.sleep(interval)
    sock.settimeout(limit)
    try:
        reply = sock.recv(65536)
    except OSError:
        reply = b""
    return sent, reply


@pytest.mark.parametrize("part", ["idle", "headers", "body"])
def test_a_slow_or_idle_client_is_cut_off_at_the_request_deadline(saved, part):
    """1 byte every 0.05 s would take 20 s or more; the deadline of 1 s cuts it off."""
    import socket

    body = b"x" * 400
    head = (b"POST /v1/models/mnist:predict HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain"
            b"\r\nX-Padding: " + b"p" * 400 + b"\r\nContent-Length: 400\r\n\r\n")
    with _serve(saved, request_timeout=1.0) as (_, url):
        port = int(url.split(":")[2].split("/")[0])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            if part == "idle":
                sent, reply = _trickle(sock, b"", 0.05, 30)
            elif part == "headers":
                sent, reply = _trickle(sock, head, 0.05, 30)
                assert sent < len(head)
            else:
                sock.sendall(head)
                sent, reply = _trickle(sock, body, 0.05, 30)
                assert sent < len(body) and reply.startswith(b"HTTP/1.1 408")
        assert _call(url)[0] == 200


def test_many_clients_hanging_up_at_once_are_logged_one_line_each(saved, capsys):
    import socket
    import struct

    with _serve(saved) as (srv, url):
        port = int(url.split(":")[2].split("/")[0])
        threads_before = threading.active_count()
        socks = []
        for _ in range(200):  # half-sent requests, then a reset (RST) on every connection
            sock = socket.create_connection(("127.0.0.1", port), timeout=30)
            sock.sendall(b"POST /v1/models/mnist:predict HTTP/1.1\r\nContent-Length: 1000"
                         b"\r\n\r\n{\"instances\": [[0")
            socks.append(sock)
        time.sleep(0.5)  # let the server start reading them (the test passes either way)
        for sock in socks:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        assert _call(url)[0] == 200  # still serving
        end = time.monotonic() + 60
        while threading.active_count() > threads_before and time.monotonic() < end:
            time.sleep(0.1)  # until every reset connection has been handled
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines and all(ln.startswith("client 127.0.0.1:") and "disconnected" in ln
                         for ln in lines)


def test_connections_over_max_connections_get_503_until_one_closes(saved):
    import socket

    def probe(port: int) -> bytes:  # what the server says to a new connection that sends nothing
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            try:
                return sock.recv(1000)
            except TimeoutError:
                return b""  # taken: it waits for a request

    with _serve(saved, max_connections=2) as (_, url):
        port = int(url.split(":")[2].split("/")[0])
        idle = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(2)]
        end = time.monotonic() + 60
        while not (reply := probe(port)) and time.monotonic() < end:
            time.sleep(0.1)  # until the server has taken both idle connections
        assert reply.startswith(b"HTTP/1.1 503") and b"too many open connections" in reply
        assert reply.endswith(b"\n") and json.loads(reply.split(b"\r\n\r\n", 1)[1])
        for sock in idle:
            sock.close()
        while probe(port) and time.monotonic() < end:
            time.sleep(0.1)  # until their threads have ended
        assert _call(url)[0] == 200


@pytest.mark.parametrize("depth, message", [(200, "list of 784 numbers"),  # NumPy's 64 axes
                                            (50_000, "nested too deeply")])  # JSON's recursion
def test_deeply_nested_json_gets_400(server, depth, message):
    raw = b'{"instances": ' + b"[" * depth + b"0" + b"]" * depth + b"}"
    status, reply = _call(f"{server}/v1/models/mnist:predict", raw=raw)
    assert status == 400 and message in reply["error"]
    assert _call(f"{server}/v1/models/mnist")[0] == 200


def test_a_body_on_a_get_is_never_read_as_the_next_request(server):
    import http.client
    from urllib.parse import urlparse

    host = urlparse(server)
    smuggled = b"GET /v1/models/other HTTP/1.1\r\nHost: x\r\n\r\n"
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
    conn.request("GET", "/v1/models/mnist", body=smuggled)  # sends Content-Length
    first = conn.getresponse()
    assert first.status == 200 and json.loads(first.read())["model_version_status"]
    conn.request("GET", "/v1/models/mnist")  # the same keep-alive connection
    second = conn.getresponse()
    assert second.status == 200 and json.loads(second.read())["model_version_status"]
    conn.close()
    for method, code in [("PUT", 405), ("FOO", 501)]:  # unknown methods: reply, then close
        conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
        conn.request(method, "/v1/models/mnist", body=smuggled)
        reply = conn.getresponse()
        assert reply.status == code and reply.getheader("Connection") == "close"
        conn.close()
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
    conn.request("GET", "/v1/models/mnist", body=b"x" * 300_000)  # over max_body: refused
    reply = conn.getresponse()
    assert reply.status == 413 and reply.getheader("Connection") == "close"
    conn.close()


def _export_signature(path, in_shape, in_dtype, out_fn):
    """A SavedModel whose serving_default maps ``images`` to ``scores = out_fn(images)``."""
    module = tf.Module()
    module.f = tf.function(lambda images: {"scores": out_fn(images)},
                           input_signature=[tf.TensorSpec(in_shape, in_dtype, name="images")])
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.f})
    return path


@pytest.mark.parametrize("in_shape, in_dtype, out_fn, found", [
    ([None, 100], tf.float32, lambda x: tf.zeros([tf.shape(x)[0], 10]), "(None, 100)"),
    ([None, 784], tf.float64, lambda x: tf.zeros([tf.shape(x)[0], 10]), "'images' float64"),
    ([None, 784], tf.float32, lambda x: x[:, :5], "(None, 5)"),
    ([None, 784], tf.float32, lambda x: tf.cast(x[:, :10], tf.float64), "'scores' float64"),
    ([None, 784], tf.float32, lambda x: x[:, :tf.shape(x)[0] * 0 + 5], "(2, 5)"),  # (?, ?)
], ids=["input-shape", "input-dtype", "output-shape", "output-dtype", "output-runtime-shape"])
def test_a_model_with_the_wrong_signature_is_refused_when_the_server_starts(
        tmp_path, in_shape, in_dtype, out_fn, found):
    path = _export_signature(tmp_path / "wrong", in_shape, in_dtype, out_fn)
    with pytest.raises(saving.ModelError) as err:
        serving.make_server(path, port=0)
    message = str(err.value)
    assert str(path) in message and found in message
    assert "float32 (None, 784)" in message and "float32 (None, 10)" in message


def test_the_load_benchmark_runs_quick_and_no_request_fails(saved):
    """benchmarks/serving_load.py --quick: its table, every request answered (no timing goal)."""
    import os
    import re
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "serving_load.py"
    run = subprocess.run([sys.executable, str(script), "--quick", "--model", str(saved)],
                         capture_output=True, text=True, env=os.environ.copy(), timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr[-2000:]
    out = run.stdout
    assert re.search(r"one-image requests: [1-9]\d* answered 200, 0 failed; latency median "
                     r"\S+ s, 99th percentile \S+ s, worst \S+ s \(goal <= 1 s: (met|NOT met)\)",
                     out), out
    assert re.search(r"maximum-size requests: (\d) answered 200, (\d) got 503 .*, 0 failed", out)
    assert sum(map(int, re.search(r"requests: (\d) answered 200, (\d) got 503", out).groups())) \
        == 3
    assert re.search(r"server memory: \d+ MB at start, peak \d+ MB \(VmHWM", out)
    assert "server still running" in out


# ---------------------------------------------------------------- as a separate process

def test_server_process_starts_answers_and_stops(saved, trained, digits):
    with serving.ServerProcess(saved) as srv:
        images = digits.test.images[:3]
        _check_predictions(srv.url, images, trained(images, training=False).numpy())
        process = srv.process
    assert process.poll() is not None  # stopped


def test_server_command_reports_a_missing_model(tmp_path):
    assert serving.main(["--model", str(tmp_path / "none"), "--port", "0"]) == 2
    with pytest.raises(saving.ModelError, match="did not start.*no such model"):
        serving.ServerProcess(tmp_path / "none", timeout=60).start()


def test_tf1_graph_saves_and_reimports_by_tensor_name(digits, tmp_path):
    v1 = tf.compat.v1
    graph, t = models.tf1_classifier(hidden=32)
    images, labels = digits.train.images[:500], digits.train.labels[:500]
    with v1.Session(graph=graph) as sess:
        sess.run(t["init"])
        for _ in range(30):
            sess.run(t["train_op"], {t["input"]: images, t["label"]: labels, t["keep_prob"]: 0.5})
        expected = sess.run(t["output"], {t["input"]: digits.test.images[:20]})
        with graph.as_default():
            prefix = v1.train.Saver().save(sess, str(tmp_path / "tf1" / "model"))
    fresh = tf.Graph()
    with fresh.as_default(), v1.Session(graph=fresh) as sess:
        v1.train.import_meta_graph(prefix + ".meta").restore(sess, prefix)
        got = sess.run("output:0", {"input:0": digits.test.images[:20], "keep_prob:0": 1.0})
        accuracy = sess.run("accuracy:0", {"input:0": images, "label:0": labels})
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert accuracy > 0.8


def test_model_dir_is_the_git_ignored_models_folder(monkeypatch, tmp_path):
    from pathlib import Path
    monkeypatch.delenv("TFLAB_MODEL_DIR", raising=False)
    assert saving.model_dir() == Path(saving.__file__).resolve().parents[1] / "models"
    monkeypatch.setenv("TFLAB_MODEL_DIR", str(tmp_path))
    assert saving.model_dir() == tmp_path
