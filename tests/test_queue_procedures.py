"""The queue with the procedures (issue 10) through the test client: late and carried-over
rows, the alarm row with the level of the chain to call now and its acknowledge button,
the revisit queue with its spot-check, and the record of emergencies and important
matters. Procedures are driven with ``kiosk.tickets.actions``, the clock moved, never
slept on."""
from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from helpers import CHAIN, csrf_token, sign_in

from kiosk.departments import service as departments
from kiosk.tickets import actions, service

VISITOR = {"role": "visitor"}
MANAGER = {"role": "manager", "id": "st-boss", "name": "Boss"}
PARTIAL = {"HX-Request": "true", "HX-Trigger": "queue-rows"}
ROW = re.compile(r'<tr class="([^"]*)">\s*<td[^>]*><a href="/staff/t/([^"]+)">([^<]+)</a>'
                 r"(.*?)</tr>", re.S)


@pytest.fixture
def desk(app, client):
    """A client signed in as a receptionist, who stays signed in while the clock moves."""
    app.config["STAFF_IDLE_SECONDS"] = 7 * 24 * 3600
    staff = sign_in(app, client)
    client.token = csrf_token(client, "/staff/")
    client.actor = {"role": staff["role"], "id": staff["id"], "name": staff["name"]}
    return client


@pytest.fixture
def chain(store, clock):
    return departments.save_chain(store, CHAIN, actor=MANAGER, now=clock())


def report(app, clock, category="repair", channel="kiosk", location="DEMO-LIB", **fields):
    data = {"category": category, "location": location, "description": "Broken light",
            "phone": "13812345678", "name": "Zhang", **fields}
    return service.submit_report(app.extensions["kiosk_store"], data, channel=channel,
                                 actor=VISITOR, now=clock(), tz=app.config["TZ"])


def rows(desk) -> list[dict]:
    """The queue's rows as its 5-second poll gets them: classes, ticket id, number, cells."""
    html = desk.get("/staff/", headers=PARTIAL).get_data(as_text=True)
    return [{"classes": set(c.split()), "id": tid, "number": number, "cells": cells}
            for c, tid, number, cells in ROW.findall(html)]


def alarm_flag(desk) -> str:
    html = desk.get("/staff/", headers=PARTIAL).get_data(as_text=True)
    return re.search(r'<tbody id="queue-rows"[^>]*\sdata-alarm="(\d)"', html).group(1)


def form_fields(html: str) -> dict:
    return {name: unescape(value) for name, value in
            re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html)}


# -- the queue's order and flags --------------------------------------------------------
def test_alarms_first_then_records_left_from_yesterday_then_new_entries_then_by_due(
        app, desk, store, clock):
    yesterday = actions.record(store, {"category": "inquiry", "description": "Water bill"},
                               "phone", actor=desk.actor, now=clock(), tz=app.config["TZ"])
    clock.now += timedelta(days=1)  # Sunday 10:00: yesterday's call was never handled
    today = actions.record(store, {"category": "inquiry", "description": "Opening hours"},
                           "walk_in", actor=desk.actor, now=clock(), tz=app.config["TZ"])
    new = report(app, clock, "repair")
    emergency = report(app, clock, "emergency", location="")
    order = [(r["number"], r["classes"]) for r in rows(desk)]
    assert [n for n, _ in order] == [emergency["number"], yesterday["number"], new["number"],
                                     today["number"]]
    flags = {n: {c for c in classes if c.startswith("flag-")} for n, classes in order}
    assert flags == {emergency["number"]: set(), yesterday["number"]: {"flag-carried_over"},
                     new["number"]: set(), today["number"]: set()}
    assert "alarm" in order[0][1]


def test_a_repair_not_on_site_by_its_deadline_is_late_then_arrived_late(app, desk, store,
                                                                       clock):
    repair = report(app, clock)
    actions.confirm(store, repair["id"], {}, actor=desk.actor, now=clock())
    actions.dispatch(store, repair["id"], "maintenance", actor=desk.actor, now=clock())
    clock.now += timedelta(minutes=29)
    (row,) = rows(desk)
    assert "flag-late" not in row["classes"] and "due-soon" in row["classes"]
    clock.now += timedelta(minutes=2)
    (row,) = rows(desk)
    assert {"flag-late", "due-late"} <= row["classes"]
    assert 'class="flag flag-late"' in row["cells"]
    actions.arrive(store, repair["id"], actor=desk.actor, now=clock())
    (row,) = rows(desk)
    assert "flag-arrived_late" in row["classes"] and "flag-late" not in row["classes"]
    assert "due-late" not in row["classes"]  # nothing more is due until it is completed


