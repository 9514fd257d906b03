"""Static checks of the committed notebooks (nbval runs them; this checks their shape)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_executed_and_stable(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code), (
        "run it top to bottom before committing")
    counts = [c.execution_count for c in code]
    assert counts == list(range(1, len(code) + 1)), "cells were not run in order in one kernel"
    checked = [c for c in code if "# NBVAL_CHECK_OUTPUT" in c.source]
    assert checked, "no cell's output is checked"
    for cell in code:
        assert not any(o.output_type == "error" for o in cell.outputs), cell.source[:80]
    for cell in checked:
        for out in cell.outputs:
            assert not (out.output_type == "stream" and out.name == "stderr"), (
                f"checked cell writes to stderr, which is not reproducible: {cell.source[:80]}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_reads_like_a_chapter(path):
    nb = nbformat.read(path, as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    for heading in ("What you will learn", "Prerequisites", "Run time", "## Exercises",
                    "## Further reading"):
        assert heading in text, f"{path.name} lacks '{heading}'"
    setup = next(c for c in nb.cells if c.cell_type == "code")
    assert "doctor.setup(SEED" in setup.source, "the first code cell should call doctor.setup(SEED)"
    assert "versions OK" in "".join(o.get("text", "") for o in setup.outputs), \
        "the committed run's setup cell should report 'versions OK'"
    headings = [c.source.split("\n", 1)[0] for c in nb.cells if c.cell_type == "markdown"]
    assert headings.index("## Exercises") < headings.index("## Further reading")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_exercise_cells_are_untouched_placeholders(path):
    """Committed answer cells hold ___, so their checked output is 'not attempted'."""
    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and "exercises.get(" in c.source]
    assert cells, f"{path.name} has no exercise cells"
    cells += [c for c in nb.cells if c.cell_type == "code" and "exercises.try_it(" in c.source]
    for cell in cells:
        assert "# NBVAL_CHECK_OUTPUT" in cell.source and "___" in cell.source
        text = "".join(o.get("text", "") for o in cell.outputs)
        assert ": not attempted" in text, text


def test_scoring_notebook_says_to_run_the_training_notebook_first(tmp_path, monkeypatch):
    import nbclient

    monkeypatch.setenv("TFLAB_MODEL_DIR", str(tmp_path))  # no models there
    folder = NOTEBOOKS[0].parent
    nb = nbformat.read(folder / "05_mnist_load_and_score.ipynb", as_version=4)
    nb.cells = [c for c in nb.cells if c.cell_type == "code"][:1]
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(folder)}})
    with pytest.raises(nbclient.exceptions.CellExecutionError,
                       match="run notebook 04_mnist_train_and_save.ipynb first"):
        client.execute()


# Every lesson follows ../shared/TEACHING.md §2 and §7.
SHAPED = {"00", "01", "02", "03", "04", "05", "06", "07", "08", "09"}  # with 02b, 06b, 08b
REWORKED = [p for p in NOTEBOOKS if p.name[:2] in SHAPED]


@pytest.mark.parametrize("path", REWORKED, ids=lambda p: p.name)
def test_checked_cells_print_quantities_not_bare_booleans(path):
    """A checked line that ends in True/False must carry the number it judges."""
    nb = nbformat.read(path, as_version=4)
    bare = []
    for cell in nb.cells:
        if cell.cell_type != "code" or "# NBVAL_CHECK_OUTPUT" not in cell.source:
            continue
        text = "".join(o.get("text", "") for o in cell.outputs)
        for line in text.splitlines():
            if line.rstrip().endswith(("True", "False")) and not any(ch.isdigit() for ch in line):
                bare.append(line.strip())
    assert not bare, f"{path.name}: checked lines with a verdict but no quantity: {bare}"


@pytest.mark.parametrize("path", REWORKED, ids=lambda p: p.name)
def test_lesson_objectives_state_prerequisites_and_run_time(path):
    nb = nbformat.read(path, as_version=4)
    intro = nb.cells[0].source
    assert "**Prerequisites:**" in intro and "**Run time:**" in intro and "2-core" in intro
    run_time = intro.split("**Run time:**", 1)[1].split(" on ", 1)[0]
    assert re.search(r"\d", run_time), f"{path.name}: no run time stated: {run_time!r}"


def markdown(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def main_path_words(path: Path) -> int:
    """Words of Markdown before an optional "Going further" section (all of it if none)."""
    main = re.split(r"(?im)^#+\s*going further", markdown(path))[0]
    return len(re.findall(r"[A-Za-z0-9][\w'’.-]*", main))


SESSIONS = [p for p in NOTEBOOKS if p.name[:2] in SHAPED]


@pytest.mark.parametrize("path", SESSIONS, ids=lambda p: p.name)
def test_main_path_fits_one_class_session(path):
    """TEACHING.md §7: at most about 3,000 words of Markdown before an optional "Going further"
    section, and no word of the project's history."""
    text = markdown(path)
    words = main_path_words(path)
    assert words <= 3000, f"{path.name}: {words} words of Markdown in the main path"
    history = re.findall(r"(?i)\b(?:issue|stop|session) \d+\b|until recently", text)
    assert not history, f"{path.name} speaks of the project's history: {history}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_readme_maps_and_plans_every_notebook_with_its_current_word_count(path):
    """The README's notebook map links every notebook, and its course plan gives the session and
    the main path's Markdown word count as the notebook has it now."""
    readme = (path.parents[1] / "README.md").read_text()
    assert f"(notebooks/{path.name})" in readme, f"the notebook map lacks {path.name}"
    plan = readme.split("## Course plan", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in plan.splitlines()
            if re.match(rf"\|[^|]+\| {re.escape(path.stem.split('_')[0])} ", line)]
    assert len(rows) == 1, f"the course plan should have one row for {path.name}: {rows}"
    words = f"{main_path_words(path):,}"
    assert re.search(rf"\| {words}\b", rows[0]), (
        f"the course plan's row for {path.name} should give its {words} Markdown words: {rows[0]}")


def test_readme_counts_the_exercises_and_try_its():
    from tflab import exercises

    readme = (NOTEBOOKS[0].parents[1] / "README.md").read_text()
    assert f"{len(exercises.EXERCISES)} in all" in readme
    assert f"({len(exercises.TRY_ITS)} in all)" in readme
