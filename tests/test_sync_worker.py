"""The kiosk's sync worker against a fake HQ, and once against the real one.

Every wait is bounded; backoff delays are asserted as computed with a seeded RNG,
never slept.
"""
from __future__ import annotations

import json
import random
import threading
import time
from datetime import datetime, timezone

import pytest
from flask import Flask, request
from helpers import free_port
from waitress import create_server
from werkzeug.serving import make_server

from hq import create_hq_app
from kiosk import create_app
from kiosk.store import Store
from sync import client, protocol as p
from sync.state import Mark, Settings, load_state
from sync.worker import SyncWorker

SITE, KEY, KEY_ID = "campus-a", "s3cret-key-for-tests-only-0123456789abcdef", "k-test"
NOW = 1_790_000_000.0


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def add_events(store, n=1, size=0):
    return store.append([{"ticket_id": None, "type": "locations_imported",
                          "at": "2026-11-28T02:00:00+00:00", "actor": {"role": "system"},
                          "data": {"rows": [], "pad": "x" * size}} for _ in range(n)])


class FakeHQ:
    """Enough of HQ to test the kiosk: stores seq == last + 1, signs its answers."""

    def __init__(self, key=KEY):
        self.key, self.epoch, self.hashes = key, "epoch-1", {}
        self.mode, self.retry_after, self.requests, self.on_request = "ok", None, [], None
        app = Flask("fake_hq")
        app.add_url_rule("/api/v1/sites/<site_id>/events", view_func=self.ingest,
                         methods=["POST"])
        self.server = create_server(app, host="127.0.0.1", port=0, threads=2)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        threading.Thread(target=self.server.run, daemon=True).start()

    def ingest(self, site_id):
        body = request.get_data()
        sig = request.headers[p.H_SIGNATURE]
        expected = p.request_signature(self.key, "POST", request.path, site_id,
                                       request.headers[p.H_TIMESTAMP], p.body_sha256(body))
        batch = p.loads(body)
        self.requests.append([e["seq"] for e in batch["events"]])
        if self.on_request:
            self.on_request()
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after else {}
        if self.mode == "html":
            return "<html><body>Please sign in to the hotel Wi-Fi</body></html>", 200
        if self.mode.isdigit():
            return {"error": "no"}, int(self.mode), headers
        assert p.same(sig, expected) and request.headers[p.H_KEY_ID] == KEY_ID
        results, status, last = [], 200, max(self.hashes, default=0)
        for e in batch["events"]:
            if e["seq"] <= last:
                ok = self.hashes[e["seq"]] == e["hash"]
                results.append({"seq": e["seq"], "result": "duplicate" if ok else "conflict"})
                if not ok:
                    status = 409
            elif e["seq"] == last + 1:
                self.hashes[e["seq"]], last = e["hash"], e["seq"]
                results.append({"seq": e["seq"], "result": "stored"})
            else:
                results.append({"seq": e["seq"], "result": "gap"})
                break
        answer = p.dumps({"hq_epoch": self.epoch, "site_id": site_id, "acked_through": last,
                          "results": results})
        digest = p.body_sha256(answer)
        signer = "wrong-key" if self.mode == "badsig" else self.key
        signed = {p.H_BODY_SHA256: digest,
                  p.H_SIGNATURE: p.answer_signature(signer, site_id, sig, digest)}
        if self.mode == "unsigned":
            signed = {}
        return answer, status, {"Content-Type": "application/json", **signed}

    def close(self):
        self.server.close()


@pytest.fixture
def hq():
    server = FakeHQ()
    yield server
    server.close()


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "data", site_id=SITE)
    yield store
    store.close()


def make_worker(store, url, seed=7, **kwargs):
    settings = Settings(url, SITE, KEY_ID, KEY)
    return SyncWorker(store, settings, clock=lambda: NOW, rng=random.Random(seed),
                      timeouts=(1.0, 2.0), **kwargs)


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


