"""Datasets of the course: one registry, a local cache, and loaders.

Every file the course uses is listed once in :data:`DATASETS` with its canonical
address, checksum, size, licence and citation. :func:`fetch` finds a file in the
data directory, or downloads it there::

    from tflab import data
    x, y = data.fire_theft()                 # the Chicago fire/theft table
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = data.mnist()

The data directory is, in this order: the ``data_dir`` argument of any function
here, the ``TFLAB_DATA_DIR`` environment variable, or the repository's
``data/`` folder (``~/.cache/tflab/data`` when tflab is installed elsewhere).

A file already present is checked by its *structure* (IDX magic numbers and
counts, spreadsheet header, image decodes), not its bytes, because local mirrors
may hold re-compressed copies. A downloaded file is checked by its sha256 before
it is moved into place, so a failed or interrupted download leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import http.client
import io
import math
import os
import re
import signal
import tempfile
import threading
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np

from tflab import files

__all__ = [
    "DATASETS",
    "Dataset",
    "DataError",
    "DataFormatError",
    "DataTooLargeError",
    "DataNotFoundError",
    "DownloadError",
    "ChecksumError",
    "get_data_dir",
    "downloads_off",
    "DOWNLOAD_DEADLINE_S",
    "MAX_IDX_BYTES",
    "MAX_IMAGE_PIXELS",
    "open_image",
    "fetch",
    "download",
    "dataset_status",
    "read_idx",
    "read_idx_pair",
    "fire_theft",
    "heart",
    "birth_life",
    "mnist",
    "Split",
    "MnistSplits",
    "BatchIterator",
    "scale_images",
    "make_dataset",
    "style_image",
    "content_image",
    "STYLE_IMAGES",
    "CONTENT_IMAGES",
    "FASHION_CLASSES",
]


# --------------------------------------------------------------------------- errors


class DataError(Exception):
    """Base class of every error raised by :mod:`tflab.data`."""


class DataFormatError(DataError, ValueError):
    """A data file exists but does not have the expected structure."""


class DataTooLargeError(DataFormatError):
    """A file declares, or inflates to, more than its limit; nothing past the limit was read."""


class DataNotFoundError(DataError, FileNotFoundError):
    """A data file is missing and could not be downloaded."""


class DownloadError(DataError, OSError):
    """A download failed; nothing was written to the destination."""


class ChecksumError(DownloadError):
    """A downloaded file's sha256 differs from the registry's."""


# ------------------------------------------------------------------------- registry

_CS20SI = "https://raw.githubusercontent.com/chiphuyen/stanford-tensorflow-tutorials/master"
_CS20SI_CITE = ("Chip Huyen, CS 20SI: TensorFlow for Deep Learning Research, "
                "Stanford University, 2017.")
_MNIST_URL = "https://storage.googleapis.com/cvdf-datasets/mnist"
_MNIST_CITE = (
    "Y. LeCun, C. Cortes and C. J. C. Burges, The MNIST database of handwritten digits, "
    "http://yann.lecun.com/exdb/mnist/."
)
_FASHION_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com"
_FASHION_CITE = (
    "H. Xiao, K. Rasul and R. Vollgraf, Fashion-MNIST: a Novel Image Dataset for Benchmarking "
    "Machine Learning Algorithms, arXiv:1708.07747, 2017."
)
_FASHION_DEBIAN = "/usr/share/datasets/fashion-mnist"  # Debian's dataset-fashion-mnist


@dataclass(frozen=True)
class Dataset:
    """One file of the course: where it lives and how to check it.

    ``path`` is relative to the data directory. ``kind`` selects the structural
    check (``idx``, ``xls``, ``csv``, ``tsv`` or ``image``); ``shape`` is the
    array shape an IDX file must hold, ``rows`` the number of data rows a table
    must hold. ``system_paths`` are other places where an operating-system
    package may have installed the same file.
    """

    name: str
    path: str
    url: str
    sha256: str
    size: int
    licence: str
    citation: str
    kind: str
    shape: tuple[int, ...] = ()
    system_paths: tuple[str, ...] = ()
    rows: int | None = None


def _idx(prefix: str, stem: str, url: str, sha256: str, size: int, shape: tuple[int, ...],
         licence: str, citation: str, system_dir: str | None = None) -> Dataset:
    filename = f"{stem}.gz"
    return Dataset(
        name=f"{prefix}/{stem.split('-')[0]}-{stem.split('-')[1]}",
        path=f"{prefix}/{filename}",
        url=f"{url}/{filename}",
        sha256=sha256,
        size=size,
        licence=licence,
        citation=citation,
        kind="idx",
        shape=shape,
        system_paths=(f"{system_dir}/{filename}",) if system_dir else (),
    )


_REGISTRY: list[Dataset] = [
    Dataset(
        name="fire_theft",
        path="fire_theft.xls",
        url=f"{_CS20SI}/2017/data/fire_theft.xls",
        sha256="6166480276686f33046afe46946866892d44b435527aeb29d7df4eadb65a9cf6",
        size=1704,
        licence="MIT (stanford-tensorflow-tutorials)",
        citation="Fires per 1000 housing units and thefts per 1000 population in Chicago zip areas "
        "(U.S. Commission on Civil Rights), as used in " + _CS20SI_CITE,
        kind="xls",
        rows=42,
    ),
    Dataset(
        name="heart",
        path="heart.csv",
        url=f"{_CS20SI}/2017/data/heart.csv",
        sha256="a6ba25c5a1faa55d1d7ab0cb81fcb38b13089223caff173e90e405ea45f2a546",
        size=20554,
        licence="MIT (stanford-tensorflow-tutorials)",
        citation="South African Heart Disease data (Rousseauw et al., 1983), from Hastie, "
        "Tibshirani and Friedman, The Elements of Statistical Learning; as used in " + _CS20SI_CITE,
        kind="csv",
        rows=462,
    ),
    Dataset(
        name="birth_life",
        path="birth_life_2010.txt",
        url=f"{_CS20SI}/examples/data/birth_life_2010.txt",
        sha256="d50632dd7c3b8aa02d67245d8f13db341cdff812461b6e35cfa95b7174f513e4",
        size=5324,
        licence="MIT (stanford-tensorflow-tutorials); World Bank data CC BY 4.0",
        citation="World Bank, World Development Indicators 2010; as used in " + _CS20SI_CITE,
        kind="tsv",
        rows=190,
    ),
    _idx("mnist", "train-images-idx3-ubyte", _MNIST_URL,
         "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9912422,
         (60000, 28, 28), "CC BY-SA 3.0", _MNIST_CITE),
    _idx("mnist", "train-labels-idx1-ubyte", _MNIST_URL,
         "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 28881,
         (60000,), "CC BY-SA 3.0", _MNIST_CITE),
    _idx("mnist", "t10k-images-idx3-ubyte", _MNIST_URL,
         "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 1648877,
         (10000, 28, 28), "CC BY-SA 3.0", _MNIST_CITE),
    _idx("mnist", "t10k-labels-idx1-ubyte", _MNIST_URL,
         "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 4542,
         (10000,), "CC BY-SA 3.0", _MNIST_CITE),
    _idx("fashion-mnist", "train-images-idx3-ubyte", _FASHION_URL,
         "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84", 26421880,
         (60000, 28, 28), "MIT", _FASHION_CITE, _FASHION_DEBIAN),
    _idx("fashion-mnist", "train-labels-idx1-ubyte", _FASHION_URL,
         "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845", 29515,
         (60000,), "MIT", _FASHION_CITE, _FASHION_DEBIAN),
    _idx("fashion-mnist", "t10k-images-idx3-ubyte", _FASHION_URL,
         "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073", 4422102,
         (10000, 28, 28), "MIT", _FASHION_CITE, _FASHION_DEBIAN),
    _idx("fashion-mnist", "t10k-labels-idx1-ubyte", _FASHION_URL,
         "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5", 5148,
         (10000,), "MIT", _FASHION_CITE, _FASHION_DEBIAN),
    Dataset(
        name="style/starry_night",
        path="style/starry_night.jpg",
        url=f"{_CS20SI}/2017/assignments/style_transfer/styles/starry_night.jpg",
        sha256="c31741a09141c2e2d07fc7aa6bdf135c369b804f9433e43fa3ceac19386d1ee6",
        size=613337,
        licence="public domain",
        citation="Vincent van Gogh, The Starry Night, 1889.",
        kind="image",
    ),
    Dataset(
        name="style/wave",
        path="style/wave.jpg",
        url="https://raw.githubusercontent.com/lengstrom/fast-style-transfer/master/examples/style/wave.jpg",
        sha256="54f19686bea5117c0bb68ce4425dbed4efafa3e8d7cafe35f0fae80b8223f4be",
        size=123262,
        licence="public domain",
        citation="Katsushika Hokusai, The Great Wave off Kanagawa, c. 1831.",
        kind="image",
    ),
    Dataset(
        name="style/the_scream",
        path="style/the_scream.jpg",
        url="https://raw.githubusercontent.com/lengstrom/fast-style-transfer/master/examples/style/the_scream.jpg",
        sha256="45d763b132ba2075f4ff3dd26bce7db155bb1a5574be8d1bfb7d412dae260d04",
        size=54881,
        licence="public domain",
        citation="Edvard Munch, The Scream, 1893.",
        kind="image",
    ),
]

#: name -> :class:`Dataset`, for every file the course downloads.
DATASETS: dict[str, Dataset] = {d.name: d for d in _REGISTRY}

FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)


# ---------------------------------------------------------------- data directory


def get_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The data directory: ``data_dir``, else ``$TFLAB_DATA_DIR``, else the default.

    The default is the repository's ``data/`` folder when tflab runs from a
    checkout, and ``~/.cache/tflab/data`` otherwise.
    """
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = os.environ.get("TFLAB_DATA_DIR")
    if env:
        return Path(env).expanduser()
    root = files.repo_root()
    if root is not None and (root / "data").is_dir():
        return root / "data"
    return Path.home() / ".cache" / "tflab" / "data"


