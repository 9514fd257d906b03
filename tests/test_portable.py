"""`make test-portable` really computes as another machine would, and CI runs it.

The pass reruns the notebooks with oneDNN limited to AVX2, one intra-op thread, OpenBLAS's
Haswell kernels on one thread and NumPy without AVX-512. These tests read the environment from
the Makefile itself (``make -n``) and check, in a fresh process with that environment, what
oneDNN, OpenBLAS and NumPy report they use, so a pass that silently ran on the default kernels
would fail here. (tests/test_environment.py checks that .ci/run runs the pass.)
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

_PROBE = r"""
import io, contextlib, json
import numpy as np
import tensorflow as tf
import threadpoolctl

x = tf.random.normal([1, 28, 28, 1])
tf.nn.conv2d(x, tf.random.normal([5, 5, 1, 8]), 1, "SAME")  # makes oneDNN report itself
out = io.StringIO()
with contextlib.redirect_stdout(out):
    np.show_runtime()
blas = [i for i in threadpoolctl.threadpool_info() if i.get("internal_api") == "openblas"]
print("PROBE", json.dumps({"numpy": out.getvalue(), "openblas": blas}))
"""


def portable_command() -> str:
    """The command line `make -n test-portable` prints for the notebooks' pytest run."""
    dry = subprocess.run(["make", "-n", "-s", "test-portable"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    return next(line for line in dry.replace("\\\n", " ").splitlines()
                if "pytest notebooks" in line)


def portable_env() -> dict[str, str]:
    """The NAME=VALUE assignments `make test-portable` puts before pytest (JUPYTER_* aside)."""
    words = shlex.split(portable_command())
    env = {}
    for word in words[:next(i for i, w in enumerate(words) if "python" in w)]:
        name, _, value = word.partition("=")
        if not name.startswith("JUPYTER"):
            env[name] = value
    return env


def test_the_portable_pass_runs_every_notebook_under_the_emulating_settings():
    env = portable_env()
    assert env["ONEDNN_MAX_CPU_ISA"] == "AVX2"
    assert env["TF_NUM_INTRAOP_THREADS"] == "1"
    assert "-m pytest notebooks --nbval-lax" in portable_command()


@pytest.mark.skipif(sys.platform != "linux" or os.uname().machine != "x86_64",
                    reason="the emulation is of x86-64 CPUs")
def test_under_that_environment_the_libraries_use_avx2_kernels_and_one_thread():
    env = {**os.environ, **portable_env(), "ONEDNN_VERBOSE": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    run = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    info = [line for line in run.stdout.splitlines() if line.startswith("onednn_verbose")]
    isa = next(line for line in info if ",isa:" in line)
    assert "AVX-512" not in isa and "AMX" not in isa, isa
    assert any(line.endswith(",nthr:1") for line in info), info  # oneDNN runs on one thread
    probe = json.loads(next(line for line in run.stdout.splitlines()
                            if line.startswith("PROBE "))[len("PROBE "):])
    found = re.search(r"'found': \[([^]]*)\]", probe["numpy"]).group(1)
    assert "X86_V4" not in found and "AVX512" not in found, found
    assert probe["openblas"], "NumPy's OpenBLAS was not found"
    for blas in probe["openblas"]:
        assert blas["num_threads"] == 1
        assert blas["architecture"] == "Haswell", blas
