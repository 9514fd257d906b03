"""Files and folders: where the checkout is, replacing a file or folder safely, checksums.

- :func:`repo_root` is the repository tflab runs from (``None`` when tflab is installed
  elsewhere); :mod:`tflab.data` and :mod:`tflab.saving` put their default folders there.
- :func:`replace_atomically` writes a file or folder under a temporary name and renames it
  into place, so an interrupted write never replaces a good copy with half of one.
- :func:`recover` puts back a folder a crash left aside mid-swap (systems without an atomic
  exchange); :func:`remove_stale_temps` removes the temporary copies a killed write left.
- :func:`folder_sha256` is one checksum over a whole folder (a SavedModel, say).
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["repo_root", "replace_atomically", "recover", "remove_stale_temps",
           "folder_sha256"]


def repo_root() -> Path | None:
    """The repository tflab runs from (the folder above the package, with its
    ``pyproject.toml``), or ``None`` when tflab is installed elsewhere."""
    root = Path(__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").is_file() else None


def _exchange(a: Path, b: Path) -> bool:
    """Swap the two existing paths ``a`` and ``b`` in one step (Linux ``renameat2`` with
    ``RENAME_EXCHANGE``, macOS ``renamex_np`` with ``RENAME_SWAP``); False where neither works."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if sys.platform.startswith("linux"):
            swap = libc.renameat2  # AT_FDCWD = -100, RENAME_EXCHANGE = 2
            swap.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                             ctypes.c_uint]
            result = swap(-100, os.fsencode(a), -100, os.fsencode(b), 2)
        elif sys.platform == "darwin":
            swap = libc.renamex_np  # RENAME_SWAP = 2
            swap.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_uint]
            result = swap(os.fsencode(a), os.fsencode(b), 2)
        else:
            return False
    except (OSError, AttributeError):  # no such C function here
        return False
    if result == 0:
        return True
    error = ctypes.get_errno()
    if error in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False  # the kernel or the file system cannot exchange
    raise OSError(error, os.strerror(error), str(b))


@contextmanager
def replace_atomically(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path (in a new folder next to ``path``); on success, move it into place.

    On any error the temporary path is removed and whatever was at ``path`` is
    untouched. A file is replaced by one rename. An existing folder is exchanged with the new
    one in one step where the system can (Linux, macOS), so a reader, or a crash, finds the
    old folder or the new, never neither; elsewhere it takes two renames, and
    :func:`recover` puts the old folder back after a crash between them.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    target = tmp / path.name
    try:
        yield target
        if path.is_dir() and not path.is_symlink():
            if not _exchange(target, path):  # target now holds the old folder, removed below
                old = tmp / "old"
                os.replace(path, old)
                try:
                    os.replace(target, path)
                except BaseException:
                    os.replace(old, path)  # put the good copy back before giving up
                    raise
        else:
            os.replace(target, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def recover(path: str | os.PathLike) -> Path | None:
    """Put back the folder a crash left aside when :func:`replace_atomically` had to use two
    renames (``.<name>.*.tmp/old`` beside ``path``, the newest one) if nothing is at ``path``.
    Returns the folder it put back, or None."""
    path = Path(path)
    if path.exists() or path.is_symlink() or not path.parent.is_dir():
        return None
    aside = [old for old in path.parent.glob(f".{path.name}.*.tmp/old") if old.is_dir()]
    if not aside:
        return None
    newest = max(aside, key=lambda old: old.stat().st_mtime)
    os.replace(newest, path)
    return newest


def remove_stale_temps(path: str | os.PathLike, *, older_than: float = 3600.0) -> list[Path]:
    """Remove the temporary folders that :func:`replace_atomically` made for ``path`` and that
    a killed write left behind (``.<name>.*.tmp`` beside it, untouched for ``older_than``
    seconds: a write still running elsewhere keeps its own). Returns what was removed."""
    path = Path(path)
    removed = []
    if not path.parent.is_dir():
        return removed
    recover(path)  # a copy set aside by a crash is the only one: put it back, never delete it
    deadline = time.time() - older_than
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        try:
            if tmp.is_dir() and not tmp.is_symlink() and tmp.stat().st_mtime < deadline:
                shutil.rmtree(tmp)
                removed.append(tmp)
        except FileNotFoundError:  # another process cleaned it first
            continue
    return removed


def folder_sha256(path: str | os.PathLike) -> str:
    """One SHA-256 over every file of a folder (names and contents, in sorted order)."""
    path = Path(path)
    if not path.is_dir():
        raise NotADirectoryError(f"path must be an existing folder, not {str(path)!r}")
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        with open(file, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()
