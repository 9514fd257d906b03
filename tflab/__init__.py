"""tflab: the helper library behind the TensorFlow teaching notebooks.

Modules, one concern each: :mod:`tflab.data` (datasets, cache, loaders),
:mod:`tflab.solvers` (least squares, gradient descent), :mod:`tflab.plots`
(figures) and :mod:`tflab.doctor` (what this machine has).
Importing tflab does not import TensorFlow; the modules that need it do.

TensorFlow's log messages are quieted in one place, here: its C++ start-up messages for
the whole process, and its Python logger within :func:`quiet_tensorflow`.
"""

__version__ = "0.1.0"

import os as _os
from collections.abc import Iterator as _Iterator
from contextlib import contextmanager as _contextmanager

# TensorFlow's C++ start-up messages (CPU features, oneDNN) only distract a
# class; warnings and errors still show. Set TF_CPP_MIN_LOG_LEVEL=0 to see all.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@_contextmanager
def quiet_tensorflow(level: str = "ERROR") -> _Iterator[None]:
    """Within the ``with`` block, TensorFlow's Python logger shows only ``level`` and worse
    (deprecation notices and retracing warnings hidden); its level is restored after."""
    import tensorflow as tf

    logger = tf.get_logger()
    previous = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(previous)
