"""The course as students meet it: `make lab`, a notebook opened in JupyterLab, Run All.

Each step is screenshotted to reports/ui/ (git-ignored) so a teacher can see what the test saw.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import ROOT

RUN_TIMEOUT_MS = 20 * 60_000  # Run All of a lesson on a busy 2-core machine
KERNEL_TIMEOUT_MS = 5 * 60_000


def committed(name: str) -> dict:
    return json.loads((ROOT / "notebooks" / name).read_text())


def output_text(cell: dict) -> str:
    """What a cell's saved outputs say in text: stdout/stderr and text/plain, joined."""
    parts = []
    for out in cell.get("outputs", []):
        if out["output_type"] == "stream":
            parts.append("".join(out["text"]))
        elif "text/plain" in out.get("data", {}) and "image/png" not in out["data"]:
            parts.append("".join(out["data"]["text/plain"]))
    return "".join(parts)


def lines(text: str) -> list[str]:
    """Lines without trailing blanks, empty lines dropped (the page keeps the text, not its
    trailing whitespace)."""
    return [line.rstrip() for line in text.replace("\r", "").splitlines() if line.strip()]


def kernel_status(page) -> str:
    return page.locator("#jp-main-statusbar").inner_text()


def open_from_file_browser(page, name: str):
    """Double-click ``name`` in the file browser (as Galata's filebrowser.open does) and wait
    for its tab; returns the notebook panel."""
    item = page.get_by_role("region", name="File Browser Section").get_by_role(
        "listitem", name=re.compile(f"^Name: {re.escape(name)}"))
    item.wait_for()
    item.dblclick()
    page.get_by_role("main").get_by_role("tab", name=re.compile(f"^{re.escape(name)}")).last \
        .wait_for(state="visible")
    return page.locator(".jp-NotebookPanel:visible").last


def choose_kernel(page, panel, display_name: str) -> None:
    """Pick ``display_name`` in the Select Kernel dialog (the toolbar's kernel button) and wait
    until the kernel is idle; fails with the dialog's text if the kernel cannot start."""
    panel.locator(".jp-Toolbar-kernelName").click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for()
    assert "Select Kernel" in dialog.inner_text()
    dialog.locator("select").select_option(label=display_name)
    page.steps.shot("select_kernel")
    dialog.locator("button.jp-mod-accept").click()
    wait_for_idle(page, display_name)


def wait_for_idle(page, display_name: str) -> None:
    """Wait until the status bar shows ``display_name | Idle``; an error dialog or a dead
    kernel fails at once with what the student would read."""
    deadline_ms = KERNEL_TIMEOUT_MS
    step = 1000
    while deadline_ms > 0:
        error = page.locator(".jp-Dialog:has-text('Error Starting Kernel'),"
                             ".jp-Dialog:has-text('Kernel Restarting'),"
                             ".jp-Dialog:has-text('Dead kernel')")
        if error.count():
            page.steps.shot("kernel_error")
            pytest.fail("the kernel did not start; JupyterLab says:\n" + error.first.inner_text(),
                        pytrace=False)
        status = kernel_status(page)
        if f"{display_name} | Idle" in status:
            return
        if re.search(r"\| (Dead|Unknown)\b", status) and deadline_ms < KERNEL_TIMEOUT_MS - 60_000:
            page.steps.shot("kernel_dead")
            pytest.fail(f"the kernel is not running; status bar: {status!r}", pytrace=False)
        page.wait_for_timeout(step)
        deadline_ms -= step
    pytest.fail(f"the kernel never became idle; status bar: {kernel_status(page)!r}",
                pytrace=False)


def click_run_all(page) -> None:
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name=re.compile(r"^Run All Cells")).click()


def run_all(page, panel, expected_cells: int) -> None:
    """Run > Run All Cells, then wait until the last code cell has its execution count; fails
    as soon as the run stops short (an error stops Run All), with the errors shown."""
    cells = panel.locator(".jp-Notebook .jp-Cell")
    assert cells.count() == expected_cells
    prompts = panel.locator(".jp-CodeCell .jp-InputArea-prompt")
    n_code = prompts.count()
    click_run_all(page)
    settled, waited = 0, 0
    while waited < RUN_TIMEOUT_MS:
        shown = prompts.evaluate_all("ps => ps.map(p => p.textContent.trim())")
        if shown[-1] == f"[{n_code}]:" and not any("*" in p for p in shown):
            return
        idle = "| Idle" in kernel_status(page)
        settled = settled + 1 if idle and not any("*" in p for p in shown) else 0
        if settled >= 5:  # idle, nothing queued, last cell not run: Run All stopped
            page.steps.shot("run_all_stopped")
            ran = sum(bool(re.fullmatch(r"\[\d+\]:", p)) for p in shown)
            pytest.fail(f"Run All stopped after {ran} of {n_code} code cells; error outputs:\n"
                        + "\n".join(error_outputs(panel)), pytrace=False)
        page.wait_for_timeout(2000)
        waited += 2000
    pytest.fail(f"Run All did not finish in {RUN_TIMEOUT_MS // 60_000} min", pytrace=False)


