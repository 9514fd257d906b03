"""Run the whole course: every notebook in a fresh kernel, with reports and time limits.

``run_course`` executes notebooks in order, writes each executed copy and an HTML export
to a reports folder, and a Markdown summary (notebook, status, seconds, key results).
A notebook fails if a cell raises, or if it runs more than 50 % longer than the run time
it declares in its introduction ("**Run time:** about 2 minutes ...").
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

__all__ = ["declared_seconds", "NotebookRun", "run_notebook", "run_course", "summary_table"]

LIMIT_FACTOR = 1.5


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


@dataclass
class NotebookRun:
    """How one notebook ran."""

    name: str
    status: str  # "passed", "failed: ...", "too slow: ..."
    seconds: float
    declared: float | None
    results: list[str]

    @property
    def passed(self) -> bool:
        return self.status == "passed"


def _cell_seconds(cell) -> float:
    timing = cell.get("metadata", {}).get("execution", {})
    try:
        start = datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return 0.0
    return max(0.0, (end - start).total_seconds())


def _key_results(notebook, limit: int = 3) -> list[str]:
    """The first lines printed by the cells whose output nbval checks."""
    lines = []
    for cell in notebook.cells:
        if cell.cell_type == "code" and "NBVAL_CHECK_OUTPUT" in cell.source:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "stream" and output.get("name") == "stdout":
                    lines += [ln.strip() for ln in output["text"].splitlines() if ln.strip()]
    return lines[:limit]


def run_notebook(path: Path, reports: Path, *, kernel: str = "python3") -> NotebookRun:
    """Execute one notebook in a fresh kernel; save the executed copy and an HTML export."""
    import nbclient
    import nbformat
    from nbconvert import HTMLExporter

    path = Path(path)
    notebook = nbformat.read(path, as_version=4)
    declared = declared_seconds(notebook)
    # a single cell may not exceed the whole notebook's limit (stops a runaway cell)
    cell_timeout = int(declared * LIMIT_FACTOR) + 60 if declared else 1800
    client = nbclient.NotebookClient(notebook, timeout=cell_timeout, kernel_name=kernel,
                                     resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    status = "passed"
    try:
        client.execute()
    except nbclient.exceptions.CellTimeoutError:
        status = f"too slow: a cell ran over {cell_timeout} s"
    except nbclient.exceptions.CellExecutionError as err:
        last = [ln for ln in str(err).strip().splitlines() if ln.strip()]
        status = f"failed: {last[-1][:200] if last else 'a cell raised'}"
    wall = time.perf_counter() - start
    seconds = sum(_cell_seconds(c) for c in notebook.cells if c.cell_type == "code") or wall
    if status == "passed" and declared and seconds > LIMIT_FACTOR * declared:
        status = (f"too slow: {seconds:.0f} s, more than {LIMIT_FACTOR:g} × the declared "
                  f"{declared:.0f} s")
    reports.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, reports / path.name)
    html, _ = HTMLExporter().from_notebook_node(notebook)
    (reports / path.with_suffix(".html").name).write_text(html, encoding="utf-8")
    return NotebookRun(path.stem, status, seconds, declared, _key_results(notebook))


def summary_table(runs: list[NotebookRun]) -> str:
    """The runs as a Markdown table."""
    rows = ["| notebook | status | seconds | declared | key results |",
            "|---|---|---:|---:|---|"]
    for run in runs:
        declared = f"{run.declared:.0f}" if run.declared else "–"
        results = "; ".join(run.results).replace("|", "\\|")
        rows.append(f"| {run.name} | {run.status} | {run.seconds:.0f} | {declared} | {results} |")
    return "\n".join(rows) + "\n"


def run_course(notebooks: Path, reports: Path, only: list[str] | None = None,
               progress: bool = True) -> list[NotebookRun]:
    """Run the notebooks in ``notebooks`` in name order (``only``: names or prefixes)."""
    from tqdm.auto import tqdm

    paths = sorted(Path(notebooks).glob("*.ipynb"))
    if only:
        paths = [p for p in paths if any(p.stem == o or p.stem.startswith(o) for o in only)]
        if not paths:
            raise ValueError(f"no notebook in {notebooks} matches {only}")
    runs = []
    bar = tqdm(paths, desc="course", unit="notebook", disable=not progress)
    for path in bar:
        bar.set_postfix_str(path.stem)
        runs.append(run_notebook(path, Path(reports)))
    (Path(reports) / "summary.md").write_text(summary_table(runs), encoding="utf-8")
    return runs
