"""The work plan, five weeks rolling (R26) under /staff/plan: tasks once, weekly or
monthly on the five weeks from this Monday (rolling forward by the injected clock),
marked done or carried over with a reason, what slipped for the manager, all signed
events that a resend does not repeat, rebuilt from the log."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest
from helpers import csrf_token, sign_in

from hq import ingest
from kiosk.permissions import Forbidden
from kiosk.plan import service

# the test clock is Saturday 2026-11-28 10:00 in Shanghai: the plan runs 11-23 to 12-27
DESK = {"role": "receptionist", "id": "s-desk", "name": "Li Na"}
TZ_NAME = "Asia/Shanghai"
NAMES = ["Li Na", "Wang Fang"]


def html_of(response) -> str:
    return response.get_data(as_text=True)


def of_type(store, *kinds: str) -> list[dict]:
    return [e for e in store.events_after(0) if e["type"] in kinds]


def save(store, clock, tz, **fields):
    form = {"title": "抄表", "kind": "meter_round", "assignee": "Li Na", "repeat": "once",
            "due": "2026-12-02", "note": "", **fields}
    return service.save(store, form, assignees=NAMES, actor=DESK, now=clock(), tz=tz)


@pytest.fixture
def tz(app):
    return app.config["TZ"]


def days_planned(store, today: date, tz) -> dict[str, list[str]]:
    """{day: [title (state)]} of the five weeks, only the days with something on."""
    return {d["day"].isoformat(): [f"{e['task']['title']} ({e['state']})" for e in d["entries"]]
            for week in service.five_weeks(store, today, tz) for d in week if d["entries"]}


def test_the_five_weeks_hold_each_occurrence_of_weekly_monthly_and_one_off_tasks(store, clock, tz):
    save(store, clock, tz, title="Mon", repeat="week", weekday="0")
    save(store, clock, tz, title="M31", repeat="month", day="31")
    save(store, clock, tz, title="M5", repeat="month", day="5")
    save(store, clock, tz, title="Once", due="2026-12-02")
    weeks = service.five_weeks(store, date(2026, 11, 28), tz)
    assert [w[0]["day"] for w in weeks] == [date(2026, 11, 23) + timedelta(days=7 * i)
                                             for i in range(5)]
    assert weeks[-1][-1]["day"] == date(2026, 12, 27) and weeks[0][5]["today"]
    # weekly from the day it was saved (not 11-23); day 31 falls on November's last day
    assert days_planned(store, date(2026, 11, 28), tz) == {
        "2026-11-30": ["M31 (open)", "Mon (open)"], "2026-12-02": ["Once (open)"],
        "2026-12-05": ["M5 (open)"], "2026-12-07": ["Mon (open)"],
        "2026-12-14": ["Mon (open)"], "2026-12-21": ["Mon (open)"]}


def test_the_plan_rolls_to_the_next_week_by_itself(app, client, store, clock, tz):
    save(store, clock, tz, title="Mon", repeat="week", weekday="0")
    sign_in(app, client)
    client.get("/lang/en")
    assert 'id="day-2026-11-23"' in html_of(client.get("/staff/plan"))
    clock.now += timedelta(days=2)  # Monday 11-30: the plan now runs 11-30 to 01-03
    sign_in(app, client)  # the session ended while the clock moved
    page = html_of(client.get("/staff/plan"))
    assert 'id="day-2026-11-23"' not in page and 'id="day-2027-01-03"' in page
    assert "2026-12-28" in days_planned(store, date(2026, 11, 30), tz)
    assert not of_type(store, "plan_task_saved")[1:]  # nothing stored by the roll


def test_a_past_occurrence_not_done_is_late(store, clock, tz):
    save(store, clock, tz, title="Once", due="2026-11-30")
    assert days_planned(store, date(2026, 12, 1), tz) == {"2026-11-30": ["Once (late)"]}


class Desk:
    """A signed-in staff member at the plan's pages, sending real CSRF tokens."""

    def __init__(self, app, client, role="receptionist", name="Li Na"):
        self.client = client
        self.staff = sign_in(app, client, name, role)
        client.get("/lang/en")  # assert on the English msgids, whatever the catalog holds
        self.token = csrf_token(client, "/staff/plan")

    def post(self, path: str, data: dict | None = None):
        return self.client.post(path, data={"csrf_token": self.token, **(data or {})})


@pytest.fixture
def desk(app, client):
    return Desk(app, client)


TASK = {"title": "发催费通知", "kind": "fee_reminder", "assignee": "Li Na", "repeat": "once",
        "due": "2026-12-01", "note": "3号楼"}


