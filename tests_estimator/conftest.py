"""Runs every scenario of scenarios.py through the real tf.estimator and through tflab.estimator.

The real side runs in the environment ``make real-estimator-env`` builds (its python is given by
``TFLAB_REAL_TF_PYTHON``, which ``make test-estimator`` sets), the tflab side in this pytest's
Python (the course's .venv); each scenario in its own process, two processes at a time, each
bounded by :data:`SCENARIO_TIMEOUT_S`. Results and work folders go to pytest's temporary folder
(printed at the end, with a table of the float differences each comparison saw).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from scenarios import SCENARIOS  # noqa: E402 (numpy only: TensorFlow is imported by the runs)

BACKENDS = ("real", "tflab")
SCENARIO_TIMEOUT_S = 300
# lesson06b trains notebook 06b's heart model 18 times in three processes (55 to 100 s here).
TIMEOUTS_S = {"lesson06b": 600}
PROCESSES = 2
TABLE = pytest.StashKey[dict]()
FOLDER = pytest.StashKey[Path]()


@dataclasses.dataclass
class Run:
    """One scenario's process on one backend: what it wrote and how it ended."""

    scenario: str
    backend: str
    returncode: int | None
    seconds: float
    log: str
    record: dict | None

    def failure(self) -> str | None:
        """Why this run gave no result to compare (None when it did)."""
        where = f"scenario {self.scenario!r} on the {self.backend} side"
        if self.returncode is None:
            return f"{where} ran past {TIMEOUTS_S.get(self.scenario, SCENARIO_TIMEOUT_S)} s " \
                   f"and was stopped; its output ended:\n{self.log[-2000:]}"
        if self.record is not None and "crash" in self.record:
            crash = self.record["crash"]
            return f"{where} raised {crash['type']}: {crash['message']}\n{crash['traceback']}"
        if self.returncode != 0 or self.record is None:
            return f"{where} exited with status {self.returncode} and no result; its output " \
                   f"ended:\n{self.log[-3000:]}"
        return None


def real_python() -> str:
    """The real tf.estimator environment's python (TFLAB_REAL_TF_PYTHON)."""
    path = os.environ.get("TFLAB_REAL_TF_PYTHON")
    if not path or not Path(path).exists():
        pytest.fail("TFLAB_REAL_TF_PYTHON does not name the python of the real tf.estimator's "
                    f"environment (found {path!r}): run `make test-estimator`, which builds it "
                    "(make real-estimator-env) and sets the variable", pytrace=False)
    return path


def run_scenario(python: str, scenario: str, backend: str, folder: Path,
                 initial_checkpoint: str) -> Run:
    """Run one scenario in a fresh process and read the JSON it wrote."""
    out = folder / f"{scenario}.{backend}.json"
    command = [python, str(HERE / "scenarios.py"), "--backend", backend, "--scenario", scenario,
               "--workdir", str(folder / f"{scenario}.{backend}"), "--out", str(out),
               "--initial-checkpoint", initial_checkpoint]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    started = time.perf_counter()
    with open(folder / f"{scenario}.{backend}.log", "w+") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            returncode = process.wait(timeout=TIMEOUTS_S.get(scenario, SCENARIO_TIMEOUT_S))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            returncode = None
        log.seek(0)
        text = log.read()
    record = json.loads(out.read_text()) if out.exists() and returncode is not None else None
    return Run(scenario, backend, returncode, round(time.perf_counter() - started, 1), text,
               record)


def wanted_scenarios(items: list[pytest.Item]) -> list[str]:
    """The scenarios the selected tests compare (all of them in a full run)."""
    wanted = {item.callspec.params["scenario"] for item in items
              if hasattr(item, "callspec") and "scenario" in item.callspec.params}
    if any(item.name.startswith("test_lesson06b") for item in items):
        wanted.add("lesson06b")
    return [name for name in SCENARIOS if name in wanted]


@pytest.fixture(scope="session")
def runs(request, tmp_path_factory) -> dict[tuple[str, str], Run]:
    """Every selected scenario on both backends: ``{(scenario, backend): Run}``."""
    real = real_python()
    folder = tmp_path_factory.mktemp("estimator")
    request.config.stash[FOLDER] = folder
    written = subprocess.run([sys.executable, str(HERE / "scenarios.py"),
                              "--write-initial-checkpoint", str(folder)], capture_output=True,
                             text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
                             timeout=SCENARIO_TIMEOUT_S)
    if written.returncode != 0:
        pytest.fail(f"could not write the initial checkpoint:\n{written.stderr[-3000:]}")
    initial = written.stdout.strip().splitlines()[-1]
    jobs = [(scenario, backend) for scenario in wanted_scenarios(request.session.items)
            for backend in BACKENDS]
    jobs.sort(key=lambda job: job[0] != "lesson06b")  # the longest first
    with ThreadPoolExecutor(PROCESSES) as pool:
        futures = {job: pool.submit(run_scenario, real if job[1] == "real" else sys.executable,
                                    job[0], job[1], folder, initial) for job in jobs}
    return {job: future.result() for job, future in futures.items()}


@pytest.fixture(scope="session")
def comparison_table(pytestconfig) -> dict:
    """Where each comparison leaves its float differences, for the end-of-session table."""
    return pytestconfig.stash.setdefault(TABLE, {})


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    table = config.stash.get(TABLE, {})
    if not table:
        return
    write = terminalreporter.write_line
    terminalreporter.section("tflab.estimator against the real tf.estimator")
    write(f"{'scenario':<24}{'floats':>8}{'max abs diff':>15}{'max rel diff':>15}"
          f"{'real s':>9}{'tflab s':>9}  result")
    for scenario, row in table.items():
        write(f"{scenario:<24}{row['floats']:>8}{row['max_abs']:>15.3g}{row['max_rel']:>15.3g}"
              f"{row['real_s']:>9}{row['tflab_s']:>9}  {row['result']}")
    if FOLDER in config.stash:
        write(f"results and work folders: {config.stash[FOLDER]}")
