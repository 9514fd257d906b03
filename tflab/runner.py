"""Run the whole course: every notebook in a fresh kernel, with reports and calibrated budgets.

``run_course`` executes notebooks in order and writes, to a reports folder, each executed
copy, an HTML export, a Markdown summary (``summary.md``: status, wall time, calibrated
budget, the kernel's peak memory and key results per notebook) and ``course.log``, which
holds everything the kernels and Jupyter print (TensorFlow's start-up lines, warnings):
the terminal shows only a progress bar.

Budgets are calibrated to the machine: a notebook's declared run time ("**Run time:** about
2 minutes", written for the reference 2-core machine) is scaled by how much slower this
machine's float32 matmul rate is than the reference's (``REFERENCE_GFLOPS``). A notebook
that runs over its budget is reported as "slower than expected" but still passes; it fails
only when a cell raises, the kernel dies, or it hangs: runs past ``HANG_FACTOR`` × its budget.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

__all__ = ["REFERENCE_GFLOPS", "HANG_FACTOR", "declared_seconds", "measure_machine",
           "Calibration", "NotebookRun", "CourseRun", "key_results",
           "peak_memory_bytes", "run_notebook", "run_course", "summary_table", "summary_markdown"]

#: The reference machine's float32 matmul rate, GFLOP/s: the 2-core (AMD EPYC, AVX-512)
#: machine the notebooks' run times were written on, measured with
#: ``tflab.machine.matmul_gflops()`` (1024² products, best of 10) in fresh processes: 404 to
#: 468 at a load average near 3, about 200 while other jobs kept both cores busy.
REFERENCE_GFLOPS = 450.0
#: A notebook hangs when it runs past this many times its calibrated budget.
HANG_FACTOR = 5.0
#: Hang limit of a notebook that declares no run time, in seconds.
UNDECLARED_LIMIT = 1800.0
LOG_NAME = "course.log"


def declared_seconds(notebook) -> float | None:
    """The run time a notebook declares in its first Markdown cells, in seconds.

    Reads "**Run time:** about 3 minutes", "about 1½ minutes" or a range such as
    "1 to 2 minutes" / "2–4 minutes", whose upper end is taken.
    """
    number = r"(\d+)(½)?"
    pattern = (r"\*\*Run time:\*\*\s*(?:about\s+)?" + number
               + r"(?:\s*(?:to|–|-)\s*" + number + r")?\s*(second|minute)")
    for cell in notebook.cells[:3]:
        if cell.cell_type != "markdown":
            continue
        match = re.search(pattern, cell.source)
        if match:
            whole, half = match.group(3, 4) if match.group(3) else match.group(1, 2)
            value = float(whole) + (0.5 if half else 0.0)
            return value * (60.0 if match.group(5) == "minute" else 1.0)
    return None


# ---------------------------------------------------------------- calibration

# One fresh process measures both: first its own peak right after importing TensorFlow and
# tflab (the floor under every kernel's peak), then the matmul rate. One TensorFlow import
# instead of two saves the course a few seconds.
_MACHINE = ("import os, tensorflow, tflab; from tflab.runner import peak_memory_bytes; "
            "print(peak_memory_bytes(os.getpid()), flush=True); "
            "from tflab.machine import matmul_gflops; print(matmul_gflops())")


def _positive(text: str, parse: Callable[[str], float]) -> float | None:
    try:
        value = parse(text)
    except ValueError:
        return None
    return value if value > 0 else None


def measure_machine(log: IO[str] | None = None,
                    timeout: float = 300.0) -> tuple[float | None, int | None]:
    """This machine's float32 matmul rate in GFLOP/s, and the peak memory in bytes of a
    fresh Python process that has imported TensorFlow and tflab and done nothing else (the
    floor under every kernel's peak), both measured in one such process.

    TensorFlow's start-up messages go to ``log``. Either value is ``None``, noted in
    ``log``, if it cannot be measured (the peak, for instance, off Linux).
    """
    try:
        done = subprocess.run([sys.executable, "-c", _MACHINE], stdout=subprocess.PIPE,
                              stderr=log or subprocess.DEVNULL, text=True, timeout=timeout)
    except (subprocess.SubprocessError, OSError) as err:  # a timeout, no Python
        lines, failure = [], str(err)
    else:  # what it printed counts even if it then failed (the peak comes first)
        lines = done.stdout.strip().splitlines()
        failure = f"exit status {done.returncode}, printed {done.stdout.strip()[-200:]!r}"
    baseline = _positive(lines[0], int) if len(lines) >= 1 else None
    gflops = _positive(lines[1], float) if len(lines) >= 2 else None
    for value, what in ((gflops, "the matmul rate"), (baseline, "TensorFlow's import")):
        if value is None and log:
            print(f"tflab.runner: could not measure {what}: {failure}", file=log)
    return gflops, baseline


@dataclass(frozen=True)
class Calibration:
    """How this machine compares with the reference machine the run times were written on.

    ``scale`` multiplies each declared run time: reference rate / this machine's rate, and
    never below 1 (a faster machine keeps the declared times; start-up and Python work do
    not speed up with the matmul rate). Unmeasured (``gflops`` is None): scale 1.
    """

    gflops: float | None
    reference: float = REFERENCE_GFLOPS

    def __post_init__(self):
        if self.gflops is not None and not self.gflops > 0:
            raise ValueError(f"gflops must be a positive rate or None, got {self.gflops}")
        if not self.reference > 0:
            raise ValueError(f"reference must be a positive rate, got {self.reference}")

    @property
    def scale(self) -> float:
        return 1.0 if self.gflops is None else max(1.0, self.reference / self.gflops)

    def budget(self, declared: float | None) -> float | None:
        """The calibrated budget for a notebook declaring ``declared`` seconds."""
        return None if declared is None else declared * self.scale

    def describe(self) -> str:
        if self.gflops is None:
            return ("Machine: matmul rate not measured; budgets are the declared run times "
                    f"(reference machine {self.reference:.0f} GFLOP/s).")
        return (f"Machine: float32 matmul {self.gflops:.0f} GFLOP/s, reference machine "
                f"{self.reference:.0f} GFLOP/s: budgets are the declared run times "
                f"× {self.scale:.2f}.")


def hang_limit(budget: float | None) -> float:
    """Seconds after which a notebook counts as hung."""
    return UNDECLARED_LIMIT if budget is None else HANG_FACTOR * budget


def verdict(error: str | None, seconds: float, budget: float | None) -> tuple[str, str | None]:
    """``(status, warning)`` of a run: failed on an error; otherwise passed, with a
    "slower than expected" warning when ``seconds`` exceeds ``budget``."""
    if error:
        return f"failed: {error}", None
    if budget is not None and seconds > budget:
        return "passed", f"slower than expected: {seconds:.0f} s, budget {budget:.0f} s"
    return "passed", None


# ---------------------------------------------------------------- key results

_NOISE = [
    r"TensorShape\([^)]*\)", r"\bshape=\([^)]*\)",
    r"\((?:\s*(?:None|\d+)\s*,)+\s*(?:None|\d+)?\s*\)",          # shapes (5000, 28), (5,)
    r"\[\s*(?:None|-?\d+)(?:[\s,]+(?:None|-?\d+))*\s*,?\]",      # integer lists, labels
    r"\[\s*-?[\d.e+-]+(?:[\s,]+-?[\d.e+-]+){2,}\s*\]",            # arrays of 3+ numbers
    r"\b(?:b?float|u?int|complex|qint)\d+\b",                     # dtypes
    r"\b[A-Za-z_]\w*\d\w*",                                        # names: conv2d_1, x2
    r"(?i)\b(?:python|tensorflow|tf|keras|numpy|jupyter|cuda|version)\b[\s:]*v?\d+(?:\.\d+)*",
    r"\bv?\d+\.\d+\.\d+\S*",                                      # version numbers
    r"(?i)\b[cgt]pu:\d+\b", r"\b\d+x\d+\b",                       # devices, image sizes
    r"(?i)^exercise\b.*\bnot attempted\b.*",
]
_DECIMAL = re.compile(r"\d\.\d|\d%|\de[+-]?\d")
_TOPICAL = re.compile(r"(?i)accuracy|loss|error|correlation|distance|slope|intercept|"
                      r"gflop|images/s|speed|faster|slower|steps? per|per second")


def _quantities(line: str) -> str:
    """``line`` with its shapes, dtypes, versions, label lists and device names removed."""
    for pattern in _NOISE:
        line = re.sub(pattern, " ", line)
    return line


def key_results(lines: list[str], limit: int = 3) -> list[str]:
    """The ``limit`` lines of ``lines`` (a lesson's checked outputs) that best state its
    results, in their order: lines with a number (two or more digits, or a decimal) left
    once shapes, dtypes, versions, label lists and unattempted exercises are removed;
    measured values (decimals, percentages) and topical words (accuracy, loss, ...) first.
    Runs of spaces are collapsed and repeated lines kept once."""
    if limit < 0:
        raise ValueError(f"limit must be 0 or more, got {limit}")
    scored, seen = [], set()
    for index, raw in enumerate(lines):
        line = " ".join(raw.split())  # table columns' padding would fill the summary
        if line in seen:
            continue
        seen.add(line)
        rest = _quantities(line)
        if not re.search(r"\d\d|\d\.\d|\d%", rest):  # single digits: labels, indices
            continue
        score = 2 * bool(_DECIMAL.search(rest)) + bool(_TOPICAL.search(line))
        scored.append((-score, index, line))
    chosen = sorted(sorted(scored)[:limit], key=lambda item: item[1])
    return [line if len(line) <= 120 else line[:117] + "..." for _, _, line in chosen]


def _checked_lines(notebook) -> list[str]:
    """The lines printed (stdout) by the cells whose output nbval checks."""
    lines = []
    for cell in notebook.cells:
        if cell.cell_type == "code" and "NBVAL_CHECK_OUTPUT" in cell.source:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "stream" and output.get("name") == "stdout":
                    lines += [ln for ln in output["text"].splitlines() if ln.strip()]
    return lines


# ---------------------------------------------------------------- memory

def peak_memory_bytes(pid: int | None, proc: Path = Path("/proc")) -> int | None:
    """The resident-memory high-water mark (VmHWM) of process ``pid`` in bytes, from
    ``/proc/<pid>/status``; ``None`` where there is no such file (not Linux, or exited)."""
    if pid is None:
        return None
    try:
        status = (proc / str(pid) / "status").read_text()
    except OSError:
        return None
    match = re.search(r"^VmHWM:\s*(\d+)\s*kB", status, re.MULTILINE)
    return int(match.group(1)) * 1024 if match else None


def _kernel_pid(client) -> int | None:
    provisioner = getattr(client.km, "provisioner", None) if client.km else None
    return getattr(provisioner, "pid", None)


# ---------------------------------------------------------------- runs

@dataclass
class NotebookRun:
    """How one notebook ran: ``status`` is "passed" or "failed: why"; ``warning`` says
    when a passed notebook was slower than its budget; ``peak_bytes`` is its kernel's
    resident-memory high-water mark."""

    name: str
    status: str
    seconds: float
    declared: float | None
    budget: float | None
    peak_bytes: int | None
    results: list[str]
    warning: str | None = None

    @property
    def passed(self) -> bool:
        return self.status == "passed"


@dataclass
class CourseRun:
    """A whole course run: the notebooks' runs, the machine's calibration, the log file."""

    runs: list[NotebookRun]
    calibration: Calibration
    log: Path
    seconds: float
    reports: Path = field(default=Path("reports"))
    baseline_bytes: int | None = None  # a process that only imports TensorFlow and tflab

    @property
    def passed(self) -> bool:
        return all(run.passed for run in self.runs)


def run_notebook(path: Path, reports: Path, *, calibration: Calibration | None = None,
                 kernel: str = "python3", log: IO[str] | None = None,
                 clock: Callable[[], float] = time.perf_counter) -> NotebookRun:
    """Execute one notebook in a fresh kernel; save the executed copy and an HTML export.

    The kernel's stdout and stderr go to ``log`` (default: the runner's own). ``clock``
    gives the time in seconds (tests pass a fake one).
    """
    import nbclient
    import nbformat
    from nbconvert import HTMLExporter

    path = Path(path)
    calibration = calibration or Calibration(None)
    notebook = nbformat.read(path, as_version=4)
    declared = declared_seconds(notebook)
    budget = calibration.budget(declared)
    limit = hang_limit(budget)
    start = clock()

    def cell_timeout(cell) -> int:  # a cell may use what is left of the notebook's limit
        return max(1, math.ceil(limit - (clock() - start)))

    peak: list[int] = []

    def sample_memory(**_) -> None:
        value = peak_memory_bytes(_kernel_pid(client))
        if value is not None:
            peak.append(value)

    client = nbclient.NotebookClient(notebook, timeout_func=cell_timeout, kernel_name=kernel,
                                     on_cell_executed=sample_memory,
                                     resources={"metadata": {"path": str(path.parent)}})
    streams = {"stdout": log, "stderr": log} if log else {}
    error = None
    try:
        with client.setup_kernel(**streams):
            try:
                client.execute(cleanup_kc=False)
            except nbclient.exceptions.CellTimeoutError:
                client.shutdown_kernel = "immediate"
                error = f"hung: still running after {limit:.0f} s"
                if budget is not None:
                    error += f" ({HANG_FACTOR:g} × its {budget:.0f} s budget)"
            except nbclient.exceptions.CellExecutionError as err:
                last = [ln for ln in str(err).strip().splitlines() if ln.strip()]
                error = last[-1][:200] if last else "a cell raised"
            except nbclient.exceptions.DeadKernelError:
                error = "the kernel died (out of memory?)"
            finally:
                sample_memory()
    except RuntimeError as err:  # the kernel did not start
        error = f"the kernel did not start: {err}"
    seconds = clock() - start
    status, warning = verdict(error, seconds, budget)
    reports.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, reports / path.name)
    html, _ = HTMLExporter().from_notebook_node(notebook)
    (reports / path.with_suffix(".html").name).write_text(html, encoding="utf-8")
    return NotebookRun(path.stem, status, seconds, declared, budget,
                       max(peak) if peak else None, key_results(_checked_lines(notebook)),
                       warning)


@contextlib.contextmanager
def _output_to(log: IO[str]) -> Iterator[IO[str]]:
    """Within the block, everything written to stdout and stderr (file descriptors 1 and 2,
    so C libraries and child processes too, ``sys.stdout``/``sys.stderr`` and the root
    logger) goes to ``log``; yields a stream to the terminal (the stderr in place before)."""
    terminal_stream = sys.stderr
    terminal: IO[str] = terminal_stream
    saved: dict[int, int] = {}
    try:
        fd = terminal_stream.fileno()
    except (AttributeError, OSError, ValueError):
        fd = None
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, OSError, ValueError):
            stream.flush()
    if fd is not None:  # the terminal's stderr descriptor is about to be replaced
        terminal = open(os.dup(fd), "w", buffering=1, encoding="utf-8",
                        errors="replace")
    for target in (1, 2):
        with contextlib.suppress(OSError):
            saved[target] = os.dup(target)
            os.dup2(log.fileno(), target)
    old = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = log
    handler = logging.StreamHandler(log)  # Jupyter's loggers (traitlets, nbclient) propagate here
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    try:
        yield terminal
    finally:
        logging.getLogger().removeHandler(handler)
        log.flush()
        sys.stdout, sys.stderr = old
        for target, copy in saved.items():
            os.dup2(copy, target)
            os.close(copy)
        if terminal is not terminal_stream:
            terminal.close()


def run_course(notebooks: Path, reports: Path, only: list[str] | None = None,
               progress: bool = True, *, gflops: float | None = None,
               clock: Callable[[], float] = time.perf_counter) -> CourseRun:
    """Run the notebooks in ``notebooks`` in name order (``only``: names or prefixes).

    ``gflops``: this machine's matmul rate, measured first when not given. The terminal
    shows a progress bar only; everything else goes to ``reports/course.log``.
    """
    paths = sorted(Path(notebooks).glob("*.ipynb"))
    if only:
        paths = [p for p in paths if any(p.stem == o or p.stem.startswith(o) for o in only)]
    if not paths:
        raise ValueError(f"no notebook in {notebooks} matches {only or '*.ipynb'}")
    reports = Path(reports)
    reports.mkdir(parents=True, exist_ok=True)
    log_path = reports / LOG_NAME
    start = clock()
    with open(log_path, "w", encoding="utf-8", buffering=1) as log, _output_to(log) as terminal:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(paths), desc="course", unit="notebook", file=terminal,
                   disable=not progress)
        if gflops is None:
            bar.set_postfix_str("measuring the machine")
            print("===== measuring the machine's matmul rate =====", file=log)
            gflops, baseline = measure_machine(log)
        else:
            baseline = None  # a given rate skips measuring the machine altogether
        calibration = Calibration(gflops)
        print(calibration.describe(), file=log)
        runs = []
        for path in paths:
            bar.set_postfix_str(path.stem)
            print(f"\n===== {path.name} =====", file=log)
            runs.append(run_notebook(path, reports, calibration=calibration, log=log,
                                     clock=clock))
            bar.update()
        bar.set_postfix_str("done")
        bar.close()
    course = CourseRun(runs, calibration, log_path, clock() - start, reports, baseline)
    (reports / "summary.md").write_text(summary_markdown(course), encoding="utf-8")
    return course


# ---------------------------------------------------------------- summary

def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{int(seconds // 60)} min {seconds % 60:02.0f} s"


def summary_table(runs: list[NotebookRun]) -> str:
    """The runs as a Markdown table: status, wall time, budget, peak memory, key results."""
    rows = ["| notebook | status | time | budget | peak memory | key results |",
            "|---|---|---:|---:|---:|---|"]
    for run in runs:
        status = run.status + (" (slower than expected)" if run.warning else "")
        budget = f"{run.budget:.0f} s" if run.budget is not None else "–"
        peak = f"{run.peak_bytes / 1e9:.2f} GB" if run.peak_bytes is not None else "–"
        results = "; ".join(run.results).replace("|", "\\|")
        rows.append(f"| {run.name} | {status.replace('|', '/')} | {run.seconds:.0f} s "
                    f"| {budget} | {peak} | {results} |")
    return "\n".join(rows) + "\n"


def summary_markdown(course: CourseRun) -> str:
    """The whole summary: the table, the calibration, the total and where the log is."""
    passed = sum(run.passed for run in course.runs)
    slow = [run for run in course.runs if run.warning]
    lines = [summary_table(course.runs),
             f"{passed} of {len(course.runs)} notebooks passed in "
             f"{_duration(course.seconds)}. {course.calibration.describe()}",
             f"A notebook fails on an error, or when it runs past {HANG_FACTOR:g} × its budget "
             f"(a hang); time and peak memory include the kernel's start-up."]
    if course.baseline_bytes is not None:
        lines.append(f"A fresh Python that only imports TensorFlow and tflab peaks at "
                     f"{course.baseline_bytes / 1e9:.2f} GB here: every kernel's peak "
                     f"includes that floor (TensorFlow's libraries count as far as their pages "
                     f"are loaded, which depends on the system's file cache).")
    lines += [f"- {run.name}: {run.warning}" for run in slow]
    lines.append(f"Executed notebooks, HTML exports and this summary: {_shown(course.reports)}; "
                 f"TensorFlow's and Jupyter's messages: {_shown(course.log)}")
    return "\n".join(lines) + "\n"


def _shown(path: Path) -> str:
    """``path`` relative to the current folder when it lies inside it."""
    path = Path(path).absolute()
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
