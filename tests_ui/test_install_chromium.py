"""tests_ui/install_chromium.sh, make test-ui's set-up step, with stand-ins for id, apt-get
and the browser: it installs Debian's chromium when it can and says clearly when it cannot."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "install_chromium.sh"


def run_setup(tmp_path: Path, *, uid: int, apt: str | None, have: bool = False,
              want: str = "chromium") -> subprocess.CompletedProcess:
    """Run the script with a PATH of stand-ins only (plus the few tools it calls)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("mktemp", "tail", "rm", "chmod"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    tools = {"id": f"echo {uid}"}
    if apt is not None:
        tools["apt-get"] = apt.replace("BIN", str(bin_dir))
    if have:
        tools["chromium"] = "exit 0"
    for name, body in tools.items():
        path = bin_dir / name
        path.write_text("#!/bin/sh\n" + body + "\n")
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return subprocess.run(["/bin/sh", str(SCRIPT), want], capture_output=True, text=True,
                          env={**os.environ, "PATH": str(bin_dir)})


INSTALLS = ('[ "$1" = update ] && exit 0; printf "#!/bin/sh\\n" > BIN/chromium; '
            'chmod +x BIN/chromium')


def test_present_browser_needs_nothing(tmp_path):
    run = run_setup(tmp_path, uid=1000, apt=None, have=True)
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")


def test_installs_chromium_as_root(tmp_path):
    run = run_setup(tmp_path, uid=0, apt=INSTALLS)
    assert run.returncode == 0, run.stderr
    assert "installing Debian's chromium package" in run.stdout
    assert (tmp_path / "bin" / "chromium").exists()


def test_says_what_to_install_without_root(tmp_path):
    run = run_setup(tmp_path, uid=1000, apt=INSTALLS)
    assert run.returncode == 1
    assert "sudo apt-get install chromium" in run.stderr and "CHROMIUM=" in run.stderr
    assert not (tmp_path / "bin" / "chromium").exists()


def test_fails_clearly_when_apt_get_fails(tmp_path):
    run = run_setup(tmp_path, uid=0, apt='echo "E: Unable to locate package chromium"; exit 100')
    assert run.returncode == 1
    assert "Unable to locate package chromium" in run.stderr
    assert "could not install Debian's chromium package" in run.stderr


def test_fails_when_apt_get_succeeds_but_no_browser_appears(tmp_path):
    run = run_setup(tmp_path, uid=0, apt="exit 0")
    assert run.returncode == 1 and "could not install" in run.stderr


def test_another_binary_must_exist(tmp_path):
    run = run_setup(tmp_path, uid=0, apt=INSTALLS, want="/no/such/chrome")
    assert run.returncode == 1 and "CHROMIUM=/no/such/chrome" in run.stderr