def test_a_task_added_is_a_signed_event_and_a_resend_stores_nothing(desk, store):
    for _ in range(2):
        response = desk.post("/staff/plan/new", {**TASK, "request_id": "r" * 22})
        assert response.status_code == 303
    [event] = of_type(store, "plan_task_saved")
    assert event["actor"]["name"] == "Li Na"
    assert {k: event["data"][k] for k in ("title", "kind", "assignee", "due", "repeat",
                                          "note")} == {
        "title": "发催费通知", "kind": "fee_reminder", "assignee": "Li Na", "due": "2026-12-01",
        "repeat": None, "note": "3号楼"}
    page = html_of(desk.client.get("/staff/plan"))
    day = page.split('id="day-2026-12-01"')[1].split("</section>")[0]
    assert "发催费通知" in day and "Li Na" in day and "Not done yet" in day


@pytest.mark.parametrize("fields, field, message", [
    ({"title": ""}, "title", "Please fill this in."),
    ({"kind": "party"}, "kind", "Please choose a kind from the list."),
    ({"assignee": "Nobody"}, "assignee", "Please choose who does it from the list."),
    ({"repeat": ""}, "repeat", "Please choose once, every week or every month."),
    ({"due": "2026-11-27"}, "due", "This day is in the past."),
    ({"due": "soon"}, "due", "Please pick a day."),
    ({"repeat": "week", "weekday": "7"}, "weekday", "Please choose a day of the week."),
    ({"repeat": "month", "day": "32"}, "day", "Please give a day of the month from 1 to 31."),
])
def test_a_bad_task_is_refused_next_to_its_field_and_kept(desk, store, fields, field, message):
    response = desk.post("/staff/plan/new", {**TASK, "note": "keep me", **fields})
    assert response.status_code == 422
    page = html_of(response)
    assert f'id="{field}-error">{message}' in page and "keep me" in page
    assert not of_type(store, "plan_task_saved")


def first_task(store) -> dict:
    return store.plan_tasks()[0]


def test_carrying_over_needs_a_reason_and_shows_on_the_new_day(desk, store):
    desk.post("/staff/plan/new", TASK)
    tid = first_task(store)["id"]
    carry = f"/staff/plan/tasks/{tid}/2026-12-01/carry"
    response = desk.post(carry, {"to": "2026-12-03", "reason": "  "})
    assert response.status_code == 422
    page = html_of(response)
    assert 'id="reason-error">Please fill this in.' in page and 'value="2026-12-03"' in page
    response = desk.post(carry, {"to": "2026-12-01", "reason": "x"})  # not later
    assert response.status_code == 422 and 'id="to-error">Please pick a day after 2026-12-01' \
        in html_of(response)
    assert not of_type(store, "plan_task_carried")
    response = desk.post(carry, {"to": "2026-12-03", "reason": "通知还没印好",
                                 "request_id": "c" * 22})
    assert response.status_code == 303
    desk.post(carry, {"to": "2026-12-03", "reason": "通知还没印好", "request_id": "c" * 22})
    [event] = of_type(store, "plan_task_carried")
    assert event["data"] == {"id": tid, "occurrence": "2026-12-01", "to": "2026-12-03",
                             "reason": "通知还没印好", "request_id": "c" * 22}
    page = html_of(desk.client.get("/staff/plan"))
    new_day = page.split('id="day-2026-12-03"')[1].split("</section>")[0]
    assert "发催费通知" in new_day and "Carried over from 2026-12-01: 通知还没印好" in new_day
    old_day = page.split('id="day-2026-12-01"')[1].split("</section>")[0]
    assert "carried to 2026-12-03" in old_day and 'class="plan-entry' not in old_day


def test_done_twice_is_answered_as_done_and_stores_one_event(desk, store):
    desk.post("/staff/plan/new", TASK)
    tid = first_task(store)["id"]
    for _ in range(2):
        assert desk.post(f"/staff/plan/tasks/{tid}/2026-12-01/done").status_code == 303
    assert len(of_type(store, "plan_task_done")) == 1
    page = html_of(desk.client.get(f"/staff/plan/tasks/{tid}/2026-12-01"))
    assert "Done" in page and "Mark done" not in page
    response = desk.post(f"/staff/plan/tasks/{tid}/2026-12-01/carry",
                         {"to": "2026-12-03", "reason": "late"})
    assert response.status_code == 422 and "This one is done already" in html_of(response)


def test_a_day_the_task_does_not_fall_on_is_a_404(desk, store):
    desk.post("/staff/plan/new", TASK)
    tid = first_task(store)["id"]
    assert desk.client.get(f"/staff/plan/tasks/{tid}/2026-12-02").status_code == 404
    assert desk.post(f"/staff/plan/tasks/{tid}/nonsense/done").status_code == 404
    assert desk.client.get("/staff/plan/tasks/nope/2026-12-01").status_code == 404


