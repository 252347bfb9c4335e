"""Bad requests over real HTTP against a real HQ process leave its data unchanged, each
with the status sync/PROTOCOL.md gives it."""
from __future__ import annotations

import http.client
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sync_oracle import open_hq_readonly

from sync.events import event_hash
from kiosk.store import Store
from sync import client, protocol
from sync.state import Settings
from sync_harness import HOST, HQ, add_site_api, bulk_partials, check, fill, iso

pytestmark = pytest.mark.slow

@pytest.fixture(scope="module")
def hq_main(tmp_path_factory):
    """An HQ process of its own for this module."""
    folder = tmp_path_factory.mktemp("hq-http")
    hq = HQ(folder / "hq-data", folder / "hq.log")
    try:
        hq.start()
        yield hq
    finally:
        hq.kill()


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
        events = list(store.events_after(0))
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
