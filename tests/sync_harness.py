"""The sync tests' harness: real HQ and kiosk processes on 127.0.0.1, site keys, events
written fast into a stopped kiosk, tickets submitted over HTTP. Every wait is bounded.

HQ keeps its data in SQLite (a data folder) or, given the session's ``hq_databases``, in a
fresh PostgreSQL database; ``HQ.db`` names it for the helpers and the oracle (the folder,
or the database's URL)."""
from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from crash_submitter import FlowError, submit_once
from helpers import free_port
from sync_oracle import compare, hq_sites, open_hq_readonly

from kiosk import ids
from kiosk.store import Store
from sync import protocol
from hq.database import is_postgres, open_store
from sync.state import load_state

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
READY_TIMEOUT = 20.0
FAST_SYNC = {"KIOSK_SYNC_BACKOFF_BASE": "0.05", "KIOSK_SYNC_BACKOFF_CAP": "0.5",
             "KIOSK_SYNC_ALARM_RETRY": "1", "KIOSK_RATE_LIMIT": "100000"}
KEY_LINE = re.compile(r"^key_id: (\S+)\nsecret: (\S+)$", re.M)
DAY = 86400
#: the backends a test of HQ's process runs on (``pg``: the session's ``hq_databases``)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]


# -- ports, processes ---------------------------------------------------------------------
def base_env(**extra: str) -> dict:
    """This process's environment without any KIOSK_/HQ_/FRONTDESK_ setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("KIOSK_", "HQ_", "FRONTDESK_"))}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


def http_get(port: int, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_until(predicate, timeout: float, step: float = 0.05):
    """Poll ``predicate`` until it returns something true; return it, or None at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(step)


