"""HQ refuses what it must, and a refused request changes nothing: bad signatures, replays,
bodies too big or too deep; the API needs no CSRF token."""
from __future__ import annotations


import pytest
from hq_helpers import add_site, batch, dump, headers_for, post, push, verify_answer

from sync import protocol

UNCHANGED_BY_A_RESEND = ("events", "tickets", "alarms", "meta", "admins")


def test_the_api_needs_no_csrf_token_though_the_dashboard_does(hq, client, store, kiosk):
    assert hq.config.get("WTF_CSRF_ENABLED", True)
    key = add_site(store)
    kiosk.report("t-1")
    assert push(client, key, kiosk.events)[0].status_code == 200
    assert client.post("/login", data={"name": "x", "pin": "123456"}).status_code in (400, 303)


def _flip(text: str) -> str:
    return text[:-1] + ("0" if text[-1] != "0" else "1")


def _too_deep(depth: int) -> dict:
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


def _bad_requests(key, other_key, revoked_key, events):
    """Yield (id, status, body, headers, url site) of requests HQ must refuse untouched."""
    good = batch("site-a", events)
    flipped = good.replace(b'"x"', b'"y"', 1)
    assert flipped != good
    yield "flipped-body-byte", 401, flipped, headers_for(key, good), None
    yield "flipped-body-byte-new-hash", 401, flipped, {
        **headers_for(key, good), protocol.H_BODY_SHA256: protocol.body_sha256(flipped)}, None
    headers = headers_for(key, good)
    yield "flipped-signature-byte", 401, good, {
        **headers, protocol.H_SIGNATURE: _flip(headers[protocol.H_SIGNATURE])}, None
    yield "no-signature", 401, good, {k: v for k, v in headers.items()
                                      if k != protocol.H_SIGNATURE}, None
    yield "another-sites-key", 403, good, headers_for(other_key, good, site_id="site-a"), None
    own = batch("site-c", [])  # site-c's own request under its own, revoked key
    yield "revoked-key", 403, own, headers_for(revoked_key, own), "site-c"
    yield "unknown-key", 403, good, {**headers, protocol.H_KEY_ID: "k-nobody"}, None
    yield "key-for-another-url", 403, good, headers_for(key, good, site_id="site-b"), "site-b"
    big = batch("site-a", [{**events[0], "data": {**events[0]["data"],
                                                  "description": "x" * protocol.MAX_BODY_BYTES}}])
    yield "oversized", 413, big, headers_for(key, big), None
    signed = {
        "malformed-json": b'{"site_id": "site-a", "events": [',
        "invalid-utf8": b'{"site_id": "site-a", "hq_epoch": null, "events": []}\xff',
        "nan": good.replace(b'"x"', b"NaN", 1),
        "infinity": good.replace(b'"x"', b"-Infinity", 1),
        "deep-nesting": batch("site-a", [{**events[0], "data": _too_deep(20)}]),
        "not-an-object": b"[]",
        "events-not-a-list": protocol.dumps({"site_id": "site-a", "events": {}}),
        "body-site-mismatch": batch("site-b", events),
        "lone-surrogate": good.replace(b'"x"', b'"\\udc00"', 1),
        "float-overflow": good.replace(b'"x"', b"1e400", 1),
        "over-100-events": batch("site-a", events * 101),
    }
    for name, body in signed.items():
        yield name, 400, body, headers_for(key, body), None
    malformed = {  # a signed 422 (a permanent refusal) and a "malformed" alarm
        "event-site-mismatch": batch("site-a", [{**events[0], "site_id": "site-b"}]),
        "missing-field": batch("site-a", [{k: v for k, v in events[0].items() if k != "hash"}]),
        "seq-not-int": batch("site-a", [{**events[0], "seq": "1"}]),
        "seq-bool": batch("site-a", [{**events[0], "seq": True}]),
        "seq-zero": batch("site-a", [{**events[0], "seq": 0}]),
        "seq-huge": batch("site-a", [{**events[0], "seq": 10 ** 30}]),
        "category-a-list": batch("site-a", [{**events[0], "data": {
            **events[0]["data"], "category": ["repair"]}}]),
    }
    for name, body in malformed.items():
        yield name, 422, body, headers_for(key, body), None


BAD_IDS = [case[0] for case in _bad_requests(
    {"site_id": "a", "key_id": "k", "secret": "s"}, {"site_id": "b", "key_id": "k", "secret": "s"},
    {"site_id": "a", "key_id": "k", "secret": "s"},
    [{"site_id": "site-a", "seq": 1, "data": {"description": "x"}, "hash": "h"}])]


@pytest.mark.parametrize("case", BAD_IDS)
def test_a_refused_request_changes_nothing_at_hq(hq, client, store, kiosk, case):
    key = add_site(store)
    other_key = add_site(store, "site-b", "Campus B")
    revoked_key = add_site(store, "site-c", "Campus C")
    store.revoke_site("site-c")
    kiosk.report("t-1")
    push(client, key, kiosk.events)  # HQ holds something that must stay as it is
    kiosk.report("t-2")
    before = dump(hq)
    found = {c[0]: c[1:] for c in _bad_requests(key, other_key, revoked_key, kiosk.events[1:])}
    status, body, headers, url_site = found[case]
    response = post(client, key, body, site_id=url_site or "site-a", headers=headers)
    assert response.status_code == status, response.get_data(as_text=True)
    assert "error" in response.get_json()
    if status != 422:
        assert dump(hq) == before
        return
    untouched = ("meta", "events", "tickets", "admins")
    assert dump(hq, untouched) == {t: before[t] for t in untouched}
    assert verify_answer(response, key, headers[protocol.H_SIGNATURE])
    assert response.get_json()["acked_through"] == 1
    assert [a["kind"] for a in store.alarms("site-a")] == ["malformed"]


def test_an_oversized_body_is_refused_by_content_length_before_reading(hq, client, store):
    key = add_site(store)
    before = dump(hq)
    response = client.post("/api/v1/sites/site-a/events", data=b"{}",
                           headers=headers_for(key, b"{}"),
                           environ_overrides={"CONTENT_LENGTH": str(protocol.MAX_BODY_BYTES + 1)})
    assert response.status_code == 413 and dump(hq) == before


def test_a_body_nested_16_deep_parses_and_17_or_far_more_does_not():
    def nested(depth: int) -> bytes:
        return b"[" * depth + b"1" + b"]" * depth

    assert protocol.loads(nested(16)) and protocol.loads(b'{"a": "[[[[[[[[[[[[[[[[[[[["}')
    for body in (nested(17), nested(200_000), b'{"a":' * 17 + b"1" + b"}" * 17):
        with pytest.raises(protocol.BadBody, match="nested too deeply"):
            protocol.loads(body)