def totals(desk) -> str:
    html = desk.get("/staff/", headers=PARTIAL).get_data(as_text=True)
    found = re.search(r'<tr class="queue-totals"><td colspan="7">(.*?)</td></tr>', html)
    return found.group(1) if found else ""


def test_late_arrivals_and_late_repairs_are_counted_under_the_queue(app, desk, store, clock):
    assert totals(desk) == ""
    late = [report(app, clock) for _ in range(3)]
    for ticket in late:
        actions.confirm(store, ticket["id"], {}, actor=desk.actor, now=clock())
        actions.dispatch(store, ticket["id"], "maintenance", actor=desk.actor, now=clock())
    clock.now += timedelta(minutes=31)
    assert totals(desk) == "未按时到场 3"
    actions.arrive(store, late[0]["id"], actor=desk.actor, now=clock())
    assert totals(desk) == "未按时到场 2 · 迟到 1"


def test_an_agreed_deadline_is_what_the_late_flag_follows(app, desk, store, clock):
    repair = report(app, clock)
    actions.confirm(store, repair["id"], {}, actor=desk.actor, now=clock())
    actions.agree_deadline(store, repair["id"], "2026-11-28T14:00", "Parts on order",
                           actor=desk.actor, now=clock(), tz=app.config["TZ"])
    clock.now += timedelta(hours=2)  # 12:00, past the 30 minutes, before the agreed 14:00
    (row,) = rows(desk)
    assert "flag-late" not in row["classes"] and ">14:00<" in row["cells"]


# -- the alarm row ----------------------------------------------------------------------
def test_the_alarm_row_names_whom_to_call_moves_up_the_chain_and_is_acknowledged_there(
        app, desk, store, clock, chain):
    emergency = report(app, clock, "emergency", location="")
    (row,) = rows(desk)
    assert {"row-emergency", "alarm"} <= row["classes"] and alarm_flag(desk) == "1"
    assert 'class="call-now"' in row["cells"] and "周敏" in row["cells"]
    assert "13800000001" in row["cells"]
    form = re.search(r'<form method="post" action="/staff/t/([^"]+)/acknowledge"[^>]*>(.*?)</form>',
                     row["cells"], re.S)
    assert form.group(1) == emergency["id"]
    assert form_fields(form.group(2))["level"] == "0"

    clock.now += timedelta(minutes=5)  # nobody acknowledged: the next level is highlighted
    (row,) = rows(desk)
    assert 'class="call-now escalated"' in row["cells"] and "钱军" in row["cells"]
    assert "周敏" not in row["cells"] and alarm_flag(desk) == "1"
    clock.now += timedelta(minutes=30)  # the last level stays up, the alarm goes on
    (row,) = rows(desk)
    assert "吴总" in row["cells"] and "alarm" in row["classes"]

    fields = form_fields(re.search(r'/acknowledge"[^>]*>(.*?)</form>', row["cells"], re.S)
                         .group(1))
    assert fields["level"] == "3" and fields["csrf_token"] and fields["request_id"]
    response = desk.post(f"/staff/t/{emergency['id']}/acknowledge", data=fields)
    assert response.status_code == 303
    assert response.location.endswith(f"/staff/t/{emergency['id']}")
    ticket = store.ticket(emergency["id"])
    assert (ticket["acknowledged_by"], ticket["acknowledged_level"]) == ("吴总", 3)
    assert ticket["events"][-1]["actor"] == desk.actor
    (row,) = rows(desk)
    assert "alarm" not in row["classes"] and "/acknowledge" not in row["cells"]
    assert alarm_flag(desk) == "0"
    seq = store.last_seq  # the same form sent again stores nothing
    assert desk.post(f"/staff/t/{emergency['id']}/acknowledge", data=fields).status_code == 303
    assert store.last_seq == seq


