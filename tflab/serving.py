"""Serving a SavedModel over HTTP with TensorFlow Serving's REST API.

``make_server`` / ``python -m tflab.serving --model <folder>`` answer ``GET
/v1/models/<name>`` and ``POST /v1/models/<name>:predict``, on 127.0.0.1 by default;
``ServerProcess`` runs that command in a child process (a context manager). The model
is loaded through :func:`tflab.registry.load`.
"""

from __future__ import annotations

import argparse
import json
import os
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

from tflab.registry import as_batch, load
from tflab.saving import INPUT, SIGNATURE, ModelError

__all__ = ["MAX_BODY", "make_server", "ServerProcess", "main"]

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
    return as_batch(batch)


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

    def start(self) -> ServerProcess:
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
