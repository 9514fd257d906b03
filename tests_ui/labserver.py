"""Start `make lab` the way the README says, and stop it with everything it started.

The server runs in its own process group (make, then Jupyter); stopping it sends SIGTERM to
that group, so Jupyter shuts its kernels down, then SIGKILL to whatever is left, and waits
until the port accepts a new listener again.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def stop_on_sigterm() -> None:
    """Make SIGTERM (a CI time limit, `kill`) unwind like Ctrl-C, so that fixtures and
    ``with LabServer(...)`` blocks stop the server on their way out."""
    signal.signal(signal.SIGTERM, _interrupt)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    """Whether a new server could listen on ``port`` (127.0.0.1) now.

    SO_REUSEADDR, as servers (Jupyter's included) set it: connections the old server closed
    may linger in TIME_WAIT for a minute without holding the port.
    """
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def descendants(pid: int) -> set[int]:
    """The ids of every living process below ``pid`` (Linux: /proc/PID/task/*/children)."""
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        for children in Path(f"/proc/{parent}/task").glob("*/children"):
            try:
                kids = {int(k) for k in children.read_text().split()}
            except OSError:
                continue
            todo.extend(kids - found)
            found |= kids
    return found


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


class LabServer:
    """``make lab`` on a free port with a token, no browser; use it as a context manager.

    ``command`` replaces the make command line (the tests of this class use a stand-in);
    ``log`` receives the server's stdout and stderr.
    """

    def __init__(self, repo: Path, log: Path, *, extra_args: list[str] | None = None,
                 env: dict[str, str] | None = None, command: list[str] | None = None,
                 port: int | None = None, token: str | None = None) -> None:
        self.repo, self.log_path = repo, log
        self.port = port or free_port()
        self.token = token or os.urandom(16).hex()
        args = ["--no-browser", f"--port={self.port}", "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={self.token}", *(extra_args or [])]
        if os.geteuid() == 0:  # README, Troubleshooting: JupyterLab refuses root without it
            args.append("--allow-root")
        self.command = command or ["make", "--no-print-directory", "lab", "ARGS=" + " ".join(args)]
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen | None = None
        self.started: set[int] = set()  # every process seen below make (Jupyter, kernels)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 600) -> LabServer:
        """Start the server and wait until its REST API answers (or fail with its log)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop)
        self._log = log
        self.process = subprocess.Popen(self.command, cwd=self.repo, env=self.env,
                                        stdin=subprocess.DEVNULL, stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            self.remember_children()
            if self.process.poll() is not None:
                raise RuntimeError(f"`{' '.join(self.command[:3])}` exited with status "
                                   f"{self.process.returncode} before serving; its log "
                                   f"({self.log_path}) ends:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}",
                                            timeout=5) as answer:
                    if answer.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"JupyterLab did not answer on {self.url} within {timeout:.0f}"
                                   f" s; its log ({self.log_path}) ends:\n{self.log_tail()}")
            time.sleep(1)

    def remember_children(self) -> None:
        """Note the processes below the server now (its kernels too), to check they end."""
        if self.process is not None:
            self.started |= descendants(self.process.pid)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, grace: float = 30) -> None:
        """SIGTERM the server's process group, SIGKILL what is left after ``grace`` seconds,
        and wait until its processes are gone and its port is free (RuntimeError if not)."""
        if self.process is None:
            return
        self.remember_children()
        pgid = self.process.pid  # start_new_session: the group's id is make's pid
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                pass
            for pid in self.started:  # kernels run in sessions of their own
                try:
                    if sig == signal.SIGKILL and alive(pid):
                        os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                self.process.poll()
                if self.process.returncode is not None and not any(map(alive, self.started)):
                    break
                time.sleep(0.2)
            else:
                continue
            break
        self._log.close()
        left = sorted(p for p in self.started if alive(p))
        deadline = time.monotonic() + 30
        while not port_is_free(self.port) and time.monotonic() < deadline:
            time.sleep(0.5)
        if left or not port_is_free(self.port):
            raise RuntimeError(f"the server did not stop: processes left {left}, "
                               f"port {self.port} free: {port_is_free(self.port)}")

    def __enter__(self) -> LabServer:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()
