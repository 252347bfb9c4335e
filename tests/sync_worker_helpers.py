"""Helpers and fixtures of the sync worker tests: a fake HQ, a store, a worker."""
from __future__ import annotations

import random
import threading
import time

import pytest
from flask import Flask, request
from waitress import create_server

from kiosk.store import Store
from sync import protocol as p
from sync.state import Settings
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
        self.statuses = []  # the status report of each request (PROTOCOL.md)
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
        self.statuses.append(batch.get("status"))
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


def make_worker(store, url, seed=7, clock=lambda: NOW, **kwargs):
    settings = Settings(url, SITE, KEY_ID, KEY)
    return SyncWorker(store, settings, clock=clock, rng=random.Random(seed),
                      timeouts=(1.0, 2.0), **kwargs)
