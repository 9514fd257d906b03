"""Serving a SavedModel over HTTP with TensorFlow Serving's REST API.

``make_server`` / ``python -m tflab.serving --model <folder>`` answer ``GET
/v1/models/<name>`` and ``POST /v1/models/<name>:predict``, on 127.0.0.1 by default;
``ServerProcess`` runs that command in a child process (a context manager). The model
is loaded through :func:`tflab.registry.load` and its signature is checked when the
server starts.

Limits that keep one client from taking the server down:

- ``workers`` requests are parsed and scored at once (a semaphore); bodies larger than
  ``SMALL_BODY`` are read one at a time (``workers - 1`` at once), so small requests
  keep a worker free, and between its batches a large request lets waiting small ones
  go first (up to ``SMALL_FIRST`` s); a large body that waits longer than
  ``request_timeout`` for its turn gets 503.
- ``max_body`` bytes and ``max_instances`` images per request (400 names the cap); the
  images are converted by NumPy in one step and scored ``SCORE_BATCH`` at a time.
- ``request_timeout`` seconds for the whole request (idle keep-alive time, headers and
  body together, not per byte): a slow client is cut off at the deadline.
- ``max_connections`` open connections; more are closed at once.
- Every method's body is read (or the connection is closed), so a body is never parsed
  as the next request; a client that disconnects is logged in one line.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from tflab.registry import ModelHandle, as_batch, load
from tflab.saving import CLASSES, INPUT, OUTPUT, PIXELS, SIGNATURE, ModelError

__all__ = ["MAX_BODY", "MAX_INSTANCES", "SMALL_BODY", "make_server", "check_signature",
           "ServerProcess", "main"]

MAX_BODY = 8 * 1024 * 1024     # bytes in one request body
MAX_INSTANCES = 1000           # images in one request
SMALL_BODY = 256 * 1024        # bodies up to this size do not queue behind large ones
WORKERS = 2                    # requests parsed and scored at once
REQUEST_TIMEOUT = 30.0         # seconds for a whole request, idle keep-alive time included
MAX_CONNECTIONS = 2048         # open connections at once (a thread each)
SMALL_FIRST = 0.05             # seconds a large request waits for small ones per batch
SCORE_BATCH = 100              # images scored per model call (bounds the activations' memory)


class _DeadlineSocket(io.RawIOBase):
    """A socket's reading side that raises ``TimeoutError`` once ``deadline`` has passed.

    Each ``recv`` may wait only for the time left, so a client sending one byte a second
    is cut off at the deadline, not kept alive byte by byte.
    """

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.deadline: float | None = None  # time.monotonic() value; None: wait forever

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the request's deadline passed")
            self.sock.settimeout(left)
        return self.sock.recv_into(buffer)


class _Handler(BaseHTTPRequestHandler):
    server_version = "tflab-serving/1"
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.rfile.close()  # replaced by one that keeps the request's deadline
        self._reader = _DeadlineSocket(self.connection)
        self.rfile = io.BufferedReader(self._reader, 64 * 1024)

    def handle_one_request(self) -> None:
        # the deadline covers the wait for the request line (an idle keep-alive), the
        # headers and the body: the client's whole time, not each byte's
        self._reader.deadline = time.monotonic() + self.server.request_timeout
        super().handle_one_request()

    def log_message(self, format, *args):  # quiet by default; --verbose turns it on
        if self.server.verbose:
            super().log_message(format, *args)

    def send_error(self, code, message=None, explain=None) -> None:
        self.close_connection = True  # an unread body must not become the next request
        super().send_error(code, message, explain)

    def _reply(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.connection.settimeout(self.server.request_timeout)  # for sending the reply
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, message: str, *, close: bool = False) -> None:
        if close:
            self.close_connection = True
        self._reply(status, {"error": message})

    def _body_length(self) -> int | None:
        """The body's declared size (0 if none); None after replying to a bad one."""
        if "Transfer-Encoding" in self.headers:
            self._error(HTTPStatus.LENGTH_REQUIRED, "chunked bodies are not accepted; send a "
                        "Content-Length header with the body's size in bytes", close=True)
            return None
        declared = self.headers.get("Content-Length")
        if declared is None:
            return 0
        declared = declared.strip()
        length = int(declared) if declared.isascii() and declared.isdigit() else -1
        if length < 0:
            self._error(HTTPStatus.LENGTH_REQUIRED, "a Content-Length header with the body's "
                        f"size in bytes is required, not {declared!r}", close=True)
            return None
        if length > self.server.max_body:  # do not read a body that large
            self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"request body of {length} bytes "
                        f"is over the limit of {self.server.max_body} bytes", close=True)
            return None
        return length

    def _read_body(self, length: int) -> bytes | None:
        """The body's ``length`` bytes; None after a timeout (408, connection closed)."""
        try:
            body = self.rfile.read(length)
        except TimeoutError:
            body = None
        if body is None or len(body) < length:
            self.close_connection = True
            if body is None:  # too slow; a client that hung up gets no reply
                self._error(HTTPStatus.REQUEST_TIMEOUT, "the request did not arrive within "
                            f"{self.server.request_timeout:g} s", close=True)
            return None
        return body

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
        length = self._body_length()
        if length is None or (length and self._read_body(length) is None):
            return  # a body on a GET is read and dropped, never parsed as the next request
        if not self._is_our_model():
            return
        self._reply(HTTPStatus.OK, {"model_version_status": [{
            "version": "1", "state": "AVAILABLE",
            "status": {"error_code": "OK", "error_message": ""}}]})

    def _unsupported(self):
        self._error(HTTPStatus.METHOD_NOT_ALLOWED, f"method {self.command} is not supported; "
                    "use GET for the status and POST for :predict", close=True)

    do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _unsupported

    def do_POST(self):
        if "Content-Length" not in self.headers and "Transfer-Encoding" not in self.headers:
            return self._error(HTTPStatus.LENGTH_REQUIRED, "a Content-Length header with the "
                               "body's size in bytes is required", close=True)
        length = self._body_length()
        if length is None:
            return
        large = self.server.large_bodies if length > SMALL_BODY else None
        if large is not None:  # one large body at a time: its bytes and Python objects
            waited = time.monotonic()
            if not large.acquire(timeout=self.server.request_timeout):
                return self._error(HTTPStatus.SERVICE_UNAVAILABLE, "the server is busy with "
                                   "other large requests; retry later", close=True)
            self._reader.deadline += time.monotonic() - waited  # the server's wait, not theirs
        else:
            with self.server.small_done:
                self.server.small_pending += 1
        try:
            body = self._read_body(length)
            if body is None or not self._is_our_model(":predict"):
                return
            with self.server.workers:
                status, payload = self._predict(body, large=large is not None)
        finally:
            if large is None:
                with self.server.small_done:
                    self.server.small_pending -= 1
                    self.server.small_done.notify_all()
            else:
                _release_free_memory()  # before the next large body, not after many
                large.release()
        self._reply(status, payload)

    def _predict(self, body: bytes, *, large: bool = False) -> tuple[int, dict]:
        """(status, reply) for a :predict body; a large one lets small requests go first."""
        bad = HTTPStatus.BAD_REQUEST
        try:
            request = json.loads(body)
        except RecursionError:
            return bad, {"error": "the body's JSON is nested too deeply"}
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            return bad, {"error": f"the body is not valid JSON: {err}"}
        if not isinstance(request, dict) or "instances" not in request:
            return bad, {"error": 'expected a JSON object with "instances": a list of images'}
        signature = request.get("signature_name", SIGNATURE)
        if signature != SIGNATURE:
            return bad, {"error": f"unknown signature {signature!r}; this model has "
                                  f"{SIGNATURE!r}"}
        instances = request["instances"]
        if not isinstance(instances, list) or not instances:
            return bad, {"error": '"instances" must be a non-empty list'}
        if not isinstance(instances[0], (list, dict)):  # numbers: one image, not a batch
            return bad, {"error": f"images must have shape (N, 784) or (N, 28, 28), not "
                                  f"({len(instances)},): each instance is one image"}
        if len(instances) > self.server.max_instances:
            return bad, {"error": f"{len(instances)} instances is over the limit of "
                                  f"{self.server.max_instances} per request; send fewer"}
        if any(isinstance(item, dict) for item in instances):  # row format, named input
            if not all(isinstance(item, dict) and INPUT in item for item in instances):
                return bad, {"error": "in the row format every instance must be an object "
                                      f'with an "{INPUT}" key'}
            instances = [item[INPUT] for item in instances]
        try:
            batch = _parse_instances(instances, maybe_bools=b"true" in body or b"false" in body)
        except (ValueError, OverflowError, RecursionError) as err:
            return bad, {"error": str(err) or "instances are nested too deeply"}
        try:
            scores = np.concatenate([self._score(batch[i:i + SCORE_BATCH], large)
                                     for i in range(0, len(batch), SCORE_BATCH)])
        except Exception as err:  # the server must keep serving whatever the model does
            return HTTPStatus.INTERNAL_SERVER_ERROR, {
                "error": f"the model failed: {type(err).__name__}: {err}"}
        return HTTPStatus.OK, {"predictions": scores.tolist()}

    def _score(self, batch: np.ndarray, large: bool) -> np.ndarray:
        """The model's scores; a large request first waits (briefly) for small ones."""
        if large:
            with self.server.small_done:
                self.server.small_done.wait_for(lambda: self.server.small_pending == 0,
                                                timeout=SMALL_FIRST)
        return self.server.model.predict(batch)


