"""Fixtures of the browser suite: one `make lab` server, a headless Chromium, screenshots.

Run it with `make test-ui` (not part of `make test`). The browser is Debian's `chromium`
(`TFLAB_CHROMIUM` names another binary); Playwright's own browser download is not used.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from labserver import LabServer, stop_on_sigterm

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ROOT / "reports" / "ui"
TIMEOUT_MS = 120_000  # one UI step on a busy 2-core machine (clicks, dialogs, rendering)


# A terminated run (CI's time limit, `kill`) tears the fixtures down like Ctrl-C does,
# so the server is stopped and its port released.
stop_on_sigterm()


def chromium_path() -> str:
    """The Chromium binary to drive: $TFLAB_CHROMIUM, else Debian's `chromium`."""
    wanted = os.environ.get("TFLAB_CHROMIUM") or "chromium"
    found = shutil.which(wanted)
    if not found:
        pytest.fail(f"no Chromium at {wanted!r}: install Debian's chromium package "
                    "(`sudo apt-get install chromium`; `make test-ui` does it when run as root) "
                    "or set TFLAB_CHROMIUM to a Chromium or Chrome binary", pytrace=False)
    return found


@pytest.fixture(scope="session")
def reports() -> Path:
    if REPORTS.exists():
        shutil.rmtree(REPORTS)
    REPORTS.mkdir(parents=True)
    return REPORTS


@pytest.fixture(scope="session")
def empty_models_dir():
    """An empty folder the server's kernels use as the models folder (TFLAB_MODEL_DIR)."""
    with tempfile.TemporaryDirectory(prefix="tflab-ui-models-") as path:
        yield Path(path)


@pytest.fixture(scope="session")
def lab(reports, empty_models_dir):
    """`make lab` on a free port with a token and no browser of its own.

    Its settings and workspaces are a temporary folder's, not the student's .venv ones:
    autosave is off (Run All must not rewrite the committed notebooks) and every cell stays
    in the page (windowing off), so the test reads all outputs. Lesson 04's models are
    absent: TFLAB_MODEL_DIR is an empty folder.
    """
    with tempfile.TemporaryDirectory(prefix="tflab-ui-lab-") as tmp:
        settings = Path(tmp) / "settings"
        for plugin, values in (("docmanager-extension/plugin", {"autosave": False}),
                               ("notebook-extension/tracker", {"windowingMode": "none"}),
                               ("apputils-extension/notification", {"fetchNews": "false"})):
            path = settings / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        server = LabServer(ROOT, reports / "lab.log",
                           extra_args=[f"--LabApp.user_settings_dir={settings}",
                                       f"--LabApp.workspaces_dir={Path(tmp) / 'workspaces'}"],
                           env={"TFLAB_MODEL_DIR": str(empty_models_dir)})
        try:
            server.start()
            yield server
        finally:
            server.stop()
            (reports / "server.txt").write_text(
                f"port {server.port}\nprocesses {sorted(server.started)}\nstopped\n")


@pytest.fixture(scope="session")
def browser(reports):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True)
        try:
            yield browser
        finally:
            browser.close()


class Steps:
    """Numbered screenshots of one test in reports/ui/ (step_01_<name>.png, ...)."""

    def __init__(self, page, folder: Path, test: str) -> None:
        self.page, self.folder, self.test, self.count = page, folder, test, 0

    def shot(self, name: str, full_page: bool = False) -> Path:
        self.count += 1
        slug = re.sub(r"\W+", "_", name).strip("_")
        path = self.folder / f"{self.test}_{self.count:02d}_{slug}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path


@pytest.fixture
def page(browser, lab, reports, request):
    """A fresh browser page on JupyterLab (workspace reset); a screenshot if the test fails."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    context.lab_url, context.lab_token = lab.url, lab.token
    page = context.new_page()
    page.steps = Steps(page, reports, request.node.name.removeprefix("test_"))
    try:
        yield page
    finally:
        try:
            page.steps.shot("end")
        except Exception:  # noqa: BLE001 (a closed page has nothing to show)
            pass
        context.close()
