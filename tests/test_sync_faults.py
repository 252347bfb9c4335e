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

HQ runs on SQLite; the scenarios that test HQ's own side also run with HQ on PostgreSQL
(a fresh database on the session's cluster, ``tests/pg_cluster.py``): HQ killed around its
commit, HQ's answers lost or failing behind the proxy, and HQ's database recreated (a new
epoch). Where PostgreSQL cannot run, those runs are skipped with the reason.

Every wait is bounded; every process is killed in ``finally``; only 127.0.0.1.
"""
from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections import Counter
from contextlib import contextmanager
from datetime import datetime

import pytest
from faultproxy import FaultProxy
from sync_oracle import open_hq_readonly

from sync import client
from sync.state import describe, load_state
from sync_harness import (BACKENDS, DAY, HQ, ROOT, SUMMARY, Kiosk, Submitter, add_site_api,
                          add_site_cli, base_env, check, fill, hq_last, hq_options, submit,
                          wait_until)

pytestmark = pytest.mark.slow



@pytest.fixture(scope="module", autouse=True)
def summary():
    SUMMARY.clear()
    started = time.monotonic()
    yield
    print(f"\n\nsync fault scenarios ({time.monotonic() - started:.1f} s):")
    for scenario, line, extra in SUMMARY:
        print(f"  {scenario:28} {line}" + (f"; {extra}" if extra else ""))


@pytest.fixture(params=BACKENDS)
def pg(request):
    """HQ's backend for a scenario with an HQ of its own: None for SQLite, the session's
    ``hq_databases`` for PostgreSQL."""
    return request.getfixturevalue("hq_databases") if request.param == "postgresql" else None


# -- a shared HQ, and a kiosk behind the fault proxy ------------------------------------------
@contextmanager
def shared_hq(folder, pg=None):
    """An HQ process for a module's scenarios, with site ``faults`` added before it starts."""
    hq = HQ(folder / "hq-data", folder / "hq.log", pg=pg)
    key = add_site_cli(hq.db, "faults")  # the CLI, before HQ starts
    try:
        hq.start()
        hq.first_key = key
        yield hq
    finally:
        hq.kill()


@contextmanager
def behind_proxy(hq, folder):
    """The kiosk of site ``faults``, reaching ``hq`` through a fault proxy."""
    proxy = FaultProxy(hq.port, latency=0.3, retry_after=1)
    kiosk = Kiosk(folder / "data", folder / "kiosk.log", "faults", proxy.url, hq.first_key)
    try:
        kiosk.start()  # the first start makes the data folder, as site "faults"
        kiosk.wait_drained()
        yield kiosk, proxy
    finally:
        kiosk.kill()
        proxy.close()


@pytest.fixture(scope="module")
def hq_main(tmp_path_factory):
    with shared_hq(tmp_path_factory.mktemp("hq-main")) as hq:
        yield hq


@pytest.fixture(scope="module")
def net(hq_main, tmp_path_factory):
    with behind_proxy(hq_main, tmp_path_factory.mktemp("net")) as pair:
        yield pair


@pytest.fixture(scope="module")
def hq_main_pg(tmp_path_factory, hq_databases):
    with shared_hq(tmp_path_factory.mktemp("hq-main-pg"), hq_databases) as hq:
        yield hq


@pytest.fixture(scope="module")
def net_pg(hq_main_pg, tmp_path_factory):
    with behind_proxy(hq_main_pg, tmp_path_factory.mktemp("net-pg")) as pair:
        yield pair


#: fault -> what the kiosk's status says while it lasts (sync.json, in plain words)
FAULTS = {"latency": None, "hang": None, "reset_request": "HQ cannot be reached",
          "reset_response": "HQ cannot be reached", "truncate": "HQ's answer was cut off",
          "500": "HQ had a problem (500)", "503": "HQ had a problem (503)",
          "429": "HQ asked us to wait (429)", "portal": "did not come from HQ (not signed)",
          "unsigned": "did not come from HQ (not signed)",
          "forged": "did not come from HQ (not signed)"}


#: the faults met again with HQ on PostgreSQL: answers lost after its commit, and its 500
PG_FAULTS = ("reset_response", "truncate", "500")


@pytest.mark.parametrize("backend, mode", [
    *(pytest.param("sqlite", mode, id=mode) for mode in FAULTS),
    *(pytest.param("postgresql", mode, id=f"postgresql-{mode}", marks=pytest.mark.postgresql)
      for mode in PG_FAULTS)])
def test_a_network_fault_while_tickets_come_in_loses_and_doubles_nothing(request, backend, mode):
    on_pg = "_pg" if backend == "postgresql" else ""
    hq_main = request.getfixturevalue("hq_main" + on_pg)
    kiosk, proxy = request.getfixturevalue("net" + on_pg)
    first = len(proxy.exchanges)
    before, hits = kiosk.health()["store"]["last_seq"], proxy.hits[mode]
    proxy.set(mode)
    try:
        with Submitter(kiosk.port) as sub:
            assert sub.wait_ok(3), f"{sub.ok} submissions, {sub.errors} errors"
            assert proxy.wait_hits(mode, hits + (1 if mode == "hang" else 2), 20), \
                f"the fault {mode} was not met: {proxy.exchanges[first:]}"
            # during the fault the mark never passes what HQ really holds
            assert kiosk.mark() <= hq_last(hq_main.db, "faults")
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
    check(f"network {mode}" + (" (PostgreSQL)" if on_pg else ""), kiosk.data, hq_main.db,
          **seen)
    if mode in ("reset_response", "truncate"):  # HQ committed what the kiosk never saw...
        assert proxy_results(proxy.exchanges[first:], mode)["stored"] >= 1
        # ...so the resend found it there: duplicates, each stored once
        assert proxy_results(proxy.exchanges[first:], "pass")["duplicate"] >= 1


def on(pg) -> str:
    """A scenario's name suffix: which backend HQ ran on, if not SQLite."""
    return " (PostgreSQL)" if pg else ""


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
    key = add_site_api(hq_main.db, site)
    last = fill(tmp_path / "data", site, 250)  # 3 batches: 1-100, 101-200, 201-250
    proxy = FaultProxy(hq_main.port)
    kiosk = Kiosk(tmp_path / "data", tmp_path / "kiosk.log", site, proxy.url, key)
    try:
        kiosk.start(wait=False, FRONTDESK_FAILPOINT=step, FRONTDESK_FAILPOINT_AFTER="2")
        assert kiosk.wait_exit(30) == -signal.SIGKILL, kiosk.tail()
        assert proxy.wait_idle()  # HQ answered what was sent (to no one)
        held, mark = hq_last(hq_main.db, site), kiosk.mark()
        assert mark == 100 and held >= mark  # the mark never passes what HQ holds
        if step == "kiosk:batch_built":
            assert held == 100  # the second batch never left
        elif step == "kiosk:answer_received":
            assert held == 200  # HQ stored the second batch; the kiosk died before its mark
        kiosk.start()
        kiosk.wait_drained()
        results = proxy.results()
        check(f"kiosk killed at {step.split(':')[1]}", kiosk.data, hq_main.db,
              at_crash=f"HQ held {held}, kiosk mark {mark}", results=dict(results))
        assert results["stored"] >= last and results["duplicate"] == held - mark
    finally:
        kiosk.kill()
        proxy.close()


# -- HQ killed around its commit ------------------------------------------------------------------
@pytest.mark.parametrize("step", ["hq:before_commit", "hq:after_commit"])
def test_hq_killed_around_its_commit_loses_and_doubles_nothing(tmp_path, step, pg):
    site = "hq-kill"
    hq = HQ(tmp_path / "hq-data", tmp_path / "hq.log", pg=pg)
    key = add_site_api(hq.db, site)
    fill(tmp_path / "data", site, 250)
    proxy = FaultProxy(hq.port)
    kiosk = Kiosk(tmp_path / "data", tmp_path / "kiosk.log", site, proxy.url, key)
    try:
        hq.start(FRONTDESK_FAILPOINT=step, FRONTDESK_FAILPOINT_AFTER="2")
        kiosk.start()
        assert hq.wait_exit(30) == -signal.SIGKILL, hq.tail()
        held = hq_last(hq.db, site)
        assert held == (100 if step == "hq:before_commit" else 200)
        # HQ is down: the kiosk backs off and keeps its mark at what it saw confirmed
        assert wait_until(lambda: kiosk.health()["sync"]["online"] is False, 10)
        mark = kiosk.mark()
        assert mark == 100
        hq.start()  # the same data, the same port
        kiosk.wait_drained()
        results = proxy.results()
        check(f"HQ killed {step.split(':')[1].replace('_', ' ')}" + on(pg), kiosk.data, hq.db,
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
    key = add_site_cli(hq.db, site)
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
        counts = check("HQ outage, 20,000 events", kiosk.data, hq.db,
                       drained=f"{waiting} events in {drain:.1f} s "
                               f"({waiting / drain:.0f}/s; filled in {filled:.1f} s)")
        assert counts["kiosk_events"] == last and counts["rejected"] == 1  # the unknown type
        status = subprocess.run([sys.executable, "run.py", "sync", "status", "--data",
                                 str(kiosk.data)], cwd=ROOT, env=base_env(),
                                capture_output=True, text=True, timeout=30).stdout
        assert f"待发送的记录：0（总部已确认 {last} 条中的 {last} 条；" in status, status
        assert "警报：无" in status, status
    finally:
        kiosk.kill()
        hq.kill()


# -- HQ's database recreated: a new epoch ---------------------------------------------------------
def test_a_recreated_hq_database_gets_everything_again_without_duplicates(tmp_path, pg):
    site = "epoch"
    hq = HQ(tmp_path / "hq-data", tmp_path / "hq.log", pg=pg)
    old_key = add_site_api(hq.db, site)
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
        hq.wipe()
        new_key = add_site_cli(hq.db, site)  # the same site id, a new key
        hq.start()
        submit(kiosk.port, 1)  # something to send: HQ refuses the old key
        assert wait_until(lambda: kiosk.health()["sync"]["alarm"], 10), kiosk.tail()
        assert kiosk.mark() == synced and hq_last(hq.db, site) == 0
        kiosk.stop()
        kiosk.key = new_key
        first = len(proxy.exchanges)
        kiosk.start()
        kiosk.wait_drained()
        results = proxy_results(proxy.exchanges[first:], "pass")
        counts = check("HQ database recreated" + on(pg), kiosk.data, hq.db,
                       old_mark=synced, results=dict(results))
        assert counts["hq_epoch"] != old_epoch and results["duplicate"] == 0
        assert results["stored"] == counts["kiosk_events"]  # all of it, again
    finally:
        kiosk.kill()
        hq.kill()
        proxy.close()


def test_a_wiped_hq_restored_with_the_kept_key_gets_everything_from_an_idle_kiosk(tmp_path, pg):
    site = "restore"
    hq = HQ(tmp_path / "hq-data", tmp_path / "hq.log", pg=pg)
    kept = add_site_cli(hq.db, site)  # the key id and secret the manager kept
    kiosk = Kiosk(tmp_path / "data", tmp_path / "kiosk.log", site, hq.url, kept)
    try:
        hq.start()
        kiosk.start(KIOSK_SYNC_IDLE_PROBE="0.5")
        submit(kiosk.port, 3)
        kiosk.wait_drained()
        old_epoch, synced = load_state(kiosk.data)[0].hq_epoch, kiosk.mark()
        hq.kill()
        hq.wipe()  # HQ's database is lost
        restored = subprocess.run(
            [sys.executable, "run.py", "hq", *hq_options(hq.db), "site", "add", site, "--name",
             "Restored", "--key-id", kept["key_id"], "--key-secret-stdin"],
            cwd=ROOT, env=base_env(), input=kept["secret"] + "\n", capture_output=True,
            text=True, timeout=30)
        assert restored.returncode == 0 and kept["secret"] not in restored.stdout, restored
        hq.start()
        # nothing new at the kiosk: its idle probe finds the new epoch and resends all of it
        assert wait_until(lambda: hq_last(hq.db, site) == synced, 15), kiosk.tail()
        health = kiosk.wait_drained()
        assert health["sync"]["online"] and kiosk.mark() == synced
        counts = check("HQ wiped, key restored" + on(pg), kiosk.data, hq.db, old_mark=synced)
        assert counts["hq_epoch"] != old_epoch and counts["hq_events"] == synced
    finally:
        kiosk.kill()
        hq.kill()


# -- the kiosk's clock days off ---------------------------------------------------------------------
@pytest.mark.parametrize("days", [3, -3])
def test_a_kiosk_clock_days_off_syncs_in_order(hq_main, tmp_path, days):
    site = f"clock{days:+d}"
    key = add_site_api(hq_main.db, site)
    proxy = FaultProxy(hq_main.port)
    kiosk = Kiosk(tmp_path / "data", tmp_path / "kiosk.log", site, proxy.url, key)
    try:
        kiosk.start(FRONTDESK_CLOCK_OFFSET_SECONDS=str(days * DAY))
        submit(kiosk.port, 4)
        kiosk.wait_drained()
        check(f"kiosk clock {days:+d} days", kiosk.data, hq_main.db)
    finally:
        kiosk.kill()
        proxy.close()
    now = time.time()
    stamps = [int(re.search(rb"X-FD-Timestamp: (\d+)", x["head"]).group(1))
              for x in proxy.exchanges if x["head"]]
    assert stamps and all(abs(s - (now + days * DAY)) < 3600 for s in stamps), stamps
    db = open_hq_readonly(hq_main.db)
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