class Proc:
    """A ``python run.py ...`` subprocess with its output in a log file."""

    def __init__(self, name: str, port: int, log: Path):
        self.name, self.port, self.log = name, port, log
        self.proc: subprocess.Popen | None = None

    def _popen(self, args: list[str], env: dict) -> None:
        assert not self.alive, f"{self.name} is already running"
        with open(self.log, "ab") as out:
            out.write(f"\n=== start {' '.join(args)}\n".encode())
            self.proc = subprocess.Popen([sys.executable, "run.py", *args], cwd=ROOT, env=env,
                                         stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_exit(self, timeout: float) -> int | None:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        if self.alive:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM (a clean stop), SIGKILL if it takes more than 10 s."""
        if self.alive:
            os.kill(self.proc.pid, signal.SIGTERM)
            if self.wait_exit(10) is None:
                self.kill()

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def wait_http(self, path: str) -> tuple[int, bytes]:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if not self.alive:
                pytest.fail(f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                status, body = http_get(self.port, path)
                if status < 500:
                    return status, body
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.02)
        pytest.fail(f"{self.name} not ready in {READY_TIMEOUT} s:\n{self.tail()}")


class HQ(Proc):
    """HQ's process, on SQLite in ``data``, or on a new PostgreSQL database if given
    ``pg`` (the session's ``hq_databases``)."""

    def __init__(self, data: Path, log: Path, port: int | None = None, pg=None):
        super().__init__("HQ", port or free_port(), log)
        self.data, self.pg = data, pg
        self.db_name, self.database = pg.new() if pg else (None, None)

    @property
    def db(self) -> Path | str:
        """HQ's database for the helpers and the oracle: the data folder, or the URL."""
        return self.database or self.data

    def start(self, **env: str) -> "HQ":
        self._popen(["hq", "--host", HOST, "--port", str(self.port), *hq_options(self.db)],
                    base_env(**env))
        self.wait_http("/login")  # a failpoint fires on an ingest only
        return self

    def wipe(self) -> None:
        """HQ's database is lost (HQ is stopped): an empty one, with a new epoch, follows
        (SQLite: the folder is removed; PostgreSQL: the database dropped and created)."""
        assert not self.alive, "stop HQ first"
        if self.pg is None:
            shutil.rmtree(self.data)
        else:
            self.pg.drop(self.db_name)
            self.pg.new(self.db_name)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


class Kiosk(Proc):
    def __init__(self, data: Path, log: Path, site_id: str, hq_url: str, key: dict):
        super().__init__("kiosk", free_port(), log)
        self.data, self.site_id, self.hq_url, self.key = data, site_id, hq_url, key

    def start(self, wait: bool = True, **env: str) -> "Kiosk":
        self._popen(["--host", HOST, "--port", str(self.port), "--data", str(self.data),
                     "--site-id", self.site_id, "--hq-url", self.hq_url,
                     "--hq-key-id", self.key["key_id"]],
                    base_env(KIOSK_HQ_KEY=self.key["secret"], **FAST_SYNC, **env))
        if wait:
            self.wait_http("/healthz")
        return self

    def health(self) -> dict:
        status, body = http_get(self.port, "/healthz")
        assert status == 200, body[:300]
        return json.loads(body)

    def mark(self) -> int:
        return load_state(self.data)[0].acked_through

    def wait_drained(self, timeout: float = 30.0) -> dict:
        """Wait until nothing waits to be sent and there is no alarm; return /healthz."""
        last: dict = {}

        def drained():
            nonlocal last
            try:
                last = self.health()
            except (OSError, http.client.HTTPException):
                return None
            sync = last["sync"]
            return last if sync["waiting"] == 0 and not sync["alarm"] else None

        health = wait_until(drained, timeout)
        assert health, (f"not drained in {timeout} s: {last}\n{self.tail()}\n"
                        f"sync.json: {(self.data / 'sync.json').read_text()[:2000]}")
        return health


# -- sites, events --------------------------------------------------------------------------
def hq_options(hq_db: Path | str) -> list[str]:
    """The ``run.py hq`` options that open ``hq_db`` (a data folder, or a PostgreSQL URL)."""
    if is_postgres(str(hq_db)):
        return ["--database", str(hq_db)]
    return ["--data", str(hq_db)]


def add_site_cli(hq_db: Path | str, site_id: str) -> dict:
    """``python run.py hq site add``; return the key it printed once."""
    out = subprocess.run([sys.executable, "run.py", "hq", *hq_options(hq_db), "site", "add",
                          site_id, "--name", f"Test {site_id}"], cwd=ROOT, env=base_env(),
                         capture_output=True, text=True, timeout=30, check=True).stdout
    match = KEY_LINE.search(out)
    assert match, out
    return {"site_id": site_id, "key_id": match.group(1), "secret": match.group(2)}


def add_site_api(hq_db: Path | str, site_id: str) -> dict:
    """Register a site through the storage API (also while HQ runs)."""
    key_id, secret = protocol.new_key()
    store = open_store(hq_db, str(hq_db))  # a PostgreSQL URL, else the SQLite folder
    try:
        store.add_site(site_id, f"Test {site_id}", key_id, secret, datetime.now(timezone.utc))
    finally:
        store.close()
    return {"site_id": site_id, "key_id": key_id, "secret": secret}


def iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).isoformat()


def bulk_partials(n: int, start: int = 0, unknown_at: int | None = None) -> list[dict]:
    """``n`` realistic events: one ticket's whole life (6 events) in every 40, place and
    staff events between (cheap for the kiosk's projections); ``unknown_at``: one event
    of a type HQ does not know at that index."""
    now = datetime.now(timezone.utc)
    staff = {"role": "receptionist", "id": "st-1", "name": "Li Na"}
    out, i = [], start
    while len(out) < n:
        if i % 40 == 0 and n - len(out) >= 6:
            tid = ids.new_ticket_id(now)
            at = iso(now)
            out.append({"ticket_id": tid, "type": "reported", "at": at,
                        "actor": {"role": "visitor"},
                        "data": {"number": f"R-{now:%m%d}-{900 + i // 40 % 99:03d}",
                                 "token": ids.new_status_token(tid), "day": f"{now:%Y-%m-%d}",
                                 "category": "repair", "channel": "kiosk", "location": "",
                                 "description": f"bulk report {i}", "name": "",
                                 "phone": "13812345678", "preferred_at": None,
                                 "due_at": iso(now + timedelta(minutes=30))}})
            for kind, data in (("confirmed", {}), ("dispatched", {"team": "maintenance"}),
                               ("arrived", {"how": "phone"}), ("completed", {"result": "fixed"}), ("closed", {"reason": "withdrawn"})):
                out.append({"ticket_id": tid, "type": kind, "at": at, "actor": staff,
                            "data": data})
            i += 6
            continue
        if unknown_at is not None and len(out) == unknown_at:
            out.append({"ticket_id": None, "type": "future_event_type", "at": iso(now),
                        "actor": staff, "data": {"note": "a newer kiosk's event"}})
        elif i % 3:
            out.append({"ticket_id": None, "type": "location_saved", "at": iso(now),
                        "actor": staff,
                        "data": {"code": f"BLK-{i % 8}", "name_zh": f"楼 {i}",
                                 "name_en": f"Block {i}", "building": "B", "active": True}})
        else:
            out.append({"ticket_id": None, "type": "staff_added" if i % 2 else "staff_disabled",
                        "at": iso(now), "actor": staff,
                        "data": {"id": f"st-{i}", "name": f"Staff {i}", "role": "receptionist"}})
        i += 1
    return out[:n]


def fill(kiosk_dir: Path, site_id: str, n: int, batch: int = 2000,
         unknown_at: int | None = None) -> int:
    """Append ``n`` events straight into a stopped kiosk's store; return its last seq."""
    store = Store(kiosk_dir, site_id=site_id)
    try:
        done = 0
        while done < n:
            take = min(batch, n - done)
            at = unknown_at - done if unknown_at is not None and done <= unknown_at < done + take \
                else None
            store.append(bulk_partials(take, start=store.last_seq, unknown_at=at))
            done += take
        return store.last_seq
    finally:
        store.close()


class Submitter:
    """Submits tickets over HTTP (the visitor flow) in a thread until stopped."""

    def __init__(self, port: int):
        self.port, self.ok, self.errors = port, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="submitter")

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            try:
                submit_once(self.port, 5.0, n)
                self.ok += 1
            except (OSError, http.client.HTTPException, FlowError):
                self.errors += 1
                self._stop.wait(0.05)

    def wait_ok(self, count: int, timeout: float = 20.0) -> bool:
        return bool(wait_until(lambda: self.ok >= count, timeout, 0.01))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)


def submit(port: int, count: int) -> None:
    with Submitter(port) as sub:
        assert sub.wait_ok(count), f"only {sub.ok} submissions ({sub.errors} errors)"


def hq_last(hq_db: Path | str, site_id: str) -> int:
    db = open_hq_readonly(hq_db)
    try:
        return db.execute("SELECT COALESCE(MAX(seq), 0) FROM events WHERE site_id = ?",
                          (site_id,)).fetchone()[0]
    finally:
        db.close()


SUMMARY: list[tuple[str, str, dict]] = []  # (scenario, oracle line, extra figures)


def check(scenario: str, kiosk_dir: Path, hq_db: Path | str, check_mark: bool = True,
          **extra) -> dict:
    """Run the oracle, print and remember its counts, assert exactly-once."""
    report = compare(kiosk_dir, hq_db)
    counts = report.counts()
    SUMMARY.append((scenario, report.line(), extra))
    print(f"\n[{scenario}] {report.line()}" + (f"; {extra}" if extra else ""))
    report.assert_exact(check_mark=check_mark)
    assert all(not problems for problems in hq_sites(hq_db).values())
    return counts