def _release_free_memory() -> None:
    """Give freed heap memory back to the system (glibc keeps it per thread arena otherwise,
    so large requests handled by different threads would add up); a no-op elsewhere."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _libc():
    """glibc, for ``malloc_trim``; None where there is none (another C library)."""
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


_LIBC = _libc() if sys.platform.startswith("linux") else None

_NOT_NUMBERS = "every instance must be a list of 784 numbers (or 28 lists of 28)"


def _parse_instances(instances: list, *, maybe_bools: bool = True) -> np.ndarray:
    """float32 (N, 784) from JSON ``instances``, converted by NumPy in one step.

    Strings, ``null``, objects and ragged rows are refused; ``true``/``false`` are looked
    for element by element only when ``maybe_bools`` (the body holds such a word), after
    the shape is known to be an image batch.
    """
    try:
        array = np.array(instances)
    except ValueError as err:
        if "inhomogeneous" in str(err):
            raise ValueError("instances have different lengths; each must hold 784 numbers") \
                from None
        raise ValueError(f"{_NOT_NUMBERS}: {err}") from None
    if array.dtype.kind == "b":
        raise ValueError(f"{_NOT_NUMBERS}; found booleans")
    if array.dtype.kind not in "iuf":  # strings, null, objects, integers too large for int64
        if array.ndim not in (2, 3) or array.size > len(instances) * PIXELS:
            _check_shape(array.shape)  # not an image batch: say so before looking closer
        if array.dtype != object:  # strings: find the first that is not a number
            array = np.array(instances, dtype=object)
        bad = next((v for v in array.flat if type(v) not in (int, float)), None)
        if bad is not None or not array.size:
            raise ValueError(f"{_NOT_NUMBERS}; found {bad!r}")
        try:
            array = array.astype(np.float64)
        except OverflowError:
            raise ValueError("a number in instances is too large for float32") from None
    _check_shape(array.shape)
    if maybe_bools and any(type(v) is bool for v in np.array(instances, dtype=object).flat):
        raise ValueError(f"{_NOT_NUMBERS}; found booleans")
    if np.any(np.abs(array[np.isfinite(array)]) > np.finfo(np.float32).max):
        raise ValueError("a number in instances is too large for float32")
    return as_batch(array.astype(np.float32))


def _check_shape(shape: tuple) -> None:
    if shape[1:] not in ((PIXELS,), (28, 28)):
        raise ValueError(f"images must have shape (N, 784) or (N, 28, 28), not {shape}")


def check_signature(model: ModelHandle) -> None:
    """Refuse a model whose ``serving_default`` is not float32 (N, 784) -> float32 (N, 10).

    Checks the declared signature and one call on a blank image, so a model that would
    answer every request with 500 (or wrong-shaped scores) is refused when it is loaded.
    """
    import tensorflow as tf

    signature = model.saved_model.signatures[SIGNATURE]
    spec = signature.structured_input_signature[1][INPUT]
    out = signature.structured_outputs[OUTPUT]
    want = (f"{SIGNATURE!r} must take {INPUT!r} float32 (None, {PIXELS}) and return "
            f"{OUTPUT!r} float32 (None, {CLASSES})")
    found = (f"found {INPUT!r} {spec.dtype.name} {tuple(spec.shape.as_list())} and "
             f"{OUTPUT!r} {out.dtype.name} {tuple(out.shape.as_list())}")
    if (spec.dtype != tf.float32 or out.dtype != tf.float32
            or not spec.shape.is_compatible_with([None, PIXELS])
            or not out.shape.is_compatible_with([None, CLASSES])):
        raise ModelError(f"{model.path}: signature {want}; {found}")
    try:
        scores = model.predict(np.zeros((2, PIXELS), np.float32))
    except Exception as err:
        raise ModelError(f"{model.path}: signature {want}; a call on 2 blank images failed: "
                         f"{type(err).__name__}: {err}") from None
    if scores.shape != (2, CLASSES) or scores.dtype != np.float32:
        raise ModelError(f"{model.path}: signature {want}; 2 blank images gave "
                         f"{scores.dtype} {scores.shape}")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # the default of 5 resets connections when many arrive at once
    _BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
             b"Content-Length: 46\r\nConnection: close\r\n\r\n"
             b'{"error": "too many open connections; retry"}\n')

    def process_request(self, request, client_address) -> None:
        if not self.connections.acquire(blocking=False):  # too many open: refuse this one
            try:
                request.setblocking(False)
                request.send(self._BUSY)  # a short answer, never waiting on the client
            except OSError:
                pass
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.connections.release()

    def handle_error(self, request, client_address) -> None:
        """A client that hung up or was too slow: one line. Anything else: the traceback."""
        err = sys.exc_info()[1]
        if isinstance(err, (ConnectionError, TimeoutError)):
            host, port = client_address[:2]
            print(f"client {host}:{port} disconnected ({type(err).__name__}: {err})",
                  file=sys.stderr, flush=True)
        else:
            super().handle_error(request, client_address)


def make_server(model_path: str | os.PathLike, *, name: str = "mnist", host: str = "127.0.0.1",
                port: int = 8501, max_body: int = MAX_BODY, max_instances: int = MAX_INSTANCES,
                workers: int = WORKERS, request_timeout: float = REQUEST_TIMEOUT,
                max_connections: int = MAX_CONNECTIONS, verbose: bool = False
                ) -> ThreadingHTTPServer:
    """An HTTP server for the SavedModel at ``model_path`` (call ``serve_forever()``).

    Binds to 127.0.0.1 unless ``host`` says otherwise; ``port=0`` picks a free port
    (read it from ``server.server_address``). The limits are described in the module's
    docstring; a model with the wrong signature raises ``ModelError`` here.
    """
    for arg, value in (("max_body", max_body), ("max_instances", max_instances),
                       ("workers", workers), ("max_connections", max_connections)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{arg} must be a positive integer, not {value!r}")
    if not request_timeout > 0:
        raise ValueError(f"request_timeout must be a positive number of seconds, "
                         f"not {request_timeout!r}")
    model = load(model_path, scope="process")  # before binding: a bad model leaves no socket
    check_signature(model)
    server = _Server((host, port), _Handler)
    server.model = model
    server.model_name = name
    server.max_body = max_body
    server.max_instances = max_instances
    server.request_timeout = float(request_timeout)
    server.workers = threading.BoundedSemaphore(workers)
    server.large_bodies = threading.BoundedSemaphore(max(1, workers - 1))
    server.connections = threading.BoundedSemaphore(max_connections)
    server.small_pending, server.small_done = 0, threading.Condition()
    server.verbose = verbose
    return server


class ServerProcess:
    """Run ``python -m tflab.serving`` in a child process; a context manager.

    Starts it on a free port, waits until it answers, and stops it on exit
    (or ``stop()``). ``url`` is the model's base address. ``options`` are
    :func:`make_server`'s limits (``max_body=...``, ``workers=...``), passed on as flags.
    """

    def __init__(self, model_path: str | os.PathLike, *, name: str = "mnist",
                 timeout: float = 120.0, **options: int | float):
        unknown = set(options) - {"max_body", "max_instances", "workers", "request_timeout",
                                  "max_connections"}
        if unknown:
            raise TypeError(f"unknown server options {sorted(unknown)}")
        self.model_path, self.name, self.timeout = Path(model_path), name, timeout
        self.options = options
        self.process: subprocess.Popen | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/models/{self.name}"

    def start(self) -> ServerProcess:
        import queue

        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self._stderr = tempfile.TemporaryFile(mode="w+")
        flags = [f"--{key.replace('_', '-')}={value}" for key, value in self.options.items()]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tflab.serving", "--model", str(self.model_path),
             "--name", self.name, "--port", "0", *flags],
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

    def __enter__(self) -> ServerProcess:
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
    parser.add_argument("--max-instances", type=int, default=MAX_INSTANCES,
                        help="most images in one request")
    parser.add_argument("--workers", type=int, default=WORKERS,
                        help="requests parsed and scored at once")
    parser.add_argument("--request-timeout", type=float, default=REQUEST_TIMEOUT,
                        help="seconds a client has for a whole request (idle time included)")
    parser.add_argument("--max-connections", type=int, default=MAX_CONNECTIONS,
                        help="open connections at once")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    try:
        server = make_server(args.model, name=args.name, host=args.host, port=args.port,
                             max_body=args.max_body, max_instances=args.max_instances,
                             workers=args.workers, request_timeout=args.request_timeout,
                             max_connections=args.max_connections, verbose=args.verbose)
    except (ModelError, OSError, ValueError) as err:
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
