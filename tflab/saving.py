"""Saving a trained MNIST model, three ways, each written under a temporary name first.

- ``write_saved_model`` writes a ``keras.export.ExportArchive`` (a serving signature) as a
  SavedModel folder. Lesson 04 builds the archive in a notebook cell, ``serving_archive``:
  signature ``serving_default`` mapping ``images`` (float32 [None, 784]) to ``scores``
  (float32 [None, 10]). ``serving_archive`` and ``export_saved_model`` run that one copy
  (:func:`tflab.models.lesson_04`) for the later lessons, tests and benchmarks that export a
  model. ``save_keras`` and ``save_checkpoint`` write the other two formats, ``load_keras``
  and ``restore_checkpoint`` read them back.
- Every save goes through :func:`tflab.files.replace_atomically`, so an interrupted save
  never replaces a good model with half of one, and replaces only what a save of the same kind
  writes: a path holding anything else (a notes file in the folder, a folder where a ``.keras``
  file should be) is a :class:`ModelError` naming it, and nothing is deleted. Temporary copies a
  killed save left beside the path are removed by the next save.
- ``model_dir`` is where the lessons keep their models; ``variables_bytes`` is how much
  a SavedModel stores for its variables (compare it with the weights' ``nbytes``), and
  ``serving_memory_mb`` how much memory a fresh process needs to load and use one.
"""

from __future__ import annotations

import fnmatch
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from tflab import files

__all__ = ["SIGNATURE", "INPUT", "OUTPUT", "PIXELS", "CLASSES", "ModelError", "model_dir",
           "serving_archive", "write_saved_model", "export_saved_model", "variables_bytes",
           "serving_memory_mb", "save_keras", "load_keras",
           "save_checkpoint", "restore_checkpoint"]

SIGNATURE, INPUT, OUTPUT = "serving_default", "images", "scores"
PIXELS, CLASSES = 784, 10


class ModelError(Exception):
    """A model file or folder is missing, damaged, or not what was expected."""


# The files each kind of save writes (relative paths; folders may also be there, empty).
_SAVEDMODEL_FILES = ("saved_model.pb", "fingerprint.pb", "variables/variables.index",
                     "variables/variables.data-*")
_CHECKPOINT_FILES = ("ckpt.index", "ckpt.data-*", "checkpoint")


def _prepare(path: Path, kind: str, written: tuple[str, ...] = ()) -> None:
    """Before a save to ``path``: refuse when something there is not what this kind of save
    writes (nothing is deleted then), and remove stale temporary copies of earlier saves."""
    if path.is_symlink() or path.exists():
        if kind == "file":
            if path.is_symlink() or not path.is_file() or not zipfile.is_zipfile(path):
                raise ModelError(f"{path}: something other than a .keras file is there; saving "
                                 "would replace it. Move it away or choose another path")
        else:
            if path.is_symlink() or not path.is_dir():
                raise ModelError(f"{path}: a file is there, not a {kind} folder; saving would "
                                 "replace it. Move it away or choose another path")
            foreign = sorted(
                p.relative_to(path).as_posix() for p in path.rglob("*")
                if not (p.is_dir() and not p.is_symlink())
                and not any(fnmatch.fnmatchcase(p.relative_to(path).as_posix(), pattern)
                            for pattern in written))
            if foreign:
                shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more"
                                                 if len(foreign) > 5 else "")
                raise ModelError(f"{path}: holds files a {kind} save does not write ({shown}); "
                                 "saving would delete them. Move them away or choose another "
                                 "path")
    files.remove_stale_temps(path)


def model_dir() -> Path:
    """Where the lessons keep trained models: ``$TFLAB_MODEL_DIR``, else ``models/``.

    ``models/`` is the repository's git-ignored folder when tflab runs from a checkout,
    and ``~/.cache/tflab/models`` otherwise.
    """
    env = os.environ.get("TFLAB_MODEL_DIR")
    if env:
        return Path(env).expanduser()
    root = files.repo_root()
    return root / "models" if root is not None else Path.home() / ".cache" / "tflab" / "models"


def serving_archive(model):
    """Lesson 04's export of ``model``: a ``keras.export.ExportArchive`` with one signature,
    ``serving_default``, mapping ``images`` (float32 [None, 784]) to ``scores``. The code is
    the notebook's cell (section 4 of lesson 04), run by :func:`tflab.models.lesson_04`."""
    from tflab import models

    return models.lesson_04().serving_archive(model)


