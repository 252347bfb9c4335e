"""HQ's cross-site ticket list: filters by site, category, status and the month reported
(HQ's zone), keyset pages of 50 whose "next page" link carries the cursor, and bad filter
values or page links that never break the page (at scale, ``many``); numbers shown with
their site, the searches (number, phone, days), late and unsigned as the sites page counts
them, the count, place names folded from the sites' place events (and backfilled by the
migration), statuses in words, the CSV/xlsx export, and no whole phone number on any HQ
page or file (``desk``). Every test runs on SQLite and on PostgreSQL."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta, timezone

import pytest
from hq_helpers import Kiosk, add_site, iso, push, raw_sql, sign_in
from openpyxl import load_workbook

from hq import ticket_list, transfer
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
    assert rows == _ids(many)[:50] and nxt and 'data-count="153"' in html
    second, _, html2 = _page(client, after=dict(
        p.split("=", 1) for p in nxt.split("?", 1)[1].split("&"))["after"])
    assert second == _ids(many)[50:100] and not set(rows) & set(second)
    assert 'data-count="153"' in html2 and 'id="first-page"' in html2
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


# -- searches, late and unsigned, places, export, masking (issue 15) -------------------------
NOW = datetime(2026, 11, 28, 2, 0, tzinfo=timezone.utc)  # the ``clock``: 10:00 in Shanghai
PHONE = "13800138000"
OTHER_PHONE = "13912348000"  # the same last 4 digits
SITES = (("site-a", "北区"), ("site-b", "南区"), ("site-c", "East"))
PLACES = [{"code": "B1-201", "name_zh": "1号楼 201室", "name_en": "Building 1, Room 201",
           "building": "1号楼"},
          {"code": "GATE", "name_zh": "北门", "name_en": "North Gate", "building": ""}]


def _report(tid: str, number: str, at: datetime, *, category: str = "repair",
            phone: str = "", location: str = "", due: datetime | None = None) -> dict:
    return {"ticket_id": tid, "type": "reported", "at": iso(at), "actor": {"role": "visitor"},
            "data": {"number": number, "token": f"t-{tid}", "day": at.date().isoformat(),
                     "category": category, "channel": "kiosk", "location": location,
                     "description": "水管漏水", "name": "王先生", "phone": phone,
                     "preferred_at": None, "due_at": iso(due or at + timedelta(hours=2))}}


def _act(tid: str | None, kind: str, at: datetime, data: dict | None = None) -> dict:
    return {"ticket_id": tid, "type": kind, "at": iso(at),
            "actor": {"role": "manager", "id": "m-1", "name": "王芳"}, "data": data or {}}


@pytest.fixture
def desk(hq, client, store, tmp_path, clock):
    """Three sites whose numbers collide (R-1202-010 at each), phones, places, late and
    unsigned tickets, and tickets around midnight Shanghai on 28 November; signed in, in
    English. Returns each site's ``Kiosk`` and key, to send more."""
    found = {}
    for site_id, name in SITES:
        key = add_site(store, site_id, name)
        found[site_id] = (Kiosk(tmp_path / site_id, site_id, clock), key)
    a, b, c = (found[s][0] for s, _ in SITES)
    day = NOW - timedelta(days=3)
    sent = {
        "site-a": [_act(None, "locations_imported", day, {"rows": PLACES, "replace_demo": False}),
                   _report("a-1", "R-1202-010", day, phone=PHONE, location="B1-201"),
                   _report("a-2", "C-1202-011", day + timedelta(minutes=5), category="complaint",
                           phone="138-0013-8000"),
                   _report("a-3", "C-1202-012", day + timedelta(minutes=6), category="complaint"),
                   _act("a-3", "confirmed", day + timedelta(minutes=7)),
                   _act("a-3", "investigated", day + timedelta(minutes=8), {"facts": "f"}),
                   _act("a-3", "signed_off", day + timedelta(minutes=9)),
                   _report("a-4", "R-1202-013", day + timedelta(minutes=10), location="NOWHERE",
                           due=NOW + timedelta(hours=1)),
                   # around midnight in Shanghai: 27 Nov 23:59:59, 28 Nov 00:00, 28 Nov 23:59
                   _report("a-5", "I-1127-001", datetime(2026, 11, 27, 15, 59, 59,
                                                         tzinfo=timezone.utc), category="inquiry"),
                   _report("a-6", "I-1128-001", datetime(2026, 11, 27, 16, 0,
                                                         tzinfo=timezone.utc), category="inquiry"),
                   _report("a-7", "I-1128-002", datetime(2026, 11, 28, 15, 59,
                                                         tzinfo=timezone.utc), category="inquiry",
                           due=NOW + timedelta(days=2))],
        "site-b": [_report("b-1", "R-1202-010", day + timedelta(minutes=1), phone=OTHER_PHONE),
                   _report("b-2", "C-1202-011", day + timedelta(minutes=2), category="complaint"),
                   _report("b-3", "R-1202-012", day + timedelta(minutes=3)),
                   _act("b-3", "closed", day + timedelta(minutes=4), {"reason": "duplicate"})],
        "site-c": [_act(None, "location_saved", day, {**PLACES[1], "active": True}),
                   _report("c-1", "R-1202-010", day + timedelta(minutes=2), phone=PHONE,
                           location="GATE")],
    }
    for site_id, partials in sent.items():
        kiosk, key = found[site_id]
        response, answer = push(client, key, kiosk.write(partials))
        assert response.status_code == 200 and set(results_of(answer)) == {"stored"}, answer
    sign_in(client, store)
    client.get("/lang/en")
    return found


