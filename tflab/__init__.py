"""tflab: the helper library behind the TensorFlow teaching notebooks.

Modules, one concern each: :mod:`tflab.data` (datasets, cache, loaders),
:mod:`tflab.solvers` (least squares, gradient descent), :mod:`tflab.plots`
(figures) and :mod:`tflab.doctor` (what this machine has).
Importing tflab does not import TensorFlow; the modules that need it do.
"""

__version__ = "0.1.0"

import os as _os

# TensorFlow's C++ start-up messages (CPU features, oneDNN) only distract a
# class; warnings and errors still show. Set TF_CPP_MIN_LOG_LEVEL=0 to see all.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
