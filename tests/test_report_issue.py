"""The customer feedback report prepared for the manager and issued to HQ (issue 11,
point 2): waiting on a manager's queue once its period ended, issued as one signed
``report_issued`` event with its figures, issued once however often it is sent, refused
to a receptionist, listed for the desk, and rebuilt from the log like every projection."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from helpers import csrf_token, sign_in

from common.validation import ValidationError
from kiosk import permissions
from kiosk.reports import issue
from kiosk.store import Store
from kiosk.tickets import actions, figures, service

TZ = ZoneInfo("Asia/Shanghai")
VISITOR = {"role": "visitor"}
LI = {"role": "receptionist", "id": "s-li", "name": "Li"}
ENTRY = {"category": "repair", "location": "DEMO-LIB", "description": "Broken light",
         "phone": "13812345678"}
#: 2026-12-02 10:00 in Shanghai: November has ended
DECEMBER = datetime(2026, 12, 2, 2, 0, tzinfo=timezone.utc)
REQUEST_ID = re.compile(r'name="request_id" value="([^"]+)"')


def html_of(response) -> str:
    return response.get_data(as_text=True)


def issued_events(store) -> list[dict]:
    return [e for e in store.events_after(0) if e["type"] == "report_issued"]


@pytest.fixture
def november(store, clock):
    """Three matters reported in November (one repair on site in time), one in October;
    the clock then on 2 December."""
    for when, category in ((datetime(2026, 10, 20, 2, tzinfo=timezone.utc), "repair"),
                           (datetime(2026, 11, 3, 2, tzinfo=timezone.utc), "repair"),
                           (datetime(2026, 11, 10, 6, tzinfo=timezone.utc), "complaint"),
                           (datetime(2026, 11, 30, 15, 30, tzinfo=timezone.utc), "repair")):
        clock.now = when
        ticket = service.submit_report(store, {**ENTRY, "category": category}, channel="kiosk",
                                       actor=VISITOR, now=when, tz=TZ)
        if when.month == 11 and when.day == 3:
            actions.confirm(store, ticket["id"], {}, actor=LI, now=when)
            actions.dispatch(store, ticket["id"], "maintenance", actor=LI, now=when)
            clock.now = when.replace(minute=20)
            actions.arrive(store, ticket["id"], actor=LI, now=clock.now)
    clock.now = DECEMBER
    return store


class Manager:
    """A manager at the issue page, sending the form as the page renders it."""

    def __init__(self, app, client):
        self.client = client
        self.staff = sign_in(app, client, "Wang Fang", "manager")
        client.get("/lang/en")  # assert on the English msgids, whatever the catalog holds

    def form(self, period: str = "2026-11") -> dict:
        page = html_of(self.client.get(f"/staff/reports/issue?period={period}"))
        return {"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1),
                "request_id": REQUEST_ID.search(page).group(1)}

    def issue(self, form: dict, remarks: str = "Repairs were quick.", period: str = "2026-11"):
        return self.client.post(f"/staff/reports/issue?period={period}",
                                data={**form, "remarks": remarks})


@pytest.fixture
def manager(app, client, november):
    return Manager(app, client)  # signed in on 2 December, after the tickets


# -- the period due ---------------------------------------------------------------------------
def test_the_report_due_is_the_last_period_ended_until_it_is_issued(store):
    assert issue.due(store, date(2026, 12, 2), TZ, 1).key == "2026-11"
    assert issue.due(store, date(2026, 11, 28), TZ, 1).key == "2026-10"
    assert issue.due(store, date(2026, 12, 2), TZ, 2).key == "2026-09..2026-10"
    period = figures.period_ended(date(2026, 12, 2), TZ, 1)
    issue.issue(store, period, {"total": 0}, "", actor={"role": "manager", "id": "m",
                                                        "name": "Wang"}, now=DECEMBER)
    assert issue.due(store, date(2026, 12, 31), TZ, 1) is None
    assert issue.due(store, date(2027, 1, 1), TZ, 1).key == "2026-12"


@pytest.mark.parametrize("months", [0, 3, "2", None])
def test_a_report_period_other_than_one_or_two_months_fails_the_start(tmp_path, months):
    from kiosk import create_app
    with pytest.raises(ValueError, match="REPORT_MONTHS"):
        create_app({"TESTING": True, "DATA_DIR": str(tmp_path), "REPORT_MONTHS": months})


@pytest.mark.parametrize("key, first, last", [
    ("2026-11", date(2026, 11, 1), date(2026, 11, 30)),
    ("2026-09..2026-10", date(2026, 9, 1), date(2026, 10, 31)),
    ("2026-11-01..2026-11-15", date(2026, 11, 1), date(2026, 11, 15)),
])
def test_a_period_is_named_by_its_key(key, first, last):
    period = issue.period_of(key, date(2026, 12, 2), TZ)
    assert (period.first, period.last, period.key) == (first, last, key)


@pytest.mark.parametrize("key", ["2026-12", "2026-13", "2026-11-01..2026-11-30", "11-2026",
                                 "2026-11-20..2026-11-01", "2020-01..2026-11", "", None])
def test_a_period_not_ended_or_misnamed_cannot_be_issued(key):
    with pytest.raises(issue.UnknownPeriod):
        issue.period_of(key, date(2026, 12, 2), TZ)


# -- the banner ---------------------------------------------------------------------------------
def test_the_banner_waits_on_a_managers_queue_once_the_month_ended(app, client, november):
    Manager(app, client)
    queue = html_of(client.get("/staff/"))
    assert 'id="report-ready"' in queue
    assert "The customer feedback report for last month (2026-11) is ready" in queue
    assert 'href="/staff/reports/issue?period=2026-11"' in queue


def test_a_receptionist_sees_no_banner_and_may_not_issue(app, client, november):
    sign_in(app, client, "Li Na", "receptionist")
    assert 'id="report-ready"' not in html_of(client.get("/staff/"))
    assert client.get("/staff/reports/issue?period=2026-11").status_code == 403
    token = csrf_token(client, "/staff/")
    assert client.post("/staff/reports/issue?period=2026-11",
                       data={"csrf_token": token, "remarks": "x"}).status_code == 403
    assert issued_events(november) == []
    assert client.get("/staff/reports/issued").status_code == 200


# -- issuing -------------------------------------------------------------------------------------
def test_issuing_appends_one_signed_event_with_the_figures(app, manager, november, client):
    page = html_of(client.get("/staff/reports/issue?period=2026-11"))
    assert "Issue the report" in page and 'data-figure="total"><strong>3</strong>' in page
    assert "first=2026-11-01" in page and "last=2026-11-30" in page  # the whole report
    before = november.last_seq
    response = manager.issue(manager.form())
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/staff/reports/issued#report-2026-11")
    [event] = november.events_after(before)
    expected = issue.report_of(november, issue.period_of("2026-11", date(2026, 12, 2), TZ),
                               app.config["POLICY"])
    assert event["type"] == "report_issued" and event["ticket_id"] is None
    assert event["actor"] == {k: manager.staff[k] for k in ("role", "id", "name")}
    assert event["data"]["period"] == {"first": "2026-11-01", "last": "2026-11-30",
                                       "preset": "custom", "key": "2026-11"}
    assert event["data"]["figures"] == expected
    assert event["data"]["remarks"] == "Repairs were quick."
    sent = event["data"]["figures"]
    assert (sent["total"], sent["previous_total"]) == (3, 1)
    assert sent["repairs"]["in_time"] == 1 and sent["by_category"]["complaint"] == 1
    listed = html_of(client.get("/staff/reports/issued"))
    assert 'id="report-2026-11"' in listed and "Wang Fang" in listed
    assert "Repairs were quick." in listed
    assert 'id="report-ready"' not in html_of(client.get("/staff/"))  # issued: the banner goes
    assert "Issued by Wang Fang" in html_of(client.get("/staff/reports/issue?period=2026-11"))


def test_a_resend_or_a_second_issue_stores_nothing(manager, november, client):
    form, other_tablet = manager.form(), manager.form()
    assert manager.issue(form).status_code == 303
    seq = november.last_seq
    assert manager.issue(form).status_code == 303  # the same form again
    assert manager.issue(other_tablet, remarks="Another try").status_code == 303
    assert november.last_seq == seq and len(issued_events(november)) == 1
    assert november.issued_report("2026-11")["remarks"] == "Repairs were quick."
    assert "already issued" in html_of(client.get("/staff/reports/issued"))


def test_remarks_too_long_are_shown_again_with_the_text_kept(manager, november):
    response = manager.issue(manager.form(), remarks="长" * 2001)
    page = html_of(response)
    assert response.status_code == 422
    assert "Please keep this to 2000 characters or fewer." in page and "长" * 2001 in page
    assert issued_events(november) == []
    with pytest.raises(ValidationError):
        issue.issue(november, issue.period_of("2026-11", date(2026, 12, 2), TZ), {}, "a\x00b",
                    actor={"role": "manager", "id": "m", "name": "W"}, now=DECEMBER)


def test_a_period_not_ended_or_unknown_is_not_found(manager, november, client):
    assert client.get("/staff/reports/issue?period=2026-12").status_code == 404
    assert client.get("/staff/reports/issue?period=nonsense").status_code == 404
    assert client.get("/staff/reports/issue").status_code == 200  # the last period ended
    assert issued_events(november) == []


def test_only_managers_may_issue_and_the_desk_may_read():
    assert {r for r in permissions.ROLES if permissions.may(r, "issue_reports")} == {"manager"}
    assert {r for r in permissions.ROLES if permissions.may(r, "read_reports")} == {"manager", "receptionist"}


# -- the projection -------------------------------------------------------------------------------
def test_issued_reports_are_rebuilt_from_the_log(app, manager, november):
    manager.issue(manager.form())
    october = issue.period_of("2026-10", date(2026, 12, 2), TZ)
    issue.issue(november, october, issue.report_of(november, october, app.config["POLICY"]),
                "", actor={"role": "manager", "id": "m2", "name": "Zhou"}, now=DECEMBER)
    before = november.issued_reports()
    assert [r["key"] for r in before] == ["2026-10", "2026-11"]  # the last issued first
    folder = november.folder
    november.close()
    (folder / "projections" / "reports.json").unlink()
    reopened = Store(folder)
    app.extensions["kiosk_store"] = reopened  # the fixture closes this one
    assert reopened.issued_reports() == before
    assert reopened.issued_report("2026-11") == before[1]
    reopened.rebuild()
    assert reopened.issued_reports() == before
