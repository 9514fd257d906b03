"""The project's set-up files agree with each other."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _by_name(lines):
    reqs = {}
    for line in lines:
        req = Requirement(line)
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        assert name not in reqs, f"{name} is listed twice"
        reqs[name] = (req.specifier, str(req.marker or ""), tuple(sorted(req.extras)))
    return reqs


def test_environment_yml_matches_pyproject():
    project = _pyproject()["project"]
    wanted = _by_name(project["dependencies"] + project["optional-dependencies"]["test"])

    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_lists = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_lists) == 1, "environment.yml needs exactly one pip: section"
    pip_lines = [line for line in pip_lists[0] if not line.startswith("-e")]
    assert "-e ." in pip_lists[0], "environment.yml must install tflab itself (-e .)"
    listed = _by_name(pip_lines)

    missing = sorted(set(wanted) - set(listed))
    extra = sorted(set(listed) - set(wanted))
    differ = sorted(n for n in set(wanted) & set(listed) if wanted[n] != listed[n])
    assert not (missing or extra or differ), (
        f"environment.yml and pyproject.toml disagree: missing from environment.yml {missing}, "
        f"not in pyproject.toml {extra}, different versions {differ}"
    )


def test_environment_python_satisfies_requires_python():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    version = python.split("=")[-1]
    assert version in SpecifierSet(_pyproject()["project"]["requires-python"])


def test_tf_keras_is_declared_but_keras_3_stays_the_default():
    """Lesson 09 imports tf_keras (Keras 2) on purpose; everything else uses Keras 3."""
    project = _pyproject()["project"]
    names = [re.sub(r"[-_.]+", "-", Requirement(r).name).lower() for r in project["dependencies"]]
    assert "tf-keras" in names
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    code = "import tensorflow as tf, tf_keras; print(tf.keras.__version__[0], tf_keras.__version__[0])"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split()[-2:] == ["3", "2"], run.stdout


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make lab" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert "set -euo pipefail" in ci
    assert "../shared/data" in ci and "export TFLAB_DATA_DIR" in ci
    assert re.search(r"^make test\b", ci, re.MULTILINE)


def test_gitignore_keeps_data_out_but_its_readme_in():
    ignore = (ROOT / ".gitignore").read_text().split()
    assert "data/*" in ignore and "!data/README.md" in ignore
    for folder in ("models/", "logs/", "reports/", ".venv/"):
        assert folder in ignore
