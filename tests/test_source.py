"""tflab.source: the lesson code tests and benchmarks read from the notebooks."""

from __future__ import annotations

import json

import pytest

from tflab.source import notebook_definitions


def _notebook(tmp_path, *cells: str):
    path = tmp_path / "lesson.ipynb"
    path.write_text(json.dumps({"cells": [{"cell_type": "code", "source": c} for c in cells]}))
    return path


def test_notebook_definitions_keeps_decorators_and_notebook_order(tmp_path):
    path = _notebook(tmp_path,
                     "import functools\n\n@functools.lru_cache(maxsize=None)\n"
                     "@staticmethod.__class__  # a second decorator line\n"
                     "def ignored():\n    pass\n",
                     "calls = []\n\ndef counted(fn):\n"
                     "    calls.append(fn.__name__)\n    return fn\n",
                     "@counted\ndef step(x):\n    return 2 * x\n\n\nclass Plain:\n    size = 3\n")
    code = notebook_definitions(path, "counted", "step", "Plain")
    assert code.startswith("def counted(fn):")
    assert "@counted\ndef step(x):" in code  # the decorator is part of the definition
    namespace = {"calls": []}
    exec(code, namespace)
    assert namespace["calls"] == ["step"] and namespace["step"](4) == 8
    assert namespace["Plain"].size == 3
    with pytest.raises(ValueError, match="defines no missing"):
        notebook_definitions(path, "step", "missing")
