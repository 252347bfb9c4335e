"""Letters from templates (函件, R27) under /staff/letters: the seeded templates; fields
filled from the household, the ticket and the arrears list, a field without a value kept
in braces and flagged, never read as a template; a letter issued kept and listed on the
household's page; a resend stores nothing; the roles; a letter published as a notice
only when it names no person, phone number or amount, and never an arrears reminder;
rebuilt from the log; accepted by HQ."""
from __future__ import annotations

import re
from datetime import date

import pytest
from helpers import csrf_token, sign_in

from hq import ingest
from kiosk.households import household_id
from kiosk.households import service as households
from kiosk.letters import service
from kiosk.permissions import Forbidden
from kiosk.tickets import actions
from kiosk.tickets import service as tickets
from sync.events import new as new_event

MANAGER = {"role": "manager", "id": "st-zh", "name": "Zhao"}
DESK = {"role": "receptionist", "id": "st-li", "name": "Li Na"}
HID = household_id("3号楼", "101")
TODAY = date(2026, 11, 28)


def events(store, kind: str) -> list[dict]:
    return [e for e in store.events_after(0) if e["type"] == kind]


def add_household(store, clock, unit="101", name="王芳", phone="13812345678") -> dict:
    return households.save(store, {"building": "3号楼", "unit": unit, "name_0": name,
                                   "phone_0": phone, "relation_0": "owner"}, 1,
                           actor=MANAGER, now=clock(), new=True)


def completed_repair(app, store, clock, household: str | None = HID) -> dict:
    """A repair taken by phone for ``household``, dispatched, on site and done."""
    ticket = tickets.submit_report(
        store, {"category": "repair", "location": "DEMO-LIB", "description": "厨房水管漏水",
                "household": household or "", "phone": "" if household else "13900001111",
                "name": "" if household else "张先生"},
        channel="phone", actor=DESK, now=clock(), tz=app.config["TZ"])
    actions.dispatch(store, ticket["id"], "maintenance", {"id": "st-lw", "name": "Lao Wang"},
                     actor=DESK, now=clock())
    actions.arrive(store, ticket["id"], actor=DESK, now=clock())
    return actions.complete(store, ticket["id"], {"result": "已更换水管接头"}, actor=DESK,
                            now=clock(), tz=app.config["TZ"])


class Desk:
    """A signed-in staff member at the letters pages, sending real CSRF tokens."""

    def __init__(self, app, client, role="receptionist"):
        sign_in(app, client, name=f"A {role}", role=role)
        client.get("/lang/en")
        self.client, self.token, self.n = client, csrf_token(client, "/staff/letters"), 0

    def post(self, path: str, **data):
        self.n += 1
        return self.client.post(path, data={"csrf_token": self.token,
                                            "request_id": f"rq-letter-{self.n}", **data})

    def letter(self, action="issue", **fields):
        return self.post(f"/staff/letters/{action}", **{
            "template": "maintenance_notice", "subject": "维修通知",
            "body": "您好，电梯将于周五停运检修。", **fields})


@pytest.fixture
def desk(app, client):
    return Desk(app, client)


def test_three_templates_are_seeded_in_chinese_with_english_names(store):
    seeded = service.templates(store)
    assert [(t["code"], t["name_zh"], t["name_en"]) for t in seeded] == [
        ("arrears_reminder", "欠费提醒函", "Arrears reminder"),
        ("maintenance_notice", "维修通知", "Maintenance notice"),
        ("complaint_reply", "投诉回复函", "Complaint reply")]


def test_a_letter_is_filled_from_the_household_the_ticket_and_the_arrears_list(
        app, store, clock):
    household = add_household(store, clock)
    ticket = completed_repair(app, store, clock)
    store.append([new_event(None, "arrears_listed", MANAGER, clock(), {"list": [
        {"household": HID, "building": "3号楼", "unit": "101", "name": "王芳",
         "since": "2026-03", "amount": "1280.50"}], "request_id": None})])
    letter = service.draft(store, "maintenance_notice", household=household, ticket=ticket,
                           today=TODAY)
    assert letter["body"].startswith("尊敬的王芳：")
    assert ticket["number"] in letter["body"] and "厨房水管漏水" in letter["body"]
    assert "已更换水管接头" in letter["body"] and letter["missing"] == []
    reminder = service.draft(store, "arrears_reminder", household=household, ticket=None,
                             today=TODAY)
    assert "3号楼101自2026-03起" in reminder["body"] and reminder["missing"] == []
    assert "1280" not in reminder["body"]  # the amount is never filled in
    assert service.values(store, household=None, ticket=None, today=TODAY) == {
        "日期": "2026年11月28日"}


