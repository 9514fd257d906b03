"""tflab.runner and `python -m tflab run` on a tiny fixture course.

No test depends on how fast this machine is: the machine's matmul rate is passed in and
the runner's clock is a fake one that advances a fixed step per reading.
"""

from __future__ import annotations

import itertools
import os
import re
from pathlib import Path

import nbformat
import pytest

from tflab import runner
from tflab.__main__ import main

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "course"
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
REF = runner.REFERENCE_GFLOPS


def fake_clock(step: float):
    """A clock that moves ``step`` seconds each time it is read."""
    ticks = itertools.count(0.0, step)
    return lambda: next(ticks)


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


def test_budgets_scale_with_the_machines_matmul_rate():
    half = runner.Calibration(REF / 2)
    assert half.scale == pytest.approx(2.0)
    assert half.budget(60) == pytest.approx(120) and half.budget(None) is None
    assert runner.Calibration(REF / 3.5).budget(40) == pytest.approx(140)
    # a faster machine keeps the declared times; an unmeasured one too
    assert runner.Calibration(REF * 4).budget(60) == 60
    assert runner.Calibration(None).budget(60) == 60
    assert runner.Calibration(100.0, reference=300.0).scale == pytest.approx(3.0)
    assert "× 2.00" in half.describe() and "not measured" in runner.Calibration(None).describe()
    assert runner.hang_limit(120) == pytest.approx(runner.HANG_FACTOR * 120)
    assert runner.hang_limit(None) == runner.UNDECLARED_LIMIT
    for bad in (0.0, -5.0, float("nan")):
        with pytest.raises(ValueError, match="gflops"):
            runner.Calibration(bad)


def test_slower_than_the_budget_is_a_warning_and_an_error_a_failure():
    assert runner.verdict(None, 119.0, 120.0) == ("passed", None)
    status, warning = runner.verdict(None, 121.0, 120.0)
    assert status == "passed" and warning == "slower than expected: 121 s, budget 120 s"
    assert runner.verdict(None, 5000.0, None) == ("passed", None)
    assert runner.verdict("ValueError: x", 1.0, 120.0) == ("failed: ValueError: x", None)


def test_key_results_are_the_lessons_numbers_not_shapes_flags_or_versions():
    hostile = ["(55000, 28, 28)", "images (5000, 28, 28)  float32  labels (5000,)  uint8",
               "True", "all close: True", "TensorFlow 2.21.0, Keras 3.12.0, Python 3.11.4",
               "tensorflow==2.21.0", "TensorShape([None, 10])", "conv2d_1 (None, 14, 14, 32)",
               "first labels: [5 0 4 1 9 2 1 3 1 4]", "label 5 -> [0. 0. 0. 0. 0. 1. 0.]",
               "devices: ['/device:CPU:0', '/device:CPU:1']", "result 256x170 px",
               "Exercise 07.1: not attempted — replace ___ with your answer", ""]
    assert runner.key_results(hostile) == []
    lessons = ["epochs run: 13 of 50", "test accuracy 0.9745; at least 0.97: True",
               "x_train (60000, 784) float32", "w = 1.71838, b = 15.7892",
               "always answering 1 would be right on 11.35% of the test images",
               "loss of the final image: Adam 6.45 after 100 steps"]
    # measured values with topical words first, then other decimals; in the lesson's order
    assert runner.key_results(hostile + lessons) == [
        "test accuracy 0.9745; at least 0.97: True", "w = 1.71838, b = 15.7892",
        "loss of the final image: Adam 6.45 after 100 steps"]
    assert runner.key_results(lessons, limit=4)[-1] == lessons[-1]
    assert runner.key_results(["answer: 42"]) == ["answer: 42"]
    # padding of table columns collapsed; a repeated line counted once
    assert runner.key_results(["slope 1.31,  intercept 16.99", "slope 1.31, intercept 16.99",
                               "MinMaxScaler         test accuracy 0.900"]) == [
        "slope 1.31, intercept 16.99", "MinMaxScaler test accuracy 0.900"]
    assert runner.key_results(["x" * 200 + " 0.5"])[0].endswith("...")
    with pytest.raises(ValueError, match="limit"):
        runner.key_results(lessons, limit=-1)