def test_backoff_doubles_up_to_the_cap_and_honours_retry_after(store):
    class Top:  # the top of every jitter range
        def uniform(self, a, b):
            return b
    worker = SyncWorker(store, Settings(), rng=Top(), backoff_base=2.0, backoff_cap=600.0)
    assert [worker.backoff_delay(n) for n in range(1, 12)] == \
        [2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600]
    worker.rng = random.Random(1)
    assert all(0 <= worker.backoff_delay(n) <= min(600, 2 * 2 ** (n - 1)) for n in range(1, 40))
    assert worker.backoff_delay(1, retry_after=45) >= 45
    assert worker.backoff_delay(1, retry_after=10 ** 9) == 600  # capped


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
    worker = make_worker(store, hq.url, backoff_base=120.0, backoff_cap=600.0)
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


# -- the real HQ ----------------------------------------------------------------------
@pytest.fixture
def real_hq(tmp_path):
    app = create_hq_app({"TESTING": True, "DATA_DIR": str(tmp_path / "hq")})
    hq_store = app.extensions["hq_store"]
    key_id, secret = p.new_key()
    hq_store.add_site(SITE, "Campus A", key_id, secret, datetime.now(timezone.utc))
    server = create_server(app, host="127.0.0.1", port=0, threads=2)
    threading.Thread(target=server.run, daemon=True).start()
    yield f"http://127.0.0.1:{server.effective_port}", key_id, secret, hq_store
    server.close()
    hq_store.close()


def test_the_worker_syncs_to_the_real_hq_exactly_once(store, real_hq, tmp_path):
    url, key_id, secret, hq_store = real_hq
    add_events(store, 150)
    worker = SyncWorker(store, Settings(url, SITE, key_id, secret), rng=random.Random(1))
    assert [worker.run_once(), worker.run_once()] == [0.0, worker.idle_wait]
    assert worker.mark == Mark(hq_store.epoch(), 150), worker.status()
    (store.folder / "sync.json").unlink()  # the kiosk forgot its mark: resend, all duplicates
    worker = SyncWorker(store, Settings(url, SITE, key_id, secret), rng=random.Random(1))
    while worker.run_once() == 0.0:
        pass
    assert worker.mark == Mark(hq_store.epoch(), 150) and worker.status()["alarm"] is None
    (store.folder / "sync.json").unlink()
    wrong = SyncWorker(store, Settings(url, SITE, key_id, "not-the-key"))
    wrong.run_once()
    assert "(401)" in wrong.status()["alarm"]["text"]


# -- a malformed record: a permanent refusal, alarmed on both sides, never hammered ---------
def test_a_malformed_record_is_alarmed_what_precedes_it_is_sent_and_it_is_not_hammered(
        store, real_hq):
    url, key_id, secret, hq_store = real_hq
    add_events(store, 3)
    store.append([{"ticket_id": None, "type": "locations_imported",  # HQ: actor.role not text
                   "at": "2026-11-28T02:00:00+00:00", "actor": {"role": 5},
                   "data": {"rows": []}}])
    add_events(store, 2)
    worker = SyncWorker(store, Settings(url, SITE, key_id, secret), rng=random.Random(1),
                        alarm_retry=600.0)
    assert worker.run_once() == 0.0  # 1..6 refused whole (422): first send 1..3 at once
    assert worker.status()["alarm"]["params"]["seq"] == 4 and worker.mark.acked_through == 0
    assert worker.run_once() == 0.0 and worker.mark == Mark(hq_store.epoch(), 3)
    assert worker.run_once() == 600.0 and worker.hold  # 4..6: refused again, slow retry only
    alarm = worker.status()["alarm"]
    words = alarm["text"] % alarm["params"]
    assert "record 4 as malformed (422" in words and "actor.role" in words, words
    assert worker.run_once() == 600.0 and worker.mark == Mark(hq_store.epoch(), 3)
    assert load_state(store.folder)[1]["alarm"] == alarm  # what `sync status` prints
    assert [(a["seq"], a["kind"]) for a in hq_store.alarms(SITE)] == [(4, "malformed")]
    assert [s["events_received"] for s in hq_store.sites()] == [3]


