"""The kiosk's status report (PROTOCOL.md, "status") on both backends: HQ keeps the last
one with the site, in the transaction of the batch, and never refuses a batch for it."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from hq_helpers import add_site, post, results, sign_in

from sync import protocol

REPORT = {"last_seq": 7, "version": "0.1.0", "clock": "2026-11-28T10:00:05+08:00",
          "heartbeat": 60}
STORED = {"kiosk_last_seq": 7, "kiosk_version": "0.1.0",
          "kiosk_clock": "2026-11-28T02:00:05.000000Z", "heartbeat_seconds": 60}
NOTHING = dict.fromkeys(STORED)


def send(client, key, events, status=None, **extra):
    """Post a signed request with ``status`` (any JSON: the test's) in its body."""
    payload = {"site_id": key["site_id"], "hq_epoch": None, "events": events, **extra}
    if status is not None:
        payload["status"] = status
    response = post(client, key, protocol.dumps(payload))
    return response, response.get_json()


def report_of(store, site_id="site-a") -> dict:
    site = next(s for s in store.sites() if s["site_id"] == site_id)
    return {k: site[k] for k in STORED}


def test_a_batch_with_a_status_stores_it_with_the_site(store, client, kiosk):
    key = add_site(store)
    add_site(store, "site-b", "Campus B")
    kiosk.report("t-1")
    response, answer = send(client, key, kiosk.events, REPORT)
    assert response.status_code == 200 and results(answer) == ["stored"]
    assert report_of(store) == STORED
    assert report_of(store, "site-b") == NOTHING  # another site's row is untouched
    assert store.ticket("site-a", "t-1")["status"] == "new"


def test_a_probe_updates_the_report_and_the_last_contact(store, client, kiosk, clock):
    key = add_site(store)
    kiosk.report("t-1")
    send(client, key, kiosk.events, REPORT)
    first = store.sites()[0]["last_contact"]
    clock.now += timedelta(minutes=1)
    later = {**REPORT, "last_seq": 9, "clock": "2026-11-28T02:01:07Z", "heartbeat": 2}
    response, answer = send(client, key, [], later)  # a probe
    assert response.status_code == 200 and answer["acked_through"] == 1
    assert report_of(store) == {**STORED, "kiosk_last_seq": 9, "heartbeat_seconds": 2,
                                "kiosk_clock": "2026-11-28T02:01:07.000000Z"}
    assert store.sites()[0]["last_contact"] > first


def test_a_request_without_a_status_keeps_the_last_report(store, client, kiosk):
    key = add_site(store)
    kiosk.report("t-1")
    send(client, key, kiosk.events[:1], REPORT)
    kiosk.act("t-1", "confirmed")
    response, answer = send(client, key, kiosk.events[1:])  # an older kiosk: no status
    assert response.status_code == 200 and results(answer) == ["stored"]
    assert report_of(store) == STORED


@pytest.mark.parametrize("status", ["fine", 42, [REPORT], {}, {"version": ""},
                                    {"last_seq": "7", "clock": "yesterday",
                                     "heartbeat": 1.5, "version": None}])
def test_a_report_with_nothing_usable_is_ignored_and_the_events_still_stored(
        store, client, kiosk, status):
    key = add_site(store)
    kiosk.report("t-1")
    send(client, key, [], REPORT)
    response, answer = send(client, key, kiosk.events, status)
    assert response.status_code == 200 and results(answer) == ["stored"]
    assert report_of(store) == STORED  # the last good report stands


def test_a_report_is_clamped_and_its_bad_fields_dropped(store, client, kiosk):
    key = add_site(store)
    kiosk.report("t-1")
    status = {"last_seq": 2 ** 80, "version": "9.9.9-" + "x\u0000" * 100,
              "clock": "2026-13-45T99:00:00+00:00", "heartbeat": -5, "extra": {"a": 1}}
    response, answer = send(client, key, kiosk.events, status)
    assert response.status_code == 200 and results(answer) == ["stored"]
    assert report_of(store) == {"kiosk_last_seq": 2 ** 53,  # its first 40 characters,
                                "kiosk_version": "9.9.9-" + "x" * 17,  # the printable ones
                                "kiosk_clock": None, "heartbeat_seconds": 0}


@pytest.mark.parametrize("clock_text", ["2026-11-28T10:00:05", "0001-01-01T00:00:00+01:00",
                                        "2026-11-28T10:00:05+08:00" + " " * 64])
def test_a_clock_that_is_not_an_aware_time_in_range_is_not_kept(store, client, clock_text):
    key = add_site(store)
    response, _ = send(client, key, [], {**REPORT, "clock": clock_text})
    assert response.status_code == 200
    assert report_of(store) == {**STORED, "kiosk_clock": None}


def test_a_refused_batch_still_records_the_report(store, client, kiosk):
    key = add_site(store)
    kiosk.report("t-1")
    broken = {**kiosk.events[0], "data": {**kiosk.events[0]["data"], "category": 5}}
    response, answer = send(client, key, [broken], REPORT)
    assert response.status_code == 422 and results(answer) == ["malformed"]
    assert report_of(store) == STORED
    assert store.sites()[0]["last_contact"] is not None


def test_an_unsigned_request_changes_no_report(store, client, kiosk):
    key = add_site(store)
    body = protocol.dumps({"site_id": "site-a", "hq_epoch": None, "events": [],
                           "status": REPORT})
    response = post(client, {**key, "secret": "not-the-key-" * 4}, body)
    assert response.status_code == 401
    assert report_of(store) == NOTHING


def test_the_sites_own_page_shows_the_reported_version_and_a_clock_far_off(
        store, client, kiosk, clock):
    key = add_site(store)
    ahead = (clock() + timedelta(minutes=10, seconds=20)).isoformat()
    assert send(client, key, [], {**REPORT, "clock": ahead})[0].status_code == 200
    sign_in(client, store)
    client.get("/lang/en")
    page = client.get("/sites/site-a").get_data(as_text=True)
    assert 'data-state="live"' in page and "Version 0.1.0" in page
    assert re.search(r'id="clock-offset">its clock is 10 min off<', page), page
    assert send(client, key, [], {**REPORT, "clock": clock().isoformat()})[0].status_code == 200
    assert 'id="clock-offset"' not in client.get("/sites/site-a").get_data(as_text=True)
