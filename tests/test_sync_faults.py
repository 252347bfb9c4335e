"""Sync under faults, end to end: a real HQ, a real kiosk, a fault proxy between them.

HQ (``python run.py hq``) and the kiosk (``python run.py --hq-url ...``) run as their own
processes on 127.0.0.1; ``tests/faultproxy.py`` sits between them and fails requests on
demand; ``tests/crash_submitter.py``'s flow submits tickets over HTTP, or events are
written straight into a stopped kiosk's store. Processes are SIGKILLed at exact steps
with the test-only failpoints of ``sync/failpoint.py`` (``FRONTDESK_FAILPOINT``). After
each scenario the faults stop, the kiosk drains (its ``/healthz`` shows nothing waiting)
and ``tests/sync_oracle.py`` compares the kiosk's log with HQ's tables: 0 lost,
0 duplicated, both hash chains verified, the kiosk's acked mark == HQ's last seq. Each
scenario prints the oracle's counts (``pytest -s`` shows them) and a summary table
closes the module.

Every wait is bounded; every process is killed in ``finally``; only 127.0.0.1.
"""
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
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from helpers import free_port
from crash_submitter import FlowError, submit_once
from faultproxy import FaultProxy
from sync_oracle import compare, hq_sites, open_hq_readonly

from kiosk import ids
from kiosk.eventlog import event_hash
from kiosk.store import Store
from sync import client, protocol
from sync.hq.storage import open_store
from sync.state import Settings, describe, load_state

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
READY_TIMEOUT = 20.0
FAST_SYNC = {"KIOSK_SYNC_BACKOFF_BASE": "0.05", "KIOSK_SYNC_BACKOFF_CAP": "0.5",
             "KIOSK_SYNC_ALARM_RETRY": "1", "KIOSK_RATE_LIMIT": "100000"}
KEY_LINE = re.compile(r"^key_id: (\S+)\nsecret: (\S+)$", re.M)
DAY = 86400
SUMMARY: list[tuple[str, str, dict]] = []  # (scenario, oracle line, extra figures)


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
    def __init__(self, data: Path, log: Path, port: int | None = None):
        super().__init__("HQ", port or free_port(), log)
        self.data = data

    def start(self, **env: str) -> "HQ":
        self._popen(["hq", "--host", HOST, "--port", str(self.port), "--data", str(self.data)],
                    base_env(**env))
        self.wait_http("/login")  # a failpoint fires on an ingest only
        return self

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
def add_site_cli(hq_dir: Path, site_id: str) -> dict:
    """``python run.py hq site add``; return the key it printed once."""
    out = subprocess.run([sys.executable, "run.py", "hq", "site", "add", site_id, "--name",
                          f"Test {site_id}", "--data", str(hq_dir)], cwd=ROOT, env=base_env(),
                         capture_output=True, text=True, timeout=30, check=True).stdout
    match = KEY_LINE.search(out)
    assert match, out
    return {"site_id": site_id, "key_id": match.group(1), "secret": match.group(2)}


def add_site_api(hq_dir: Path, site_id: str) -> dict:
    """Register a site through the storage API (also while HQ runs: SQLite)."""
    key_id, secret = protocol.new_key()
    store = open_store(hq_dir)
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
                               ("arrived", {}), ("resolved", {}), ("closed", {"reason": "done"})):
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
            store.append(bulk_partials(take, start=store.log.last_seq, unknown_at=at))
            done += take
        return store.log.last_seq
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


def hq_last(hq_dir: Path, site_id: str) -> int:
    db = open_hq_readonly(hq_dir)
    try:
        return db.execute("SELECT COALESCE(MAX(seq), 0) FROM events WHERE site_id = ?",
                          (site_id,)).fetchone()[0]
    finally:
        db.close()


def check(scenario: str, kiosk_dir: Path, hq_dir: Path, check_mark: bool = True,
          **extra) -> dict:
    """Run the oracle, print and remember its counts, assert exactly-once."""
    report = compare(kiosk_dir, hq_dir)
    counts = report.counts()
    SUMMARY.append((scenario, report.line(), extra))
    print(f"\n[{scenario}] {report.line()}" + (f"; {extra}" if extra else ""))
    report.assert_exact(check_mark=check_mark)
    assert all(not problems for problems in hq_sites(hq_dir).values())
    return counts


