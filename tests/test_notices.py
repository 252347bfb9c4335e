"""Notices (R18) under /staff/notices: written by the desk as signed site events, shown on
the start screen while valid (pinned first, then important ones, then the newest), gone
when withdrawn or past their end by the injected clock, and rebuilt from the log."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from helpers import csrf_token, sign_in

from hq import ingest
from kiosk.notices import service
from kiosk.permissions import Forbidden
from kiosk.store import Store

# the test clock is 2026-11-28 10:00 in Shanghai, the site's zone
FORM = {"title": "停水通知", "text": "3号楼周六停水\n请提前储水。", "importance": "normal",
        "valid_from": "2026-11-28T09:00", "valid_to": "2026-11-30T18:00", "building": ""}


def html_of(response) -> str:
    return response.get_data(as_text=True)


def of_type(store, *kinds: str) -> list[dict]:
    return [e for e in store.events_after(0) if e["type"] in kinds]


class Desk:
    """A signed-in staff member at the notices pages, sending real CSRF tokens."""

    def __init__(self, app, client, role="receptionist", name="Li Na"):
        self.client = client
        self.staff = sign_in(app, client, name, role)
        client.get("/lang/en")  # assert on the English msgids, whatever the catalog holds
        self.token = csrf_token(client, "/staff/more")

    def post(self, path: str, data: dict | None = None):
        return self.client.post(path, data={"csrf_token": self.token, **(data or {})})

    def publish(self, path="/staff/notices/new", **fields):
        return self.post(path, {**FORM, **fields})


@pytest.fixture
def desk(app, client):
    return Desk(app, client)


def home(app) -> str:
    """The start screen of a fresh kiosk (no session), in English."""
    fresh = app.test_client()
    fresh.get("/lang/en")
    return html_of(fresh.get("/"))


def test_a_published_notice_is_on_the_start_screen_and_the_staff_list(app, desk, store):
    response = desk.publish(request_id="r" * 22)
    assert response.status_code == 303
    [event] = of_type(store, "notice_published")
    assert event["actor"]["name"] == "Li Na" and event["data"]["valid_to"] == "2026-11-30T10:00:00+00:00"
    assert event["data"]["request_id"] == "r" * 22 and event["data"]["pinned"] is False
    page = home(app)
    assert "停水通知" in page and "3号楼周六停水<br>请提前储水。" in page
    assert 'aria-live="polite"' in page and "Li Na" not in page
    staff = html_of(desk.client.get("/staff/notices"))
    assert "停水通知" in staff and "Withdraw" in staff


def test_the_text_is_escaped(app, desk):
    desk.publish(title="<b>x</b>", text="<script>alert(1)</script>")
    page = home(app)
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page


@pytest.mark.parametrize("fields, field, message", [
    ({"title": ""}, "title", "Please fill this in."),
    ({"title": "x" * 61}, "title", "Please keep this to 60 characters or fewer."),
    ({"text": " "}, "text", "Please fill this in."),
    ({"text": "x" * 1001}, "text", "Please keep this to 1000 characters or fewer."),
    ({"importance": "urgent"}, "importance", "Please choose normal or important."),
    ({"valid_from": "tomorrow"}, "valid_from", "Please pick a date and time."),
    ({"valid_to": "2026-11-28T08:00"}, "valid_to", "The end must be after the start."),
    ({"valid_from": "2026-11-20T08:00", "valid_to": "2026-11-27T08:00"}, "valid_to",
     "The end is in the past: the notice would never be shown."),
    ({"valid_to": "2027-03-01T09:00"}, "valid_to", "A notice may be shown for at most 90 days."),
    ({"building": "Nowhere"}, "building", "Please choose a building from the list."),
])
def test_bad_input_is_refused_with_its_message_and_everything_typed_kept(desk, store, fields,
                                                                         field, message):
    response = desk.publish(**fields)
    page = html_of(response)
    assert response.status_code == 422
    assert re.search(f'id="{field}-error">{re.escape(message)}<', page)
    assert "3号楼周六停水\n请提前储水。</textarea>" in page or field == "text"
    if field == "title":
        assert f'value="{fields["title"]}"' in page
    assert not of_type(store, "notice_published")


def test_a_building_notice_shows_at_its_buildings_places_only(app, desk, store, client):
    desk.publish(title="图书馆闭馆", building="图书馆")
    assert "图书馆闭馆" in home(app)  # the desk's kiosk shows every building's
    at = app.test_client()
    at.get("/q/DEMO-LIB")
    assert "图书馆闭馆" in html_of(at.get("/"))
    elsewhere = app.test_client()
    elsewhere.get("/q/DEMO-GYM")
    assert "图书馆闭馆" not in html_of(elsewhere.get("/"))


def test_pinned_first_then_important_then_newest(app, desk, store, clock):
    desk.publish(title="Old normal")
    clock.now += timedelta(minutes=1)
    desk.publish(title="Important one", importance="important")
    clock.now += timedelta(minutes=1)
    desk.publish(title="Pinned one", pinned="1")
    clock.now += timedelta(minutes=1)
    desk.publish(title="New normal")
    titles = [n["title"] for n in service.current(store, clock())]
    assert titles == ["Pinned one", "Important one", "New normal", "Old normal"]
    page = home(app)
    assert page.index("Pinned one") < page.index("Important one") < page.index("New normal")


def test_an_edit_publishes_again_under_the_same_id(app, desk, store):
    desk.publish()
    [notice] = store.notices()
    response = desk.publish(f"/staff/notices/{notice['id']}", title="停水通知（改）")
    assert response.status_code == 303
    assert [n["title"] for n in store.notices()] == ["停水通知（改）"]
    assert len(of_type(store, "notice_published")) == 2
    form = html_of(desk.client.get(f"/staff/notices/{notice['id']}"))
    assert 'value="2026-11-30T18:00"' in form  # shown in the site's zone
    assert desk.client.get("/staff/notices/n-nothing").status_code == 404


def test_a_withdrawn_notice_is_gone(app, desk, store):
    desk.publish()
    [notice] = store.notices()
    assert desk.post(f"/staff/notices/{notice['id']}/withdraw").status_code == 303
    desk.post(f"/staff/notices/{notice['id']}/withdraw")  # a second tap records nothing
    assert len(of_type(store, "notice_withdrawn")) == 1
    assert "停水通知" not in home(app)
    staff = html_of(desk.client.get("/staff/notices"))
    assert "Withdrawn" in staff and "停水通知" in staff


def test_a_notice_disappears_by_itself_when_the_clock_passes_its_end(app, desk, store, clock):
    desk.publish(valid_from="2026-11-28T12:00")
    assert "停水通知" not in home(app)  # not yet
    assert "Coming up (1)" in html_of(desk.client.get("/staff/notices"))
    clock.now += timedelta(hours=3)
    assert "停水通知" in home(app)
    clock.now += timedelta(days=3)
    assert "停水通知" not in home(app)
    assert [n["title"] for n in service.for_staff(store, clock())["ended"]] == ["停水通知"]


def test_receptionists_and_managers_may_publish_maintenance_may_not(app, client, store):
    maintenance = Desk(app, client, role="maintenance", name="Zhang Wei")
    assert client.get("/staff/notices").status_code == 403
    assert maintenance.publish().status_code == 403
    assert not of_type(store, "notice_published")
    with pytest.raises(Forbidden):
        service.publish(store, FORM, actor={"role": "maintenance", "id": "x", "name": "x"},
                        now=app.config["CLOCK"](), tz=app.config["TZ"])
    manager = Desk(app, app.test_client(), role="manager", name="Wang Fang")
    assert manager.publish().status_code == 303


def test_a_resent_form_stores_one_event(desk, store):
    for _ in range(2):
        assert desk.publish(request_id="q" * 22).status_code == 303
    assert len(of_type(store, "notice_published")) == 1


def test_the_notices_are_rebuilt_from_the_log_and_hq_accepts_their_events(app, desk, store,
                                                                           tmp_path):
    desk.publish(pinned="1", importance="important")
    desk.publish(title="Second")
    gone = [n for n in store.notices() if n["title"] == "Second"][0]
    desk.post(f"/staff/notices/{gone['id']}/withdraw")
    before = store.notices()
    store.rebuild()
    assert store.notices() == before
    for event in of_type(store, "notice_published", "notice_withdrawn"):
        assert event["type"] in ingest.SITE_EVENT_TYPES
        assert ingest._data_problem(event["type"], event["data"]) is None
    assert ingest._data_problem("notice_withdrawn", {}) == "data.id is missing"
    folder = store.folder
    app.extensions["kiosk_store"].close()
    (folder / "projections" / "notices.json").unlink()
    again = Store(folder)
    try:
        assert again.notices() == before
    finally:
        again.close()
    app.extensions["kiosk_store"] = Store(folder)  # for the fixture's close