def _dataset(name: str) -> Dataset:
    try:
        return DATASETS[name]
    except KeyError:
        known = ", ".join(sorted(DATASETS))
        raise ValueError(f"unknown dataset {name!r}; known datasets: {known}") from None


def _find(ds: Dataset, root: Path) -> Path | None:
    """Where ``ds`` is already present, or None."""
    for candidate in (root / ds.path, *map(Path, ds.system_paths)):
        if candidate.is_file():
            return candidate
    return None


class DatasetStatus(NamedTuple):
    name: str
    present: bool
    path: Path  # where it was found, or where fetch() would put it
    url: str


def dataset_status(data_dir: str | os.PathLike | None = None) -> list[DatasetStatus]:
    """Which registered files are present locally (without reading them)."""
    root = get_data_dir(data_dir)
    rows = []
    for ds in _REGISTRY:
        found = _find(ds, root)
        rows.append(DatasetStatus(ds.name, found is not None, found or root / ds.path, ds.url))
    return rows


# ----------------------------------------------------------------------- fetching

_validated: set[tuple[str, int, int]] = set()


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


def downloads_off() -> bool:
    """True when the environment variable ``TFLAB_OFFLINE`` is set to a true value
    (``1``, ``true``, ``yes`` or ``on``, any case): nothing is downloaded, a missing file fails.

    Unset, empty, ``0``, ``false``, ``no`` or ``off`` mean downloads are on; anything else is
    a ``ValueError`` (a typo must not silently switch the network on).
    """
    value = os.environ.get("TFLAB_OFFLINE", "").strip().lower()
    if value not in _TRUE + _FALSE:
        raise ValueError(f"TFLAB_OFFLINE={os.environ['TFLAB_OFFLINE']!r}: expected 1, true, yes "
                         "or on (downloads off), or 0, false, no, off or empty (downloads on)")
    return value in _TRUE


