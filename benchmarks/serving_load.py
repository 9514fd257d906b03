"""Load test of the model server (issue 20): many clients, maximum-size bodies, hang-ups.

Starts ``python -m tflab.serving`` (``serving.ServerProcess``, default limits) on lesson 04's
seed CNN (untrained: the weights do not change the work) or on ``--model``, opens every
connection below (the time it took is printed), then at once:

- ``--clients`` keep-alive clients, each sending a valid one-image request about once a
  second (a random pause of 0.5-1.5 s between requests), for the whole run;
- ``--large`` clients, each sending one body of exactly ``serving.MAX_BODY`` bytes holding
  ``serving.MAX_INSTANCES`` images, all at the same time, one second in;
- ``--half-open`` connections that send half a request and then all reset at once, two
  seconds in (each costs the server a thread until it hangs up; it logs one line each).

It samples the server's resident memory (VmRSS) every 50 ms and reads its peak (VmHWM) at
the end, and times every one-image request. Prints the latencies (median, 99th percentile,
worst, against the goal of 1 s), what the large requests got (200, or 503 when they waited
longer than the server's request timeout for their turn), the server's memory at start and
at its peak, and the scoring work as a share of this machine's matmul rate. Exit status 1
if any request failed (an error other than the 503 above, or no answer).

    .venv/bin/python benchmarks/serving_load.py [--clients 200] [--large 40]
        [--half-open 1000] [--seconds 20] [--model DIR] [--quick]
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import socket
import struct
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from tflab import machine, models, runner, saving, serving

GOAL_S = 1.0  # a valid request is answered within this, throughout


def _rss_mb(pid: int) -> float:
    """The process's resident memory now (``VmRSS``) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024 / 1e6
    raise RuntimeError(f"no VmRSS for process {pid}")


def _max_size_body(rng: np.random.Generator) -> bytes:
    """A valid request of ``MAX_INSTANCES`` images padded with spaces to ``MAX_BODY`` bytes."""
    images = rng.uniform(0, 1, (serving.MAX_INSTANCES, saving.PIXELS))
    rows = ",".join("[" + ",".join(f"{v:.7f}" for v in row) + "]" for row in images)
    body = ('{"instances": [' + rows + "]}").encode()
    if len(body) > serving.MAX_BODY:
        raise RuntimeError(f"the request is {len(body)} bytes, over MAX_BODY")
    return body + b" " * (serving.MAX_BODY - len(body))


def _post(port: int, body: bytes, conn: http.client.HTTPConnection | None = None,
          timeout: float = 120) -> tuple[int, float, http.client.HTTPConnection | None]:
    """POST ``body`` to :predict; (status or -1 on a failure, seconds, connection to reuse)."""
    start = time.monotonic()
    try:
        conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request("POST", "/v1/models/mnist:predict", body=body,
                     headers={"Content-Type": "application/json"})
        reply = conn.getresponse()
        reply.read()
        status = reply.status
        if reply.getheader("Connection") == "close":
            conn.close()
            conn = None
    except OSError:
        status = -1
        if conn is not None:
            conn.close()
        conn = None
    return status, time.monotonic() - start, conn


def _small_client(port: int, body: bytes, ready: threading.Barrier, stop: threading.Event,
                  results: list, seed: int) -> None:
    pause = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.connect()  # connected before the timed part starts
    except OSError:
        conn = None
    ready.wait()
    time.sleep(pause.uniform(0, 1))  # spread the first requests over a second
    while not stop.is_set():
        sent = time.monotonic()
        status, seconds, conn = _post(port, body, conn)
        results.append((status, seconds, sent))
        stop.wait(pause.uniform(0.5, 1.5))
    if conn is not None:
        conn.close()


def _half_open(port: int, count: int, ready: threading.Barrier, go: threading.Event) -> None:
    """Open ``count`` connections with half a request each; reset them all on ``go``."""
    socks = []
    for _ in range(count):
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=30)
            sock.sendall(b"POST /v1/models/mnist:predict HTTP/1.1\r\nContent-Length: 1000"
                         b"\r\n\r\n{\"instances\": [[0")
            socks.append(sock)
        except OSError:
            pass
    ready.wait()
    go.wait()
    for sock in socks:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()


