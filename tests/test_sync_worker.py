"""The kiosk's sync worker against a fake HQ: batches, the mark, backoff, alarms, wake-ups.

Every wait is bounded; backoff delays are asserted as computed with a seeded RNG,
never slept.
"""
from __future__ import annotations

import json
import logging
import random
import re
import time
from datetime import datetime, timezone
from importlib import metadata

import pytest
from sync_worker_helpers import (  # noqa: F401 (fixtures: hq, store)
    KEY, KEY_ID, NOW, wait_for, add_events, hq, store, make_worker,
)

from sync import client, protocol as p
from sync.events import iso
from sync.state import Mark, Settings, load_state
from sync.worker import SyncWorker


# -- the happy path -------------------------------------------------------------------
def test_a_verified_answer_moves_the_mark_durably(store, hq):
    add_events(store, 5)
    worker = make_worker(store, hq.url)
    assert worker.run_once() == worker.idle_wait
    assert hq.requests == [[1, 2, 3, 4, 5]]
    assert worker.mark == Mark("epoch-1", 5) == load_state(store.folder)[0]
    status = worker.status()
    assert status["online"] is True and status["waiting"] == 0 and status["alarm"] is None
    assert KEY not in json.dumps(status) and KEY not in (store.folder / "sync.json").read_text()


def test_a_backlog_goes_in_batches_of_100_without_waiting(store, hq):
    add_events(store, 250)
    worker = make_worker(store, hq.url)
    assert [worker.run_once(), worker.run_once()] == [0.0, 0.0]
    assert worker.run_once() == worker.idle_wait
    assert [(r[0], r[-1]) for r in hq.requests] == [(1, 100), (101, 200), (201, 250)]
    assert worker.mark.acked_through == 250


def test_a_batch_stays_within_256_kib():
    events = [{"seq": i, "data": "x" * 10_000} for i in range(1, 101)]
    taken = client.batch(iter(events))
    assert 20 < len(taken) < 100 and len(p.dumps({"events": taken})) <= p.MAX_BATCH_BYTES
    assert [e["seq"] for e in taken] == list(range(1, len(taken) + 1))


def test_the_mark_never_passes_the_highest_seq_sent(store, hq):
    add_events(store, 3)
    worker = make_worker(store, hq.url)
    worker.run_once()
    fourth = add_events(store, 1)[0]
    hq.hashes.update({4: fourth["hash"], 5: "b" * 64})  # HQ claims more than we sent
    worker.run_once()
    assert worker.mark.acked_through == 4


# -- unknown outcomes: same range later, backoff with full jitter ------------------------
UNKNOWN = [("unsigned", None, "not signed"), ("html", None, "not signed"),
           ("badsig", None, "not signed"), ("500", 7, "HQ had a problem (500)"),
           ("503", None, "HQ had a problem (503)"), ("429", 30, "asked us to wait"),
           ("404", None, "unexpected status (404)")]


@pytest.mark.parametrize("mode, retry_after, words", UNKNOWN)
def test_an_unknown_outcome_keeps_the_mark_and_backs_off(store, hq, mode, retry_after, words):
    add_events(store, 3)
    worker = make_worker(store, hq.url, seed=11)
    hq.mode, hq.retry_after = mode, retry_after
    rng = random.Random(11)
    first = max(rng.uniform(0, 2.0), retry_after or 0)
    assert worker.run_once() == pytest.approx(first)
    assert worker.hold is (retry_after is not None)
    second = max(rng.uniform(0, 4.0), retry_after or 0)
    assert worker.run_once() == pytest.approx(second)
    assert worker.mark == Mark() == load_state(store.folder)[0]
    status = worker.status()
    error = status["error"]
    assert status["online"] is False and words in error["text"] % error["params"]
    assert status["alarm"] is None and status["waiting"] == 3
    hq.mode, hq.retry_after = "ok", None
    worker.run_once()  # the same range again, then the mark moves
    assert hq.requests == [[1, 2, 3]] * 3 and worker.mark.acked_through == 3
    assert worker.failures == 0 and worker.status()["error"] is None


def test_connection_refused_is_an_unknown_outcome(store):
    add_events(store, 2)
    import socket
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    worker = make_worker(store, f"http://127.0.0.1:{port}", seed=3)
    assert worker.run_once() == pytest.approx(random.Random(3).uniform(0, 2.0))
    assert "cannot be reached" in worker.status()["error"]["text"]
    assert worker.mark == Mark()


class Top:  # the top of every jitter range
    def uniform(self, a, b):
        return b


