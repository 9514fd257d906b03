"""Serving a trained MNIST model: save it safely, load it once, score many images.

- ``export_saved_model`` writes a SavedModel whose ``serving_default`` signature maps
  ``images`` (float32 [None, 784]) to ``scores`` (float32 [None, 10]), built by
  ``serving_archive``; ``save_keras`` and
  ``save_checkpoint`` write the other two formats. Every save goes to a temporary name
  first and is renamed into place, so an interrupted save never replaces a good model
  with half of one.
- ``load(path)`` returns a handle to a model shared by everyone who asks for the same
  path: it is loaded once, kept for the whole process (``scope="process"``) or released
  when its last ``with`` block ends (``scope="block"``), and is safe to use from threads.
- ``preprocess_image`` (``read_image`` → ``ink_pixels`` → ``pad_to_square`` →
  ``resize_square``) / ``postprocess`` turn image files into model inputs and scores
  into answers, as an inference service does.
- ``make_server`` / ``python -m tflab.serving`` serve a SavedModel over HTTP with
  TensorFlow Serving's REST API (``GET /v1/models/<name>``, ``POST
  /v1/models/<name>:predict``), on 127.0.0.1 by default.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

__all__ = [
    "SIGNATURE", "INPUT", "OUTPUT", "ModelError",
    "model_dir", "replace_atomically", "folder_sha256", "serving_archive", "export_saved_model", "save_keras", "load_keras", "save_checkpoint", "restore_checkpoint",
    "load", "ModelHandle", "loaded_paths", "load_count", "open_handles",
    "score_per_image", "score_batched", "score_threads",
    "save_digit_image", "read_image", "ink_pixels", "pad_to_square", "resize_square",
    "preprocess_image", "postprocess",
    "make_server", "ServerProcess",
]

SIGNATURE, INPUT, OUTPUT = "serving_default", "images", "scores"
PIXELS, CLASSES = 784, 10


class ModelError(Exception):
    """A model file or folder is missing, damaged, or not what was expected."""


# --------------------------------------------------------------------------- saving

def model_dir() -> Path:
    """Where the lessons keep trained models: ``$TFLAB_MODEL_DIR``, else ``models/``.

    ``models/`` is the repository's git-ignored folder when tflab runs from a checkout,
    and ``~/.cache/tflab/models`` otherwise.
    """
    env = os.environ.get("TFLAB_MODEL_DIR")
    if env:
        return Path(env).expanduser()
    repo = Path(__file__).resolve().parents[1]
    if (repo / "pyproject.toml").is_file():
        return repo / "models"
    return Path.home() / ".cache" / "tflab" / "models"


@contextmanager
def replace_atomically(path: Path):
    """Yield a temporary path (in a new folder next to ``path``); on success, move it into place.

    On any error the temporary path is removed and whatever was at ``path`` is
    untouched. An existing folder at ``path`` is swapped out, then deleted.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    target = tmp / path.name
    try:
        yield target
        if path.is_dir() and not path.is_symlink():
            old = tmp / "old"
            os.replace(path, old)
            try:
                os.replace(target, path)
            except BaseException:
                os.replace(old, path)  # put the good model back before giving up
                raise
        else:
            os.replace(target, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def serving_archive(model):
    """The export a server needs: a ``keras.export.ExportArchive`` of ``model`` with one
    signature, ``serving_default``, mapping ``images`` (float32 [None, 784]) to ``scores``.
    """
    import keras
    import tensorflow as tf

    def serve(images):  # a signature function returns a dict: {output name: tensor}
        return {OUTPUT: model(images, training=False)}  # OUTPUT = "scores", dropout off

    archive = keras.export.ExportArchive()
    archive.track(model)  # the model's variables are saved with the graph
    archive.add_endpoint(
        name=SIGNATURE,  # "serving_default", the name servers call by default
        fn=serve,
        input_signature=[tf.TensorSpec([None, PIXELS], tf.float32, name=INPUT)],  # "images"
    )
    return archive


def export_saved_model(model, path: str | os.PathLike) -> Path:
    """Write ``model`` as a SavedModel for serving: ``images`` [None, 784] → ``scores``.

    The model must take 784 float32 pixels in [0, 1] and return 10 class
    probabilities. The archive is :func:`serving_archive`; the folder is written
    under a temporary name and renamed into place.
    """
    archive = serving_archive(model)
    path = Path(path)
    with replace_atomically(path) as tmp:
        archive.write_out(str(tmp), verbose=False)
    return path


def folder_sha256(path: str | os.PathLike) -> str:
    """One SHA-256 over every file of a folder (names and contents, in sorted order)."""
    import hashlib

    path = Path(path)
    if not path.is_dir():
        raise ModelError(f"{path}: no such model folder")
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        with open(file, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def save_keras(model, path: str | os.PathLike) -> Path:
    """Save ``model`` as a ``.keras`` file, written under a temporary name and renamed."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"a Keras model file must end in .keras, not {path.name!r}")
    with replace_atomically(path) as tmp:
        model.save(tmp)
    return path


def load_keras(path: str | os.PathLike):
    """Load a ``.keras`` file with ``safe_mode=True`` (no arbitrary code from the file)."""
    import keras

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such Keras model file")
    try:
        return keras.saving.load_model(path, safe_mode=True)
    except Exception as err:  # Keras raises many kinds for a damaged zip
        raise ModelError(f"{path}: not a readable .keras model ({type(err).__name__}: {err})") \
            from err


def save_checkpoint(model, path: str | os.PathLike) -> Path:
    """Save the model's variables with ``tf.train.Checkpoint`` into the folder ``path``.

    Returns the checkpoint prefix (``path/ckpt``), which ``restore_checkpoint`` takes.
    """
    import tensorflow as tf

    path = Path(path)
    with replace_atomically(path) as tmp:
        tf.train.Checkpoint(model=model).write(str(tmp / "ckpt"))
    return path / "ckpt"


def restore_checkpoint(model, prefix: str | os.PathLike):
    """Restore variables saved by ``save_checkpoint`` into ``model`` (same architecture).

    Every layer's weights must be found; an optimizer state in the checkpoint is
    ignored when ``model`` has no optimizer (scoring needs none).
    """
    import tensorflow as tf

    prefix = Path(prefix)
    if not Path(f"{prefix}.index").is_file():
        raise ModelError(f"{prefix}: no checkpoint there (expected {prefix}.index)")
    status = tf.train.Checkpoint(model=model).read(str(prefix))
    status.assert_existing_objects_matched().expect_partial()
    return model


# --------------------------------------------------------------------------- the registry

class _Entry:
    """One loaded model in the registry: what it is, who holds it, how long it lives."""

    def __init__(self, path: Path, module):
        self.path = path                               # the key: the folder, resolved
        self.module = module                           # the loaded SavedModel, read once
        self.function = module.signatures[SIGNATURE]   # images -> scores
        self.holders = 0                               # open handles on it
        self.process_wide = False                      # True: stays when holders drops to 0


_lock = threading.Lock()
_entries: dict[Path, _Entry] = {}
_loads: dict[Path, int] = {}
_path_locks: dict[Path, threading.Lock] = {}


def _load_saved_model(path: Path):
    import tensorflow as tf

    if not path.exists():
        raise ModelError(f"{path}: no such model; run notebook 04 (or export_saved_model) first")
    if not (path / "saved_model.pb").is_file():
        raise ModelError(f"{path}: not a SavedModel folder (no saved_model.pb in it)")
    try:
        module = tf.saved_model.load(str(path))
    except Exception as err:
        raise ModelError(f"{path}: the SavedModel is damaged ({type(err).__name__}: {err})") \
            from err
    signature = getattr(module, "signatures", {}).get(SIGNATURE)
    if signature is None:
        raise ModelError(f"{path}: the SavedModel has no {SIGNATURE!r} signature")
    inputs = signature.structured_input_signature[1]
    if INPUT not in inputs or OUTPUT not in signature.structured_outputs:
        raise ModelError(f"{path}: signature {SIGNATURE!r} must map {INPUT!r} to {OUTPUT!r}, "
                         f"found inputs {sorted(inputs)} and outputs "
                         f"{sorted(signature.structured_outputs)}")
    return module


class ModelHandle:
    """One caller's share of a loaded model. Use it, then ``close()`` it (or use ``with``)."""

    def __init__(self, entry: _Entry):
        self._entry = entry
        self._open = True

    @property
    def path(self) -> Path:
        return self._entry.path

    @property
    def closed(self) -> bool:
        return not self._open

    @property
    def saved_model(self):
        """The loaded SavedModel object, one per path: every handle on the path shares it."""
        return self._entry.module

    def predict(self, images) -> np.ndarray:
        """Scores (N, 10) for ``images``: float32 pixels in [0, 1], shaped (N, 784) or (N, 28, 28)."""
        if not self._open:
            raise ModelError(f"{self.path}: this handle was closed")
        batch = _as_batch(images)
        return self._entry.function(**{INPUT: batch})[OUTPUT].numpy()

    def close(self) -> None:
        """Release this handle; a block-scoped model is unloaded when its last handle goes."""
        with _lock:
            if not self._open:
                return
            self._open = False
            entry = self._entry
            entry.holders -= 1
            if entry.holders == 0 and not entry.process_wide:
                _entries.pop(entry.path, None)

    def __enter__(self) -> "ModelHandle":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<ModelHandle {self.path} ({state})>"


def load(path: str | os.PathLike, *, scope: str = "process") -> ModelHandle:
    """A handle to the SavedModel at ``path``, loading it only if nobody has yet.

    ``scope="process"`` keeps the model loaded until the process ends, even after every
    handle is closed (a server's model); ``scope="block"`` unloads it when the last
    handle is closed, e.g. at the end of ``with load(path, scope="block") as model:``.
    (The original loading program declared its model GLOBALSCOPE and PERSIST: one copy
    for the whole process, kept between calls; that is ``scope="process"``.)
    Safe to call from many threads at once: the model is loaded exactly once.
    """
    if scope not in ("process", "block"):
        raise ValueError(f"scope must be 'process' or 'block', not {scope!r}")
    key = Path(path).resolve()
    with _lock:  # _lock guards the registry's dicts; hold it only briefly
        path_lock = _path_locks.setdefault(key, threading.Lock())
    with path_lock:  # one caller at a time per path, so the model is read from disk once
        with _lock:
            entry = _entries.get(key)
        if entry is None:  # nobody holds it: read it (slow, so without _lock)
            entry = _Entry(key, _load_saved_model(key))
            with _lock:
                _loads[key] = _loads.get(key, 0) + 1
        with _lock:  # count this caller; (re-)register, in case a close() just released it
            entry.holders += 1
            entry.process_wide = entry.process_wide or scope == "process"
            _entries[key] = entry
    return ModelHandle(entry)


def loaded_paths() -> list[Path]:
    """The models loaded right now."""
    with _lock:
        return sorted(_entries)


def load_count(path: str | os.PathLike) -> int:
    """How many times the model at ``path`` has been read from disk in this process."""
    with _lock:
        return _loads.get(Path(path).resolve(), 0)


def open_handles(path: str | os.PathLike) -> int:
    """How many handles on the model at ``path`` are open right now (0 if it is not loaded)."""
    with _lock:
        entry = _entries.get(Path(path).resolve())
        return entry.holders if entry is not None else 0


def _as_batch(images) -> np.ndarray:
    """Check and convert model input to float32 (N, 784); clear errors otherwise."""
    try:
        batch = np.asarray(images, dtype=np.float32)
    except (TypeError, ValueError) as err:
        raise ValueError(f"images must be numbers: {err}") from None
    if batch.ndim == 3 and batch.shape[1:] == (28, 28):
        batch = batch.reshape(len(batch), PIXELS)
    if batch.ndim != 2 or batch.shape[1] != PIXELS:
        raise ValueError(f"images must have shape (N, 784) or (N, 28, 28), not {batch.shape}")
    if not np.all(np.isfinite(batch)):
        raise ValueError("images contain NaN or infinite values")
    return batch


# --------------------------------------------------------------------------- scoring

def _check_positive(**counts) -> None:
    for name, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, not {value!r}")


def score_per_image(model: ModelHandle, images: np.ndarray) -> np.ndarray:
    """One call per image, as the original load.py did. Returns the scores (N, 10)."""
    return np.concatenate([model.predict(images[i:i + 1]) for i in range(len(images))])


def score_batched(model: ModelHandle, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Calls of ``batch_size`` images each, the last maybe fewer. Returns the scores (N, 10)."""
    _check_positive(batch_size=batch_size)
    return np.concatenate([model.predict(images[i:i + batch_size])
                           for i in range(0, len(images), batch_size)])


def score_threads(model: ModelHandle, images: np.ndarray, threads: int = 8,
                  batch_size: int = 1) -> np.ndarray:
    """``threads`` workers share one model, each scoring chunks of ``batch_size`` images.

    With ``batch_size=1`` this is the original's PARALLEL(8): many single-image
    requests at once. Returns the scores (N, 10) in input order.
    """
    _check_positive(threads=threads, batch_size=batch_size)
    chunks = [images[i:i + batch_size] for i in range(0, len(images), batch_size)]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return np.concatenate(list(pool.map(model.predict, chunks)))


# --------------------------------------------------------------------------- images

def save_digit_image(digit: np.ndarray, path: str | os.PathLike, *,
                     size: int | tuple[int, int] = 28, mode: str = "L",
                     invert: bool = False) -> Path:
    """Write a 28×28 digit (floats in [0, 1], white on black) as an image file.

    ``size`` rescales it: a side, or ``(width, height)`` for a picture that is not square
    (the digit fills the shorter side, centred on a wider or taller sheet). ``mode`` is a
    Pillow mode ("L", "RGB" or "RGBA"; in RGBA the strokes are opaque and the background
    transparent), ``invert`` writes a dark digit on a light background, as a photo or
    scan of handwriting would be.
    """
    from PIL import Image

    width, height = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    if min(width, height) < 1:
        raise ValueError(f"size must be a positive side or (width, height), not {size!r}")
    if mode not in ("L", "RGB", "RGBA"):
        raise ValueError(f"mode must be 'L', 'RGB' or 'RGBA', not {mode!r}")
    pixels = np.clip(np.asarray(digit, dtype=np.float32).reshape(28, 28), 0, 1)
    grey = np.round((1.0 - pixels if invert else pixels) * 255).astype(np.uint8)
    side = min(width, height)
    image = Image.new("L", (width, height), 255 if invert else 0)  # the sheet
    image.paste(Image.fromarray(grey, "L").resize((side, side), Image.Resampling.BILINEAR),
                ((width - side) // 2, (height - side) // 2))
    if mode == "RGBA":
        ink = np.asarray(image)
        alpha = 255 - ink if invert else ink
        colour = np.full((height, width, 3), 0 if invert else 255, np.uint8)
        image = Image.fromarray(np.dstack([colour, alpha]), "RGBA")
    elif mode != "L":
        image = image.convert(mode)
    path = Path(path)
    image.save(path)
    return path


def preprocess_image(source) -> np.ndarray:
    """An image file (or PIL image) → the model's input: 784 float32 pixels in [0, 1]."""
    image = read_image(source)         # 1. open and read the file
    ink = ink_pixels(image)            # 2. any mode → white digit on black, levels in [0, 1]
    square = pad_to_square(ink)        # 3. centre it on a square: resizing will not stretch it
    small = resize_square(square, 28)  # 4. 28 × 28, the size of MNIST's digits
    return small.reshape(PIXELS)       # 5. one row of 784 pixels, as the signature takes them


def read_image(source):
    """Open an image file and read it (a PIL image is returned as it is).

    Raises ``ModelError`` naming the file when it is missing or not an image.
    """
    from PIL import Image, UnidentifiedImageError

    if isinstance(source, Image.Image):
        return source
    try:
        image = Image.open(source)
        image.load()
    except FileNotFoundError:
        raise ModelError(f"{source}: no such image file") from None
    except (UnidentifiedImageError, OSError) as err:
        raise ModelError(f"{source}: not a readable image ({err})") from None
    return image


def ink_pixels(image) -> np.ndarray:
    """The digit as MNIST draws it: ink levels in [0, 1] (H, W), white digit on black.

    - A drawing on a transparent background (some pixels less than half opaque): the
      opacity is the ink, whatever colour the strokes are.
    - Otherwise any transparency is composited over white paper, colour becomes grey,
      and a light background (the border's median above 0.5: a dark digit on paper)
      is inverted.
    """
    from PIL import Image

    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        image = image.convert("RGBA")
        alpha = np.asarray(image, dtype=np.float32)[..., 3] / 255.0
        if alpha.min() < 0.5:
            return alpha
        image = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image)
    grey = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    return 1.0 - grey if np.median(border) > 0.5 else grey


def pad_to_square(pixels: np.ndarray) -> np.ndarray:
    """Centre ``pixels`` (H, W) on a black square of side max(H, W)."""
    if np.ndim(pixels) != 2:
        raise ValueError(f"pixels must be one grey image (H, W), not shape {np.shape(pixels)}")
    h, w = pixels.shape
    side = max(h, w)
    top, left = (side - h) // 2, (side - w) // 2
    square = np.zeros((side, side), np.float32)
    square[top:top + h, left:left + w] = pixels
    return square


def resize_square(pixels: np.ndarray, side: int = 28) -> np.ndarray:
    """Resize a square of levels in [0, 1] to ``side`` × ``side``, bilinear (it smooths)."""
    from PIL import Image

    if np.ndim(pixels) != 2 or pixels.shape[0] != pixels.shape[1]:
        raise ValueError(f"pixels must be a square grey image, not shape {np.shape(pixels)}")
    image = Image.fromarray(np.round(pixels * 255).astype(np.uint8), "L")
    small = image.resize((side, side), Image.Resampling.BILINEAR)
    return np.asarray(small, dtype=np.float32) / 255.0


def postprocess(scores) -> list[dict]:
    """Scores (N, 10) → one ``{"class": k, "probability": p, "probabilities": [...]}`` each."""
    scores = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    return [{"class": int(np.argmax(row)), "probability": float(np.max(row)),
             "probabilities": [round(float(p), 6) for p in row]} for row in scores]


# --------------------------------------------------------------------------- HTTP

MAX_BODY = 8 * 1024 * 1024


class _Handler(BaseHTTPRequestHandler):
    server_version = "tflab-serving/1"
    protocol_version = "HTTP/1.1"
    timeout = 30  # seconds a client may stay silent (a short body, an idle keep-alive)

    def log_message(self, format, *args):  # quiet by default; --verbose turns it on
        if self.server.verbose:
            super().log_message(format, *args)

    def _reply(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, message: str) -> None:
        self._reply(status, {"error": message})

    def _is_our_model(self, suffix: str = "") -> bool:
        """True if the path is /v1/models/<our model><suffix>; otherwise reply 404."""
        prefix = "/v1/models/"
        path = self.path.split("?", 1)[0]
        name = path[len(prefix):len(path) - len(suffix)] if \
            path.startswith(prefix) and path.endswith(suffix) else ""
        if not name:
            self._error(HTTPStatus.NOT_FOUND, f"unknown path {self.path!r}; use "
                        f"/v1/models/<name>{suffix}")
        elif name != self.server.model_name:
            self._error(HTTPStatus.NOT_FOUND, f"model {name!r} is not served here; "
                        f"this server has {self.server.model_name!r}")
        return name == self.server.model_name

    def do_GET(self):
        if not self._is_our_model():
            return
        self._reply(HTTPStatus.OK, {"model_version_status": [{
            "version": "1", "state": "AVAILABLE",
            "status": {"error_code": "OK", "error_message": ""}}]})

    def do_POST(self):
        try:
            length = int(self.headers.get("Content-Length", ""))
            if length < 0:
                raise ValueError
        except ValueError:
            self.close_connection = True
            return self._error(HTTPStatus.LENGTH_REQUIRED,
                               "a Content-Length header with the body's size in bytes is required")
        if length > self.server.max_body:
            self.close_connection = True  # do not read a body that large
            return self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                               f"request body of {length} bytes is over the limit of "
                               f"{self.server.max_body} bytes")
        body = self.rfile.read(length)
        if not self._is_our_model(":predict"):
            return
        try:
            request = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            return self._error(HTTPStatus.BAD_REQUEST, f"the body is not valid JSON: {err}")
        if not isinstance(request, dict) or "instances" not in request:
            return self._error(HTTPStatus.BAD_REQUEST,
                               'expected a JSON object with "instances": a list of images')
        signature = request.get("signature_name", SIGNATURE)
        if signature != SIGNATURE:
            return self._error(HTTPStatus.BAD_REQUEST, f"unknown signature {signature!r}; "
                               f"this model has {SIGNATURE!r}")
        instances = request["instances"]
        if not isinstance(instances, list) or not instances:
            return self._error(HTTPStatus.BAD_REQUEST, '"instances" must be a non-empty list')
        if any(isinstance(item, dict) for item in instances):  # row format, named input
            if not all(isinstance(item, dict) and INPUT in item for item in instances):
                return self._error(HTTPStatus.BAD_REQUEST, 'in the row format every instance '
                                   f'must be an object with an "{INPUT}" key')
            instances = [item[INPUT] for item in instances]
        try:
            batch = _parse_instances(instances)
        except (ValueError, OverflowError) as err:
            return self._error(HTTPStatus.BAD_REQUEST, str(err))
        try:
            scores = self.server.model.predict(batch)
        except Exception as err:  # the server must keep serving whatever the model does
            return self._error(HTTPStatus.INTERNAL_SERVER_ERROR,
                               f"the model failed: {type(err).__name__}: {err}")
        self._reply(HTTPStatus.OK, {"predictions": scores.tolist()})


def _parse_instances(instances: list) -> np.ndarray:
    for row in instances:
        flat = np.ravel(np.asarray(row, dtype=object)) if isinstance(row, list) else [row]
        bad = next((v for v in flat if isinstance(v, bool) or not isinstance(v, (int, float))),
                   None)
        if bad is not None or (isinstance(row, list) and not flat.size):
            raise ValueError(f"every instance must be a list of 784 numbers (or 28 lists of 28); "
                             f"found {bad!r}")
    try:
        batch = np.asarray(instances, dtype=np.float32)
    except ValueError:
        raise ValueError("instances have different lengths; each must hold 784 numbers") from None
    except OverflowError:
        raise ValueError("a number in instances is too large for float32") from None
    return _as_batch(batch)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default of 5 resets connections when many clients arrive at once


def make_server(model_path: str | os.PathLike, *, name: str = "mnist", host: str = "127.0.0.1",
                port: int = 8501, max_body: int = MAX_BODY, verbose: bool = False
                ) -> ThreadingHTTPServer:
    """An HTTP server for the SavedModel at ``model_path`` (call ``serve_forever()``).

    Binds to 127.0.0.1 unless ``host`` says otherwise; ``port=0`` picks a free port
    (read it from ``server.server_address``).
    """
    model = load(model_path, scope="process")  # before binding: a bad model leaves no socket
    server = _Server((host, port), _Handler)
    server.model = model
    server.model_name = name
    server.max_body = max_body
    server.verbose = verbose
    return server


class ServerProcess:
    """Run ``python -m tflab.serving`` in a child process; a context manager.

    Starts it on a free port, waits until it answers, and stops it on exit
    (or ``stop()``). ``url`` is the model's base address.
    """

    def __init__(self, model_path: str | os.PathLike, *, name: str = "mnist",
                 timeout: float = 120.0):
        self.model_path, self.name, self.timeout = Path(model_path), name, timeout
        self.process: subprocess.Popen | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/models/{self.name}"

    def start(self) -> "ServerProcess":
        import queue

        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self._stderr = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tflab.serving", "--model", str(self.model_path),
             "--name", self.name, "--port", "0"],
            stdout=subprocess.PIPE, stderr=self._stderr, text=True, env=env)
        deadline = time.monotonic() + self.timeout
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: lines.put(self.process.stdout.readline()),
                         daemon=True).start()
        try:  # "serving <name> on http://127.0.0.1:<port>/...", once the model is loaded
            line = lines.get(timeout=self.timeout)
        except queue.Empty:
            line = ""
        if not line.startswith("serving "):
            self.stop()
            raise ModelError(f"the model server did not start within {self.timeout:.0f} s: "
                             f"{self._error_output() or 'no message'}")
        self.port = int(line.rsplit(":", 1)[1].split("/")[0])
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url, timeout=5) as reply:
                    if reply.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise ModelError(f"the model server did not answer within {self.timeout:.0f} s")

    def _error_output(self) -> str:
        """The last lines the server wrote to stderr (TensorFlow's log noise left out)."""
        self._stderr.seek(0)
        lines = [ln.strip() for ln in self._stderr if ln.strip()]
        errors = [ln for ln in lines if ln.startswith("error:")]
        return " ".join(errors or lines[-3:])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None and self.process.stdout:
            self.process.stdout.close()

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tflab.serving",
        description="Serve a SavedModel with TensorFlow Serving's REST API.")
    parser.add_argument("--model", required=True, help="the SavedModel folder")
    parser.add_argument("--name", default="mnist", help="the model's name in URLs")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=8501, help="port (0: any free port)")
    parser.add_argument("--max-body", type=int, default=MAX_BODY,
                        help="largest request body in bytes")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    try:
        server = make_server(args.model, name=args.name, host=args.host, port=args.port,
                             max_body=args.max_body, verbose=args.verbose)
    except (ModelError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    host, port = server.server_address[:2]
    print(f"serving {args.name} on http://{host}:{port}/v1/models/{args.name}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