def fetch(name: str, data_dir: str | os.PathLike | None = None, *, download: bool = True,
          progress: bool = True, validate: bool = True) -> Path:
    """Return the local path of dataset file ``name``, downloading it if missing.

    A file already present is validated by structure (``validate=False`` leaves that
    to a caller that reads and checks the whole file anyway). A missing file is
    downloaded from its canonical URL (unless ``download=False`` or
    ``TFLAB_OFFLINE=1``); when that is impossible a :class:`DataNotFoundError`
    says which file is missing, its URL, and how to provide it.
    """
    ds = _dataset(name)
    root = get_data_dir(data_dir)
    found = _find(ds, root)
    if found is not None:
        if validate:
            _validate(ds, found)
        return found

    target = root / ds.path
    how = (
        f"Download it from {ds.url} and copy it to {target}, or set TFLAB_DATA_DIR to a "
        f"folder that holds {ds.path}."
    )
    if not download or downloads_off():
        raise DataNotFoundError(f"dataset file {ds.path!r} is missing from {root} "
                                f"(downloads are switched off). {how}")
    try:
        _download(ds.url, target, sha256=ds.sha256, size=ds.size, progress=progress)
    except ChecksumError:
        raise
    except DownloadError as exc:
        raise DataNotFoundError(f"dataset file {ds.path!r} is missing from {root} and could not "
                                f"be downloaded ({exc}). {how}") from exc
    if validate:
        _validate(ds, target)
    return target


#: The longest a whole download may take, in seconds, from connecting to the last byte.
DOWNLOAD_DEADLINE_S = 1800.0


def download(url: str, dest: str | os.PathLike, *, sha256: str, size: int | None = None,
             progress: bool = True, timeout: float = 60.0,
             deadline: float | None = None) -> Path:
    """Download ``url`` to ``dest`` atomically, checking its sha256.

    The bytes go to a temporary file beside ``dest`` that is renamed into place
    only when complete and matching; on any failure (network error, connection
    dropped mid-transfer, checksum mismatch, Ctrl-C or SIGTERM) it is removed, so
    no partial file is left and an existing ``dest`` is never touched.

    With ``size``, a server announcing or sending more bytes is refused once one
    byte too many has arrived. ``timeout`` bounds each network wait, ``deadline``
    (seconds; :data:`DOWNLOAD_DEADLINE_S` by default) the whole transfer.
    """
    dest = Path(dest)
    _download(url, dest, sha256=sha256, size=size, progress=progress, timeout=timeout,
              deadline=deadline)
    return dest


class _Terminated(BaseException):
    """Raised by the SIGTERM handler a download installs, so that its cleanup runs."""


@contextlib.contextmanager
def _cleanup_on_sigterm():
    """While the block runs in the main thread, SIGTERM raises :class:`_Terminated`; after the
    block's own cleanup the signal takes its usual course (death by SIGTERM, or the handler
    that was installed before)."""
    previous = signal.getsignal(signal.SIGTERM)
    if threading.current_thread() is not threading.main_thread() or previous in (
            signal.SIG_IGN, None):
        yield
        return

    def terminate(signum, frame):
        raise _Terminated

    signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    except _Terminated:
        signal.signal(signal.SIGTERM, previous)
        if callable(previous):
            previous(signal.SIGTERM, None)
        else:  # the default: die of the signal, as without this handler
            os.kill(os.getpid(), signal.SIGTERM)
        raise DownloadError("download stopped by SIGTERM; nothing was saved") from None
    finally:
        signal.signal(signal.SIGTERM, previous)


class _Watchdog:
    """Shuts a download's sockets down when its deadline passes, so no read blocks past it
    (a server sending one byte a second never trips the per-read ``timeout``)."""

    def __init__(self, seconds: float):
        self.expired = False
        self._sockets: list = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                self._shut(sock)

    def _watch(self, sock) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                self._shut(sock)

    @staticmethod
    def _shut(sock) -> None:
        with contextlib.suppress(OSError):
            sock.shutdown(2)  # socket.SHUT_RDWR: a blocked read returns at once

    def urlopen(self, url: str, timeout: float):
        """``urllib.request.urlopen``, with every connection's socket watched."""
        watchdog = self

        def watched(connection_class):
            def make(*args, **kwargs):
                conn = connection_class(*args, **kwargs)
                connect = conn.connect

                def connect_and_watch():
                    connect()
                    watchdog._watch(conn.sock)

                conn.connect = connect_and_watch
                return conn
            return make

        class Watched:
            def do_open(self, http_class, req, **kwargs):
                return super().do_open(watched(http_class), req, **kwargs)

        handlers = (type("HTTP", (Watched, urllib.request.HTTPHandler), {})(),
                    type("HTTPS", (Watched, urllib.request.HTTPSHandler), {})())
        return urllib.request.build_opener(*handlers).open(url, timeout=timeout)