def test_backoff_doubles_up_to_20_s_by_default_and_honours_retry_after_up_to_10_min(store):
    worker = SyncWorker(store, Settings(), rng=Top())  # the defaults a kiosk runs with
    assert [worker.backoff_delay(n) for n in range(1, 9)] == [2, 4, 8, 16, 20, 20, 20, 20]
    worker.rng = random.Random(1)
    assert all(0 <= worker.backoff_delay(n) <= min(20, 2 * 2 ** (n - 1)) for n in range(1, 40))
    assert worker.backoff_delay(1, retry_after=45) >= 45  # a busy HQ can slow us down...
    assert worker.backoff_delay(9, retry_after=300) == 300
    assert worker.backoff_delay(1, retry_after=10 ** 9) == 600  # ...for 10 minutes at most


def test_the_caps_are_settings(store):
    worker = SyncWorker(store, Settings(), rng=Top(), backoff_base=1.0, retry_cap=5.0,
                        backoff_cap=30.0)
    assert [worker.backoff_delay(n) for n in range(1, 6)] == [1, 2, 4, 5, 5]
    assert worker.backoff_delay(1, retry_after=45) == 30


def test_with_events_waiting_an_outage_never_delays_the_next_try_past_20_s(store, hq):
    add_events(store, 3)
    worker = make_worker(store, hq.url, seed=5)  # default base and caps
    hq.mode = "503"
    delays = [worker.run_once() for _ in range(30)]  # 30 failures: the old cap was 10 min
    assert max(delays) <= 20.0 and max(delays) > 10.0, delays
    assert delays[0] <= 2.0 and delays[1] <= 4.0  # still exponential below the cap
    hq.mode = "ok"
    assert worker.run_once() == worker.idle_wait and worker.mark.acked_through == 3


def test_a_failed_probe_still_waits_up_to_the_probe_interval(store, hq):
    worker = make_worker(store, hq.url, idle_wait=60.0)
    worker.rng = Top()
    hq.mode = "503"
    delays = [worker.run_once() for _ in range(8)]  # nothing waits: probes, as before
    assert delays == [2, 4, 8, 16, 32, 60, 60, 60]


# -- a new HQ database -------------------------------------------------------------
def test_a_new_hq_epoch_makes_the_worker_resend_from_hqs_mark(store, hq):
    add_events(store, 5)
    worker = make_worker(store, hq.url)
    worker.run_once()
    hq.epoch, hq.hashes = "epoch-2", {}  # HQ's database was recreated, empty
    add_events(store, 2)
    assert worker.run_once() == 0.0  # 6..7 is a gap: HQ says 0, we go on at once
    assert worker.mark == Mark("epoch-2", 0)
    worker.run_once()
    assert hq.requests == [[1, 2, 3, 4, 5], [6, 7], [1, 2, 3, 4, 5, 6, 7]]
    assert worker.mark == Mark("epoch-2", 7) and sorted(hq.hashes) == list(range(1, 8))


# -- refusals are alarms in plain words, retried slowly ----------------------------------
@pytest.mark.parametrize("status, words", [
    ("403", "HQ refused our key (403)"), ("401", "could not verify our signature (401)"),
    ("400", "malformed (400)"), ("409", "different records with the same numbers (409")])
def test_a_refusal_raises_a_plain_words_alarm(store, hq, status, words):
    add_events(store, 2)
    worker = make_worker(store, hq.url, alarm_retry=600.0)
    hq.mode = status
    assert worker.run_once() == 600.0 and worker.hold
    alarm = worker.status()["alarm"]
    assert words in alarm["text"] % alarm["params"] and worker.mark == Mark()
    assert load_state(store.folder)[1]["alarm"] == alarm  # for `sync status`


def test_a_conflict_alarms_with_its_seq_and_the_mark_stops_before_it(store, hq):
    ours = [e["hash"] for e in add_events(store, 5)]
    hq.hashes = {1: ours[0], 2: ours[1], 3: "f" * 64, 4: ours[3]}  # HQ holds another seq 3
    worker = make_worker(store, hq.url)
    assert worker.run_once() == worker.alarm_retry and worker.hold
    alarm = worker.status()["alarm"]
    assert alarm["params"]["seq"] == 3 and "(409" in alarm["text"]
    assert worker.mark == Mark("epoch-1", 2)  # HQ never got our seq 3: never marked as sent


# -- never block a visitor; wake at once ------------------------------------------------
def test_the_store_lock_is_free_while_the_request_is_in_flight(store, hq):
    add_events(store, 2)
    got = []

    def try_lock():  # runs in HQ's thread while the worker waits for the answer
        ok = store.lock.acquire(timeout=1)
        got.append(ok)
        if ok:
            store.lock.release()
    hq.on_request = try_lock
    make_worker(store, hq.url).run_once()
    assert got == [True]


def test_a_listener_that_fails_never_breaks_an_append(store):
    store.listeners.append(lambda seq: 1 / 0)
    assert add_events(store, 1)[0]["seq"] == store.last_seq == 1