def write_saved_model(archive, path: str | os.PathLike) -> Path:
    """Write ``archive`` (a ``keras.export.ExportArchive``) as a SavedModel folder at ``path``:
    under a temporary name, then renamed into place, and only over a SavedModel."""
    path = Path(path)
    _prepare(path, "SavedModel", _SAVEDMODEL_FILES)
    with files.replace_atomically(path) as tmp:
        archive.write_out(str(tmp), verbose=False)
    return path


def export_saved_model(model, path: str | os.PathLike) -> Path:
    """Write ``model`` as a SavedModel for serving: ``images`` [None, 784] → ``scores``.

    The model must take 784 float32 pixels in [0, 1] and return 10 class probabilities.
    The archive is lesson 04's :func:`serving_archive`, written by :func:`write_saved_model`.
    """
    return write_saved_model(serving_archive(model), path)


def variables_bytes(path: str | os.PathLike) -> int:
    """Bytes a SavedModel folder stores for its variables: the files in ``path/variables``."""
    folder = Path(path) / "variables"
    if not folder.is_dir():
        raise ModelError(f"{path}: not a SavedModel folder (no variables/ in it)")
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


_SERVE = """
import sys
import numpy as np, tensorflow as tf
def rss():
    return int([x for x in open("/proc/self/status") if x.startswith("VmRSS")][0].split()[1])
images = tf.constant(np.random.default_rng(0).uniform(0, 1, (1000, 784)).astype(np.float32))
tf.matmul(images[:10], images[:10], transpose_b=True).numpy()  # TensorFlow started
before = rss()
signature = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
loaded = rss()
signature(images=images)["scores"].numpy()
print(before, loaded - before, rss() - before)  # KiB, as /proc reports them
"""


def serving_memory_mb(path: str | os.PathLike) -> tuple[float, float, float]:
    """Memory of a fresh Python process that loads the SavedModel at ``path`` and scores
    1000 images: (RSS in MB once TensorFlow has started, MB that loading the model added,
    MB added after scoring too), MB being 10⁶ bytes as everywhere in the course. Reads
    ``/proc/self/status`` (Linux), which counts in KiB."""
    if not (Path(path) / "saved_model.pb").is_file():
        raise ModelError(f"{path}: not a SavedModel folder (no saved_model.pb in it)")
    run = subprocess.run([sys.executable, "-c", _SERVE, str(path)], capture_output=True,
                         text=True)
    if run.returncode != 0:
        raise ModelError(f"{path}: the serving process failed: {run.stderr[-500:]}")
    rss, load, scored = (int(kib) * 1024 / 1e6 for kib in run.stdout.split()[-3:])
    return rss, load, scored


def save_keras(model, path: str | os.PathLike) -> Path:
    """Save ``model`` as a ``.keras`` file, written under a temporary name and renamed."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"a Keras model file must end in .keras, not {path.name!r}")
    _prepare(path, "file")
    with files.replace_atomically(path) as tmp:
        model.save(tmp)
    return path


def load_keras(path: str | os.PathLike, *, compile: bool = True):
    """Load a ``.keras`` file with ``safe_mode=True`` (no arbitrary code from the file).

    ``compile=False`` skips the optimizer and its state, which scoring does not need.
    """
    import keras

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such Keras model file")
    try:
        return keras.saving.load_model(path, safe_mode=True, compile=compile)
    except Exception as err:  # Keras raises many kinds for a damaged zip
        raise ModelError(f"{path}: not a readable .keras model ({type(err).__name__}: {err})") \
            from err


def save_checkpoint(model, path: str | os.PathLike) -> Path:
    """Save the model's variables with ``tf.train.Checkpoint`` into the folder ``path``.

    Returns the checkpoint prefix (``path/ckpt``), which ``restore_checkpoint`` takes.
    """
    import tensorflow as tf

    path = Path(path)
    _prepare(path, "checkpoint", _CHECKPOINT_FILES)
    with files.replace_atomically(path) as tmp:
        tf.train.Checkpoint(model=model).write(str(tmp / "ckpt"))
    return path / "ckpt"


def restore_checkpoint(model, prefix: str | os.PathLike):
    """Restore variables saved by ``save_checkpoint`` into ``model`` (same architecture).

    Every layer's weights must be found; an optimizer state in the checkpoint is
    ignored when ``model`` has no optimizer (scoring needs none).
    """
    import tensorflow as tf

    prefix = Path(prefix)
    files.recover(prefix.parent)  # a crash mid-swap (two-rename systems) left the old copy aside
    if not Path(f"{prefix}.index").is_file():
        raise ModelError(f"{prefix}: no checkpoint there (expected {prefix}.index)")
    status = tf.train.Checkpoint(model=model).read(str(prefix))
    status.assert_existing_objects_matched().expect_partial()
    return model