def test_an_important_matter_sounds_the_same_alarm_from_when_it_was_raised(
        app, desk, store, clock, chain):
    complaint = report(app, clock, "complaint")
    clock.now += timedelta(hours=1)
    actions.raise_important(store, complaint["id"], "The owner is the chairman",
                            actor=desk.actor, now=clock())
    (row,) = rows(desk)
    assert {"row-complaint", "alarm"} <= row["classes"] and alarm_flag(desk) == "1"
    assert "周敏" in row["cells"]  # its timer starts at the raise: the first level
    assert 'role="alert"' in row["cells"]


def test_the_rows_links_and_forms_do_not_inherit_the_poll(desk, app, clock):
    report(app, clock, "emergency", location="")
    html = desk.get("/staff/").get_data(as_text=True)
    tbody = re.search(r"<tbody id=\"queue-rows\"[^>]*>", html).group(0)
    assert 'hx-push-url="false"' in tbody and 'hx-disinherit="*"' in tbody


def test_without_a_chain_the_alarm_still_offers_the_acknowledgement(app, desk, store, clock):
    departments.save_chain(store, CHAIN[:1], actor=MANAGER, now=clock())
    emergency = report(app, clock, "emergency", location="")
    clock.now += timedelta(minutes=12)  # one level only: it stays up
    (row,) = rows(desk)
    assert "周敏" in row["cells"] and "escalated" not in row["cells"]
    assert f'/staff/t/{emergency["id"]}/acknowledge' in row["cells"]


def test_maintenance_staff_see_the_alarm_but_no_acknowledge_button(app, client, clock, chain):
    app.config["STAFF_IDLE_SECONDS"] = 3600
    sign_in(app, client, "Lao Wang", "maintenance")
    report(app, clock, "emergency", location="")
    (row,) = rows(client)
    assert "alarm" in row["classes"] and "/acknowledge" not in row["cells"]
    assert client.get("/staff/revisits").status_code == 403


# -- the revisit queue -------------------------------------------------------------------
def completed_repair(app, store, clock, actor, department="maintenance", **fields) -> dict:
    repair = report(app, clock, **fields)
    actions.confirm(store, repair["id"], {}, actor=actor, now=clock())
    actions.dispatch(store, repair["id"], department, {"id": "st-lw", "name": "Lao Wang"},
                     actor=actor, now=clock())
    actions.arrive(store, repair["id"], actor=actor, now=clock())
    return actions.complete(store, repair["id"], {"result": "Bulb replaced"}, actor=actor,
                            now=clock(), tz=app.config["TZ"])


def fed_back_complaint(app, store, clock, actor) -> dict:
    complaint = report(app, clock, "complaint", name="Li", phone="13900000000")
    tid = complaint["id"]
    actions.confirm(store, tid, {}, actor=actor, now=clock())
    actions.investigate(store, tid, "The canteen was closed early", actor=actor, now=clock())
    actions.sign_off(store, tid, "", signer=MANAGER, actor=actor, now=clock())
    actions.transfer(store, tid, "customer_service", actor=actor, now=clock())
    actions.resolve(store, tid, "Opening hours posted", actor=actor, now=clock())
    return actions.feed_back(store, tid, "phone", "Fine", actor=actor, now=clock(),
                             tz=app.config["TZ"])


def test_the_revisit_queue_lists_the_calls_back_due_earliest_first_with_the_full_phone(
        app, desk, store, clock):
    complaint = fed_back_complaint(app, store, clock, desk.actor)
    clock.now += timedelta(days=2)  # Monday: the repair's call back is due a day later
    repair = completed_repair(app, store, clock, desk.actor)
    report(app, clock, "inquiry")  # nothing to call back about
    page = desk.get("/staff/revisits")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    numbers = re.findall(r'class="revisit-number" href="/staff/t/[^"]+">([^<]+)<', html)
    assert numbers == [complaint["number"], repair["number"]]
    start, end = (html.index(f'id="revisit-{t["id"]}"') for t in (complaint, repair))
    first = html[start:end]
    assert 'href="tel:13900000000"' in first and "Li" in first and "Opening hours posted" in first
    second = html[end:]
    assert "Lao Wang" in second and "Bulb replaced" in second and 'href="tel:13812345678"' in second
    assert f'action="/staff/t/{repair["id"]}/revisit"' in second
    fields = form_fields(second[:second.index("</form>")])
    assert fields["next"] == "/staff/revisits" and fields["request_id"]


