"""Crash test: SIGKILL the real server again and again while reports pour in over HTTP.

The server (``python run.py``) runs as a subprocess on 127.0.0.1; a second process,
``tests/crash_submitter.py``, walks the visitor flow as fast as it can and records a
ticket's status token only once the receipt showed it. The test kills the server at
random moments, restarts it on the same data folder, and checks each time that the
store loads and every recorded ticket is still there (the submitter starts no new round
during that check, so the check measures recovery, not contention); at the end it opens
the store itself and verifies the whole hash chain.
"""
from __future__ import annotations

import http.client
import json
import os
import random
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from helpers import free_port

from kiosk.store import Store

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
KILLS = 20
UPTIME = (0.1, 1.0)        # seconds the server lives after it is ready (and checked)
READY_TIMEOUT = 15.0       # one start, python and imports included
BUDGET = 75.0              # the whole kill-restart loop
REQUEST_TIMEOUT = 5.0


def get(conn: http.client.HTTPConnection, path: str) -> tuple[int, bytes]:
    conn.request("GET", path)
    response = conn.getresponse()
    return response.status, response.read()


def tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else "(none)"


def recorded(path: Path) -> list[str]:
    """The tokens the submitter confirmed so far (whole lines only)."""
    if not path.exists():
        return []
    return [line for line in path.read_text().split("\n")[:-1] if line]


class Server:
    """``python run.py`` on a fixed port and data folder, killed and restarted at will."""

    def __init__(self, port: int, data: Path, log: Path):
        self.port, self.data, self.log = port, data, log
        self.proc: subprocess.Popen | None = None
        self.env = {**os.environ, "KIOSK_RATE_LIMIT": "100000", "PYTHONUNBUFFERED": "1"}

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "run.py", "--host", HOST, "--port", str(self.port),
                 "--data", str(self.data)],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL)

    def wait_ready(self) -> dict:
        """Poll ``/healthz`` until it answers 200; return its JSON."""
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"the server exited with {self.proc.returncode}:\n{self.tail()}")
            conn = http.client.HTTPConnection(HOST, self.port, timeout=REQUEST_TIMEOUT)
            try:
                status, body = get(conn, "/healthz")
                if status == 200:
                    return json.loads(body)
            except (OSError, http.client.HTTPException):
                pass
            finally:
                conn.close()
            time.sleep(0.02)
        pytest.fail(f"the server was not ready within {READY_TIMEOUT} s:\n{self.tail()}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def tail(self) -> str:
        return tail(self.log)


def _check_some(port: int, tokens: list[str]) -> list[tuple[str, int]]:
    bad = []
    conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
    try:
        for token in tokens:
            try:
                status, _ = get(conn, f"/t/{token}")
            except (OSError, http.client.HTTPException):
                conn.close()  # a dropped keep-alive: one fresh try
                conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
                status, _ = get(conn, f"/t/{token}")
            if status != 200:
                bad.append((token, status))
    finally:
        conn.close()
    return bad


def check_tokens(port: int, tokens: list[str], connections: int = 3) -> list[tuple[str, int]]:
    """GET every status page (over a few keep-alive connections); return the failures."""
    with ThreadPoolExecutor(connections) as pool:
        parts = pool.map(_check_some, [port] * connections,
                         [tokens[i::connections] for i in range(connections)])
        return [bad for part in parts for bad in part]


def test_kill_the_server_while_visitors_submit(tmp_path):
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    data, tokens_file = tmp_path / "data", tmp_path / "tokens.txt"
    stop, hold, stats_file = tmp_path / "stop", tmp_path / "hold", tmp_path / "stats.json"
    server = Server(free_port(rng), data, tmp_path / "server.log")
    submitter = None
    kills, checks, seqs = 0, 0, []
    restart_time = check_time = 0.0
    started = time.monotonic()
    try:
        server.start()
        seqs.append(server.wait_ready()["store"]["last_seq"])
        with open(tmp_path / "submitter.log", "wb") as out:
            submitter = subprocess.Popen(
                [sys.executable, str(ROOT / "tests" / "crash_submitter.py"),
                 "--port", str(server.port), "--out", str(tokens_file), "--stop", str(stop),
                 "--hold", str(hold), "--stats", str(stats_file), "--timeout", "2",
                 "--max-seconds", "100"],
                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        while kills < KILLS:
            assert time.monotonic() - started < BUDGET, f"only {kills} kills in {BUDGET} s"
            time.sleep(rng.uniform(*UPTIME))
            server.kill()
            kills += 1
            t0 = time.monotonic()
            server.start()
            health = server.wait_ready()  # the store loaded after the crash
            t1 = time.monotonic()
            seqs.append(health["store"]["last_seq"])
            assert seqs[-1] >= seqs[-2], f"the log went back: {seqs}"
            hold.touch()  # no new rounds while the recorded tokens are checked
            tokens = recorded(tokens_file)
            lost = check_tokens(server.port, tokens)
            hold.unlink()
            assert not lost, f"after kill {kills}, recorded tickets are lost: {lost} (seed {seed})"
            checks += len(tokens)
            restart_time += t1 - t0
            check_time += time.monotonic() - t1
            assert submitter.poll() is None, "the submitter stopped early"
    finally:
        if sys.exc_info()[0] is not None:  # tell what the processes saw
            print(f"seed {seed}, {kills} kills, healthz seqs {seqs}\n--- server log tail:\n"
                  f"{tail(server.log)}\n--- submitter log tail:\n"
                  f"{tail(tmp_path / 'submitter.log')}")
        stop.touch()
        if submitter is not None:
            try:
                submitter.wait(timeout=10)
            except subprocess.TimeoutExpired:
                submitter.kill()
                submitter.wait(timeout=10)
        server.kill()  # the last stop is a crash too
    elapsed = time.monotonic() - started

    stats = json.loads(stats_file.read_text())
    tokens = recorded(tokens_file)
    store = Store(data)
    try:
        assert store.verify() == []
        missing = [t for t in tokens if store.ticket_by_token(t) is None]
        assert not missing, f"{len(missing)} recorded tickets lost (seed {seed})"
        tickets = store.open_tickets()
        numbers = [t["number"] for t in tickets]
        assert len(set(numbers)) == len(numbers), "a daily number was handed out twice"
        assert store._tickets.seq == store._locations.seq == store.last_seq
        last_seq = store.last_seq
    finally:
        store.close()
    assert len(set(tokens)) == len(tokens)
    assert stats["ok"] == len(tokens) > 0
    print(f"\ncrash test (seed {seed}): {kills} kills in {elapsed:.1f} s; "
          f"{len(tokens)} confirmed submissions, {len(tickets)} tickets stored "
          f"(some answered just before a kill), last seq {last_seq}; submitter: "
          f"{stats['connection_errors']} connection errors, {stats['flow_errors']} flow errors "
          f"{stats['last_flow_error']!r}; {checks} status-page checks after restarts "
          f"({check_time:.1f} s); restarts took {restart_time:.1f} s")