def _content_length(url: str, response) -> int | None:
    """The announced length of ``response``, or None; a value that is not a number of bytes
    is a :class:`DownloadError`."""
    value = response.headers.get("Content-Length")
    if value is None:
        return None
    if not (value.strip().isascii() and value.strip().isdigit()):
        raise DownloadError(f"download of {url} failed: the server sent Content-Length "
                            f"{value!r}, not a number of bytes")
    return int(value)


def _download(url: str, dest: Path, *, sha256: str, size: int | None, progress: bool,
              timeout: float = 60.0, deadline: float | None = None) -> None:
    deadline = DOWNLOAD_DEADLINE_S if deadline is None else deadline
    if deadline <= 0:
        raise ValueError(f"deadline must be a positive number of seconds, not {deadline}")
    with _cleanup_on_sigterm(), _Watchdog(deadline) as watchdog:
        try:
            _transfer(url, dest, sha256=sha256, size=size, progress=progress,
                      timeout=min(timeout, deadline), watchdog=watchdog)
        except DownloadError as exc:
            if watchdog.expired and not isinstance(exc, ChecksumError):
                raise DownloadError(f"download of {url} did not finish within its deadline of "
                                    f"{deadline:g} s; nothing was saved") from exc
            raise


def _transfer(url: str, dest: Path, *, sha256: str, size: int | None, progress: bool,
              timeout: float, watchdog: _Watchdog) -> None:
    """The download itself: into a temporary file, checked, then renamed to ``dest``."""
    from tqdm import tqdm

    created = [p for p in (dest.parent, *dest.parent.parents) if not p.exists()]
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    except OSError as exc:
        _remove_empty(created)
        raise DownloadError(f"cannot write into {dest.parent} ({exc}); set TFLAB_DATA_DIR to a "
                            "folder you can write to") from exc
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        received = 0
        with os.fdopen(fd, "wb") as out, watchdog.urlopen(url, timeout) as response:
            announced = _content_length(url, response)
            if size is not None and announced is not None and announced > size:
                raise DownloadError(f"download of {url} refused: the server announces {announced} "
                                    f"bytes, more than the {size} bytes expected")
            with tqdm(total=announced or size, unit="B", unit_scale=True, unit_divisor=1024,
                      desc=dest.name, disable=not progress, leave=False) as bar:
                # Read what has arrived (read1), never more than one byte past ``size``.
                while chunk := response.read1(1 << 16 if size is None
                                              else min(1 << 16, size + 1 - received)):
                    out.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
                    if size is not None and received > size:
                        raise DownloadError(f"download of {url} stopped: the server sent more "
                                            f"than the {size} bytes expected")
        if watchdog.expired:
            raise DownloadError(f"download of {url} cut off at its deadline")
        if announced is not None and received != announced:
            raise DownloadError(f"download of {url} stopped after {received} of {announced} bytes")
        actual = digest.hexdigest()
        if actual != sha256:
            raise ChecksumError(
                f"checksum mismatch for {dest.name} downloaded from {url}: expected sha256 "
                f"{sha256}, got {actual} ({received} bytes); the file was not saved"
            )
        os.replace(tmp, dest)
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        tmp.unlink(missing_ok=True)
        _remove_empty(created)
        if isinstance(exc, DownloadError):
            raise
        reason = getattr(exc, "reason", None) or exc
        raise DownloadError(f"download of {url} failed: {reason}") from exc
    except BaseException:  # Ctrl-C and SIGTERM included: leave nothing behind
        tmp.unlink(missing_ok=True)
        _remove_empty(created)
        raise


def _remove_empty(folders: list[Path]) -> None:
    """Remove the folders a failed download created (innermost first), if still empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            break


def _validate(ds: Dataset, path: Path) -> None:
    """Check a present file's structure (once per process per file version)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key in _validated:
        return
    if ds.kind == "idx":
        _read_idx_checked(path, ds.shape)
    elif ds.kind == "xls":
        _read_fire_theft(path, ds.rows)
    elif ds.kind == "csv":
        _read_heart(path, ds.rows)
    elif ds.kind == "tsv":
        _read_birth_life(path, ds.rows)
    elif ds.kind == "image":
        _read_image(path)
    else:  # pragma: no cover - registry entries are fixed
        raise AssertionError(ds.kind)
    _validated.add(key)


# ------------------------------------------------------------------- IDX (MNIST)

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
IDX_IMAGES_MAGIC = 2051
IDX_LABELS_MAGIC = 2049


#: The most bytes :func:`read_idx` inflates when the caller gives no other limit (256 MiB; the
#: largest course file, MNIST's training images, is 47 MB).
MAX_IDX_BYTES = 1 << 28


def _idx_bytes(shape: tuple[int, ...], itemsize: int = 1) -> int:
    """Bytes of an uncompressed IDX file holding an array of ``shape``: header and data."""
    return 4 + 4 * len(shape) + math.prod(shape) * itemsize