def test_a_revisit_recorded_from_the_queue_comes_back_to_it(app, desk, store, clock):
    repair = completed_repair(app, store, clock, desk.actor)
    other = completed_repair(app, store, clock, desk.actor)
    html = desk.get("/staff/revisits").get_data(as_text=True)
    part = html[html.index(f'id="revisit-{repair["id"]}"'):]
    fields = form_fields(part[:part.index("</form>")])
    response = desk.post(f"/staff/t/{repair['id']}/revisit",
                         data={**fields, "outcome": "satisfied", "comment": ""})
    assert response.status_code == 303 and response.location.endswith("/staff/revisits")
    assert store.ticket(repair["id"])["revisit"] == "satisfied"
    html = desk.get("/staff/revisits").get_data(as_text=True)
    assert f'id="revisit-{repair["id"]}"' not in html and f'id="revisit-{other["id"]}"' in html
    part = html[html.index(f'id="revisit-{other["id"]}"'):]
    fields = form_fields(part[:part.index("</form>")])
    desk.post(f"/staff/t/{other['id']}/revisit",
              data={**fields, "outcome": "unsatisfied", "comment": "Still flickers"})
    reopened = store.ticket(other["id"])
    assert reopened["status"] == "in_progress" and reopened["reopened"] == 1
    assert 'class="panel revisit' not in desk.get("/staff/revisits").get_data(as_text=True)


def test_a_department_spot_check_lists_its_completed_repairs_to_file(app, desk, store, clock):
    pending = completed_repair(app, store, clock, desk.actor)
    satisfied = completed_repair(app, store, clock, desk.actor)
    actions.revisit(store, satisfied["id"], "satisfied", "", actor=desk.actor, now=clock())
    elsewhere = completed_repair(app, store, clock, desk.actor, department="cleaning")
    html = desk.get("/staff/revisits?department=maintenance").get_data(as_text=True)
    table = html[html.index('class="queue spot-check"'):]
    listed = re.findall(r'<a href="/staff/t/([^"]+)">', table)
    assert listed == [pending["id"], satisfied["id"]] and elsewhere["id"] not in table
    assert 'selected' in re.search(r'<option value="maintenance"[^>]*>', html).group(0)
    assert "spot-check" not in desk.get("/staff/revisits").get_data(as_text=True)


# -- the record of emergencies and important matters ------------------------------------
def test_the_emergency_record_shows_who_was_told_and_who_took_it_on(app, desk, store, clock,
                                                                    chain):
    handled = report(app, clock, "emergency", location="DEMO-GYM", description="Smoke")
    actions.escalate(store, handled["id"], 0, actor=desk.actor, now=clock())
    clock.now += timedelta(minutes=3)
    actions.acknowledge(store, handled["id"], 1, actor=desk.actor, now=clock())
    clock.now += timedelta(minutes=1)
    waiting = report(app, clock, "emergency", location="", description="Water everywhere")
    clock.now += timedelta(minutes=1)
    important = report(app, clock, "complaint")
    actions.raise_important(store, important["id"], "Press", actor=desk.actor, now=clock())
    ordinary = report(app, clock, "repair")
    page = desk.get("/staff/emergencies")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    listed = re.findall(r'<td data-label="[^"]+"><a href="/staff/t/([^"]+)">', html)
    assert listed == [important["id"], waiting["id"], handled["id"]]
    assert ordinary["id"] not in html
    row = html[html.index(f'/staff/t/{handled["id"]}"'):]
    row = row[:row.index("</tr>")]
    assert "10:00" in row and "周敏" in row and "10:03" in row and "钱军" in row
    assert "Smoke" in row


def test_the_emergency_record_is_open_to_every_role(app, client, clock):
    app.config["STAFF_IDLE_SECONDS"] = 3600
    sign_in(app, client, "Lao Wang", "maintenance")
    report(app, clock, "emergency", location="")
    assert client.get("/staff/emergencies").status_code == 200

