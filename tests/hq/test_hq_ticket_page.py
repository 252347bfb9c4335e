"""HQ's page of one ticket (issue 15, point 5): the durations report → confirm → arrive →
close on hand-built events with known answers, each of the ticket's events verified in its
site's chain (its hash recomputed from the stored body, its links to the events before
and after it), a stored event tampered with in the database shown as not verified, the
site's place name, the late mark and the masked phone. Both backends."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from hq_helpers import Kiosk, add_site, iso, push, raw_sql, sign_in

from hq import chain, ticket_page
from sync.events import GENESIS, event_hash

REPORTED = datetime(2026, 11, 27, 1, 2, 3, tzinfo=timezone.utc)  # 09:02:03 in Shanghai
STAFF = {"role": "receptionist", "id": "st-1", "name": "Li Na"}


def _event(tid: str | None, kind: str, at: datetime, data: dict | None = None,
           actor: dict | None = None) -> dict:
    return {"ticket_id": tid, "type": kind, "at": iso(at), "actor": actor or STAFF,
            "data": data or {}}


def _report(tid: str, number: str, at: datetime, channel: str = "kiosk",
            phone: str = "13800138000", location: str = "B1") -> dict:
    return _event(tid, "reported", at, {
        "number": number, "token": f"t-{tid}", "day": "2026-11-27", "category": "repair",
        "channel": channel, "location": location, "description": "灯不亮", "name": "王先生",
        "phone": phone, "preferred_at": None, "due_at": iso(at + timedelta(minutes=30))},
        {"role": "visitor"})


@pytest.fixture
def site(hq, client, store, tmp_path, clock):
    """A site (北区) with a place, a repair taken through every step at known times
    (confirmed after 5 min, on site 42 min later, closed 1 h 16 min 30 s after that), one
    never confirmed nor reached, and one the desk recorded (no confirm step); signed in."""
    key = add_site(store, "site-a", "北区")
    kiosk = Kiosk(tmp_path / "site-a", "site-a", clock)
    t = REPORTED
    events = kiosk.write([
        _event(None, "location_saved", t - timedelta(days=1),
               {"code": "B1", "name_zh": "1号楼", "name_en": "Building 1", "active": True}),
        _report("t-1", "R-1127-001", t),
        _event("t-1", "confirmed", t + timedelta(minutes=5)),
        _event("t-1", "dispatched", t + timedelta(minutes=6), {"department": "maint"}),
        _report("t-2", "R-1127-002", t + timedelta(minutes=10), phone="010-6275-1234"),
        _event("t-1", "arrived", t + timedelta(minutes=47), {"how": "phone"}),
        _event("t-1", "completed", t + timedelta(minutes=50)),
        _event("t-1", "closed", t + timedelta(hours=2, minutes=3, seconds=30),
               {"reason": "duplicate"}),
        _report("t-3", "R-1127-003", t + timedelta(minutes=20), channel="phone"),
    ])
    assert push(client, key, events)[0].status_code == 200
    sign_in(client, store)
    client.get("/lang/en")
    return {e["ticket_id"]: e["seq"] for e in events if e["type"] == "reported"}


def _steps(html: str) -> dict[str, tuple[str, str, str]]:
    return {step: (minutes, when.strip(), since.strip()) for step, minutes, when, since in
            re.findall(r'<tr data-step="(\w+)" data-minutes="([^"]*)">\s*<td>[^<]*</td>\s*'
                       r'<td data-label="[^"]*" class="when">([^<]*)</td>\s*'
                       r'<td data-label="[^"]*" class="since">([^<]*)</td>', html)}


def _page(client, tid: str) -> str:
    response = client.get(f"/sites/site-a/tickets/{tid}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_durations_from_report_to_close_on_known_times(client, site):
    steps = _steps(_page(client, "t-1"))
    assert steps == {
        "reported": ("", "2026-11-27 09:02:03", ""),
        "confirmed": ("5.00", "2026-11-27 09:07:03", "5 min"),
        "arrived": ("42.00", "2026-11-27 09:49:03", "42 min"),
        "closed": ("76.50", "2026-11-27 11:05:33", "1 h 17 min")}


def test_a_step_not_reached_is_a_dash_and_the_next_counts_from_the_last_reached(client, site):
    steps = _steps(_page(client, "t-2"))
    assert steps["confirmed"] == ("", "—", "—") and steps["closed"] == ("", "—", "—")
    steps = _steps(_page(client, "t-3"))  # recorded by the desk: no confirmation step
    assert steps["confirmed"][1] == "—" and steps["arrived"][1] == "—"


def test_the_rule_durations_on_hand_built_events():
    ticket = {"reported_at": "2026-11-27T01:00:00+00:00", "arrived_at": "2026-11-27T03:30:00+00:00",
              "closed_at": None}
    events = [{"type": "reported", "at": "2026-11-27T01:00:00+00:00"},
              {"type": "confirmed", "at": "2026-11-27T01:00:30+00:00", "applied": False},
              {"type": "confirmed", "at": "2026-11-27T01:10:00+00:00"},
              {"type": "confirmed", "at": "2026-11-27T01:20:00+00:00"}]
    assert [(s["type"], s["minutes"]) for s in ticket_page.durations(ticket, events)] == [
        ("reported", None), ("confirmed", 10.0), ("arrived", 140.0), ("closed", None)]


def test_every_event_of_an_intact_ticket_verifies(client, site):
    html = _page(client, "t-1")
    assert 'id="ticket-verdict" data-verified="1"' in html
    assert html.count('class="link-check verified" data-verified="1"') == 6
    assert 'data-verified="0"' not in html and 'data-chain="verified"' in html


def test_a_tampered_stored_event_shows_as_not_verified(hq, client, site):
    """The body of the dispatch (seq 4) is changed in the database behind HQ's back."""
    raw_sql(hq, "UPDATE events SET body = replace(body, 'maint', 'other') "
                "WHERE site_id = 'site-a' AND seq = 4")
    html = _page(client, "t-1")
    assert 'id="ticket-verdict" data-verified="0"' in html
    item = re.search(r'<li class="event-dispatched" data-seq="4">(.*?)</li>\s*<li', html, re.S)
    assert "does not match its hash" in item.group(1) and 'data-verified="0"' in item.group(1)
    assert html.count('class="link-check verified" data-verified="1"') == 5
    assert "1 of this ticket's 6 events do not verify" in html
    assert "maint" not in item.group(1) or "other" in item.group(1)