def read_idx(path: str | os.PathLike, expected_magic: int | None = None, *,
             max_bytes: int | None = MAX_IDX_BYTES) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) into a NumPy array.

    Checks the magic number (2051 for image files, 2049 for label files when
    ``expected_magic`` is given), the dimensions, and that the data is exactly as
    long as the header says. The file is inflated in pieces: a header declaring
    more than ``max_bytes`` bytes (``None``: no limit) is refused before any data
    is read, and reading stops one byte past what the header declares. Any problem
    raises :class:`DataFormatError` (:class:`DataTooLargeError` for sizes) naming
    the file.
    """
    path = Path(path)
    try:
        with (gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")) as f:
            head = f.read(4)
            if len(head) < 4:
                raise DataFormatError(f"{path}: truncated IDX file ({len(head)} bytes, no header)")
            magic = int.from_bytes(head, "big")
            if expected_magic is not None and magic != expected_magic:
                raise DataFormatError(f"{path}: wrong IDX magic number {magic}, "
                                      f"expected {expected_magic}")
            zeros, dtype_code, ndim = head[0:2], head[2], head[3]
            if zeros != b"\0\0" or dtype_code not in _IDX_DTYPES or ndim == 0:
                raise DataFormatError(f"{path}: not an IDX file (magic number {magic})")
            raw_dims = f.read(4 * ndim)
            if len(raw_dims) < 4 * ndim:
                raise DataFormatError(f"{path}: truncated IDX header")
            dims = tuple(int.from_bytes(raw_dims[4 * i: 4 * i + 4], "big") for i in range(ndim))
            dtype = np.dtype(_IDX_DTYPES[dtype_code])
            total = _idx_bytes(dims, dtype.itemsize)  # Python integers: no overflow
            if max_bytes is not None and total > max_bytes:
                raise DataTooLargeError(
                    f"{path}: the IDX header declares shape {dims} ({total:,} bytes), more "
                    f"than the limit of {max_bytes:,} bytes; the data was not read")
            expected = total - 4 - 4 * ndim
            body = _read_at_most(f, expected + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataFormatError(f"{path}: cannot read IDX data ({exc}); the file is truncated, "
                              "damaged, or not gzip-compressed IDX") from exc
    if len(body) < expected:
        raise DataFormatError(f"{path}: truncated IDX data: header promises shape {dims} "
                              f"({expected} bytes) but only {len(body)} bytes follow")
    if len(body) > expected:
        raise DataTooLargeError(f"{path}: the data inflates to more than the {total:,} bytes "
                                f"its IDX header declares (shape {dims}); reading stopped there")
    array = np.frombuffer(body, dtype=dtype).reshape(dims)
    return array.astype(dtype.newbyteorder("="))


def _read_at_most(f, n: int, piece: int = 1 << 20) -> bytes:
    """Up to ``n`` bytes of ``f``, asking for at most ``piece`` bytes at a time (nothing is
    allocated for bytes the file does not hold)."""
    pieces = []
    while n > 0 and (chunk := f.read(min(piece, n))):
        pieces.append(chunk)
        n -= len(chunk)
    return b"".join(pieces)


def _read_idx_checked(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    magic = IDX_IMAGES_MAGIC if len(shape) == 3 else IDX_LABELS_MAGIC
    array = read_idx(path, expected_magic=magic, max_bytes=_idx_bytes(shape))
    _check_shape(path, array, shape)
    if magic == IDX_LABELS_MAGIC:
        _check_labels(path, array)
    return array


def _check_shape(path: str | os.PathLike, array: np.ndarray, shape: tuple[int, ...]) -> None:
    if shape and array.shape != shape:
        raise DataFormatError(f"{path}: expected an array of shape {shape}, found {array.shape}")


def _check_labels(path: str | os.PathLike, labels: np.ndarray) -> None:
    if labels.size and labels.max() > 9:
        raise DataFormatError(f"{path}: labels must be 0..9, found {int(labels.max())}")


# ------------------------------------------------------------------ fire and theft


def _check_rows(path: Path, found: int, rows: int | None) -> None:
    """A table must hold the number of data rows the registry gives (``None``: any)."""
    if rows is not None and found != rows:
        raise DataFormatError(f"{path}: {found} data rows, expected {rows}")


def _read_fire_theft(path: Path, rows: int | None) -> tuple[np.ndarray, np.ndarray]:
    import xlrd

    try:
        book = xlrd.open_workbook(str(path), logfile=io.StringIO())
    except Exception as exc:  # xlrd raises many kinds of error on damaged files
        raise DataFormatError(f"{path}: not a readable .xls spreadsheet ({exc!r})") from exc
    sheet = book.sheet_by_index(0)
    if sheet.nrows == 0:
        raise DataFormatError(f"{path}: the sheet is empty; expected a header row X, Y")
    header = [str(v).strip() for v in sheet.row_values(0)[:2]]
    if header != ["X", "Y"]:
        raise DataFormatError(f"{path}: row 1 must be the header X, Y; found {header}")
    xs, ys = [], []
    for r in range(1, sheet.nrows):
        types = sheet.row_types(r)[:2]
        values = sheet.row_values(r)[:2]
        if all(t == xlrd.XL_CELL_EMPTY for t in types):
            continue
        for t, v, col in zip(types, values, "XY"):
            if t != xlrd.XL_CELL_NUMBER:
                raise DataFormatError(f"{path}: row {r + 1}, column {col}: expected a number, "
                                      f"found {v!r}")
            if not (math.isfinite(v) and v >= 0):  # rates per 1000 housing units or residents
                raise DataFormatError(f"{path}: row {r + 1}, column {col}: expected a finite "
                                      f"number at least 0, found {v!r}")
        xs.append(values[0])
        ys.append(values[1])
    if not xs:
        raise DataFormatError(f"{path}: no data rows after the header")
    _check_rows(path, len(xs), rows)
    return np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)


def fire_theft(data_dir: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The Chicago fire/theft table: ``(x, y)``, two float64 arrays of shape (42,).

    ``x`` is fires per 1000 housing units and ``y`` thefts per 1000 population, one entry per zip
    area, in file order.
    """
    path = fetch("fire_theft", data_dir, validate=False)  # the reader checks it all
    return _read_fire_theft(path, DATASETS["fire_theft"].rows)


