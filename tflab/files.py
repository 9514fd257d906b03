"""Files and folders: where the checkout is, replacing a file or folder safely, checksums.

- :func:`repo_root` is the repository tflab runs from (``None`` when tflab is installed
  elsewhere); :mod:`tflab.data` and :mod:`tflab.saving` put their default folders there.
- :func:`replace_atomically` writes a file or folder under a temporary name and renames it
  into place, so an interrupted write never replaces a good copy with half of one.
- :func:`remove_stale_temps` removes the temporary copies a killed write left beside a path.
- :func:`folder_sha256` is one checksum over a whole folder (a SavedModel, say).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["repo_root", "replace_atomically", "remove_stale_temps", "folder_sha256"]


def repo_root() -> Path | None:
    """The repository tflab runs from (the folder above the package, with its
    ``pyproject.toml``), or ``None`` when tflab is installed elsewhere."""
    root = Path(__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").is_file() else None


@contextmanager
def replace_atomically(path: str | os.PathLike) -> Iterator[Path]:
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
                os.replace(old, path)  # put the good copy back before giving up
                raise
        else:
            os.replace(target, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def remove_stale_temps(path: str | os.PathLike, *, older_than: float = 3600.0) -> list[Path]:
    """Remove the temporary folders that :func:`replace_atomically` made for ``path`` and that
    a killed write left behind (``.<name>.*.tmp`` beside it, untouched for ``older_than``
    seconds: a write still running elsewhere keeps its own). Returns what was removed."""
    path = Path(path)
    removed = []
    if not path.parent.is_dir():
        return removed
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
