"""HQ's cross-site ticket list at scale: filters by site, category, status and the month
reported (HQ's zone), keyset pages of 50 whose "next page" link carries the cursor, and
bad filter values or page links that never break the page."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from hq_helpers import Kiosk, add_site, iso, push, sign_in

from hq import ticket_list
from hq.storage import ticket_key

START = datetime(2026, 9, 20, 3, 0, tzinfo=timezone.utc)
NOVEMBER_1ST = datetime(2026, 10, 31, 16, 0, tzinfo=timezone.utc)  # 00:00 in Shanghai
CATEGORIES = ("repair", "complaint", "inquiry", "emergency")


def _reported(ticket_id: str, category: str, at: datetime, n: int) -> dict:
    return {"ticket_id": ticket_id, "type": "reported", "at": iso(at),
            "actor": {"role": "visitor"},
            "data": {"number": f"{category[0].upper()}-0920-{n:03d}", "token": f"t-{ticket_id}",
                     "day": at.date().isoformat(), "category": category, "channel": "kiosk",
                     "location": "", "description": "x", "name": "", "phone": "",
                     "preferred_at": None, "due_at": iso(at + timedelta(hours=1))}}


@pytest.fixture
def many(hq, client, store, tmp_path, clock):
    """Three sites, 153 tickets from late September to early December: one every 39 hours
    and 13 minutes per site, sites B and C at the same instants as A (ties broken by site),
    every fifth closed; and an inquiry of each site around midnight Shanghai on the first
    of November (A just after, B just before, C on the stroke)."""
    expected = []
    for s, site_id in enumerate(("site-a", "site-b", "site-c")):
        key = add_site(store, site_id, f"Campus {site_id[-1].upper()}")
        kiosk = Kiosk(tmp_path / site_id, site_id, clock)
        partials = []
        for n in range(51):
            at = START + timedelta(hours=39 * n, minutes=13 * n)
            category = CATEGORIES[(n + s) % len(CATEGORIES)]
            if n == 50:
                at, category = NOVEMBER_1ST + timedelta(minutes=(30, -30, 0)[s]), "inquiry"
            tid = f"{site_id[-1]}-{n:03d}"
            partials.append(_reported(tid, category, at, n))
            closed = n % 5 == 0
            if closed:
                partials.append({"ticket_id": tid, "type": "closed", "at": iso(at),
                                 "actor": {"role": "receptionist", "id": "st-1", "name": "Li"},
                                 "data": {"reason": "duplicate"}})
            expected.append({"site_id": site_id, "id": tid, "category": category,
                             "status": "closed" if closed else "new", "reported_at": iso(at)})
        events = kiosk.write(partials)
        for i in range(0, len(events), 100):
            assert push(client, key, events[i:i + 100])[0].status_code == 200
    sign_in(client, store)
    client.get("/lang/en")
    return sorted(expected, key=lambda t: ticket_key(t), reverse=True)


def _in_month(ticket: dict, month: str) -> bool:
    shanghai = timezone(timedelta(hours=8))
    return datetime.fromisoformat(ticket["reported_at"]).astimezone(shanghai).strftime(
        "%Y-%m") == month


def _ids(tickets) -> list[tuple[str, str]]:
    return [(t["site_id"], t["id"]) for t in tickets]


def _page(client, **query) -> tuple[list[tuple[str, str]], str | None, str]:
    response = client.get("/tickets", query_string=query)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[:300]
    rows = re.findall(r'<a href="/sites/([^/"]+)/tickets/([^"]+)">', html)
    nxt = re.search(r'id="next-page" rel="next" href="([^"]+)"', html)
    return rows, nxt and nxt.group(1).replace("&amp;", "&"), html


def _walk(client, **query) -> list[tuple[str, str]]:
    """Follow the next-page links from the first page; return every row in order."""
    rows, nxt, _ = _page(client, **query)
    seen = list(rows)
    while nxt:
        response = client.get(nxt)
        html = response.get_data(as_text=True)
        rows = re.findall(r'<a href="/sites/([^/"]+)/tickets/([^"]+)">', html)
        assert rows and len(rows) <= ticket_list.PAGE
        seen += rows
        found = re.search(r'id="next-page" rel="next" href="([^"]+)"', html)
        nxt = found and found.group(1).replace("&amp;", "&")
    return seen


def test_the_store_pages_through_every_filter_in_key_order(store, many):
    cases = [({}, lambda t: True),
             ({"site_id": "site-b"}, lambda t: t["site_id"] == "site-b"),
             ({"category": "repair"}, lambda t: t["category"] == "repair"),
             ({"status": "closed"}, lambda t: t["status"] == "closed"),
             ({"status": "not_closed"}, lambda t: t["status"] != "closed"),
             ({"site_id": "site-c", "category": "emergency", "status": "new"},
              lambda t: (t["site_id"], t["category"], t["status"]) == ("site-c", "emergency",
                                                                       "new"))]
    for filters, keep in cases:
        want = [t for t in many if keep(t)]
        got, after = [], None
        while True:
            page = store.tickets(**filters, after=after, limit=7)
            got += page
            if len(page) < 7:
                break
            after = ticket_key(page[-1])
        assert _ids(got) == _ids(want), filters
        assert "token" not in got[0] and got[0]["site_name"].startswith("Campus")


def test_the_month_is_a_calendar_month_in_hqs_zone(store, many):
    start, end = ticket_list.month_range("2026-11", timezone(timedelta(hours=8)))
    got = store.tickets(reported_from=start, reported_before=end, category="inquiry")
    want = [t for t in many if _in_month(t, "2026-11") and t["category"] == "inquiry"]
    assert want and _ids(got) == _ids(want)
    assert {"a-050", "c-050"} <= {t["id"] for t in got} and "b-050" not in {
        t["id"] for t in got}
    october = store.tickets(reported_from=start - timedelta(days=31), reported_before=start)
    assert "b-050" in {t["id"] for t in october} and "c-050" not in {t["id"] for t in october}


def test_the_list_pages_by_cursor_without_overlap_or_gap(client, many):
    rows, nxt, html = _page(client)
    assert rows == _ids(many)[:50] and nxt and 'data-count="50+"' in html
    second, _, html2 = _page(client, after=dict(
        p.split("=", 1) for p in nxt.split("?", 1)[1].split("&"))["after"])
    assert second == _ids(many)[50:100] and not set(rows) & set(second)
    assert 'id="list-count"' not in html2 and 'id="first-page"' in html2
    assert _walk(client) == _ids(many)


def test_filters_and_month_together_give_exactly_the_tickets_in_order(client, many):
    for query in ({"category": "repair", "month": "2026-11"},
                  {"site": "site-a", "status": "not_closed", "month": "2026-10"},
                  {"status": "closed"}, {"category": "complaint"}):
        want = [t for t in many
                if all(t[k] == query[k] for k in ("category",) if k in query)
                and ("site" not in query or t["site_id"] == query["site"])
                and ("month" not in query or _in_month(t, query["month"]))
                and (query.get("status") != "closed" or t["status"] == "closed")
                and (query.get("status") != "not_closed" or t["status"] != "closed")]
        assert want and _walk(client, **query) == _ids(want), query
    rows, nxt, html = _page(client, category="emergency", month="2026-12")
    want = [t for t in many if t["category"] == "emergency" and _in_month(t, "2026-12")]
    assert rows == _ids(want) and nxt is None
    assert f'data-count="{len(want)}"' in html and 'value="2026-12"' in html


def test_the_next_page_link_keeps_the_filters(client, many):
    _, nxt, _ = _page(client, status="not_closed")
    assert "status=not_closed" in nxt and "after=" in nxt


@pytest.mark.parametrize("query", [
    {"category": "nonsense"}, {"site": "nowhere"}, {"status": "lost"}, {"month": "2026-13"},
    {"month": "nov"}, {"month": "0000-01"}, {"month": "99999-01"}, {"site": "x" * 5000},
])
def test_a_bad_filter_value_is_ignored_and_named(client, many, query):
    rows, _, html = _page(client, **query)
    assert rows == _ids(many)[:50]
    assert f'id="filters-ignored" data-ignored="{next(iter(query))}"' in html


@pytest.mark.parametrize("after", [
    "garbage", "%%%", "W10", "WyJhIiwxLDJd", ticket_list.encode_cursor(("x", "y", "z")),
    ticket_list.encode_cursor(("", "", "")), ticket_list.encode_cursor(("0001-01-01T00:00+05:00",
                                                                        "a", "b"))])
def test_a_broken_page_link_answers_400_with_the_first_page(client, many, after):
    response = client.get("/tickets", query_string={"after": after, "category": "repair"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and 'id="list-problem"' in html
    first = [t for t in many if t["category"] == "repair"][:50]
    assert re.findall(r'<a href="/sites/([^/"]+)/tickets/([^"]+)">', html) == _ids(first)


def test_a_cursor_past_the_end_or_before_the_start_is_just_a_page(client, many):
    rows, nxt, _ = _page(client, after=ticket_list.encode_cursor(("1999-01-01T00:00Z", "", "")))
    assert rows == [] and nxt is None
    rows, _, _ = _page(client, after=ticket_list.encode_cursor(("9999-01-01T00:00Z", "z", "z")))
    assert rows == _ids(many)[:50]