def test_a_new_event_wakes_the_worker_without_waiting_for_the_backoff(store, hq):
    add_events(store, 1)
    worker = make_worker(store, hq.url, backoff_base=120.0, retry_cap=600.0)
    hq.mode = "500"
    worker.start()
    try:
        assert wait_for(lambda: hq.requests and worker.last_delay), "first try never came"
        assert worker.last_delay > 30  # backing off now (seeded: 38.9 s)
        hq.mode = "ok"
        add_events(store, 1)  # the store listener wakes it
        assert wait_for(lambda: worker.mark.acked_through == 2, timeout=5), hq.requests
    finally:
        worker.stop(timeout=5)
    assert not worker.running and worker._on_event not in store.listeners


def test_during_an_alarm_only_sync_now_cuts_the_slow_retry(store, hq):
    add_events(store, 1)
    worker = make_worker(store, hq.url, alarm_retry=120.0)
    hq.mode = "403"
    worker.start()
    try:
        assert wait_for(lambda: worker.status()["alarm"])
        add_events(store, 1)  # a new event does not hammer a refusing HQ
        time.sleep(0.3)
        assert len(hq.requests) == 1
        hq.mode = "ok"
        worker.wake()  # "sync now"
        assert wait_for(lambda: worker.mark.acked_through == 2, timeout=5), hq.requests
        assert worker.status()["alarm"] is None
    finally:
        worker.stop(timeout=5)


def test_wrong_site_id_is_an_alarm_and_sends_nothing(store, hq):
    add_events(store, 1)
    worker = SyncWorker(store, Settings(hq.url, "campus-b", KEY_ID, KEY))
    assert worker.run_once() == worker.alarm_retry and hq.requests == []
    assert "campus-b" in worker.status()["alarm"]["params"]["configured"]


# -- what HQ and the log are told ----------------------------------------------------------
def test_every_request_reports_the_logs_top_the_version_clock_and_probe_interval(store, hq):
    add_events(store, 3)
    worker = make_worker(store, hq.url, idle_wait=45.0)
    worker.run_once()  # a batch
    worker.run_once()  # a probe
    assert hq.requests == [[1, 2, 3], []]
    clock = datetime.fromtimestamp(NOW, timezone.utc).isoformat()
    assert hq.statuses == [{"last_seq": 3, "version": client.VERSION, "clock": clock,
                            "heartbeat": 45}] * 2
    assert client.VERSION == metadata.version("frontdesk")


class Clock:
    def __init__(self):
        self.now = NOW

    def __call__(self):
        return self.now


def test_the_log_says_when_hq_went_away_every_minute_at_most_and_when_it_came_back(
        store, hq, caplog):
    add_events(store, 4)
    clock = Clock()
    worker = make_worker(store, hq.url, clock=clock)
    hq.mode = "503"
    with caplog.at_level(logging.INFO, logger="sync.worker"):
        for _ in range(12):  # 12 failures, 10 s apart
            worker.run_once()
            clock.now += 10
        lines = [(r.levelname, r.getMessage()) for r in caplog.records]
        assert len(lines) == 2, lines  # the start, then one line after a minute
        assert lines[0][0] == "WARNING" and re.fullmatch(
            r"HQ unreachable: HQ had a problem \(503\)\. Retrying\. Next try in \d+ s; "
            r"4 events waiting", lines[0][1]), lines
        assert lines[1][0] == "INFO" and re.fullmatch(
            r"HQ still unreachable after 60 s and 7 tries: HQ had a problem \(503\)\. "
            r"Retrying\. Next try in \d+ s; 4 events waiting", lines[1][1]), lines
        caplog.clear()
        hq.mode = "ok"
        worker.run_once()
        worker.run_once()  # a probe: nothing more to say
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert lines == [("WARNING", "HQ reachable again after 120 s and 12 tries: 4 events to "
                                 "send now")]
    assert worker.mark.acked_through == 4


def test_the_saved_status_is_current_after_every_round(store, hq):
    add_events(store, 2)
    clock = Clock()
    worker = make_worker(store, hq.url, clock=clock)
    hq.mode = "503"
    for _ in range(3):  # the same error each time: saved all the same
        delay = worker.run_once()
        saved = load_state(store.folder)[1]
        assert saved["next_attempt"] == iso(datetime.fromtimestamp(clock.now + delay,
                                                                   timezone.utc))
        assert saved["last_attempt"] == saved["saved_at"] == iso(
            datetime.fromtimestamp(clock.now, timezone.utc))
        clock.now += 100
    hq.mode = "ok"
    worker.run_once()
    for _ in range(2):  # idle: each probe saves when the next one is due
        clock.now += 60
        worker.run_once()
        saved = load_state(store.folder)[1]
        assert saved["next_attempt"] == iso(datetime.fromtimestamp(clock.now + 60, timezone.utc))
        assert saved["online"] is True and saved["error"] is None
