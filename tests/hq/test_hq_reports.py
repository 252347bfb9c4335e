"""HQ's customer feedback reports (issue 11, point 5): a site's issued report is a known
site event (stored, never folded into tickets) listed on the reports page with its key
figures; the report of a period across all sites, computed from the tickets two sites
pushed, compares them side by side and per site."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from hq_helpers import Kiosk, add_site, events_rows, push, results, sign_in

from hq import ingest

#: 2026-12-02 10:00 in Shanghai: last month is November
DECEMBER = datetime(2026, 12, 2, 2, 0, tzinfo=timezone.utc)
MANAGER = {"role": "manager", "id": "st-9", "name": "Wang Fang"}
PERIOD = {"first": "2026-11-01", "last": "2026-11-30", "preset": "custom", "key": "2026-11"}


def nov(day: int, hour: int = 2, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=timezone.utc)


def iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).isoformat()


def repair(kiosk: Kiosk, clock, tid: str, at: datetime, on_site_after: int,
           revisit: str | None = None) -> None:
    """A repair reported at ``at``, maintenance on site ``on_site_after`` minutes later,
    completed, and called back with ``revisit``."""
    kiosk.report(tid, "repair", at=at)
    clock.now = at
    kiosk.act(tid, "confirmed")
    kiosk.act(tid, "dispatched", {"department": "maintenance"})
    clock.now = at + timedelta(minutes=on_site_after)
    kiosk.act(tid, "arrived", {"how": "verified"})
    clock.now += timedelta(hours=1)
    kiosk.act(tid, "completed", {"result": "fixed",
                                 "revisit_due": iso(clock.now + timedelta(days=1))})
    if revisit:
        clock.now += timedelta(hours=2)
        kiosk.act(tid, "revisited", {"outcome": revisit, "comment": "still dripping"
                                     if revisit == "unsatisfied" else ""})


def complaint_told(kiosk: Kiosk, clock, tid: str, at: datetime) -> None:
    kiosk.report(tid, "complaint", at=at)
    clock.now = at + timedelta(hours=1)
    kiosk.act(tid, "confirmed")
    kiosk.act(tid, "investigated", {"facts": "noise at night"})
    kiosk.act(tid, "signed_off", {"remarks": ""}, actor=MANAGER)
    kiosk.act(tid, "transferred", {"department": "security"})
    kiosk.act(tid, "resolved", {"result": "quiet hours enforced"})
    kiosk.act(tid, "fed_back", {"how": "phone", "said": "thanks",
                                "revisit_due": iso(clock.now + timedelta(days=1))})


def issued_event(kiosk: Kiosk, clock, figures: dict, remarks: str = "A quiet month.") -> dict:
    clock.now = DECEMBER
    return kiosk.act(None, "report_issued", {"period": PERIOD, "figures": figures,
                                             "remarks": remarks, "request_id": "form-1"},
                     actor=MANAGER)


@pytest.fixture
def two_sites(store, clock, tmp_path, client):
    """Site A: two repairs (one on site in time, called back satisfied), a complaint whose
    result the customer was told; site B: a repair on site in time (called back, not
    satisfied), an emergency, and a repair reported in December; both pushed to HQ."""
    a, b = Kiosk(tmp_path / "a", "site-a", clock), Kiosk(tmp_path / "b", "site-b", clock)
    keys = {"site-a": add_site(store, "site-a", "Campus A"),
            "site-b": add_site(store, "site-b", "Campus B")}
    repair(a, clock, "a-1", nov(3), 20, "satisfied")
    repair(a, clock, "a-2", nov(5), 55)
    complaint_told(a, clock, "a-3", nov(12))
    repair(b, clock, "b-1", nov(10), 10, "unsatisfied")
    b.report("b-2", "emergency", at=nov(20))
    b.report("b-3", "repair", at=DECEMBER - timedelta(hours=1))
    for kiosk in (a, b):
        response, answer = push(client, keys[kiosk.site_id], kiosk.events)
        assert response.status_code == 200 and set(results(answer)) == {"stored"}, store.alarms()
    clock.now = DECEMBER
    return {"a": a, "b": b, "keys": keys}


def page(client, store, query: str = "") -> str:
    sign_in(client, store)
    client.get("/lang/en")  # assert on the English msgids, whatever the catalog holds
    response = client.get(f"/reports{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def row(html: str, row_id: str) -> dict[str, str]:
    """The figures of one table row, by its cells' data-figure, as text."""
    found = re.search(rf'<tr id="{row_id}"[^>]*>(.*?)</tr>', html, re.S)
    assert found, row_id
    return {name: " ".join(re.sub(r"<[^>]+>", " ", text).split())
            for name, text in re.findall(r'data-figure="([^"]+)">(.*?)</td>', found.group(1), re.S)}


def title(html: str) -> str:
    return " ".join(re.search(r'<h2 id="report-title">(.*?)</h2>', html, re.S).group(1).split())


