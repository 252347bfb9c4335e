"""Bad requests over real HTTP against a real HQ process leave its data unchanged, each
with the status sync/PROTOCOL.md gives it; with HQ on SQLite and on PostgreSQL."""
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
from sync_harness import BACKENDS, HOST, HQ, add_site_api, bulk_partials, check, fill, iso

pytestmark = pytest.mark.slow

@pytest.fixture(scope="module", params=BACKENDS)
def hq_main(request, tmp_path_factory):
    """An HQ process of its own for this module, on each backend."""
    pg = request.getfixturevalue("hq_databases") if request.param == "postgresql" else None
    folder = tmp_path_factory.mktemp("hq-http")
    hq = HQ(folder / "hq-data", folder / "hq.log", pg=pg)
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


def _dump(hq_db: Path | str, tables=("events", "tickets", "alarms", "sites", "meta")) -> dict:
    db = open_hq_readonly(hq_db)
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
    key, other = add_site_api(hq_main.db, "bad-a"), add_site_api(hq_main.db, "bad-b")
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
        before = _dump(hq_main.db)
        reply = _post(port, site, body, headers)
        assert reply.status == expect, (name, reply.status, reply.body[:300])
        if expect >= 400 and expect != 409:
            assert "error" in json.loads(reply.body)
        if expect in (400, 401, 403, 413):  # refused before touching anything
            assert _dump(hq_main.db) == before, name
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
    rows = _dump(hq_main.db, ("events", "tickets", "alarms", "meta"))
    reply = send("replayed request", good.body, good.headers, 200)
    replay = client.verified_answer(settings, good, reply)
    assert [r["result"] for r in replay["results"]] == ["duplicate"] * 3
    assert replay["acked_through"] == 3
    assert _dump(hq_main.db, ("events", "tickets", "alarms", "meta")) == rows
    # the same seq with another hash: 409, never overwritten
    other_event = {**events[1], "data": {**events[1]["data"], "name_en": "another history"}}
    other_event["hash"] = event_hash(other_event)
    rows = _dump(hq_main.db, ("events", "tickets"))
    conflict = client.build(settings, None, [other_event], "5")
    reply = send("same seq, other hash", conflict.body, conflict.headers, 409)
    answer = client.verified_answer(settings, conflict, reply)
    assert [r["result"] for r in answer["results"]] == ["conflict"] and answer["acked_through"] == 3
    assert _dump(hq_main.db, ("events", "tickets")) == rows
    # a gap: stops, reports what HQ holds
    gap = client.build(settings, None, events[4:7], "6")
    reply = send("a gap", gap.body, gap.headers, 200)
    answer = client.verified_answer(settings, gap, reply)
    assert [r["result"] for r in answer["results"]] == ["gap", "skipped", "skipped"]
    assert answer["acked_through"] == 3 and _dump(hq_main.db, ("events", "tickets")) == rows
    # the rest, with an event of a type HQ does not know: rejected, and the queue moves on
    rest = client.build(settings, None, events[3:] + unknown + after, "7")
    reply = send("unknown event type", rest.body, rest.headers, 200)
    answer = client.verified_answer(settings, rest, reply)
    results = [r["result"] for r in answer["results"]]
    assert results == ["stored"] * (len(events) - 3) + ["rejected", "stored"], results
    assert answer["acked_through"] == after[0]["seq"]
    counts = check("bad requests over HTTP", kiosk_dir, hq_main.db, check_mark=False,
                   statuses=seen)
    assert counts["rejected"] == 1
    db = open_hq_readonly(hq_main.db)
    try:
        alarms = db.execute("SELECT seq, kind FROM alarms WHERE site_id = 'bad-a' "
                            "ORDER BY seq").fetchall()
    finally:
        db.close()
    assert alarms == [(2, "conflict"), (unknown[0]["seq"], "rejected")]


# -- malformed events: a permanent refusal (4xx), never a 5xx ------------------------------
_NOT = {  # a value of each JSON kind; a case takes those of a kind the field does not allow
    "null": None, "int": 7, "float": 1.5, "bool": True, "list": ["repair"], "object": {"a": 1},
    "string": "x"}
_ALLOWED = {"site_id": {"string"}, "seq": {"int"}, "event_id": {"string"},
            "ticket_id": {"string", "null"}, "type": {"string"}, "at": {"string"},
            "actor": {"object"}, "data": {"object"}, "prev_hash": {"string"},
            "hash": {"string"}}
_REPORTED = {**{f: {"string"} for f in ("number", "token", "day", "category", "channel")},
             **{f: {"string", "null"} for f in ("location", "description", "name", "phone",
                                                "preferred_at", "due_at", "request_id")}}