# --------------------------------------------------------------------------- heart

#: Column name -> dtype of :func:`heart`'s result, in file order.
HEART_COLUMNS: dict[str, type] = {
    "sbp": np.int64, "tobacco": np.float64, "ldl": np.float64, "adiposity": np.float64,
    "famhist": np.str_, "typea": np.int64, "obesity": np.float64, "alcohol": np.float64,
    "age": np.int64, "chd": np.int64,
}


#: Allowed values of :func:`heart`'s categorical columns.
HEART_CATEGORIES: dict[str, tuple] = {"famhist": ("Present", "Absent"), "chd": (0, 1)}


def _heart_value(path: Path, line: int, name: str, value: str):
    """One field of heart.csv, parsed and checked; errors name the file, line and column."""
    where = f"{path}: line {line}, column {name}"
    if "\0" in value:
        raise DataFormatError(f"{where}: a NUL byte in {value!r}")
    dtype = HEART_COLUMNS[name]
    if dtype is np.str_:
        parsed = value
    else:
        try:
            parsed = int(value) if dtype is np.int64 else float(value)
        except ValueError:
            kind = "an integer" if dtype is np.int64 else "a number"
            raise DataFormatError(f"{where}: expected {kind}, found {value!r}") from None
        if not (math.isfinite(parsed) and parsed >= 0):  # all are measurements or counts
            raise DataFormatError(f"{where}: expected a finite number at least 0, "
                                  f"found {value!r}")
    allowed = HEART_CATEGORIES.get(name)
    if allowed is not None and parsed not in allowed:
        raise DataFormatError(f"{where}: expected {' or '.join(map(str, allowed))}, "
                              f"found {value!r}")
    return parsed


def _read_heart(path: Path, rows: int | None) -> dict[str, np.ndarray]:
    try:
        with open(path, newline="", encoding="utf-8") as f:
            table = list(csv.reader(f))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataFormatError(f"{path}: not a UTF-8 CSV file ({exc})") from exc
    if not table or table[0] != list(HEART_COLUMNS):
        found = table[0] if table else "nothing"
        raise DataFormatError(f"{path}: expected the header {','.join(HEART_COLUMNS)}; "
                              f"found {found}")
    columns: dict[str, list] = {name: [] for name in HEART_COLUMNS}
    for line, row in enumerate(table[1:], start=2):
        if not row:
            continue
        if len(row) != len(HEART_COLUMNS):
            raise DataFormatError(f"{path}: line {line} has {len(row)} fields, "
                                  f"expected {len(HEART_COLUMNS)}")
        for name, value in zip(HEART_COLUMNS, row):
            columns[name].append(_heart_value(path, line, name, value))
    _check_rows(path, len(columns["chd"]), rows)
    return {name: np.asarray(values, dtype=HEART_COLUMNS[name]) for name, values in columns.items()}


