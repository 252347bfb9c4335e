"""The receptionist console through the test client: queue, confirm, record, amend, close."""
from __future__ import annotations

import re

import pytest
from helpers import csrf_token, sign_in


@pytest.fixture
def desk(app, client):
    """A client signed in as a receptionist."""
    staff = sign_in(app, client)
    client.token = csrf_token(client, "/staff/")
    client.staff = staff
    return client


def post(desk, path, **data):
    return desk.post(path, data={"csrf_token": desk.token, **data})


def test_a_visitors_entry_appears_in_the_queue_and_is_confirmed_with_a_correction(
        app, visitor, desk, store):
    visitor.report(category="repair", description="Light out")
    (ticket,) = store.open_tickets()
    rows = desk.get("/staff/", headers={"HX-Request": "true", "HX-Trigger": "queue-rows"})
    html = rows.get_data(as_text=True)
    assert html.lstrip().startswith('<tbody id="queue-rows"') and ticket["number"] in html
    response = post(desk, f"/staff/t/{ticket['id']}/confirm", category="repair",
                    location="DEMO-GYM", description="Light out in the gym", name="", phone="13812345678")
    assert response.status_code == 303
    page = desk.get(f"/staff/t/{ticket['id']}").get_data(as_text=True)
    assert "<del>Light out</del>" in page and "<ins>Light out in the gym</ins>" in page
    events = store.ticket(ticket["id"])["events"]
    assert {e["type"] for e in events[-2:]} == {"amended", "confirmed"}
    assert all(e["actor"]["id"] == desk.staff["id"] and e["actor"]["name"] == "Li Na"
               for e in events[-2:])


def test_staff_see_the_full_phone_number_the_public_does_not(visitor, desk, client, store):
    visitor.report(phone="13812345678")
    (ticket,) = store.open_tickets()
    assert "13812345678" in desk.get(f"/staff/t/{ticket['id']}").get_data(as_text=True)


def test_a_phone_record_shows_the_greeting_and_is_created(desk, store):
    form = desk.get("/staff/record/phone").get_data(as_text=True)
    assert "您好，客户服务部，有什么能为您服务吗" in form
    response = post(desk, "/staff/record/phone", category="inquiry", location="",
                    description="Asks about the water bill", name="Zhang", phone="",
                    received_at="2026-11-28T09:55")
    assert response.status_code == 303
    (ticket,) = store.open_tickets()
    assert ticket["channel"] == "phone" and ticket["status"] == "open"
    assert ticket["reported_at"] == "2026-11-28T01:55:00+00:00"


def test_a_bad_record_keeps_what_was_typed(desk, store):
    response = post(desk, "/staff/record/walk_in", category="repair", location="DEMO-LIB",
                    description="Door lock broken", phone="12")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Door lock broken" in html and 'id="phone-error"' in html
    assert store.open_tickets() == []


def test_close_with_a_reason_and_nothing_is_deleted(visitor, desk, store):
    visitor.report()
    (ticket,) = store.open_tickets()
    assert post(desk, f"/staff/t/{ticket['id']}/close", reason="spam", confirm="yes").status_code == 303
    page = desk.get(f"/staff/t/{ticket['id']}").get_data(as_text=True)
    assert ticket["number"] in page and "无效信息" in page  # still there, with its reason
    assert post(desk, f"/staff/t/{ticket['id']}/confirm").status_code == 409


def test_notes_stay_off_the_public_status_page(visitor, desk, client, store):
    visitor.report()
    (ticket,) = store.open_tickets()
    post(desk, f"/staff/t/{ticket['id']}/note", note="Owner is rude")
    assert "Owner is rude" in desk.get(f"/staff/t/{ticket['id']}").get_data(as_text=True)
    assert "Owner is rude" not in client.get(f"/t/{ticket['token']}").get_data(as_text=True)


def test_an_emergency_is_pinned_with_an_alarm_until_acknowledged(visitor, desk, store):
    visitor.report(category="inquiry")
    visitor.report(category="emergency")
    emergency = next(t for t in store.open_tickets() if t["category"] == "emergency")
    html = desk.get("/staff/").get_data(as_text=True)
    first_row = re.search(r"<tr class=\"([^\"]*)\">\s*<td[^>]*><a [^>]*>([^<]+)<", html)
    assert "alarm" in first_row.group(1) and first_row.group(2) == emergency["number"]
    post(desk, f"/staff/t/{emergency['id']}/acknowledge")
    assert "alarm-badge" not in desk.get("/staff/").get_data(as_text=True)


def test_a_half_filled_visitor_entry_stays_as_a_draft_staff_can_finish(app, client, visitor, store):
    visitor.post("/report", {"category": "repair"})
    visitor.post("/report/place", {"location": "DEMO-LIB"})
    visitor.post("/report/details", {"description": "Half typed", "phone": "13812345678"})
    sign_in(app, client)  # staff take over the same tablet
    html = client.get("/staff/").get_data(as_text=True)
    assert "Half typed" in html
    draft_id = store.all_drafts()[0]["id"]
    form = client.get(f"/staff/record/walk_in?draft={draft_id}").get_data(as_text=True)
    assert "Half typed" in form
    token = csrf_token(client, "/staff/")
    client.post("/staff/record/walk_in", data={"csrf_token": token, "draft": draft_id,
                                              "category": "repair", "location": "DEMO-LIB",
                                              "description": "Half typed", "phone": "13812345678"})
    assert store.all_drafts() == [] and len(store.open_tickets()) == 1


def test_unknown_ticket_is_a_404(desk):
    assert desk.get("/staff/t/NOPE").status_code == 404


@pytest.mark.parametrize("role, shown", [
    ("receptionist", {"/staff/orders/", "/staff/places", "/staff/departments",
                      "/staff/reports/issued", "/staff/sync", "/staff/handover",
                      "/staff/diary", "/staff/notices", "/staff/meters", "/staff/arrears",
                      "/staff/items", "/staff/households", "/staff/fees",
                      "/staff/plan", "/staff/movein", "/staff/letters"}),
    ("manager", {"/staff/orders/", "/staff/places", "/staff/departments",
                 "/staff/reports/issued", "/staff/sync", "/staff/team",
                 "/staff/handover", "/staff/diary", "/staff/notices", "/staff/meters",
                 "/staff/arrears", "/staff/items", "/staff/households", "/staff/fees",
                 "/staff/plan", "/staff/movein", "/staff/letters"}),
    ("maintenance", {"/staff/places", "/staff/departments", "/staff/meters"}),
])
def test_more_lists_the_pages_the_menu_has_no_room_for_as_the_role_uses_them(app, client, role,
                                                                             shown):
    sign_in(app, client, name=f"A {role}", role=role)
    html = client.get("/staff/more").get_data(as_text=True)
    listed = set(re.findall(r'<li><a class="button big" href="([^"]+)"', html))
    assert listed == shown
    for path in shown:  # each opens, and lights "more" in the menu (issued reports: "reports")
        page = client.get(path).get_data(as_text=True)
        lit = "/staff/reports" if path == "/staff/reports/issued" else "/staff/more"
        assert f'<a href="{lit}" class="button primary">' in page, path