def test_what_slipped_lists_the_late_and_the_carried_over_for_the_manager(app, client, store,
                                                                         clock, tz):
    weekly = save(store, clock, tz, title="周一抄表", repeat="week", weekday="0")
    once = save(store, clock, tz, title="发通知", due="2026-11-30")
    service.carry(store, once["id"], "2026-11-30", {"to": "2026-12-02", "reason": "打印机坏了"},
                  actor=DESK, now=clock(), tz=tz)
    clock.now += timedelta(days=10)  # Tuesday 12-08: 11-30 and 12-07 passed, not done
    service.done(store, weekly["id"], "2026-12-07", actor=DESK, now=clock(), tz=tz)
    found = service.slipped(store, date(2026, 12, 8), clock(), tz)
    assert [(e["task"]["title"], e["on"]) for e in found["late"]] == [
        ("周一抄表", "2026-11-30"), ("发通知", "2026-12-02")]
    assert [(e["task"]["title"], e["reason"]) for e in found["carried"]] == [("发通知", "打印机坏了")]
    sign_in(app, client, "Li Na", "receptionist")
    assert client.get("/staff/plan/slipped").status_code == 403
    assert "What slipped" not in html_of(client.get("/staff/plan"))
    manager = app.test_client()
    sign_in(app, manager, "Zhao", "manager")
    manager.get("/lang/en")
    page = html_of(manager.get("/staff/plan/slipped"))
    assert "周一抄表" in page and "打印机坏了" in page and "To 2026-12-02" in page
    clock.now += timedelta(days=40)  # five weeks on, nothing of then is listed
    later = service.slipped(store, date(2027, 1, 17), clock(), tz)
    assert all(e["on"] >= "2026-12-13" for e in later["late"]) and later["carried"] == []


def test_a_dropped_task_is_gone_from_today_on(store, clock, tz):
    weekly = save(store, clock, tz, title="Mon", repeat="week", weekday="0")
    clock.now += timedelta(days=9)  # Monday 12-07: 11-30 was late
    service.drop(store, weekly["id"], actor=DESK, now=clock())
    assert days_planned(store, date(2026, 12, 7), tz) == {}
    assert [e["on"] for e in service.slipped(store, date(2026, 12, 7), clock(), tz)["late"]] \
        == ["2026-11-30"]
    with pytest.raises(service.UnknownTask):
        service.done(store, weekly["id"], "2026-12-14", actor=DESK, now=clock(), tz=tz)


def test_only_the_desk_keeps_the_plan(app, client, store, clock, tz):
    technician = {"role": "maintenance", "id": "s-m", "name": "Li Shifu"}
    with pytest.raises(Forbidden):
        service.save(store, TASK, assignees=NAMES, actor=technician, now=clock(), tz=tz)
    sign_in(app, client, "Li Shifu", "maintenance")
    assert client.get("/staff/plan").status_code == 403


def test_the_plan_is_rebuilt_from_the_log(store, clock, tz):
    task = save(store, clock, tz, title="Once", due="2026-12-02")
    service.carry(store, task["id"], "2026-12-02", {"to": "2026-12-04", "reason": "rain"},
                  actor=DESK, now=clock(), tz=tz)
    before = store.plan_tasks()
    store.rebuild()
    assert store.plan_tasks() == before and before[0]["occurrences"]["2026-12-02"]["carried"]


def test_hq_takes_every_plan_event_as_the_kiosk_writes_it(store, clock, tz):
    weekly = save(store, clock, tz, title="Mon", repeat="week", weekday="0")
    once = save(store, clock, tz, title="Once", due="2026-12-02")
    service.done(store, weekly["id"], "2026-11-30", actor=DESK, now=clock(), tz=tz)
    service.carry(store, once["id"], "2026-12-02", {"to": "2026-12-04", "reason": "rain"},
                  actor=DESK, now=clock(), tz=tz)
    service.drop(store, weekly["id"], actor=DESK, now=clock())
    kinds = ("plan_task_saved", "plan_task_done", "plan_task_carried", "plan_task_dropped")
    events = of_type(store, *kinds)
    assert {e["type"] for e in events} == set(kinds) <= ingest.SITE_EVENT_TYPES
    assert all(ingest._data_problem(e["type"], e["data"]) is None for e in events)
    assert ingest._data_problem("plan_task_carried", {"id": "p", "occurrence": "2026-12-02",
                                                      "to": "2026-12-04"}) is not None
    assert ingest._data_problem("plan_task_saved", {**events[0]["data"], "repeat": "weekly"}) \
        == "data.repeat must be an object or null"


def test_the_print_is_one_sheet_of_the_five_weeks(desk, store):
    desk.post("/staff/plan/new", TASK)
    page = html_of(desk.client.get("/staff/plan/print"))
    assert "paper-plan" in page and "2026-11-23 – 2026-12-27" in page
    assert len(re.findall(r'<td class="[^"]*"><div class="plan-cell">', page)) == 35
    assert "发催费通知 · Li Na" in page


def test_the_weeks_start_on_monday_in_the_site_zone(store, clock, tz):
    # Sunday 23:30 UTC is already Monday 07:30 in Shanghai: the plan starts that Monday
    clock.now = datetime(2026, 11, 29, 23, 30, tzinfo=timezone.utc)
    today = clock().astimezone(tz).date()
    assert service.five_weeks(store, today, tz)[0][0]["day"] == date(2026, 11, 30)
