"""What this machine has: versions, processors, data directory and datasets."""

from __future__ import annotations

import os
import platform
import sys

from tflab import data


def peak_memory_mb() -> float:
    """The largest resident memory (RSS) this process has used so far, in MB (10⁶ bytes)."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # bytes on macOS, KiB elsewhere
    peak_bytes = peak if sys.platform == "darwin" else peak * 1024
    return peak_bytes / 1e6


def versions() -> dict[str, str]:
    """Versions of Python and the libraries the course relies on."""
    import keras
    import matplotlib
    import numpy
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": numpy.__version__,
        "matplotlib": matplotlib.__version__,
    }


def check_versions() -> list[str]:
    """What differs from the versions tflab requires (pyproject.toml); empty when all is well."""
    from importlib import metadata

    from packaging.requirements import Requirement

    try:
        requirements = metadata.requires("tflab") or []
    except metadata.PackageNotFoundError:
        return ["tflab is not installed, so its required versions are unknown: run `make venv`"]
    problems = []
    for text in requirements:
        requirement = Requirement(text)
        if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
            continue  # an optional extra, such as the test tools
        try:
            installed = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            problems.append(f"{requirement.name} is not installed (needs {requirement})")
            continue
        if not requirement.specifier.contains(installed, prereleases=True):
            problems.append(f"{requirement.name} {installed} is installed, but the course needs "
                            f"{requirement}")
    return problems


def setup(seed: int = 42, *, deterministic: bool = False) -> None:
    """The first cell of every notebook: seed everything, check versions, say what runs.

    Seeds Python, NumPy and TensorFlow (``keras.utils.set_random_seed``); with
    ``deterministic`` also makes TensorFlow's ops deterministic. Version problems are
    warnings naming the package and the range needed (``make venv`` fixes them).
    """
    import warnings

    import keras
    import tensorflow as tf

    from tflab import __version__

    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    problems = check_versions()
    for problem in problems:
        warnings.warn(f"{problem}; run `make venv` to install the course's versions", stacklevel=2)
    found = versions()
    print(f"tflab {__version__} · Python {found['python']} · TensorFlow {found['tensorflow']} · "
          f"Keras {found['keras']} · seed {seed}"
          + (" · deterministic ops" if deterministic else "")
          + (" · versions OK" if not problems else f" · {len(problems)} version problem(s)"))


#: The vector instruction sets that decide which of oneDNN's kernels run (and so the last digits
#: of a result), as /proc/cpuinfo names them.
SIMD_FLAGS = ("avx2", "avx512f", "amx_tile")


def cpu_features(cpuinfo: str | os.PathLike = "/proc/cpuinfo") -> list[str]:
    """Which of :data:`SIMD_FLAGS` this processor has (Linux; an empty list elsewhere)."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            flags = next((line.split(":", 1)[1].split() for line in f
                          if line.startswith("flags")), [])
    except OSError:
        return []
    return [flag for flag in SIMD_FLAGS if flag in flags]


def devices() -> dict[str, object]:
    """CPU count and the GPUs TensorFlow can see (an empty list on most laptops)."""
    import tensorflow as tf

    return {
        "cpus": os.cpu_count(),
        "gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
        "built_with_cuda": tf.test.is_built_with_cuda(),
    }


def report(data_dir: str | os.PathLike | None = None) -> str:
    """A plain-text report of versions, devices, data directory and datasets."""
    lines = [f"{name:<12} {version}" for name, version in versions().items()]
    dev = devices()
    gpus = ", ".join(dev["gpus"]) or "none (TensorFlow will use the CPU)"
    lines += [f"{'platform':<12} {platform.platform()} ({sys.implementation.name})",
              f"{'cpus':<12} {dev['cpus']}", f"{'gpus':<12} {gpus}"]
    features = cpu_features()
    checked = ("x86-64 with AVX2 or newer: the notebooks' checked outputs are made to hold here"
               if platform.machine() in ("x86_64", "AMD64") and "avx2" in features else
               "checked outputs may differ in their last digits (README: What is reproducible)")
    lines.append(f"{'simd':<12} {', '.join(features) or 'none of ' + '/'.join(SIMD_FLAGS)} "
                 f"({checked})")
    root = data.get_data_dir(data_dir)
    source = ("argument" if data_dir is not None else
              "TFLAB_DATA_DIR" if os.environ.get("TFLAB_DATA_DIR") else "default")
    lines += [f"{'data dir':<12} {root} ({source})", "", "datasets:"]
    for row in data.dataset_status(data_dir):
        where = str(row.path) if row.present else f"missing, would download {row.url}"
        lines.append(f"  {'ok ' if row.present else '-- '} {row.name:<28} {where}")
    from tflab import style

    weights = style.weights_path()
    where = str(weights) if weights.is_file() else \
        ("missing (lesson 08 then uses weights='random-multiscale'; "
         "`python -m tflab fetch --all` gets it)")
    lines += ["", "weights:", f"  {'ok ' if weights.is_file() else '-- '} "
              f"{'vgg19 imagenet (lesson 08)':<28} {where}"]
    return "\n".join(lines)