def results_of(answer: dict) -> list[str]:
    return [r["result"] for r in answer["results"]]


def _rows(client, expect: int = 200, **query) -> tuple[list[tuple[str, str]], str]:
    response = client.get("/tickets", query_string=query)
    html = response.get_data(as_text=True)
    assert response.status_code == expect, (query, html[:500])
    return re.findall(r'<a href="/sites/([^/"]+)/tickets/([^"]+)">', html), html


def _count(html: str) -> str:
    return re.search(r'id="list-count" data-count="([^"]+)"', html).group(1)


def test_numbers_that_collide_across_sites_are_shown_with_their_site(client, desk):
    rows, html = _rows(client, number="R-1202-010")
    assert sorted(rows) == [("site-a", "a-1"), ("site-b", "b-1"), ("site-c", "c-1")]
    refs = re.findall(r'<span class="ref">(.*?) · <span class="number">(.*?)</span>', html)
    assert sorted(refs) == [("East", "R-1202-010"), ("北区", "R-1202-010"),
                            ("南区", "R-1202-010")]
    assert _count(html) == "3"


@pytest.mark.parametrize("typed, want", [
    ("r-1202-010", {"a-1", "b-1", "c-1"}), ("R1202010", {"a-1", "b-1", "c-1"}),
    ("北区 · R-1202-010", {"a-1"}), ("南区 r-1202-010", {"b-1"}), ("site-c R-1202-010", {"c-1"}),
    ("east·R-1202-010", {"c-1"}), ("C-1202-011", {"a-2", "b-2"}), ("R-1202-099", set())])
def test_a_number_is_found_exactly_in_any_case_with_or_without_its_site(client, desk, typed,
                                                                       want):
    rows, html = _rows(client, number=typed)
    assert {tid for _, tid in rows} == want and _count(html) == str(len(want))
    assert f'value="{typed}"' in html.replace("&#39;", "'")


@pytest.mark.parametrize("typed, want", [
    (PHONE, {"a-1", "a-2", "c-1"}), ("138 0013 8000", {"a-1", "a-2", "c-1"}),
    ("+86 138 0013 8000", {"a-1", "a-2", "c-1"}), ("8000", {"a-1", "a-2", "b-1", "c-1"}),
    (OTHER_PHONE, {"b-1"}), ("13800000000", set())])
def test_a_phone_is_found_by_the_whole_number_or_its_last_4_digits(client, desk, typed, want):
    rows, html = _rows(client, phone=typed)
    assert {tid for _, tid in rows} == want and _count(html) == str(len(want))


@pytest.mark.parametrize("query, want", [
    ({"from": "2026-11-28"}, {"a-6", "a-7"}), ({"to": "2026-11-27", "category": "inquiry"},
                                                {"a-5"}),
    ({"from": "2026-11-28", "to": "2026-11-28"}, {"a-6", "a-7"}),
    ({"from": "2026-11-27", "to": "2026-11-27", "category": "inquiry"}, {"a-5"}),
    ({"from": "2026-11-25", "to": "2026-11-25", "site": "site-b"}, {"b-1", "b-2", "b-3"}),
    ({"month": "2026-11", "from": "2026-11-28"}, {"a-6", "a-7"})])