def error_outputs(panel) -> list[str]:
    """The text of every rendered error or stderr output in the notebook."""
    found = panel.locator(".jp-OutputArea-output[data-mime-type*='stderr'],"
                          ".jp-OutputArea-output[data-mime-type*='error'],"
                          ".jp-OutputArea-output:has([data-mime-type*='stderr']),"
                          ".jp-OutputArea-output:has([data-mime-type*='error'])")
    return [found.nth(i).inner_text() for i in range(found.count())]


NB01 = "01_linear_regression.ipynb"
NB05 = "05_mnist_load_and_score.ipynb"


def test_notebook_01_run_all(page):
    nb = committed(NB01)
    kernel = nb["metadata"]["kernelspec"]["display_name"]
    page.goto(f"{page.context.lab_url}/lab?reset&token={page.context.lab_token}")
    page.locator("#filebrowser").wait_for()
    page.steps.shot("lab_started")

    panel = open_from_file_browser(page, NB01)
    page.steps.shot("notebook_opened")
    choose_kernel(page, panel, kernel)
    page.steps.shot("kernel_idle")

    run_all(page, panel, len(nb["cells"]))
    page.steps.shot("run_all_done")

    cells = panel.locator(".jp-Notebook .jp-Cell")
    assert error_outputs(panel) == [], "error output after Run All"

    # every checked number, as the committed notebook (nbval's reference) has it
    checked = [i for i, c in enumerate(nb["cells"])
               if c["cell_type"] == "code" and "# NBVAL_CHECK_OUTPUT" in "".join(c["source"])]
    assert len(checked) >= 10
    for i in checked:
        shown = cells.nth(i).locator(".jp-Cell-outputArea").inner_text()
        assert lines(shown) == lines(output_text(nb["cells"][i])), f"cell {i} shows:\n{shown}"
    cells.nth(checked[2]).scroll_into_view_if_needed()
    page.steps.shot("checked_numbers")

    # every figure the committed notebook has is drawn in the page as a decoded image
    figures = [i for i, c in enumerate(nb["cells"])
               if any("image/png" in o.get("data", {}) for o in c.get("outputs", []))]
    assert figures
    for i in figures:
        image = cells.nth(i).locator(".jp-OutputArea-output img")
        assert image.count() == 1, f"cell {i}: no image rendered"
        image.scroll_into_view_if_needed()
        size = image.evaluate("img => [img.complete, img.naturalWidth, img.naturalHeight]")
        assert size[0] and size[1] > 200 and size[2] > 150, f"cell {i}: image {size}"
    cells.nth(figures[0]).locator("img").screenshot(path=str(page.steps.folder / "plot_01.png"))
    page.steps.shot("plot")

    # the kernel is the course's: .venv's Python, as a student would check in a new cell
    cells.last.click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")
    new = panel.locator(".jp-Notebook .jp-Cell").nth(len(nb["cells"]))  # Shift+Enter adds one
    new.locator(".cm-content").click()
    page.keyboard.type("import sys; print(sys.executable); print(sys.prefix)")
    page.keyboard.press("Shift+Enter")
    out = new.locator(".jp-OutputArea-output")
    out.wait_for()
    executable, prefix = lines(out.inner_text())
    page.steps.shot("kernel_python")
    venv = ROOT / ".venv"
    assert Path(executable) == venv / "bin" / "python", executable
    assert Path(prefix) == venv, prefix
    assert kernel in kernel_status(page)


def test_notebook_05_without_lesson_04(page, empty_models_dir):
    assert not any(empty_models_dir.iterdir())
    nb = committed(NB05)
    kernel = nb["metadata"]["kernelspec"]["display_name"]
    page.goto(f"{page.context.lab_url}/lab?reset&token={page.context.lab_token}")
    page.locator("#filebrowser").wait_for()
    panel = open_from_file_browser(page, NB05)
    choose_kernel(page, panel, kernel)
    page.steps.shot("notebook_opened")

    click_run_all(page)
    first_code = panel.locator(".jp-CodeCell").first
    error = first_code.locator(".jp-OutputArea-output[data-mime-type*='stderr'],"
                               ".jp-OutputArea-output:has([data-mime-type*='stderr'])")
    error.first.wait_for(timeout=RUN_TIMEOUT_MS)
    wait_for_idle(page, kernel)
    error.first.scroll_into_view_if_needed()
    page.steps.shot("message")
    text = error.first.inner_text()
    assert error_outputs(panel) == [text]  # (the check test 01 relies on sees this error)
    assert "FileNotFoundError" in text
    assert (f"mnist_savedmodel, mnist_metrics.json not found in {empty_models_dir}: run notebook "
            "04_mnist_train_and_save.ipynb first; it trains and saves the model") in text
    # Run All stops at the error: no later cell ran
    later = panel.locator(".jp-CodeCell .jp-InputArea-prompt")
    assert [later.nth(i).inner_text().strip() for i in range(1, later.count())] == \
        ["[ ]:"] * (later.count() - 1)
