#!/usr/bin/env python3
"""How close does the kiosk's home page come to a bare Flask app on the same server?

Two servers run in their own processes on loopback, both under waitress with the
kiosk's own settings (``create_server(app, host, port, threads=4)``, as ``run.py``):
the kiosk (``create_app`` on a fresh temp data folder, demo places) and a bare Flask
hello-world. A load generator in another process (``wrk``, or a Python fallback when
wrk is missing) loads ``GET /`` of each in turn, after a short warm-up, in
alternating rounds (kiosk, hello, hello, kiosk, ...) so both see the same machine
load. Each request is a first visit (no cookie), like a new phone scanning the QR.

Prints both throughputs (req/s), latencies and server CPU time per request (which
the load of other processes on the machine disturbs less than throughput), and, last,
``home/hello throughput ratio: X``. Target: X >= 0.4.

    python bench/http_floor.py                      # 2 x 5 s per app, about 30 s
    python bench/http_floor.py --seconds 10 --connections 8
"""
from __future__ import annotations

import os
import sys

# bench/queue.py must not shadow the standard library's ``queue`` for anything this script
# imports: the script's own folder (sys.path[0]) goes last, after the standard library
BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != BENCH] + [BENCH]

import argparse
import http.client
import json
import shutil
import signal
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HOST = "127.0.0.1"
THREADS = 4                  # waitress threads, as run.py's default
WRK = shutil.which("wrk") or ("/usr/bin/wrk" if os.path.exists("/usr/bin/wrk") else None)
WRK_SUMMARY = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "\nBENCH {\"requests\": %d, \"duration_us\": %d, \"errors\": %d, \"status_errors\": %d, "
    .. "\"mean_ms\": %.3f, \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f}\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency.mean / 1000, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
end
"""


# -- the servers (child processes) ----------------------------------------------------
def hello_app():
    from flask import Flask

    app = Flask("hello")

    @app.get("/")
    def hello():
        return "Hello, World!"

    return app


def serve(which: str, data_dir: str | None) -> None:
    """Serve one app on a free loopback port; print the port; stop on SIGTERM."""
    from waitress import create_server

    if which == "kiosk":
        from kiosk import create_app

        app = create_app({"DATA_DIR": data_dir})
    else:
        app = hello_app()
    server = create_server(app, host=HOST, port=0, threads=THREADS)

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print(server.effective_port, flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        if which == "kiosk":
            app.extensions["kiosk_store"].close()


# -- the Python load generator (fallback when wrk is missing) ---------------------------
def python_load(url: str, seconds: float, connections: int) -> dict:
    """Keep-alive GETs from ``connections`` threads for ``seconds``; wrk-like summary."""
    host, port = url.split("//")[1].split("/")[0].split(":")
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0, 0]  # transport, status
    deadline = time.perf_counter() + seconds

    def worker(out: list[float]) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        while time.perf_counter() < deadline:
            t = time.perf_counter()
            try:
                conn.request("GET", "/")
                r = conn.getresponse()
                r.read()
            except (OSError, http.client.HTTPException):
                errors[0] += 1
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=10)
                continue
            out.append((time.perf_counter() - t) * 1000)
            if r.status >= 400:
                errors[1] += 1
        conn.close()

    start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(out,)) for out in latencies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    duration = time.perf_counter() - start
    ms = sorted(x for out in latencies for x in out)
    return {"requests": len(ms), "duration_us": int(duration * 1e6), "errors": errors[0],
            "status_errors": errors[1], "mean_ms": statistics.fmean(ms) if ms else 0.0,
            "p50_ms": ms[len(ms) // 2] if ms else 0.0,
            "p99_ms": ms[max(0, int(len(ms) * 0.99) - 1)] if ms else 0.0,
            "max_ms": ms[-1] if ms else 0.0}


# -- driver -----------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float | None:
    """Return the user + system CPU seconds a process has used (Linux), else None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(url: str, seconds: float, connections: int, script: Path,
         server: subprocess.Popen | None = None) -> dict:
    """Run the load generator in its own process; return its summary.

    With ``server``, the summary also tells the CPU seconds that server used meanwhile.
    """
    before = cpu_seconds(server.pid) if server else None
    if WRK:
        cmd = [WRK, f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds:g}s",
               "--timeout", "10s", "-s", str(script), url]
    else:
        cmd = [sys.executable, os.path.abspath(__file__), "--load", url,
               "--seconds", str(seconds), "--connections", str(connections)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("BENCH ")]
    if out.returncode or not lines:
        sys.stderr.write(out.stdout + out.stderr)
        raise SystemExit(f"bench: the load generator failed on {url}")
    summary = json.loads(lines[-1][len("BENCH "):])
    after = cpu_seconds(server.pid) if server else None
    summary["server_cpu_s"] = after - before if before is not None and after is not None else None
    return summary


