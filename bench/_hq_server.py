"""A real HQ server for the benches: ``run.py hq`` in a child process on a free loopback
port, started and stopped (shared by hq_ingest.py and sync_drain.py; not a benchmark
itself).

``start_hq(data, log, *options)`` starts it on ``data`` with the command's further
``options`` (``--database``, ``--threads``), its output appended to ``log``, and returns
``(process, port)`` once ``/healthz`` answers; ``stop(process)`` ends it.
"""
from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_hq(data: Path, log: Path, *options: str,
             timeout: float = 60) -> tuple[subprocess.Popen, int]:
    """Start HQ on ``data`` (without the caller's HQ_ and FRONTDESK_ settings); return the
    process and its port once it answers, or exit the bench if it does not in ``timeout``
    seconds."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HQ_", "FRONTDESK_"))}
    command = [sys.executable, "run.py", "hq", "--host", HOST, "--port", str(port), "--data",
               str(data), *options]
    with open(log, "ab") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"HQ exited:\n{log.read_text()[-2000:]}")
        conn = http.client.HTTPConnection(HOST, port, timeout=2)
        try:
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return proc, port
        except OSError:
            time.sleep(0.05)
        finally:
            conn.close()
    proc.kill()
    raise SystemExit(f"HQ did not start in {timeout:g} s")


def stop(proc: subprocess.Popen, wait: float = 30) -> None:
    """End HQ: SIGTERM, then SIGKILL if it has not exited after ``wait`` seconds."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
