"""Shared fixtures: a local HTTP server for download tests, IDX writers, the data mirror.

``pytest --reverse`` runs the collected tests in reverse order: a test that passes only
after another one ran (a file it downloaded, a setting it left) fails there.
"""

from __future__ import annotations

import gzip
import http.server
import os
import threading
from pathlib import Path

import numpy as np
import pytest

# tests/fixtures holds notebooks the runner tests execute on purpose (one fails); nbval
# must not collect them.
collect_ignore_glob = ["fixtures/*"]

#: Small copies of real data files (tests/fixtures/data/README.md says where they come from).
FIXTURE_DATA = Path(__file__).resolve().parent / "fixtures" / "data"


def pytest_addoption(parser):
    parser.addoption("--reverse", action="store_true", default=False,
                     help="run the collected tests in reverse order (checks order independence)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--reverse"):
        items.reverse()


def write_idx(path: Path, array: np.ndarray, magic: int | None = None,
              compress: bool = True) -> Path:
    """Write ``array`` (uint8) as an IDX file; ``magic`` overrides the header."""
    array = np.asarray(array, dtype=np.uint8)
    if magic is None:
        magic = 0x0800 + array.ndim
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    raw = header + array.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(raw) if compress else raw)
    return path


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict[str, tuple[bytes, str]] = {}
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's name
        self.hits.append(self.path)
        body, mode = self.routes.get(self.path, (b"", "missing"))
        if mode == "missing":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if mode == "drop":  # promise the whole body, send half, hang up
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class LocalServer:
    """An HTTP server on 127.0.0.1 whose routes a test sets."""

    def __init__(self):
        handler = type("Handler", (_Handler,), {"routes": {}, "hits": []})
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.handler = handler
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def serve(self, path: str, body: bytes, mode: str = "ok") -> str:
        self.handler.routes[path] = (body, mode)
        return f"http://127.0.0.1:{self.httpd.server_port}{path}"

    @property
    def hits(self) -> list[str]:
        return self.handler.hits

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def http_server(monkeypatch):
    """A :class:`LocalServer`; downloads are switched on (``TFLAB_OFFLINE`` unset) while it
    runs, since it stands for the network and never leaves this machine."""
    monkeypatch.delenv("TFLAB_OFFLINE", raising=False)
    server = LocalServer()
    yield server
    server.close()


@pytest.fixture
def data_mirror() -> Path:
    """The data mirror named by ``TFLAB_DATA_DIR``; the test is skipped when none is given."""
    mirror = os.environ.get("TFLAB_DATA_DIR")
    if not mirror:
        pytest.skip("needs the data mirror: set TFLAB_DATA_DIR to it")
    if not Path(mirror).is_dir():
        pytest.fail(f"TFLAB_DATA_DIR={mirror} is not a folder")
    return Path(mirror)