def test_a_field_without_a_value_or_unknown_stays_in_braces_and_is_flagged(store):
    text, missing = service.fill("{住户}您好，{房号}的{没有这个}，{住户}。", {"住户": "王芳"})
    assert text == "王芳您好，{房号}的{没有这个}，王芳。"
    assert missing == ["房号", "没有这个"]
    letter = service.draft(store, "arrears_reminder", household=None, ticket=None, today=TODAY)
    assert letter["missing"] == ["住户", "楼栋", "房号", "欠费起始"]
    assert "{楼栋}{房号}" in letter["body"]


def test_a_value_is_never_read_as_a_template(store):
    hostile = "{楼栋}{0}{住户.__class__}%(x)s{{7*7}}<script>alert(1)</script>"
    ticket = {"number": "R-1128-001", "description": hostile, "result": "", "name": ""}
    letter = service.draft(store, "complaint_reply", household=None, ticket=ticket, today=TODAY)
    assert hostile in letter["body"]  # kept exactly as typed: not expanded, not evaluated
    text, _ = service.fill("{事项}", {"事项": "{住户}", "住户": "王芳"})
    assert text == "{住户}"


def test_the_filled_page_flags_what_is_left_and_escapes_the_text(app, store, clock, desk):
    household = add_household(store, clock, name="<b>王</b>")
    page = desk.client.get(f"/staff/letters/write?template=arrears_reminder&household={HID}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and household["id"] in html
    assert re.search(r'id="letter-missing".*\{欠费起始\}', html, re.S)
    assert "&lt;b&gt;王&lt;/b&gt;" in html and "<b>王</b>" not in html


def test_a_letter_opened_from_a_ticket_takes_its_household_and_template(app, store, clock,
                                                                         desk):
    add_household(store, clock)
    ticket = completed_repair(app, store, clock)
    html = desk.client.get(f"/staff/t/{ticket['id']}").get_data(as_text=True)
    assert f'href="/staff/letters/write?ticket={ticket["id"]}"' in html
    html = desk.client.get(f"/staff/letters/write?ticket={ticket['id']}").get_data(as_text=True)
    assert '<option value="maintenance_notice" selected' in html
    assert f'name="household" value="{HID}"' in html and "尊敬的王芳" in html


def test_a_letter_issued_is_kept_and_listed_on_the_household_page(app, store, clock, desk):
    add_household(store, clock)
    ticket = completed_repair(app, store, clock)
    response = desk.letter(household=HID, ticket=ticket["id"], body="尊敬的王芳：\n水管已修好。")
    assert response.status_code == 303
    [event] = events(store, "letter_issued")
    assert event["data"]["household"] == HID and event["data"]["ticket"] == ticket["id"]
    assert event["actor"]["role"] == "receptionist"
    lid = event["data"]["id"]
    assert response.headers["Location"].endswith(f"/staff/letters/{lid}/print")
    page = desk.client.get(f"/staff/households/{HID}").get_data(as_text=True)
    assert f"/staff/letters/{lid}" in page and "维修通知" in page
    listed = desk.client.get("/staff/letters").get_data(as_text=True)
    assert f"/staff/letters/{lid}" in listed
    printed = desk.client.get(f"/staff/letters/{lid}/print").get_data(as_text=True)
    assert "Property service desk" in printed and "3号楼 101 · 王芳" in printed
    assert "水管已修好。" in printed


def test_a_letter_still_holding_a_field_in_braces_is_not_issued(store, desk):
    response = desk.letter(body="尊敬的{住户}：您好。")
    assert response.status_code == 422 and events(store, "letter_issued") == []
    html = response.get_data(as_text=True)
    assert "Still to fill in: {住户}." in html and "尊敬的{住户}：您好。" in html


@pytest.mark.parametrize("fields, field", [
    ({"template": "nope"}, "template"), ({"subject": ""}, "subject"), ({"body": ""}, "body"),
    ({"household": "h000000000000"}, "household"), ({"ticket": "NOPE"}, "ticket")])
def test_bad_input_is_a_422_with_everything_kept(store, desk, fields, field):
    response = desk.letter(**fields)
    assert response.status_code == 422 and events(store, "letter_issued") == []
    assert f'id="{field}-error"' in response.get_data(as_text=True)


def test_a_resend_stores_nothing(store, desk):
    data = {"csrf_token": desk.token, "request_id": "rq-letter-same",
            "template": "maintenance_notice", "subject": "维修通知", "body": "周五停水。"}
    first = desk.client.post("/staff/letters/issue", data=data)
    last = store.last_seq
    again = desk.client.post("/staff/letters/issue", data=data)
    assert store.last_seq == last and again.headers["Location"] == first.headers["Location"]
    data["request_id"] = "rq-publish-same"
    desk.client.post("/staff/letters/publish", data=data)
    last = store.last_seq
    desk.client.post("/staff/letters/publish", data=data)
    assert store.last_seq == last and len(events(store, "notice_published")) == 1


def test_a_letter_is_published_as_a_notice_for_seven_days(store, desk, clock):
    response = desk.letter(action="publish")
    assert response.status_code == 303
    [event] = events(store, "notice_published")
    assert event["data"]["title"] == "维修通知" and event["data"]["text"] == "您好，电梯将于周五停运检修。"
    assert event["data"]["valid_from"] == "2026-11-28T02:00:00+00:00"
    assert event["data"]["valid_to"] == "2026-12-05T02:00:00+00:00"
    assert events(store, "letter_issued") == []


def test_an_arrears_reminder_is_never_published(store, desk):
    response = desk.letter(action="publish", template="arrears_reminder",
                           subject="缴费提醒", body="请各位住户按时缴纳物业费。")
    assert response.status_code == 422 and events(store, "notice_published") == []
    assert "An arrears reminder is never published" in response.get_data(as_text=True)
    page = desk.client.get("/staff/letters/write?template=arrears_reminder")
    assert "/staff/letters/publish" not in page.get_data(as_text=True)


@pytest.mark.parametrize("body, said", [
    ("尊敬的王芳：您家水管已修好。", "it may not name 王芳"),
    ("有事请拨 138 1234 5678。", "it may not show a phone number"),
    ("维修费共计 120 元。", "it may not show an amount of money"),
    ("维修费 ¥120。", "it may not show an amount of money")])
def test_a_letter_naming_a_person_a_phone_or_an_amount_is_refused_as_a_notice(
        store, clock, desk, body, said):
    add_household(store, clock)
    response = desk.letter(action="publish", household=HID, body=body)
    assert response.status_code == 422 and events(store, "notice_published") == []
    html = response.get_data(as_text=True)
    assert said in html and body in html


def test_a_ticket_name_is_refused_in_a_notice_too(app, store, clock, desk):
    ticket = completed_repair(app, store, clock, household=None)
    response = desk.letter(action="publish", ticket=ticket["id"], body="张先生反映的水管已修好。")
    assert response.status_code == 422 and "it may not name 张先生" in response.get_data(
        as_text=True)


def test_a_manager_adds_and_edits_templates_and_the_desk_may_not(app, client, store):
    desk = Desk(app, client)
    assert desk.client.get("/staff/letters/templates/new").status_code == 403
    assert desk.post("/staff/letters/templates/new", code="x1", name_zh="停水", subject="s",
                     body="b").status_code == 403
    manager = Desk(app, app.test_client(), role="manager")
    assert manager.post("/staff/letters/templates/new", code="water_stop", name_zh="停水通知",
                        name_en="Water stop", subject="停水通知",
                        body="{楼栋}将于{日期}停水。").status_code == 303
    assert manager.post("/staff/letters/templates/complaint_reply", name_zh="投诉回复",
                        name_en="", subject="回复", body="尊敬的{住户}：").status_code == 303
    saved = [e["data"] for e in events(store, "letter_template_saved")]
    assert [d["code"] for d in saved] == ["water_stop", "complaint_reply"]
    assert service.template(store, "complaint_reply")["body"] == "尊敬的{住户}："
    assert [t["code"] for t in service.templates(store)][-1] == "water_stop"
    bad = manager.post("/staff/letters/templates/new", code="Water Stop!", name_zh="",
                       subject="x", body="正文")
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'id="code-error"' in html and 'id="name_zh-error"' in html
    assert 'value="Water Stop!"' in html and "正文" in html
    taken = manager.post("/staff/letters/templates/new", code="water_stop", name_zh="a",
                         subject="x", body="y")
    assert taken.status_code == 422 and len(events(store, "letter_template_saved")) == 2


def test_roles(app, client, store):
    sign_in(app, client, name="Lao Wang", role="maintenance")
    for path in ("/staff/letters", "/staff/letters/write"):
        assert client.get(path).status_code == 403
    with pytest.raises(Forbidden):
        service.issue(store, {}, actor={"role": "maintenance", "id": "m", "name": "m"},
                      now=None)
    with pytest.raises(Forbidden):
        service.save_template(store, {}, actor=DESK, now=None)


def test_letters_are_rebuilt_from_the_log(store, desk):
    desk.letter()
    before = (store.letters(), store.letter_templates())
    store.rebuild()
    assert (store.letters(), store.letter_templates()) == before and len(before[0]) == 1


def test_hq_accepts_the_events(store, desk, app):
    manager = Desk(app, app.test_client(), role="manager")
    manager.post("/staff/letters/templates/new", code="water_stop", name_zh="停水通知",
                 name_en="", subject="停水", body="明日停水。")
    desk.letter()
    for event in events(store, "letter_template_saved") + events(store, "letter_issued"):
        assert ingest._shape_problem(event, store.site_id) is None, event["type"]