# -- an idle kiosk probes HQ --------------------------------------------------------------
class RealHQ:
    """The real HQ app served on a fixed port, so it can be replaced by a new database."""

    def __init__(self, folder, port: int):
        self.app = create_hq_app({"TESTING": True, "DATA_DIR": str(folder)})
        self.store = self.app.extensions["hq_store"]
        self.server = make_server("127.0.0.1", port, self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()  # a clean stop, then the port is free again
        self.server.server_close()
        self.thread.join(5)
        self.store.close()


def test_an_idle_kiosk_resends_everything_to_a_recreated_hq_within_one_probe(store, tmp_path):
    port, (key_id, secret) = free_port(), p.new_key()
    hq = RealHQ(tmp_path / "hq-1", port)
    try:
        hq.store.add_site(SITE, "Campus A", key_id, secret, datetime.now(timezone.utc))
        add_events(store, 5)
        worker = SyncWorker(store, Settings(f"http://127.0.0.1:{port}", SITE, key_id, secret),
                            rng=random.Random(1), idle_wait=30.0)
        assert worker.run_once() == 30.0 and worker.mark == Mark(hq.store.epoch(), 5)
        assert worker.run_once() == 30.0  # idle: a probe, nothing changes
    finally:
        hq.close()
    hq = RealHQ(tmp_path / "hq-2", port)  # HQ's database recreated, the site's key restored
    try:
        hq.store.add_site(SITE, "Campus A", key_id, secret, datetime.now(timezone.utc))
        assert worker.run_once() == 0.0  # the probe: a new epoch, HQ holds nothing: resend now
        assert worker.mark == Mark(hq.store.epoch(), 0)
        assert worker.run_once() == 30.0 and worker.mark == Mark(hq.store.epoch(), 5)
        assert [s["events_received"] for s in hq.store.sites()] == [5]
        assert [seq for seq, _, _ in hq.store.chain(SITE)] == [1, 2, 3, 4, 5]
    finally:
        hq.close()


def test_an_idle_kiosk_alarms_within_one_probe_when_a_recreated_hq_lacks_its_key(
        store, tmp_path):
    port, (key_id, secret) = free_port(), p.new_key()
    hq = RealHQ(tmp_path / "hq-1", port)
    try:
        hq.store.add_site(SITE, "Campus A", key_id, secret, datetime.now(timezone.utc))
        add_events(store, 2)
        worker = SyncWorker(store, Settings(f"http://127.0.0.1:{port}", SITE, key_id, secret),
                            rng=random.Random(1), idle_wait=30.0, alarm_retry=600.0)
        assert worker.run_once() == 30.0 and worker.status()["alarm"] is None
    finally:
        hq.close()
    hq = RealHQ(tmp_path / "hq-2", port)  # recreated, and nobody restored the site
    try:
        assert worker.run_once() == 600.0
        assert "(403)" in worker.status()["alarm"]["text"]
        assert load_state(store.folder)[1]["alarm"]["text"] == worker.status()["alarm"]["text"]
    finally:
        hq.close()


def test_hq_holding_less_under_the_same_epoch_is_noticed_by_the_probe(store, hq):
    add_events(store, 4)
    worker = make_worker(store, hq.url)
    worker.run_once()
    hq.hashes = {s: h for s, h in hq.hashes.items() if s <= 2}  # HQ lost 3..4, same epoch
    assert worker.run_once() == 0.0 and worker.mark == Mark("epoch-1", 2)
    worker.run_once()
    assert hq.requests == [[1, 2, 3, 4], [], [3, 4]] and worker.mark == Mark("epoch-1", 4)


def test_the_idle_probe_interval_is_a_setting_of_a_minute_at_most(tmp_path):
    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "a"), "SECRET_KEY": "t"})
    assert app.extensions["sync_worker"].idle_wait <= 60
    app.extensions["kiosk_store"].close()
    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "b"), "SECRET_KEY": "t",
                      "SYNC_IDLE_PROBE": 5})
    assert app.extensions["sync_worker"].idle_wait == 5.0
    app.extensions["kiosk_store"].close()


def test_a_failed_probe_is_retried_within_the_probe_interval(store, hq):
    worker = make_worker(store, hq.url, backoff_base=120.0, idle_wait=30.0)
    hq.mode = "503"
    delays = [worker.run_once() for _ in range(5)]  # nothing to send: probes only
    assert len(hq.requests) == 5 and all(d <= 30.0 for d in delays), delays
    assert worker.status()["online"] is False
    add_events(store, 1)  # with something waiting, the backoff grows past it
    assert max(worker.run_once() for _ in range(3)) > 30.0