def test_peak_memory_is_read_from_proc_status(tmp_path):
    (tmp_path / "123").mkdir()
    (tmp_path / "123" / "status").write_text("Name:\tpython\nVmPeak:\t 999999 kB\n"
                                             "VmHWM:\t  1048576 kB\nVmRSS:\t 5 kB\n")
    assert runner.peak_memory_bytes(123, proc=tmp_path) == 1024**3
    assert runner.peak_memory_bytes(124, proc=tmp_path) is None
    assert runner.peak_memory_bytes(None, proc=tmp_path) is None
    if Path("/proc/self/status").is_file():
        assert runner.peak_memory_bytes(os.getpid()) > 10 * 2**20


def test_success_failure_warning_and_peak_memory(tmp_path):
    # reference / 10: budgets are 10 × the declared times (01, 02, 04: 300 s; 03: 10 s);
    # the fake clock moves 6 s a reading, a few readings per notebook
    course = runner.run_course(FIXTURES, tmp_path, only=["01", "02", "03", "04"],
                               progress=False, gflops=REF / 10, clock=fake_clock(6.0))
    runs = {r.name: r for r in course.runs}
    assert runs["01_ok"].status == "passed" and runs["01_ok"].warning is None
    fails = runs["02_fails"].status
    assert fails.startswith("failed: ") and "broken on purpose" in fails
    slow = runs["03_slow"]  # its time comes from the clock, a multiple of its step
    assert slow.status == "passed" and slow.budget == pytest.approx(10)
    assert slow.seconds >= 12 and slow.seconds % 6 == 0
    assert slow.warning == f"slower than expected: {slow.seconds:.0f} s, budget 10 s"
    assert runs["01_ok"].budget == pytest.approx(300) and runs["01_ok"].results == ["answer: 42"]
    assert runs["04_noisy"].results == ["test accuracy 0.9745; at least 0.97: True"]
    # the kernel's own high-water mark: 04 holds 320 MB more than 01 at its peak
    if Path("/proc/self/status").is_file():
        assert runs["04_noisy"].peak_bytes - runs["01_ok"].peak_bytes > 250e6
        assert 20e6 < runs["01_ok"].peak_bytes < 2e9
    for name in runs:
        assert (tmp_path / f"{name}.ipynb").is_file() and (tmp_path / f"{name}.html").is_file()
    summary = (tmp_path / "summary.md").read_text()
    assert summary == runner.summary_markdown(course)
    row = r"\| 01_ok \| passed \| \d+ s \| 300 s \| \d\.\d\d GB \| answer: 42 \|"
    assert re.search(row, summary)
    assert "| 03_slow | passed (slower than expected) |" in summary
    assert "3 of 4 notebooks passed" in summary and "× 10.00" in summary
    assert f"- 03_slow: {slow.warning}" in summary and "course.log" in summary


def test_a_hang_fails_after_the_hang_factor_times_the_budget(tmp_path, capfd):
    # budget 1 s, limit 5 s; the fake clock says 100 s have passed when the cell starts,
    # so the cell gets the shortest timeout (1 s) and the kernel is stopped
    course = runner.run_course(FIXTURES, tmp_path, only=["05"], progress=False,
                               gflops=REF, clock=fake_clock(100.0))
    (run,) = course.runs
    assert run.status == "failed: hung: still running after 5 s (5 × its 1 s budget)"
    assert not course.passed
    captured = capfd.readouterr()
    assert captured.out == captured.err == ""  # nbclient's timeout message went to the log
    # the cell had only what was left of the notebook's 5 s: the shortest timeout, 1 s
    assert "Timeout waiting for execute reply (1s)" in (tmp_path / "course.log").read_text()