def test_the_days_reported_are_days_in_hqs_zone_both_included(client, desk, query, want):
    rows, html = _rows(client, **query)
    assert {tid for _, tid in rows} == want


def test_late_and_unsigned_are_what_the_sites_page_counts(client, store, desk, clock):
    summaries = {s["site_id"]: s for s in store.site_summaries(clock())}
    for site_id, _ in SITES:
        rows, html = _rows(client, late="1", category="repair", site=site_id)
        assert len(rows) == summaries[site_id]["late_repairs"], site_id
        rows, html = _rows(client, unsigned="1", site=site_id)
        assert len(rows) == summaries[site_id]["unsigned_complaints"], site_id
        assert _count(html) == str(len(rows))
    rows, _ = _rows(client, late="1")
    assert {tid for _, tid in rows} == {"a-1", "a-2", "a-3", "a-5", "a-6", "b-1", "b-2", "c-1"}
    rows, _ = _rows(client, unsigned="1")
    assert {tid for _, tid in rows} == {"a-2", "b-2"}  # a-3 signed off


def test_late_tickets_are_marked_in_words_and_statuses_are_words(client, desk):
    _, html = _rows(client, site="site-a")
    late = {tid: flag for flag, tid in re.findall(
        r'data-late="(\d)">\s*<td class="ticket-ref"><a href="/sites/site-a/tickets/([^"]+)">',
        html)}
    assert late == {"a-1": "1", "a-2": "1", "a-3": "1", "a-4": "0", "a-5": "1", "a-6": "1",
                    "a-7": "0"}
    assert html.count('<span class="badge late-badge">Late</span>') == 5
    assert "Received, waiting for the front desk" in html and ">new<" not in html
    client.get("/lang/zh_CN")
    _, html = _rows(client, site="site-a")
    assert html.count('class="badge late-badge"') == 5


def test_the_count_covers_every_page_and_paging_keeps_a_search(client, store, desk, clock):
    kiosk, key = desk["site-b"]
    start = NOW - timedelta(days=2)
    partials = [_report(f"p-{n:03d}", f"R-1126-{n:03d}", start + timedelta(minutes=n),
                        phone=f"1370000{n:04d}"[-11:] if n % 2 else "13700008000")
                for n in range(1, 121)]
    events = kiosk.write(partials)
    for i in range(0, len(events), 100):
        assert push(client, key, events[i:i + 100])[0].status_code == 200
    want = sorted(({"site_id": "site-b", "id": p["ticket_id"], "reported_at": p["at"]}
                   for p in partials if p["data"]["phone"].endswith("8000")),
                  key=ticket_key, reverse=True)
    want = _ids(want) + [("site-b", "b-1")]  # OTHER_PHONE ends in 8000 too, and is older
    seen = _walk(client, phone="8000", site="site-b")
    assert seen == want and len(seen) > ticket_list.PAGE
    _, html = _rows(client, phone="8000", site="site-b")
    assert _count(html) == str(len(want))
    assert store.ticket_count(site_id="site-b", cap=10) == 11  # counted no further
    assert store.ticket_count(site_id="site-b", cap=1000) == 123


COMPLAINTS = {"a-2", "a-3", "b-2"}


@pytest.mark.parametrize("query, field, want", [
    ({"number": "hello"}, "number", COMPLAINTS), ({"number": "x" * 5000}, "number", COMPLAINTS),
    ({"number": "西区 · R-1202-010"}, "number", COMPLAINTS),
    ({"number": "北区 R-1202-010", "site": "site-b"}, "number", {"b-2"}),
    ({"phone": "12"}, "phone", COMPLAINTS), ({"phone": "abcd"}, "phone", COMPLAINTS),
    ({"phone": "١٢٣٤"}, "phone", COMPLAINTS),
    ({"from": "2026-02-30"}, "from", COMPLAINTS), ({"from": "yesterday"}, "from", COMPLAINTS),
    ({"to": "9999-12-31"}, "to", COMPLAINTS), ({"from": "0001-01-01"}, "from", COMPLAINTS),
    ({"from": "2026-11-25", "to": "2026-11-24"}, "to", COMPLAINTS),
    ({"from": "2026-11-28", "to": "2026-11-27"}, "to", set())])
