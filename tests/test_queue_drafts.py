"""Visitors' unfinished entries in the queue (issue 9, point 5): only the ones with
something typed, newest first, a handful with "more", dismissed by the desk."""
from __future__ import annotations

import re

import pytest
from helpers import Visitor, csrf_token, sign_in

from kiosk.tickets import queue

FINISH = re.compile(r'href="/staff/record/walk_in\?draft=([^"]+)"')


def start_draft(app, store, details: dict | None = None) -> str:
    """A visitor on a kiosk of their own taps a tile and a place, and maybe types; returns
    the draft's id."""
    visitor = Visitor(app.test_client())
    visitor.post("/report", {"category": "repair"})
    visitor.post("/report/place", {"location": "DEMO-LIB"})
    if details is not None:
        visitor.post("/report/details", {"description": "", "name": "", "phone": "",
                                         "preferred_at": "", **details})
    draft_id = store.all_drafts()[0]["id"]  # the newest
    visitor.draft_id = draft_id
    return draft_id


@pytest.fixture
def desk(app):
    client = app.test_client()
    sign_in(app, client)
    client.token = csrf_token(client, "/staff/")
    return client


def listed(desk, query: str = "") -> list[str]:
    return FINISH.findall(desk.get("/staff/" + query).get_data(as_text=True))


def test_only_drafts_with_something_typed_are_listed(app, store, desk):
    start_draft(app, store)  # a tile and a place, then walked away
    start_draft(app, store, {"description": "   "})  # only blanks
    described = start_draft(app, store, {"description": "The tap drips"})
    named = start_draft(app, store, {"name": "Wang"})
    phoned = start_draft(app, store, {"phone": "138"})
    assert len(store.all_drafts()) == 5
    assert listed(desk) == [phoned, named, described]
    html = desk.get("/staff/").get_data(as_text=True)
    assert "The tap drips" in html and "?drafts=all" not in html
    assert "报修 · Wang<" in html and "报修 · **8<" in html  # who, the phone masked


def test_a_draft_of_odd_values_is_listed_by_what_reads(app, store, desk):
    store.save_draft("odd-draft-id-0000000000", {"category": "repair", "description": 5,
                                                  "name": " Li ", "phone": None})
    html = desk.get("/staff/").get_data(as_text=True)
    assert "报修 · Li<" in html and listed(desk) == ["odd-draft-id-0000000000"]


def test_no_unfinished_entries_section_when_every_draft_is_empty(app, store, desk):
    for _ in range(3):
        start_draft(app, store)
    html = desk.get("/staff/").get_data(as_text=True)
    assert "未完成的登记" not in html and listed(desk) == []


def test_newest_first_at_most_a_handful_then_more(app, store, desk):
    ids = [start_draft(app, store, {"description": f"Entry {n}"}) for n in range(5)]
    newest_first = ids[::-1]
    html = desk.get("/staff/").get_data(as_text=True)
    assert FINISH.findall(html) == newest_first[:queue.DRAFTS_SHOWN] == newest_first[:3]
    assert 'href="/staff/?drafts=all"' in html and "再显示 2 条" in html
    assert "Entry 1" not in html and "Entry 0" not in html
    assert listed(desk, "?drafts=all") == newest_first
    assert "?drafts=all" not in desk.get("/staff/?drafts=all").get_data(as_text=True)


def test_a_receptionist_dismisses_a_draft_and_a_resend_answers_the_same(app, store, desk):
    keep = start_draft(app, store, {"description": "Keep me"})
    gone = start_draft(app, store, {"description": "Walked away"})
    html = desk.get("/staff/").get_data(as_text=True)
    assert f'action="/staff/drafts/{gone}/dismiss"' in html
    seq = store.last_seq
    for _ in range(2):  # the second is a resend: already gone, same answer
        response = desk.post(f"/staff/drafts/{gone}/dismiss", data={"csrf_token": desk.token})
        assert response.status_code == 303 and response.headers["Location"] == "/staff/"
    assert store.get_draft(gone) == {} and store.get_draft(keep) != {}
    assert listed(desk) == [keep]
    assert store.last_seq == seq  # a draft is no record: nothing is logged


def test_dismissing_from_the_full_list_goes_back_to_it(app, store, desk):
    ids = [start_draft(app, store, {"description": f"Entry {n}"}) for n in range(5)]
    response = desk.post(f"/staff/drafts/{ids[0]}/dismiss",
                         data={"csrf_token": desk.token, "drafts": "all"})
    assert response.headers["Location"] == "/staff/?drafts=all"
    assert listed(desk, "?drafts=all") == ids[:0:-1]


def test_dismissing_needs_the_csrf_token(app, store, desk):
    draft = start_draft(app, store, {"description": "Still here"})
    assert desk.post(f"/staff/drafts/{draft}/dismiss").status_code == 400
    assert store.get_draft(draft) != {}


def test_maintenance_may_not_dismiss_a_draft(app, store):
    draft = start_draft(app, store, {"description": "Still here"})
    client = app.test_client()
    sign_in(app, client, name="Zhao Gang", role="maintenance")
    html = client.get("/staff/").get_data(as_text=True)
    assert "/dismiss" not in html
    response = client.post(f"/staff/drafts/{draft}/dismiss",
                           data={"csrf_token": csrf_token(client, "/staff/")})
    assert response.status_code == 403 and store.get_draft(draft) != {}


def test_nobody_signed_out_dismisses_a_draft(app, store, client):
    draft = start_draft(app, store, {"description": "Still here"})
    response = client.post(f"/staff/drafts/{draft}/dismiss",
                           data={"csrf_token": csrf_token(client, "/")})
    assert response.status_code == 303 and "/staff/login" in response.headers["Location"]
    assert store.get_draft(draft) != {}


def test_a_draft_cleared_by_the_idle_reset_never_shows(app, store, desk):
    visitor = Visitor(app.test_client())
    visitor.post("/report", {"category": "repair"})
    visitor.post("/report/place", {"location": "DEMO-LIB"})
    visitor.post("/report/details", {"description": "Typed, then left", "phone": "138"})
    assert "Typed, then left" in desk.get("/staff/").get_data(as_text=True)
    # the idle countdown ends: the page sends the reset form
    assert visitor.post("/reset").status_code == 303
    assert store.all_drafts() == []
    assert "Typed, then left" not in desk.get("/staff/").get_data(as_text=True)
    # the next visitor's page (the same browser) starts afresh: no draft comes back
    visitor.client.get("/")
    assert store.all_drafts() == [] and listed(desk) == []