@pytest.fixture(scope="module", autouse=True)
def summary():
    SUMMARY.clear()
    started = time.monotonic()
    yield
    print(f"\n\nsync fault scenarios ({time.monotonic() - started:.1f} s):")
    for scenario, line, extra in SUMMARY:
        print(f"  {scenario:28} {line}" + (f"; {extra}" if extra else ""))


# -- a shared HQ, and a kiosk behind the fault proxy ------------------------------------------
@pytest.fixture(scope="module")
def hq_main(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hq-main")
    hq = HQ(folder / "hq-data", folder / "hq.log")
    key = add_site_cli(hq.data, "faults")  # the CLI, before HQ starts
    try:
        hq.start()
        hq.first_key = key
        yield hq
    finally:
        hq.kill()


@pytest.fixture(scope="module")
def net(hq_main, tmp_path_factory):
    """The kiosk of site ``faults``, reaching the shared HQ through a fault proxy."""
    folder = tmp_path_factory.mktemp("net")
    proxy = FaultProxy(hq_main.port, latency=0.3, retry_after=1)
    kiosk = Kiosk(folder / "data", folder / "kiosk.log", "faults", proxy.url, hq_main.first_key)
    try:
        kiosk.start()  # the first start makes the data folder, as site "faults"
        kiosk.wait_drained()
        yield kiosk, proxy
    finally:
        kiosk.kill()
        proxy.close()


#: fault -> what the kiosk's status says while it lasts (sync.json, in plain words)
FAULTS = {"latency": None, "hang": None, "reset_request": "HQ cannot be reached",
          "reset_response": "HQ cannot be reached", "truncate": "HQ's answer was cut off",
          "500": "HQ had a problem (500)", "503": "HQ had a problem (503)",
          "429": "HQ asked us to wait (429)", "portal": "did not come from HQ (not signed)",
          "unsigned": "did not come from HQ (not signed)",
          "forged": "did not come from HQ (not signed)"}


@pytest.mark.parametrize("mode", FAULTS)
def test_a_network_fault_while_tickets_come_in_loses_and_doubles_nothing(hq_main, net, mode):
    kiosk, proxy = net
    first = len(proxy.exchanges)
    before, hits = kiosk.health()["store"]["last_seq"], proxy.hits[mode]
    proxy.set(mode)
    try:
        with Submitter(kiosk.port) as sub:
            assert sub.wait_ok(3), f"{sub.ok} submissions, {sub.errors} errors"
            assert proxy.wait_hits(mode, hits + (1 if mode == "hang" else 2), 20), \
                f"the fault {mode} was not met: {proxy.exchanges[first:]}"
            # during the fault the mark never passes what HQ really holds
            assert kiosk.mark() <= hq_last(hq_main.data, "faults")
            if FAULTS[mode]:  # the kiosk tells what went wrong, and that it is offline
                error = describe(load_state(kiosk.data)[1].get("error"))
                assert FAULTS[mode] in error, error
                assert kiosk.health()["sync"]["online"] is False
            submitted = sub.ok
        during = proxy.exchanges[first:]
    finally:
        proxy.set("pass")  # the fault ends (also for the next test, if this one failed)
    health = kiosk.wait_drained(timeout=30)
    assert health["store"]["last_seq"] > before
    seen = {"tickets": submitted, "faulted requests": sum(x["mode"] == mode for x in during),
            "HQ results in fault": dict(proxy_results(during, mode)),
            "HQ results after": dict(proxy_results(proxy.exchanges[first:], "pass"))}
    if mode == "hang":  # the kiosk gave up after its read timeout, then resent
        assert proxy.wait_idle() and proxy.hang_gave_up, proxy.hang_gave_up
        seen["gave up after s"] = round(proxy.hang_gave_up[-1], 1)
        assert client.READ_TIMEOUT - 1 < proxy.hang_gave_up[-1] < client.READ_TIMEOUT + 5
    check(f"network {mode}", kiosk.data, hq_main.data, **seen)
    if mode in ("reset_response", "truncate"):  # HQ committed what the kiosk never saw...
        assert proxy_results(proxy.exchanges[first:], mode)["stored"] >= 1
        # ...so the resend found it there: duplicates, each stored once
        assert proxy_results(proxy.exchanges[first:], "pass")["duplicate"] >= 1


def proxy_results(exchanges: list[dict], mode: str) -> Counter:
    """HQ's results in the answers to the requests of ``mode`` (seen by the kiosk or not)."""
    total: Counter = Counter()
    for x in exchanges:
        if x["mode"] == mode:
            total.update(x["results"])
    return total


# -- the kiosk killed at each step of an exchange ----------------------------------------------
@pytest.mark.parametrize("step", ["kiosk:batch_built", "kiosk:request_sent",
                                  "kiosk:answer_received"])
def test_the_kiosk_killed_mid_exchange_resends_and_loses_nothing(hq_main, tmp_path, step):
    site = "kill-" + step.split(":")[1].replace("_", "-")
    key = add_site_api(hq_main.data, site)
    last = fill(tmp_path / "data", site, 250)  # 3 batches: 1-100, 101-200, 201-250
    proxy = FaultProxy(hq_main.port)
    kiosk = Kiosk(tmp_path / "data", tmp_path / "kiosk.log", site, proxy.url, key)
    try:
        kiosk.start(wait=False, FRONTDESK_FAILPOINT=step, FRONTDESK_FAILPOINT_AFTER="2")
        assert kiosk.wait_exit(30) == -signal.SIGKILL, kiosk.tail()
        assert proxy.wait_idle()  # HQ answered what was sent (to no one)
        held, mark = hq_last(hq_main.data, site), kiosk.mark()
        assert mark == 100 and held >= mark  # the mark never passes what HQ holds
        if step == "kiosk:batch_built":
            assert held == 100  # the second batch never left
        elif step == "kiosk:answer_received":
            assert held == 200  # HQ stored the second batch; the kiosk died before its mark
        kiosk.start()
        kiosk.wait_drained()
        results = proxy.results()
        check(f"kiosk killed at {step.split(':')[1]}", kiosk.data, hq_main.data,
              at_crash=f"HQ held {held}, kiosk mark {mark}", results=dict(results))
        assert results["stored"] >= last and results["duplicate"] == held - mark
    finally:
        kiosk.kill()
        proxy.close()


# -- HQ killed around its commit ------------------------------------------------------------------
@pytest.mark.parametrize("step", ["hq:before_commit", "hq:after_commit"])
def test_hq_killed_around_its_commit_loses_and_doubles_nothing(tmp_path, step):
    site = "hq-kill"
    hq = HQ(tmp_path / "hq-data", tmp_path / "hq.log")
    key = add_site_api(hq.data, site)
    fill(tmp_path / "data", site, 250)
    proxy = FaultProxy(hq.port)
    kiosk = Kiosk(tmp_path / "data", tmp_path / "kiosk.log", site, proxy.url, key)
    try:
        hq.start(FRONTDESK_FAILPOINT=step, FRONTDESK_FAILPOINT_AFTER="2")
        kiosk.start()
        assert hq.wait_exit(30) == -signal.SIGKILL, hq.tail()
        held = hq_last(hq.data, site)
        assert held == (100 if step == "hq:before_commit" else 200)
        # HQ is down: the kiosk backs off and keeps its mark at what it saw confirmed
        assert wait_until(lambda: kiosk.health()["sync"]["online"] is False, 10)
        mark = kiosk.mark()
        assert mark == 100
        hq.start()  # the same data, the same port
        kiosk.wait_drained()
        results = proxy.results()
        check(f"HQ killed {step.split(':')[1].replace('_', ' ')}", kiosk.data, hq.data,
              at_crash=f"HQ held {held}, kiosk mark {mark}", results=dict(results))
        assert results["duplicate"] == held - mark  # committed, unanswered: resent, not doubled
    finally:
        kiosk.kill()
        hq.kill()
        proxy.close()


# -- a long outage: 20,000 events pile up -----------------------------------------------------------
def test_a_long_hq_outage_with_20000_waiting_events_drains_exactly_once(tmp_path):
    site = "outage"
    hq = HQ(tmp_path / "hq-data", tmp_path / "hq.log")
    key = add_site_cli(hq.data, site)
    kiosk = Kiosk(tmp_path / "data", tmp_path / "kiosk.log", site, hq.url, key)
    try:
        hq.start()
        kiosk.start()
        submit(kiosk.port, 3)
        kiosk.wait_drained()
        hq.kill()  # the outage begins
        submit(kiosk.port, 2)  # tickets still come in
        assert wait_until(lambda: kiosk.health()["sync"]["online"] is False, 10)
        kiosk.stop()
        t0 = time.monotonic()
        last = fill(kiosk.data, site, 20_000, unknown_at=10_000)  # a day's pile-up, and more
        filled = time.monotonic() - t0
        kiosk.start()
        health = wait_until(lambda: (h := kiosk.health())["sync"]["online"] is False and h, 10)
        assert health and health["sync"]["waiting"] >= 20_000
        t0 = time.monotonic()
        hq.start()  # HQ is back
        kiosk.wait_drained(timeout=120)
        drain = time.monotonic() - t0
        waiting = health["sync"]["waiting"]
        counts = check("HQ outage, 20,000 events", kiosk.data, hq.data,
                       drained=f"{waiting} events in {drain:.1f} s "
                               f"({waiting / drain:.0f}/s; filled in {filled:.1f} s)")
        assert counts["kiosk_events"] == last and counts["rejected"] == 1  # the unknown type
        status = subprocess.run([sys.executable, "run.py", "sync", "status", "--data",
                                 str(kiosk.data)], cwd=ROOT, env=base_env(),
                                capture_output=True, text=True, timeout=30).stdout
        assert re.search(rf"events waiting:\s+0 \(HQ confirmed {last} of {last};", status), status
        assert "alarm:            none" in status, status
    finally:
        kiosk.kill()
        hq.kill()


# -- HQ's database recreated: a new epoch ---------------------------------------------------------
def test_a_recreated_hq_database_gets_everything_again_without_duplicates(tmp_path):
    site = "epoch"
    hq = HQ(tmp_path / "hq-data", tmp_path / "hq.log")
    old_key = add_site_api(hq.data, site)
    proxy = FaultProxy(hq.port)
    kiosk = Kiosk(tmp_path / "data", tmp_path / "kiosk.log", site, proxy.url, old_key)
    try:
        hq.start()
        kiosk.start()
        submit(kiosk.port, 3)
        kiosk.wait_drained()
        old_epoch = load_state(kiosk.data)[0].hq_epoch
        synced = kiosk.mark()
        hq.kill()
        shutil.rmtree(hq.data)
        new_key = add_site_cli(hq.data, site)  # the same site id, a new key
        hq.start()
        submit(kiosk.port, 1)  # something to send: HQ refuses the old key
        assert wait_until(lambda: kiosk.health()["sync"]["alarm"], 10), kiosk.tail()
        assert kiosk.mark() == synced and hq_last(hq.data, site) == 0
        kiosk.stop()
        kiosk.key = new_key
        first = len(proxy.exchanges)
        kiosk.start()
        kiosk.wait_drained()
        results = proxy_results(proxy.exchanges[first:], "pass")
        counts = check("HQ database recreated", kiosk.data, hq.data,
                       old_mark=synced, results=dict(results))
        assert counts["hq_epoch"] != old_epoch and results["duplicate"] == 0
        assert results["stored"] == counts["kiosk_events"]  # all of it, again
    finally:
        kiosk.kill()
        hq.kill()
        proxy.close()


# -- the kiosk's clock days off ---------------------------------------------------------------------
@pytest.mark.parametrize("days", [3, -3])
def test_a_kiosk_clock_days_off_syncs_in_order(hq_main, tmp_path, days):
    site = f"clock{days:+d}"
    key = add_site_api(hq_main.data, site)
    proxy = FaultProxy(hq_main.port)
    kiosk = Kiosk(tmp_path / "data", tmp_path / "kiosk.log", site, proxy.url, key)
    try:
        kiosk.start(FRONTDESK_CLOCK_OFFSET_SECONDS=str(days * DAY))
        submit(kiosk.port, 4)
        kiosk.wait_drained()
        check(f"kiosk clock {days:+d} days", kiosk.data, hq_main.data)
    finally:
        kiosk.kill()
        proxy.close()
    now = time.time()
    stamps = [int(re.search(rb"X-FD-Timestamp: (\d+)", x["head"]).group(1))
              for x in proxy.exchanges if x["head"]]
    assert stamps and all(abs(s - (now + days * DAY)) < 3600 for s in stamps), stamps
    db = open_hq_readonly(hq_main.data)
    try:
        rows = db.execute("SELECT at, received_at, applied FROM events WHERE site_id = ? "
                          "ORDER BY seq", (site,)).fetchall()
    finally:
        db.close()
    for at, received, applied in rows:  # the kiosk's times, as it logged them; HQ's own
        assert abs(datetime.fromisoformat(at).timestamp() - (now + days * DAY)) < 3600
        assert abs(datetime.fromisoformat(received.replace("Z", "+00:00")).timestamp()
                   - now) < 3600
        assert applied == 1


# -- bad requests over real HTTP ---------------------------------------------------------------------
def _signed(key: dict, body: bytes, site_id: str | None = None, timestamp: str = "1") -> dict:
    site_id = site_id or key["site_id"]
    digest = protocol.body_sha256(body)
    return {"Content-Type": "application/json", protocol.H_KEY_ID: key["key_id"],
            protocol.H_TIMESTAMP: timestamp, protocol.H_BODY_SHA256: digest,
            protocol.H_SIGNATURE: protocol.request_signature(
                key["secret"], "POST", protocol.API_PATH.format(site_id=site_id), site_id,
                timestamp, digest)}


def _post(port: int, site_id: str, body: bytes, headers: dict) -> client.Reply:
    conn = http.client.HTTPConnection(HOST, port, timeout=15)
    try:
        conn.request("POST", protocol.API_PATH.format(site_id=site_id), body=body,
                     headers=headers)
        response = conn.getresponse()
        return client.Reply(response.status, {k.lower(): v for k, v in response.getheaders()},
                            response.read())
    finally:
        conn.close()


def _dump(hq_dir: Path, tables=("events", "tickets", "alarms", "sites", "meta")) -> dict:
    db = open_hq_readonly(hq_dir)
    try:
        return {t: sorted(map(repr, db.execute(f"SELECT * FROM {t}"))) for t in tables}
    finally:
        db.close()


def _deep(depth: int):
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


def test_bad_requests_over_http_leave_hq_unchanged(hq_main, tmp_path):
    key, other = add_site_api(hq_main.data, "bad-a"), add_site_api(hq_main.data, "bad-b")
    kiosk_dir = tmp_path / "kiosk-a"
    fill(kiosk_dir, "bad-a", 8)
    store = Store(kiosk_dir)
    try:
        events = list(store.log.read())
        unknown = store.append([{"ticket_id": None, "type": "future_event_type",
                                 "at": iso(datetime.now(timezone.utc)), "actor": {"role": "x"},
                                 "data": {}}])
        after = store.append(bulk_partials(1, start=3))
    finally:
        store.close()
    settings = Settings(f"http://{HOST}:{hq_main.port}", "bad-a", key["key_id"], key["secret"])
    port, seen = hq_main.port, {}

    def send(name, body, headers, expect, site="bad-a"):
        before = _dump(hq_main.data)
        reply = _post(port, site, body, headers)
        assert reply.status == expect, (name, reply.status, reply.body[:300])
        if expect >= 400 and expect != 409:
            assert "error" in json.loads(reply.body)
        if expect in (400, 401, 403, 413):  # refused before touching anything
            assert _dump(hq_main.data) == before, name
        seen[name] = reply.status
        return reply

    good = client.build(settings, None, events[:3], "1")
    reply = send("first batch", good.body, good.headers, 200)
    answer = client.verified_answer(settings, good, reply)
    assert answer and answer["acked_through"] == 3
    body = client.build(settings, None, events[3:6], "2").body
    headers = _signed(key, body)
    flipped = bytearray(body)
    flipped[body.index(b'"at":"') + 7] ^= 1
    send("flipped body byte", bytes(flipped), headers, 401)
    sig = headers[protocol.H_SIGNATURE]
    send("flipped signature", body,
         {**headers, protocol.H_SIGNATURE: sig[:-1] + ("0" if sig[-1] != "0" else "1")}, 401)
    send("another site's key", body, _signed(other, body, site_id="bad-a"), 403)
    big = client.build(settings, None, [{**events[3], "data": {"pad": "x" * (1 << 20)}}], "3").body
    send("oversized batch", big, _signed(key, big), 413)
    for name, raw in [("malformed JSON", b'{"site_id": "bad-a", "events": ['),
                      ("NaN", body.replace(b'"seq":4', b'"seq":NaN', 1)),
                      ("deep nesting", client.build(settings, None, [{**events[3],
                                                    "data": {"x": _deep(20)}}], "4").body)]:
        assert raw != body
        send(name, raw, _signed(key, raw), 400)
    # a replayed request: the very same bytes and headers again: all duplicates, no change
    rows = _dump(hq_main.data, ("events", "tickets", "alarms", "meta"))
    reply = send("replayed request", good.body, good.headers, 200)
    replay = client.verified_answer(settings, good, reply)
    assert [r["result"] for r in replay["results"]] == ["duplicate"] * 3
    assert replay["acked_through"] == 3
    assert _dump(hq_main.data, ("events", "tickets", "alarms", "meta")) == rows
    # the same seq with another hash: 409, never overwritten
    other_event = {**events[1], "data": {**events[1]["data"], "name_en": "another history"}}
    other_event["hash"] = event_hash(other_event)
    rows = _dump(hq_main.data, ("events", "tickets"))
    conflict = client.build(settings, None, [other_event], "5")
    reply = send("same seq, other hash", conflict.body, conflict.headers, 409)
    answer = client.verified_answer(settings, conflict, reply)
    assert [r["result"] for r in answer["results"]] == ["conflict"] and answer["acked_through"] == 3
    assert _dump(hq_main.data, ("events", "tickets")) == rows
    # a gap: stops, reports what HQ holds
    gap = client.build(settings, None, events[4:7], "6")
    reply = send("a gap", gap.body, gap.headers, 200)
    answer = client.verified_answer(settings, gap, reply)
    assert [r["result"] for r in answer["results"]] == ["gap", "skipped", "skipped"]
    assert answer["acked_through"] == 3 and _dump(hq_main.data, ("events", "tickets")) == rows
    # the rest, with an event of a type HQ does not know: rejected, and the queue moves on
    rest = client.build(settings, None, events[3:] + unknown + after, "7")
    reply = send("unknown event type", rest.body, rest.headers, 200)
    answer = client.verified_answer(settings, rest, reply)
    results = [r["result"] for r in answer["results"]]
    assert results == ["stored"] * (len(events) - 3) + ["rejected", "stored"], results
    assert answer["acked_through"] == after[0]["seq"]
    counts = check("bad requests over HTTP", kiosk_dir, hq_main.data, check_mark=False,
                   statuses=seen)
    assert counts["rejected"] == 1
    db = open_hq_readonly(hq_main.data)
    try:
        alarms = db.execute("SELECT seq, kind FROM alarms WHERE site_id = 'bad-a' "
                            "ORDER BY seq").fetchall()
    finally:
        db.close()
    assert alarms == [(2, "conflict"), (unknown[0]["seq"], "rejected")]


# -- what the drain relies on: reading after the mark, parsing a batch ---------------------------
def test_reading_after_the_mark_finds_exactly_the_later_events(tmp_path):
    """``EventLog.read(after)`` bisects a segment (sync reads after the mark every batch)."""
    from kiosk.eventlog import EventLog

    log = EventLog(tmp_path / "log", "s", segment_bytes=3000)
    for i in range(60):  # lines of uneven length, in many segments
        log.write(log.prepare([{"ticket_id": None, "type": "noted", "at": "t", "actor": {},
                                "data": {"pad": "y" * (i * 7 % 50)}}] * (1 + i % 3)))
    last = log.last_seq
    assert len(log.segments()) > 5
    for after in range(-1, last + 3):
        assert [e["seq"] for e in log.read(after)] == list(range(max(after, 0) + 1, last + 1))
    with open(log.segments()[-1], "ab") as f:  # a torn tail is never read
        f.write(b'{"seq": 99999, "ha')
    for after in range(0, last + 1):
        assert [e["seq"] for e in log.read(after)] == list(range(after + 1, last + 1))
    second = log.segments()[1]  # a damaged line after the mark is still an error
    lines = second.read_bytes().split(b"\n")
    lines[1] = b"not json"
    second.write_bytes(b"\n".join(lines))
    with pytest.raises(ValueError):
        list(log.read(0))
    log.close()


def test_a_body_nested_16_deep_parses_and_17_or_far_more_does_not():
    def nested(depth: int) -> bytes:
        return b"[" * depth + b"1" + b"]" * depth

    assert protocol.loads(nested(16)) and protocol.loads(b'{"a": "[[[[[[[[[[[[[[[[[[[["}')
    for body in (nested(17), nested(200_000), b'{"a":' * 17 + b"1" + b"}" * 17):
        with pytest.raises(protocol.BadBody, match="nested too deeply"):
            protocol.loads(body)