def test_a_tampered_event_with_its_hash_rewritten_breaks_the_next_link(hq, client, site):
    """The attacker recomputes the changed event's hash: the event after it no longer
    links to it, and the page says so on both."""
    row = raw_sql(hq, "SELECT body FROM events WHERE site_id = 'site-a' AND seq = 4")[0]
    forged = row["body"].replace("maint", "other")
    new_hash = event_hash(json.loads(forged))
    raw_sql(hq, "UPDATE events SET body = ?, hash = ? WHERE site_id = 'site-a' AND seq = 4",
            (forged, new_hash))
    html = _page(client, "t-1")
    dispatched = re.search(r'data-seq="4">(.*?)</li>', html, re.S).group(1)
    assert "The event after it (seq 5) does not link to it." in dispatched
    assert "does not match its hash" not in dispatched
    t2 = _page(client, "t-2")  # seq 5 is t-2's report: it no longer links back
    assert "It does not link to the event before it (seq 4)." in t2
    assert 'id="ticket-verdict" data-verified="0"' in t2


def test_the_link_checks_on_stored_rows():
    first = {"site_id": "s", "seq": 1, "prev_hash": GENESIS, "type": "x"}
    first_hash = event_hash(first)
    second = {"site_id": "s", "seq": 2, "prev_hash": first_hash, "type": "y"}
    second_hash = event_hash(second)

    def row(event, stored_hash):
        return {"hash": stored_hash, "prev_hash": event["prev_hash"],
                "body": json.dumps({**event, "hash": stored_hash})}

    stored = {1: row(first, first_hash), 2: row(second, second_hash)}
    assert chain.ticket_links([1, 2], stored) == {1: [], 2: []}
    assert chain.neighbours([1, 5]) == [1, 2, 4, 5, 6]
    missing = chain.ticket_links([2], {2: stored[2]})
    assert [m.text for m in missing[2]] == [chain.NO_PREVIOUS]
    unreadable = chain.ticket_links([2], {1: stored[1], 2: {**stored[2], "body": "{"}})
    assert [m.text for m in unreadable[2]] == [chain.UNREADABLE]


def test_the_page_names_the_place_marks_late_and_masks_the_phone(client, site, clock):
    html = _page(client, "t-2")  # due 09:42 on the 27th: late at the clock's 28th 10:00
    assert 'id="ticket-place">Building 1<' in html and 'id="late-badge"' in html
    assert 'id="ticket-phone">*******1234<' in html and "6275" not in html
    assert "北区 · <span class=\"number\">R-1127-002</span>" in html
    closed = _page(client, "t-1")
    assert 'id="late-badge"' not in closed and "13800138000" not in closed
    client.get("/lang/zh_CN")
    assert 'id="ticket-place">1号楼<' in _page(client, "t-2")
