"""Shared fixtures: a local HTTP server for download tests, IDX writers, the data mirror.

``pytest --reverse`` runs the collected tests in reverse order: a test that passes only
after another one ran (a file it downloaded, a setting it left) fails there.
"""

from __future__ import annotations

import gzip
import http.server
import os
import struct
import threading
import time
import zlib
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


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """With pytest-xdist (``make test`` runs two workers): notebooks in two ordered chains.

    A notebook's cells share one kernel, and lesson 05 reads the model lesson 04 saves, so
    lessons 00-05 run in order in one worker; lessons 06-09 read no file an earlier lesson
    writes and run, in order, as a second unit, so the two chains can take one worker each;
    the unit tests fill in one at a time. (xdist's own ``--dist loadgroup`` marks do not take
    effect under pytest 9.)
    """
    from xdist.scheduler import LoadScopeScheduling

    class NotebooksInOneWorker(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_scope(nodeid)

    return NotebooksInOneWorker(config, log)


def xdist_scope(nodeid: str) -> str:
    """The unit of work one xdist worker takes: the cells of lessons 00-05 together, those of
    06-09 together, else one test."""
    path = nodeid.split("::", 1)[0]
    if not path.endswith(".ipynb"):
        return nodeid
    return "notebooks 00-05" if Path(path).name[:2] <= "05" else "notebooks 06-09"


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


def write_png(path: Path, width: int, height: int, *, whole: bool = False) -> Path:
    """Write an 8-bit grey PNG that declares ``width`` × ``height`` pixels, all black.

    With ``whole`` the compressed rows are all there (a real decompression bomb: a few
    kilobytes that inflate to width × height bytes); otherwise only the first row is.
    """
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))

    row = bytes(1 + width)  # filter byte 0, then the row
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height if whole else 1))
    idat += packer.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def write_jpeg(path: Path, width: int, height: int) -> Path:
    """Write a small JPEG whose frame header is rewritten to declare ``width`` × ``height``."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "white").save(buffer, "JPEG")
    raw = bytearray(buffer.getvalue())
    sof = raw.index(b"\xff\xc0")  # baseline frame: length(2) precision(1) height(2) width(2)
    raw[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    path.write_bytes(bytes(raw))
    return path


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``routes``: path -> (body, mode). Modes: ``ok``; ``missing`` (404); ``drop``
    (promise the body, send half, hang up); ``slow`` (the body at one byte per 0.1 s);
    ``slow_headers`` (the headers at one byte per 0.1 s, never finishing); ``bad_length``
    (a Content-Length that is not a number); ``flood`` (no Content-Length, the body sent
    1000 times, then the connection closed)."""

    routes: dict[str, tuple[bytes, str]] = {}
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's name
        self.hits.append(self.path)
        body, mode = self.routes.get(self.path, (b"", "missing"))
        try:
            self._answer(body, mode)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up: fine
            self.close_connection = True

    def _answer(self, body: bytes, mode: str) -> None:
        if mode == "missing":
            self.send_error(404)
            return
        if mode == "slow_headers":
            self.wfile.write(b"HTTP/1.0 200 OK\r\n")
            while True:
                self.wfile.write(b"X")
                self.wfile.flush()
                time.sleep(0.1)
        self.send_response(200)
        if mode == "flood":
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            for _ in range(1000):
                self.wfile.write(body)
            return
        self.send_header("Content-Length", "12abc" if mode == "bad_length" else str(len(body)))
        self.end_headers()
        if mode == "drop":  # promise the whole body, send half, hang up
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if mode == "slow":
            for i in range(len(body)):
                self.wfile.write(body[i:i + 1])
                self.wfile.flush()
                time.sleep(0.1)
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