def heart(data_dir: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
    """The South African heart-disease table (462 rows) as a dict of columns.

    Column dtypes are in :data:`HEART_COLUMNS`: ``famhist`` is a string
    (``"Present"``/``"Absent"``), ``chd`` (the label) is 0/1 int64, the others
    int64 or float64.
    """
    path = fetch("heart", data_dir, validate=False)  # the reader checks it all
    return _read_heart(path, DATASETS["heart"].rows)


# ---------------------------------------------------------------------- birth/life


def _read_birth_life(path: Path, rows: int | None,
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"{path}: not a UTF-8 text file ({exc})") from exc
    expected = ["Country", "Birth rate", "Life expectancy"]
    if not lines or lines[0].split("\t") != expected:
        raise DataFormatError(f"{path}: expected a tab-separated header {expected}")
    countries, births, lives = [], [], []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 3:
            raise DataFormatError(f"{path}: line {number}: expected country, birth rate and "
                                  f"life expectancy separated by tabs; found {line!r}")
        country, birth, life = fields
        if not country.strip() or not country.isprintable():
            raise DataFormatError(f"{path}: line {number}, column Country: expected a country "
                                  f"name, found {country!r}")
        countries.append(country)
        for value, column, out in ((birth, "Birth rate", births), (life, "Life expectancy", lives)):
            try:
                rate = float(value)
            except ValueError:
                rate = math.nan
            if not (math.isfinite(rate) and rate > 0):
                raise DataFormatError(f"{path}: line {number}, column {column}: expected a finite "
                                      f"number above 0, found {value!r}")
            out.append(rate)
    _check_rows(path, len(countries), rows)
    return np.asarray(countries), np.asarray(births), np.asarray(lives)


def birth_life(data_dir: str | os.PathLike | None = None,
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """World Bank 2010: ``(country, birth_rate, life_expectancy)`` for 190 countries.

    ``country`` is a string array, the other two float64.
    """
    path = fetch("birth_life", data_dir, validate=False)  # the reader checks it all
    return _read_birth_life(path, DATASETS["birth_life"].rows)


# --------------------------------------------------------------------------- MNIST


class Split(NamedTuple):
    """Images and labels of one split."""

    images: np.ndarray
    labels: np.ndarray


class MnistSplits(NamedTuple):
    """The train / validation / test splits; unpacks as three ``(images, labels)`` pairs."""

    train: Split
    validation: Split
    test: Split


def read_idx_pair(image_path: str | os.PathLike, label_path: str | os.PathLike, *,
                  image_shape: tuple[int, ...] = ()) -> Split:
    """Read an IDX image file and its label file, checking that they belong together.

    Labels must be class numbers 0..9; with ``image_shape``, the images must have
    exactly that shape, e.g. (10000, 28, 28), and neither file is inflated past it.
    """
    images = read_idx(image_path, IDX_IMAGES_MAGIC,
                      max_bytes=_idx_bytes(image_shape) if image_shape else MAX_IDX_BYTES)
    labels = read_idx(label_path, IDX_LABELS_MAGIC,
                      max_bytes=_idx_bytes(image_shape[:1]) if image_shape else MAX_IDX_BYTES)
    _check_shape(image_path, images, image_shape)
    _check_labels(label_path, labels)
    if images.ndim != 3 or labels.ndim != 1:
        raise DataFormatError(f"{image_path}: expected images of shape (N, rows, cols) and labels "
                              f"of shape (N,); found {images.shape} and {labels.shape}")
    if images.shape[0] != labels.shape[0]:
        raise DataFormatError(f"{image_path} holds {images.shape[0]} images but {label_path} "
                              f"holds {labels.shape[0]} labels")
    return Split(images, labels)


def mnist(
    variant: Literal["digits", "fashion"] = "digits",
    *,
    data_dir: str | os.PathLike | None = None,
    dtype: Literal["float32", "uint8"] = "float32",
    flatten: bool = False,
    one_hot: bool = False,
    validation_size: int = 5000,
) -> MnistSplits:
    """MNIST digits (or Fashion-MNIST) as train / validation / test splits.

    The validation split is the first ``validation_size`` training images, as
    TensorFlow's old tutorial helper did, so by default the splits hold 55,000 /
    5,000 / 10,000 examples. Images are (N, 28, 28), or (N, 784) with
    ``flatten=True``; float32 in [0, 1] or the raw uint8. Labels are uint8 class
    numbers, or float32 one-hot rows of length 10 with ``one_hot=True``.

    Fashion-MNIST is read from the data directory, or from where Debian's
    ``dataset-fashion-mnist`` package installs it.
    """
    if variant not in ("digits", "fashion"):
        raise ValueError(f"variant must be 'digits' or 'fashion', not {variant!r}")
    if dtype not in ("float32", "uint8"):
        raise ValueError(f"dtype must be 'float32' or 'uint8', not {dtype!r}")
    if not 0 <= validation_size <= 60000:
        raise ValueError(f"validation_size must be between 0 and 60000, not {validation_size}")
    prefix = "mnist" if variant == "digits" else "fashion-mnist"

    def load(part: str) -> Split:
        # read_idx_pair checks everything fetch's validation would: read each file once.
        images, labels = f"{prefix}/{part}-images", f"{prefix}/{part}-labels"
        return read_idx_pair(fetch(images, data_dir, validate=False),
                             fetch(labels, data_dir, validate=False),
                             image_shape=DATASETS[images].shape)

    train, test = load("train"), load("t10k")

    def convert(split: Split) -> Split:
        images, labels = split
        if flatten:
            images = images.reshape(len(images), -1)
        if dtype == "float32":
            images = scale_images(images)
        if one_hot:
            labels = np.eye(10, dtype=np.float32)[labels]
        return Split(images, labels)

    return MnistSplits(
        train=convert(Split(train.images[validation_size:], train.labels[validation_size:])),
        validation=convert(Split(train.images[:validation_size], train.labels[:validation_size])),
        test=convert(test),
    )


def scale_images(images: np.ndarray) -> np.ndarray:
    """uint8 pixels (0–255) → float32 in [0, 1]; float images are returned as float32."""
    if images.dtype == np.uint8:
        return images.astype(np.float32) / np.float32(255.0)
    return np.asarray(images, dtype=np.float32)


class BatchIterator:
    """Mini-batches with the old ``DataSet.next_batch`` semantics.

    The examples are shuffled before the first epoch and reshuffled at every new
    epoch (when ``shuffle``); a batch that crosses the end of an epoch takes the
    rest of that epoch followed by the start of the next, so every example is
    seen once per epoch. ``seed`` makes the order reproducible.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, *, shuffle: bool = True,
                 seed: int | None = None):
        if len(images) != len(labels):
            raise ValueError(f"images and labels differ in length: {len(images)} vs {len(labels)}")
        if len(images) == 0:
            raise ValueError("images is empty")
        self.images, self.labels = images, labels
        self.shuffle = shuffle
        self.epochs_completed = 0
        self._rng = np.random.default_rng(seed)
        self._order = self._new_order()
        self._index = 0

    @property
    def num_examples(self) -> int:
        return len(self.images)

    def _new_order(self) -> np.ndarray:
        n = self.num_examples
        return self._rng.permutation(n) if self.shuffle else np.arange(n)

    def next_batch(self, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """The next ``batch_size`` examples as ``(images, labels)``."""
        if not 0 < batch_size <= self.num_examples:
            raise ValueError(f"batch_size must be between 1 and {self.num_examples}, "
                             f"not {batch_size}")
        start, end = self._index, self._index + batch_size
        if end <= self.num_examples:
            idx = self._order[start:end]
            self._index = end
        else:
            rest = self._order[start:]
            self.epochs_completed += 1
            self._order = self._new_order()
            self._index = batch_size - len(rest)
            idx = np.concatenate([rest, self._order[: self._index]])
        return self.images[idx], self.labels[idx]


def make_dataset(images: np.ndarray, labels: np.ndarray, *, batch_size: int, shuffle: bool = True,
                 seed: int | None = 0, prefetch: bool = True, repeat: bool = False):
    """A ``tf.data`` pipeline over in-memory arrays: shuffle, batch, prefetch.

    Shuffling is reseeded every epoch from ``seed``, so the sequence of epochs
    is reproducible. With ``repeat`` the dataset cycles forever. There is no
    ``cache()``: the arrays are in memory already, and a cache would hold a second copy.
    """
    import tensorflow as tf

    if len(images) != len(labels):
        raise ValueError(f"images and labels differ in length: {len(images)} vs {len(labels)}")
    ds = tf.data.Dataset.from_tensor_slices((images, labels))
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.batch(batch_size)
    if prefetch:
        ds = ds.prefetch(tf.data.AUTOTUNE)
    return ds


# -------------------------------------------------------------------------- images

STYLE_IMAGES = ("starry_night", "wave", "the_scream")
CONTENT_IMAGES = ("astronaut", "chelsea", "coffee")


#: The most pixels an image file may declare (25 megapixels; a 6000 × 4000 photo has 24). A
#: PNG of a few kilobytes can declare billions, and decoding them would take gigabytes.
MAX_IMAGE_PIXELS = 25_000_000


def open_image(source, *, max_pixels: int = MAX_IMAGE_PIXELS):
    """Open an image file (a path or binary file) and decode it, as a PIL image.

    The size is read from the file's header before any pixel is decoded: an image
    declaring more than ``max_pixels`` pixels raises :class:`DataTooLargeError`
    naming the file and the limit, so a decompression bomb costs nothing. A file
    that is not a readable image raises :class:`DataFormatError`; a missing one
    ``FileNotFoundError``.
    """
    from PIL import Image, UnidentifiedImageError

    if max_pixels < 1:
        raise ValueError(f"max_pixels must be a positive number of pixels, not {max_pixels}")
    refused = f"more than the limit of {max_pixels:,} pixels; it was not decoded"
    try:
        image = Image.open(source)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Over Pillow's own, larger limit: its message holds the declared pixel count.
        declared = re.search(r"\((\d+) pixels\)", str(exc))
        what = f"{int(declared[1]):,} pixels" if declared else "too many pixels"
        raise DataTooLargeError(f"{source}: the image declares {what}, {refused}") from None
    except FileNotFoundError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise DataFormatError(f"{source}: not a readable image ({exc})") from exc
    width, height = image.size
    if width * height > max_pixels:
        image.close()
        raise DataTooLargeError(f"{source}: the image declares {width} × {height} = "
                                f"{width * height:,} pixels, {refused}")
    try:
        image.load()
    except (OSError, SyntaxError, ValueError) as exc:
        image.close()
        raise DataFormatError(f"{source}: not a readable image ({exc})") from exc
    return image


def _read_image(path: Path):
    with open_image(path) as img:
        return img.convert("RGB")


def _to_float_rgb(img, max_side: int | None) -> np.ndarray:
    from PIL import Image

    if max_side is not None:
        if max_side < 1:
            raise ValueError(f"max_side must be a positive number of pixels, not {max_side}")
        scale = max_side / max(img.size)
        if scale < 1:
            size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
            img = img.resize(size, Image.Resampling.LANCZOS)
    return np.asarray(img, dtype=np.float32) / np.float32(255.0)


def style_image(name: str, *, max_side: int | None = None,
                data_dir: str | os.PathLike | None = None) -> np.ndarray:
    """A painting for style transfer as float32 RGB in [0, 1], shape (H, W, 3).

    ``name`` is one of :data:`STYLE_IMAGES`. With ``max_side``, the image is
    shrunk (keeping its aspect ratio) so that its longer side is at most that.
    """
    if name not in STYLE_IMAGES:
        raise ValueError(f"unknown style image {name!r}; choose one of {', '.join(STYLE_IMAGES)}")
    path = fetch(f"style/{name}", data_dir, validate=False)  # the reader checks it
    return _to_float_rgb(_read_image(path), max_side)


def content_image(name: str, *, max_side: int | None = None) -> np.ndarray:
    """A photograph shipped with scikit-image, as float32 RGB in [0, 1], shape (H, W, 3).

    ``name`` is one of :data:`CONTENT_IMAGES`; ``max_side`` as in :func:`style_image`.
    """
    if name not in CONTENT_IMAGES:
        raise ValueError(f"unknown content image {name!r}; "
                         f"choose one of {', '.join(CONTENT_IMAGES)}")
    import skimage.data
    from PIL import Image

    pixels = getattr(skimage.data, name)()
    return _to_float_rgb(Image.fromarray(pixels).convert("RGB"), max_side)