def test_the_terminal_shows_only_the_progress_bar_and_the_summary(tmp_path, capfd):
    reports = tmp_path / "reports"
    assert main(["run", "--notebooks", str(FIXTURES), "--reports", str(reports),
                 "--only", "04", "--machine-gflops", str(REF)]) == 0
    captured = capfd.readouterr()
    assert captured.out == (reports / "summary.md").read_text()
    assert "| 04_noisy | passed |" in captured.out
    bar = [piece for piece in re.split(r"[\r\n]", captured.err) if piece.strip()]
    assert bar and all(re.match(r"course: +\d+%\|.*notebook", piece) for piece in bar), bar
    assert "1/1" in bar[-1]
    assert "NOISE" not in captured.out + captured.err
    log = (reports / "course.log").read_text()
    assert "NOISE-FD2 cuda_dnn.cc" in log and "NOISE-FD1" in log
    assert "NOISE-TRAITLETS" in log and "===== 04_noisy.ipynb =====" in log
    assert "course.log" in captured.out


def test_the_machine_is_measured_when_no_rate_is_given(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "measure_machine", lambda log=None: (REF / 2, 654_300_000))
    course = runner.run_course(FIXTURES, tmp_path, only=["01"], progress=False)
    assert course.calibration.gflops == REF / 2 and course.runs[0].budget == pytest.approx(60)
    assert course.baseline_bytes == 654_300_000
    summary = (tmp_path / "summary.md").read_text()
    assert "only imports TensorFlow and tflab peaks at 0.65 GB here" in summary
    given = runner.run_course(FIXTURES, tmp_path / "given", only=["01"], progress=False,
                              gflops=REF)
    assert given.baseline_bytes is None  # a given rate measures nothing
    assert "only imports" not in (tmp_path / "given" / "summary.md").read_text()


def test_measure_machine_times_matmul_after_reading_the_peak_of_the_import(tmp_path,
                                                                           monkeypatch):
    with open(tmp_path / "log", "w") as log:
        rate, peak = runner.measure_machine(log)
        assert rate is not None and 1 < rate < 1e5
        assert peak is not None and 200e6 < peak < 8e9  # TensorFlow's import: ~0.65 GB here
        assert runner._MACHINE.index("peak_memory_bytes(") < runner._MACHINE.index("matmul")
        # what the process prints, no constant; the peak is read before the matmuls run
        monkeypatch.setattr(runner, "_MACHINE", "print(2 ** 20); print(12.5)")
        assert runner.measure_machine(log) == (12.5, 2 ** 20)
        monkeypatch.setattr(runner, "_MACHINE", "print('no peak'); print(12.5)")
        assert runner.measure_machine(log) == (12.5, None)  # one failure keeps the other
        monkeypatch.setattr(runner, "_MACHINE", "print(2 ** 20); print(-3.0)")
        assert runner.measure_machine(log) == (None, 2 ** 20)
        monkeypatch.setattr(runner, "_MACHINE", "import sys; sys.exit(3)")
        assert runner.measure_machine(log) == (None, None)
    text = (tmp_path / "log").read_text()
    assert "could not measure TensorFlow's import" in text
    assert "could not measure the matmul rate" in text


def test_command_line_exit_codes_and_only(tmp_path, capsys):
    gflops = ["--machine-gflops", str(REF)]
    assert main(["run", "--notebooks", str(FIXTURES), "--reports", str(tmp_path / "a"),
                 "--only", "01", *gflops]) == 0
    assert "01_ok" in capsys.readouterr().out
    assert main(["run", "--notebooks", str(FIXTURES), "--reports", str(tmp_path / "b"),
                 "--only", "02", *gflops]) == 1
    with pytest.raises(SystemExit):
        main(["run", "--notebooks", str(FIXTURES), "--only", "99"])
