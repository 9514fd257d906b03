"""Loading a served MNIST model once and sharing it: a registry of SavedModels.

``load(path)`` returns a handle to a model shared by everyone who asks for the same
path: it is loaded once, kept for the whole process (``scope="process"``) or released
when its last ``with`` block ends (``scope="block"``), and is safe to use from threads.
``ModelHandle.predict`` checks its input with :func:`as_batch` and returns the scores
of the SavedModel's ``serving_default`` signature (see :mod:`tflab.saving`).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from tflab import files
from tflab.saving import INPUT, OUTPUT, PIXELS, SIGNATURE, ModelError

__all__ = ["load", "ModelHandle", "loaded_paths", "load_count", "open_handles", "as_batch"]


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

    files.recover(path)  # a crash mid-swap (two-rename systems) left the old copy aside
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
        """Scores (N, 10) for ``images``: pixels in [0, 1], shaped (N, 784) or (N, 28, 28)."""
        if not self._open:
            raise ModelError(f"{self.path}: this handle was closed")
        batch = as_batch(images)
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

    def __enter__(self) -> ModelHandle:
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


def as_batch(images) -> np.ndarray:
    """Model input checked and converted to float32 (N, 784): a clear error otherwise."""
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