def _malformed_cases(reported: dict, follow: dict) -> list[tuple[str, dict]]:
    """(name, event) pairs: the valid ``reported``/``follow`` partials with one field of
    the wrong type (or shape); each would be the next event of the site's chain."""
    cases = []
    for field, allowed in _ALLOWED.items():
        for kind, value in _NOT.items():
            if kind not in allowed:
                cases.append((f"{field}={kind}", {"envelope": {field: value}}))
    for field, allowed in _REPORTED.items():
        for kind, value in _NOT.items():
            if kind not in allowed:
                cases.append((f"reported.data.{field}={kind}",
                              {"base": reported, "data": {field: value}}))
    cases += [(f"reported.data.{f} missing", {"base": reported, "drop": f})
              for f in ("number", "token", "day", "category", "channel")]
    odd = [("site_id", "other-site"), ("seq", 0), ("seq", -3), ("seq", 2 ** 60),
           ("type", ""), ("at", "yesterday"), ("hash", "not-hex"), ("prev_hash", "A" * 64),
           ("actor", {"name": "no role"}), ("actor", {"role": "x", "name": ["Li"]}),
           ("actor", {"role": 5})]
    cases += [(f"{field}={value!r}"[:60], {"envelope": {field: value}}) for field, value in odd]
    for kind, data in [("amended", {"description": "new text"}),
                       ("amended", {"description": {"new": "only new"}}),
                       ("amended", {"description": {"old": 1, "new": "x"}}),
                       ("amended", {"category": {"old": "repair", "new": ["other"]}}),
                       ("closed", {}), ("closed", {"reason": ["done"]}),
                       ("closed", {"reason": None}), ("noted", {"text": 5}),
                       ("noted", {"text": {"a": "b"}}), ("noted", {})]:
        cases.append((f"{kind} {data!r}"[:60], {"base": {**follow, "type": kind}, "data": data,
                                                "replace": True}))
    return cases


def test_every_malformed_event_is_refused_4xx_over_http_and_alarmed(hq_main, tmp_path):
    key = add_site_api(hq_main.db, "fuzz-a")
    kiosk_dir = tmp_path / "kiosk-fuzz"
    store = Store(kiosk_dir, site_id="fuzz-a")
    try:
        first = store.append(bulk_partials(6))  # one ticket's whole life, seqs 1..6
        reported = next(e for e in first if e["type"] == "reported")
        last = first[-1]
    finally:
        store.close()
    settings = Settings(f"http://{HOST}:{hq_main.port}", "fuzz-a", key["key_id"], key["secret"])
    good = client.build(settings, None, first, "1")
    assert _post(hq_main.port, "fuzz-a", good.body, good.headers).status == 200
    partial = {k: reported[k] for k in ("ticket_id", "type", "at", "actor", "data")}
    follow = {**partial, "type": "noted", "data": {"text": "a note"}, "ticket_id": "t-other"}
    before = _dump(hq_main.db, ("events", "tickets"))
    statuses = {}
    for name, case in _malformed_cases(partial, follow):
        base = dict(case.get("base", partial))
        if "data" in case:
            base["data"] = dict(case["data"]) if case.get("replace") else {**base["data"],
                                                                            **case["data"]}
        if "drop" in case:
            base["data"] = {k: v for k, v in base["data"].items() if k != case["drop"]}
        event = {**base, "site_id": "fuzz-a", "seq": last["seq"] + 1,
                 "event_id": f"fuzz-a:{last['seq'] + 1}", "prev_hash": last["hash"]}
        event.update(case.get("envelope", {}))
        if "hash" not in case.get("envelope", {}):
            event["hash"] = event_hash(event)  # a correctly chained event: only the field is bad
        body = client.build(settings, None, [event], "2").body
        reply = _post(hq_main.port, "fuzz-a", body, _signed(key, body))
        statuses[name] = reply.status
        assert 400 <= reply.status < 500, (name, reply.status, reply.body[:300])
        assert "error" in json.loads(reply.body), name
    assert len(statuses) > 80 and set(statuses.values()) == {422}, statuses
    # the case, as a kiosk sees it: a signed 422 that names the record and the field
    bad = {**partial, "site_id": "fuzz-a", "seq": last["seq"] + 1,
           "event_id": f"fuzz-a:{last['seq'] + 1}", "prev_hash": last["hash"],
           "data": {**partial["data"], "category": ["repair"]}}
    bad["hash"] = event_hash(bad)
    request = client.build(settings, None, [bad], "3")
    reply = _post(hq_main.port, "fuzz-a", request.body, request.headers)
    answer = client.verified_answer(settings, request, reply)
    assert reply.status == 422 and answer is not None, reply.body[:300]
    assert answer["results"] == [{"seq": 7, "result": "malformed"}]
    assert "data.category must be a string" in answer["error"] and answer["acked_through"] == 6
    # a lone surrogate (no kiosk can hash it) is a malformed body: 400, never a 500
    raw = json.dumps({"site_id": "fuzz-a", "hq_epoch": None,
                      "events": [{**bad, "data": {**partial["data"], "name": "\ud800"}}]}).encode()
    assert _post(hq_main.port, "fuzz-a", raw, _signed(key, raw)).status == 400
    assert _dump(hq_main.db, ("events", "tickets")) == before  # nothing stored
    db = open_hq_readonly(hq_main.db)
    try:
        kinds = {k for (k,) in db.execute("SELECT kind FROM alarms WHERE site_id = 'fuzz-a'")}
    finally:
        db.close()
    assert kinds == {"malformed"}