def run(model: Path, *, clients: int, large: int, half_open: int, seconds: float) -> bool:
    """Run the load test on ``model`` and print its table; True if no request failed."""
    rng = np.random.default_rng(0)
    small_body = json.dumps({"instances": rng.uniform(0, 1, (1, 784)).round(4).tolist()}).encode()
    large_body = _max_size_body(rng)
    with serving.ServerProcess(model) as srv:
        pid, port = srv.process.pid, srv.port
        start_mb = _rss_mb(pid)
        stop, reset = threading.Event(), threading.Event()
        small: list[tuple[int, float, float]] = []
        big: list[tuple[int, float]] = []
        rss: list[float] = []

        def sample() -> None:
            while not stop.is_set():
                rss.append(_rss_mb(pid))
                stop.wait(0.05)

        ready = threading.Barrier(clients + 2)  # the clients, the half-open opener, this
        threads = [threading.Thread(target=sample)]
        threads += [threading.Thread(target=_small_client,
                                     args=(port, small_body, ready, stop, small, i))
                    for i in range(clients)]
        hanger = threading.Thread(target=_half_open, args=(port, half_open, ready, reset))
        bigs = [threading.Thread(target=lambda: big.append(_post(port, large_body)[:2]))
                for _ in range(large)]
        opening = time.monotonic()
        for thread in threads + [hanger]:
            thread.start()
        ready.wait()  # every connection open: the timed part starts
        began = time.monotonic()
        opened = began - opening
        time.sleep(1.0)
        for thread in bigs:
            thread.start()
        time.sleep(1.0)
        reset.set()  # every half-open connection resets at once
        for thread in bigs:
            thread.join()
        time.sleep(max(0.0, seconds - (time.monotonic() - began)))
        stop.set()
        for thread in threads + [hanger]:
            thread.join()
        wall = time.monotonic() - began
        peak_mb = runner.peak_memory_bytes(pid) / 1e6  # VmHWM
        alive = srv.process.poll() is None
    ok = [s for status, s, _ in small if status == 200]
    slow = sorted(((s, t - began, status) for status, s, t in small
                   if status != 200 or s > GOAL_S), reverse=True)[:5]
    failed_small = len(small) - len(ok)
    codes = [status for status, _ in big]
    failed_big = sum(code not in (200, 503) for code in codes)
    worst = max(ok, default=float("nan"))
    print(f"serving load test: {clients} clients (one image, about 1 request/s each) + {large} "
          f"bodies of {serving.MAX_BODY:,} bytes ({serving.MAX_INSTANCES} images) at once "
          f"+ {half_open} half-open connections reset at once; {wall:.1f} s (after "
          f"{clients + half_open} connections opened in {opened:.1f} s)")
    print(f"one-image requests: {len(ok)} answered 200, {failed_small} failed; latency median "
          f"{np.median(ok):.3f} s, 99th percentile {np.percentile(ok, 99):.3f} s, worst "
          f"{worst:.3f} s (goal <= {GOAL_S:g} s: {'met' if worst <= GOAL_S else 'NOT met'})")
    for seconds_, at, status in slow:
        print(f"  slow or failed: status {status}, {seconds_:.3f} s, sent {at:.1f} s in")
    print(f"maximum-size requests: {codes.count(200)} answered 200, {codes.count(503)} got 503 "
          f"(waited over the request timeout for their turn), {failed_big} failed; slowest "
          f"{max((s for _, s in big), default=float('nan')):.1f} s")
    print(f"server memory: {start_mb:.0f} MB at start, peak {peak_mb:.0f} MB (VmHWM; "
          f"highest sample {max(rss, default=start_mb):.0f} MB), +{peak_mb - start_mb:.0f} MB "
          f"under load; server {'still running' if alive else 'DIED'}")
    scored = len(ok) + serving.MAX_INSTANCES * codes.count(200)
    flops = machine.forward_flops(models.lesson_04().seed_cnn())
    print(f"scoring work: {scored:,} images in {wall:.1f} s: "
          f"{machine.share(scored * flops, wall, _matmul)} (FLOPs of the seed CNN)")
    return failed_small == 0 and failed_big == 0 and alive and bool(ok)


_matmul = 0.0


def main(argv: list[str] | None = None) -> int:
    global _matmul
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--large", type=int, default=40)
    parser.add_argument("--half-open", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20.0,
                        help="least run time (the run also waits for every large request)")
    parser.add_argument("--model", type=Path, help="a SavedModel (default: export the seed CNN)")
    parser.add_argument("--quick", action="store_true",
                        help="20 clients, 3 large bodies, 50 half-open, 3 s: the smoke test")
    args = parser.parse_args(argv)
    if args.quick:
        args.clients, args.large, args.half_open, args.seconds = 20, 3, 50, 3.0
    _matmul = machine.matmul_gflops()
    print(machine.matmul_line(_matmul))
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model
        if model is None:
            import keras

            keras.utils.set_random_seed(0)
            model = saving.export_saved_model(models.lesson_04().seed_cnn(), Path(tmp) / "mnist")
        ok = run(model, clients=args.clients, large=args.large, half_open=args.half_open,
                 seconds=args.seconds)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