def test_a_search_that_cannot_be_made_says_so_next_to_its_field(client, desk, query, field,
                                                                want):
    rows, html = _rows(client, expect=422, category="complaint", **query)
    assert f'id="error-{field}"' in html and 'id="search-problem"' in html
    assert re.search(r'<option value="complaint" selected>', html)  # the rest kept...
    assert {tid for _, tid in rows} == want  # ...and applied
    for name, typed in query.items():
        if name != "site":
            assert f'name="{name}" value="{typed[:200]}"' in html


def test_places_are_named_in_the_pages_language_the_code_otherwise(client, desk):
    rows, html = _rows(client, site="site-a")
    assert "Building 1, Room 201" in html and ">NOWHERE<" in html
    client.get("/lang/zh_CN")
    _, html = _rows(client, site="site-a")
    assert "1号楼 201室" in html and "Building 1" not in html
    _, html = _rows(client, site="site-c")
    assert "北门" in html


def test_a_renamed_place_shows_its_new_name(client, desk, clock):
    kiosk, key = desk["site-a"]
    renamed = {**PLACES[0], "name_en": "Block 1, Room 201", "active": True}
    assert push(client, key, kiosk.write([_act(None, "location_saved", clock(), renamed)]))[
        0].status_code == 200
    html = client.get("/sites/site-a/tickets/a-1").get_data(as_text=True)
    assert 'id="ticket-place">Block 1, Room 201<' in html


def test_places_and_search_columns_are_backfilled_by_the_migration(hq, backend, desk):
    """A database upgraded from version 3 (the columns, indexes and places table dropped
    again) gets them back from the events and ticket states it holds."""
    hq.extensions["hq_store"].close()
    undo = ["DROP TABLE places"] + [f"DROP INDEX IF EXISTS {i}" for i in (
        "tickets_number", "tickets_phone", "tickets_phone_last4", "tickets_late",
        "tickets_list_unsigned")] + [
        f"ALTER TABLE tickets DROP COLUMN {c}" for c in ("number_key", "phone_digits",
                                                         "phone_last4")]
    undo.append("PRAGMA user_version = 3" if backend.name == "sqlite"
                else "DELETE FROM schema_version WHERE version = 4")
    for sql in undo:
        raw_sql(hq, sql)
    upgraded = backend.store()
    try:
        assert {t["id"] for t in upgraded.tickets(number="R-1202-010")} == {"a-1", "b-1", "c-1"}
        assert {t["id"] for t in upgraded.tickets(phone=PHONE)} == {"a-1", "a-2", "c-1"}
        assert {t["id"] for t in upgraded.tickets(phone_last4="8000")} == {"a-1", "a-2", "b-1",
                                                                         "c-1"}
        a1 = upgraded.ticket("site-a", "a-1")
        assert (a1["place_zh"], a1["place_en"]) == ("1号楼 201室", "Building 1, Room 201")
        assert upgraded.ticket("site-c", "c-1")["place_en"] == "North Gate"
        assert upgraded.ticket("site-a", "a-4")["place_en"] is None
    finally:
        upgraded.close()


def _export(client, kind: str, **query) -> bytes:
    response = client.get(f"/tickets/export.{kind}", query_string=query)
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert re.fullmatch(rf'attachment; filename="hq-tickets-\d{{8}}-\d{{4}}\.{kind}"',
                        disposition) and disposition.isascii()
    return response.get_data()


def test_the_export_holds_the_whole_filtered_list_masked_in_both_formats(client, desk):
    data = _export(client, "csv", site="site-a")
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline="")))
    assert rows[0] == ["Site", "Number", "Category", "Status", "Late", "Reported at", "Due",
                       "Closed at", "Place", "Phone (masked)"]
    by_number = {r[1]: r for r in rows[1:]}
    assert len(rows) == 8 and set(by_number) == {"R-1202-010", "C-1202-011", "C-1202-012",
                                                 "R-1202-013", "I-1127-001", "I-1128-001",
                                                 "I-1128-002"}
    assert by_number["R-1202-010"] == ["北区", "R-1202-010", "Repair",
                                       "Received, waiting for the front desk", "Late",
                                       "2026-11-25 10:00:00", "2026-11-25 12:00:00", "",
                                       "Building 1, Room 201", "*******8000"]
    assert by_number["R-1202-013"][4] == "" and by_number["R-1202-013"][8] == "NOWHERE"
    book = load_workbook(io.BytesIO(_export(client, "xlsx", site="site-a")))
    sheet = [[c if c is not None else "" for c in row]
             for row in book.active.iter_rows(values_only=True)]
    assert sheet == rows
    closed = list(csv.reader(io.StringIO(_export(client, "csv", site="site-b", status="closed")[
        3:].decode("utf-8"), newline="")))
    assert [r[1] for r in closed[1:]] == ["R-1202-012"] and closed[1][6] == "" and closed[1][7]


