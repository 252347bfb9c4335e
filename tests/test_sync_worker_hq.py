"""The worker against a real HQ: exactly once, a malformed record, idle probes.

Every wait is bounded."""
from __future__ import annotations

import random
import threading
from datetime import datetime, timezone

import pytest
from helpers import free_port
from sync_worker_helpers import (  # noqa: F401 (fixtures: hq, store)
    SITE, add_events, hq, store, make_worker,
)
from waitress import create_server
from werkzeug.serving import make_server

from hq import create_hq_app
from kiosk import create_app
from sync import protocol as p
from sync.state import Mark, Settings, load_state
from sync.worker import SyncWorker


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
    add_events(store, 1)  # with something waiting, a retry comes within 20 s
    assert max(worker.run_once() for _ in range(3)) <= worker.retry_cap == 20.0
