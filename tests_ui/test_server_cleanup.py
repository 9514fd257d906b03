"""The server the browser suite starts is stopped, its processes gone and its port free,
when the test ends, fails or is interrupted. A stand-in for `make lab` (a shell that starts
an HTTP server, which starts a "kernel" in a session of its own, as Jupyter does) keeps
these tests fast and free of a browser."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from labserver import LabServer, alive, free_port, port_is_free

HERE = Path(__file__).resolve().parent

STAND_IN = textwrap.dedent("""
    import http.server, signal, subprocess, sys
    port, on_term = int(sys.argv[1]), sys.argv[2]
    kernel = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                              start_new_session=True)
    class Status(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200); self.end_headers(); self.wfile.write(b"{}")
        def log_message(self, *args):
            pass
    def stop(signum, frame):  # Jupyter shuts its kernels down on SIGTERM
        kernel.terminate(); kernel.wait(); sys.exit(0)
    signal.signal(signal.SIGTERM, stop if on_term == "stop" else signal.SIG_IGN)
    http.server.HTTPServer(("127.0.0.1", port), Status).serve_forever()
""")


def stand_in(tmp_path: Path, on_term: str = "stop") -> LabServer:
    script = tmp_path / "stand_in.py"
    script.write_text(STAND_IN)
    port = free_port()
    command = ["bash", "-c", f'"{sys.executable}" "{script}" {port} {on_term}; exit $?']
    return LabServer(tmp_path, tmp_path / "lab.log", command=command, port=port)


def assert_stopped(server: LabServer) -> None:
    assert len(server.started) >= 2  # the server and its kernel were seen
    assert not [pid for pid in server.started if alive(pid)]
    assert port_is_free(server.port)


def test_stopped_when_the_test_ends(tmp_path):
    with stand_in(tmp_path) as server:
        assert not port_is_free(server.port)
    assert_stopped(server)


def test_stopped_when_the_test_fails(tmp_path):
    with pytest.raises(AssertionError), stand_in(tmp_path) as server:
        raise AssertionError("a failing check")
    assert_stopped(server)


def test_a_server_that_ignores_sigterm_is_killed(tmp_path):
    server = stand_in(tmp_path, on_term="ignore").start()
    try:
        assert not port_is_free(server.port)
    finally:
        server.stop(grace=2)
    server.stop(grace=2)  # stopping twice is harmless
    assert_stopped(server)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_stopped_when_the_run_is_interrupted(tmp_path, sig):
    """A run holding the server gets Ctrl-C or SIGTERM: the server goes with it."""
    driver = tmp_path / "driver.py"
    driver.write_text(textwrap.dedent(f"""
        import signal, sys, time
        # Ctrl-C as in a terminal: a job a shell starts in the background (a CI runner,
        # `cmd &`) inherits SIGINT ignored, and Python then leaves it ignored
        signal.signal(signal.SIGINT, signal.default_int_handler)
        sys.path.insert(0, {str(HERE)!r})
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from pathlib import Path
        from labserver import stop_on_sigterm
        from test_server_cleanup import stand_in
        stop_on_sigterm()
        server = stand_in(Path({str(tmp_path)!r}))
        try:
            server.start()
            print(server.port, *sorted(server.started), flush=True)
            time.sleep(600)
        finally:
            server.stop()
            print("stopped", flush=True)
    """))
    run = subprocess.Popen([sys.executable, str(driver)], stdout=subprocess.PIPE, text=True)
    port, *pids = map(int, run.stdout.readline().split())
    assert not port_is_free(port) and all(map(alive, pids))
    os.kill(run.pid, sig)
    rest, _ = run.communicate(timeout=120)
    assert "stopped" in rest
    deadline = time.monotonic() + 10  # reaped by their parents
    while any(map(alive, pids)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in pids if alive(pid)]
    assert port_is_free(port)