def start_server(which: str, data_dir: str | None, log: Path) -> tuple[subprocess.Popen, str]:
    args = [sys.executable, os.path.abspath(__file__), "--serve", which]
    if data_dir:
        args += ["--dir", data_dir]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=open(log, "w"), text=True,
                            cwd=ROOT)
    timer = threading.Timer(60, proc.kill)  # never wait forever for a port
    timer.start()
    port = proc.stdout.readline().strip()
    timer.cancel()
    if not port.isdigit():
        proc.kill()
        raise SystemExit(f"bench: the {which} server did not start:\n{log.read_text()}")
    return proc, f"http://{HOST}:{port}/"


def check(url: str, which: str) -> None:
    """One GET /: must be a 200, and the kiosk's must carry its QR code."""
    with urllib.request.urlopen(url, timeout=30) as r:
        body = r.read().decode()
        if r.status != 200 or (which == "kiosk" and "<svg" not in body):
            raise SystemExit(f"bench: GET / of the {which} app is not the expected page")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0,
                        help="length of one load round (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="rounds per app, alternating (default: %(default)s)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--serve", choices=["kiosk", "hello"], help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    parser.add_argument("--load", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.dir)
        return
    if args.load:
        print("BENCH " + json.dumps(python_load(args.load, args.seconds, args.connections)))
        return

    tmp = Path(tempfile.mkdtemp(prefix="frontdesk-http-"))
    procs = []
    try:
        script = tmp / "summary.lua"
        script.write_text(WRK_SUMMARY)
        urls, servers = {}, {}
        for which in ("kiosk", "hello"):
            servers[which], urls[which] = start_server(
                which, str(tmp / "data") if which == "kiosk" else None, tmp / f"{which}.log")
            procs.append(servers[which])
            check(urls[which], which)
        gen = (f"wrk -t{min(2, args.connections)} -c{args.connections}" if WRK
               else f"python loop, {args.connections} connections")
        print(f"waitress threads={THREADS} on {HOST}; load: {gen}, {args.rounds} x "
              f"{args.seconds:g} s per app (after {args.warmup:g} s warm-up), GET /", flush=True)
        for which in urls:
            load(urls[which], args.warmup, args.connections, script)
        runs: dict[str, list[dict]] = {"kiosk": [], "hello": []}
        order = ["kiosk", "hello"]
        for r in range(args.rounds):
            for which in (order if r % 2 == 0 else order[::-1]):
                runs[which].append(load(urls[which], args.seconds, args.connections, script,
                                        servers[which]))
        for proc in procs:
            if proc.poll() is not None:
                raise SystemExit("bench: a server died under load")
    finally:
        for proc in procs:
            stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)

    rate, cpu_per_request = {}, {}
    for which, name in (("kiosk", "kiosk home"), ("hello", "hello world")):
        rs = runs[which]
        requests = sum(r["requests"] for r in rs)
        rate[which] = requests / (sum(r["duration_us"] for r in rs) / 1e6)
        errors = sum(r["errors"] + r["status_errors"] for r in rs)
        cpu = [r["server_cpu_s"] for r in rs]
        if None not in cpu and requests:
            cpu_per_request[which] = sum(cpu) / requests
        cpu_text = (f"; server CPU {cpu_per_request[which] * 1000:.2f} ms/req"
                    if which in cpu_per_request else "")
        per_round = ", ".join(f"{r['requests'] / (r['duration_us'] / 1e6):.0f}" for r in rs)
        print(f"{name:>11}: {rate[which]:8.1f} req/s  latency mean "
              f"{statistics.fmean(r['mean_ms'] for r in rs):.2f} ms  p50 "
              f"{statistics.fmean(r['p50_ms'] for r in rs):.2f} ms  p99 "
              f"{max(r['p99_ms'] for r in rs):.2f} ms  ({requests} requests, {errors} errors; "
              f"rounds: {per_round} req/s{cpu_text})", flush=True)
    if len(cpu_per_request) == 2:
        print(f"server CPU per request ratio hello/home (less sensitive to machine load): "
              f"{cpu_per_request['hello'] / cpu_per_request['kiosk']:.2f}")
    print(f"home/hello throughput ratio: {rate['kiosk'] / rate['hello']:.2f}")


if __name__ == "__main__":
    main()