def test_an_export_stops_at_its_maximum_and_says_so(client, desk, monkeypatch):
    monkeypatch.setattr(ticket_list, "EXPORT_MAX", 3)
    rows = list(csv.reader(io.StringIO(_export(client, "csv")[3:].decode("utf-8"),
                                       newline="")))
    assert len(rows) == 1 + 3 + 1 and "Only the first 3 tickets" in rows[-1][0]
    assert _rows(client)[0]  # the page still lists them all
    assert client.get("/tickets/export.pdf").status_code == 404


def test_a_place_name_that_looks_like_a_formula_is_defused(client, desk, clock):
    kiosk, key = desk["site-a"]
    evil = {"code": "B1-201", "name_zh": "=HYPERLINK(\"http://x\")", "name_en": "=1+1",
            "active": True}
    assert push(client, key, kiosk.write([_act(None, "location_saved", clock(), evil)]))[
        0].status_code == 200
    rows = list(csv.reader(io.StringIO(_export(client, "csv", number="北区 R-1202-010")[
        3:].decode("utf-8"), newline="")))
    assert rows[1][8] == "'=1+1"


def test_no_hq_page_or_export_holds_a_whole_phone_number(client, desk, clock):
    kiosk, key = desk["site-a"]
    amend = _act("a-1", "confirmed", clock())
    correction = _act("a-1", "amended", clock(), {"phone": {"old": PHONE, "new": "13511112222"}})
    assert push(client, key, kiosk.write([amend, correction]))[0].status_code == 200
    pages = ["/", "/tickets", "/sites/site-a",
             "/sites/site-a/tickets/a-1", "/sites/site-a/tickets/a-2",
             "/sites/site-b/tickets/b-1", "/sites/site-c/tickets/c-1", "/reports",
             "/reports?preset=this_month"]
    for lang in ("en", "zh_CN"):
        client.get(f"/lang/{lang}")
        for path in pages:
            html = client.get(path).get_data(as_text=True)
            digits = re.sub(r"[\s\-]", "", html)
            for phone in (PHONE, OTHER_PHONE, "13511112222"):
                assert phone not in digits, (path, phone)
    # a search by a whole number shows it only where it was typed
    html = client.get("/tickets", query_string={"phone": PHONE}).get_data(as_text=True)
    assert re.findall(r'<a href="/sites/[^"]+">', html) and html.count(PHONE) == html.count(
        f'value="{PHONE}"') + html.count(f"phone={PHONE}") + html.count(f"phone%3D{PHONE}")
    html = client.get("/sites/site-a/tickets/a-1").get_data(as_text=True)
    assert 'id="ticket-phone">*******2222<' in html and "*******8000" in html
    for kind in ("csv", "xlsx"):
        data = _export(client, kind)
        text = data.decode("utf-8", "replace") if kind == "csv" else "".join(
            str(c) for row in load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True)
            for c in row)
        for phone in (PHONE, OTHER_PHONE, "13511112222"):
            assert phone not in text, (kind, phone)


def test_places_and_searches_survive_a_move_to_another_database(store, backend, desk, tmp_path):
    """``run.py hq export`` / ``import``: the import re-ingests every event, so the places
    and the search columns are folded again on the new database."""
    file = tmp_path / "move.jsonl"
    transfer.export(store, file)
    target = backend.store("moved")
    try:
        transfer.import_file(target, file)
        assert target.ticket("site-a", "a-1")["place_en"] == "Building 1, Room 201"
        assert {t["id"] for t in target.tickets(phone_last4="8000")} == {"a-1", "a-2", "b-1",
                                                                         "c-1"}
        assert target.ticket_count(unsigned=True) == 2
    finally:
        target.close()
