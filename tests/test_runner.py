"""tflab.runner and `python -m tflab run` on a tiny fixture course."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from tflab import runner
from tflab.__main__ import main

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "course"
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def test_declared_run_times_are_read_from_every_course_notebook():
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        seconds = runner.declared_seconds(nbformat.read(path, as_version=4))
        assert seconds and 10 <= seconds <= 300, path.name
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "**Run time:** about 1½ minutes")])
    assert runner.declared_seconds(nb) == 90
    for text, seconds in [("about 40 seconds on 2 cores", 40), ("about 1 to 2 minutes", 120),
                          ("2–4 minutes on a laptop", 240), ("about 2 - 3½ minutes", 210),
                          ("3 minutes", 180), ("quick", None)]:
        cell = nbformat.v4.new_markdown_cell("**Run time:** " + text)
        nb = nbformat.v4.new_notebook(cells=[cell])
        assert runner.declared_seconds(nb) == seconds, text


def test_success_failure_and_time_limit(tmp_path):
    runs = runner.run_course(FIXTURES, tmp_path, progress=False)
    status = {r.name: r.status for r in runs}
    assert status["01_ok"] == "passed"
    assert status["02_fails"].startswith("failed") and "broken on purpose" in status["02_fails"]
    assert status["03_slow"].startswith("too slow")
    assert "1.5 × the declared 1 s" in status["03_slow"]
    ok = next(r for r in runs if r.name == "01_ok")
    assert ok.results == ["answer: 42"]
    for name in ("01_ok", "02_fails", "03_slow"):
        assert (tmp_path / f"{name}.ipynb").is_file() and (tmp_path / f"{name}.html").is_file()
    summary = (tmp_path / "summary.md").read_text()
    assert "| 01_ok | passed |" in summary and "answer: 42" in summary


def test_command_line_exit_codes_and_only(tmp_path, capsys):
    assert main(["run", "--notebooks", str(FIXTURES), "--reports", str(tmp_path / "a"),
                 "--only", "01"]) == 0
    assert "01_ok" in capsys.readouterr().out
    assert main(["run", "--notebooks", str(FIXTURES), "--reports", str(tmp_path / "b"),
                 "--only", "02"]) == 1
    with pytest.raises(SystemExit):
        main(["run", "--notebooks", str(FIXTURES), "--only", "99"])
