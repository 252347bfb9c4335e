"""The visitor's flow through the test client: steps, drafts, receipt, status page."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from kiosk.tickets import rules


def receipt_token(client) -> str:
    html = client.get("/report/receipt").get_data(as_text=True)
    return re.search(r'href="/t/([^"]+)"', html).group(1)


@pytest.mark.parametrize("category", sorted(rules.CATEGORIES))
def test_each_category_is_recorded_with_a_ticket_number(visitor, client, store, category):
    response = visitor.report(category=category)
    assert response.status_code == 303 and response.location.endswith("/report/receipt")
    token = receipt_token(client)
    ticket = store.ticket_by_token(token)
    letter = rules.CATEGORIES[category].letter
    assert ticket["number"] == f"{letter}-1128-001"
    assert ticket["category"] == category and ticket["channel"] == "kiosk"
    assert ticket["status"] == "new"
    assert ticket["events"][0]["actor"] == {"role": "visitor"}


def test_ticket_numbers_count_up_through_the_day(visitor, store):
    for _ in range(3):
        visitor.report()
    assert sorted(t["number"] for t in store.open_tickets()) == [
        "R-1128-001", "R-1128-002", "R-1128-003"]


def test_daily_counter_restarts_on_the_next_site_day(visitor, store, clock):
    visitor.report()
    clock.now += timedelta(days=1)
    visitor.report()
    assert sorted(t["number"] for t in store.open_tickets()) == ["R-1128-001", "R-1129-001"]


def test_repair_is_due_thirty_minutes_after_the_report(visitor, store, clock):
    visitor.report(category="repair")
    (ticket,) = store.open_tickets()
    assert ticket["due_at"] == (clock.now + timedelta(minutes=30)).isoformat()


def test_repair_at_a_preferred_time_is_due_then(visitor, store, clock):
    visitor.report(category="repair", preferred_at="2026-11-28T15:30")  # Shanghai time
    (ticket,) = store.open_tickets()
    assert ticket["due_at"] == "2026-11-28T07:30:00+00:00"


def test_receipt_tells_what_happens_next_in_chinese(visitor, client):
    visitor.report(category="repair")
    html = client.get("/report/receipt").get_data(as_text=True)
    assert "维修人员将在 30 分钟内到达现场。" in html
    assert re.search(r'id="ticket-number">R-1128-001<', html)


def test_emergency_receipt_names_the_emergency_numbers(visitor, client):
    visitor.report(category="emergency")
    assert "110 / 119 / 120" in client.get("/report/receipt").get_data(as_text=True)


def test_status_page_masks_the_phone_and_shows_public_steps(visitor, client):
    visitor.report(phone="13812345678")
    html = client.get(f"/t/{receipt_token(client)}").get_data(as_text=True)
    assert "*******5678" in html and "138*" not in html and "13812345678" not in html
    assert "已登记" in html  # the public "reported" step


def test_unknown_status_token_is_a_friendly_404(client):
    response = client.get("/t/" + "A" * 32)
    assert response.status_code == 404
    assert "找不到这张报事单" in response.get_data(as_text=True)


def test_qr_entry_prefills_the_place_and_skips_the_place_step(client, visitor, store):
    assert client.get("/q/DEMO-LIB").status_code == 303
    response = visitor.post("/report", {"category": "repair"})
    assert response.location.endswith("/report/details")
    visitor.post("/report/details", {"description": "Leak", "phone": "13812345678"})
    visitor.post("/report/review")
    (ticket,) = store.open_tickets()
    assert ticket["location"] == "DEMO-LIB" and ticket["channel"] == "qr"


def test_unknown_qr_code_offers_to_pick_a_place(client):
    response = client.get("/q/NO-SUCH-PLACE")
    assert response.status_code == 404
    assert "自己选择地点" in response.get_data(as_text=True)


def test_validation_error_keeps_what_was_typed(visitor):
    visitor.post("/report", {"category": "repair"})
    visitor.post("/report/place", {"location": "DEMO-LIB"})
    response = visitor.post("/report/details", {"description": "水管漏水 in room 201", "phone": "123",
                                                "name": "王老师"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "水管漏水 in room 201" in html and 'value="王老师"' in html and 'value="123"' in html
    assert 'id="phone-error"' in html and "11 位手机号码" in html
    # leaving and coming back keeps it too
    assert "水管漏水 in room 201" in visitor.client.get("/report/details").get_data(as_text=True)


@pytest.mark.parametrize("category, phone_needed", [("repair", True), ("complaint", True),
                                                    ("inquiry", False), ("suggestion", False)])
def test_phone_is_required_only_where_someone_must_call_back(visitor, category, phone_needed):
    visitor.post("/report", {"category": category})
    visitor.post("/report/place", {"location": "DEMO-LIB"})
    response = visitor.post("/report/details", {"description": "x", "phone": ""})
    assert (response.status_code == 422) == phone_needed


def test_place_can_be_skipped_only_where_no_place_is_needed(visitor):
    visitor.post("/report", {"category": "repair"})
    assert visitor.post("/report/place", {"skip": "1"}).status_code == 422
    visitor.post("/report", {"category": "inquiry"})
    assert visitor.post("/report/place", {"skip": "1"}).status_code == 303


def test_steps_without_an_entry_send_the_visitor_home(client):
    for path in ("/report/place", "/report/details", "/report/review"):
        response = client.get(path)
        assert response.status_code == 303 and response.location.endswith("/")


def test_place_search_returns_the_rows_partial_for_its_trigger(visitor, client):
    visitor.post("/report", {"category": "repair"})
    headers = {"HX-Request": "true", "HX-Trigger": "place-search"}
    partial = client.get("/report/place?q=图书", headers=headers).get_data(as_text=True)
    assert partial.lstrip().startswith('<div id="places"') and "DEMO-LIB" in partial
    assert "DEMO-GYM" not in partial
    full = client.get("/report/place?q=图书").get_data(as_text=True)
    assert full.lstrip().lower().startswith("<!doctype html>")


def test_boosted_requests_still_get_the_full_page(visitor, client):
    visitor.post("/report", {"category": "repair"})
    html = client.get("/report/place", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert html.get_data(as_text=True).lstrip().lower().startswith("<!doctype html>")


def test_reset_forgets_the_entry_and_the_language(visitor, client, store):
    client.get("/lang/en")
    visitor.post("/report", {"category": "repair"})
    visitor.post("/report/place", {"location": "DEMO-LIB"})
    visitor.post("/report/details", {"description": "secret detail", "phone": "13812345678"})
    assert store.all_drafts()
    visitor.post("/reset")
    assert not store.all_drafts()
    html = client.get("/").get_data(as_text=True)
    assert "您好" in html and "secret detail" not in html
    assert client.get("/report/details").status_code == 303


def test_receipt_is_gone_after_reset(visitor, client):
    visitor.report()
    visitor.token = re.search(r'name="csrf_token" value="([^"]+)"',
                              client.get("/report/receipt").get_data(as_text=True)).group(1)
    visitor.post("/reset")
    assert client.get("/report/receipt").status_code == 303


def test_healthz_answers_json(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json["ok"] is True
    assert response.json["store"]["last_seq"] >= 1  # the demo places
    sync = response.json["sync"]
    assert sync["configured"] is False and sync["waiting"] == response.json["store"]["last_seq"]
    assert "key" not in str(sync).lower()


def test_the_shared_start_screen_still_gives_each_visitor_their_own_csrf_token(app):
    from helpers import csrf_token
    first, second = app.test_client(), app.test_client()
    token_a, token_b = csrf_token(first), csrf_token(second)
    assert token_a != token_b and "__csrf_token_hole__" not in first.get("/").get_data(as_text=True)
    assert first.post("/report", data={"csrf_token": token_b, "category": "repair"}).status_code == 400
    assert first.post("/report", data={"csrf_token": token_a, "category": "repair"}).status_code == 303