# -- ingest ------------------------------------------------------------------------------------
def test_hq_stores_an_issued_report_as_a_known_site_event(hq, client, store, kiosk, clock):
    key = add_site(store)
    event = issued_event(kiosk, clock, {"total": 3})
    response, answer = push(client, key, [event])
    assert response.status_code == 200 and results(answer) == ["stored"]
    assert "report_issued" in ingest.SITE_EVENT_TYPES
    [stored] = events_rows(hq)
    assert (stored["type"], stored["applied"], stored["ticket_id"]) == ("report_issued", 1, None)
    assert store.tickets() == []  # a site event: nothing folded
    [listed] = store.issued_reports()
    assert listed["period"] == PERIOD and listed["figures"] == {"total": 3}
    assert listed["actor"] == MANAGER and listed["remarks"] == "A quiet month."


@pytest.mark.parametrize("data, problem", [
    ({"figures": {}}, "data.period is missing"),
    ({"period": PERIOD, "figures": []}, "data.figures must be an object"),
    ({"period": {**PERIOD, "key": 11}, "figures": {}}, "data.period.key must be a string"),
    ({"period": PERIOD, "figures": {}, "remarks": 5}, "data.remarks must be a string or null"),
])
def test_a_malformed_issued_report_is_refused(client, store, kiosk, clock, data, problem):
    key = add_site(store)
    event = kiosk.act(None, "report_issued", data, actor=MANAGER)
    response, answer = push(client, key, [event])
    assert response.status_code == 422 and problem in answer["error"]


# -- the reports page ----------------------------------------------------------------------------
def test_the_reports_page_lists_the_issued_reports_with_their_key_figures(
        client, store, two_sites, clock):
    figures = {"total": 3, "repairs": {"count": 2, "in_time_share": 0.5},
               "revisits": {"done": 1, "satisfied_share": 1.0}, "emergencies": []}
    event = issued_event(two_sites["a"], clock, figures, remarks="Lifts: call the vendor.")
    push(client, two_sites["keys"]["site-a"], [event])
    html = page(client, store)
    assert 'href="/reports"' in html  # the menu
    issued = row(html, "issued-site-a-2026-11")
    assert issued == {"total": "3", "in-time": "50%", "satisfied": "100%"}
    listed = re.search(r'<tr id="issued-site-a-2026-11">(.*?)</tr>', html, re.S).group(1)
    assert "Campus A" in listed and "Wang Fang" in listed and "Lifts: call the vendor." in listed
    assert "issued-site-b" not in html
    assert "issued-site-a" not in page(client, store, "?site=site-b")


def test_the_sites_are_compared_side_by_side_from_the_tickets_they_pushed(
        client, store, two_sites):
    html = page(client, store)  # last month: November, in HQ's zone
    assert row(html, "compare-site-a") == {
        "total": "3", "in-time": "50% of 2 repairs", "fed-back": "100% of 1 complaints",
        "satisfied": "100% 1 called back", "emergencies": "0"}
    assert row(html, "compare-site-b") == {
        "total": "2", "in-time": "100% of 1 repairs", "fed-back": "— of 0 complaints",
        "satisfied": "0% 1 called back", "emergencies": "1"}
    assert row(html, "compare-all") == {
        "total": "5", "in-time": "67% of 3 repairs", "fed-back": "100% of 1 complaints",
        "satisfied": "50% 2 called back", "emergencies": "1"}
    assert 'data-figure="total"><strong>5</strong>' in html  # every site's figures
    assert "5 matters in all" in html  # the summary, from the same figures


def test_a_site_filter_shows_that_sites_figures(client, store, two_sites):
    html = page(client, store, "?site=site-b")
    assert title(html) == "Campus B · 2026-11-01 – 2026-11-30"
    assert 'data-figure="total"><strong>2</strong>' in html
    assert 'data-figure="emergencies"><strong>1</strong>' in html
    assert 'id="compare-site-a"' in html  # the comparison still shows every site


def test_this_month_counts_what_was_reported_in_december(client, store, two_sites):
    html = page(client, store, "?preset=this_month")
    assert row(html, "compare-site-b")["total"] == "1"
    assert row(html, "compare-site-a")["total"] == "0"
    assert row(html, "compare-all")["total"] == "1"
    unknown = page(client, store, "?preset=nonsense&site=nowhere")  # last month, every site
    assert row(unknown, "compare-all")["total"] == "5" and "All sites" in title(unknown)


def test_tickets_reported_reads_a_period_of_all_sites_or_one(store, two_sites):
    start, end = nov(1) - timedelta(hours=8), nov(30) + timedelta(hours=16)
    every = store.tickets_reported(start, end)
    assert [t["id"] for t in every] == ["a-1", "a-2", "b-1", "a-3", "b-2"]  # as reported
    assert all("token" not in t and t["events"] for t in every)
    assert [t["id"] for t in store.tickets_reported(start, end, "site-b")] == ["b-1", "b-2"]
