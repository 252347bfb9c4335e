"""The shift handover and the work diary (R20) under /staff/handover and /staff/diary:
the summary prepared from the store, signed by the outgoing person, acknowledged by the
incoming one with their own PIN on the same screen, on the queue until then; the diary
per day; desk only; resends store nothing; rebuilt from the log; accepted by HQ."""
from __future__ import annotations

import logging
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import render_template_string
from helpers import csrf_token, sign_in

from hq import ingest
from kiosk.handover import service
from kiosk.notices import service as notices
from kiosk.registers import items, parcels
from kiosk.store import Store
from kiosk.tickets import actions, rules

SYSTEM = {"role": "system", "id": "test", "name": "test"}


def html_of(response) -> str:
    return response.get_data(as_text=True)


def of_type(store, *kinds: str) -> list[dict]:
    return [e for e in store.events_after(0) if e["type"] in kinds]


def request_id_of(html: str, action: str) -> str:
    """The request id of the form posting to ``action`` on a page."""
    form = re.search(r'action="%s".*?</form>' % re.escape(action), html, re.S).group(0)
    return re.search(r'name="request_id" value="([^"]+)"', form).group(1)


class Desk:
    """A signed-in desk member at the handover pages, sending real CSRF tokens."""

    def __init__(self, app, client, name="Li Na", role="receptionist", pin="2468"):
        self.app, self.client = app, client
        self.staff = sign_in(app, client, name, role, pin)
        client.get("/lang/en")  # assert on the English msgids, whatever the catalog holds
        self.token = csrf_token(client, "/staff/handover")

    def again(self):
        """Sign in again (after the clock moved past the idle sign-out)."""
        sign_in(self.app, self.client, self.staff["name"], self.staff["role"], "2468")
        self.client.get("/lang/en")
        self.token = csrf_token(self.client, "/staff/handover")

    @property
    def actor(self) -> dict:
        return {k: self.staff[k] for k in ("role", "id", "name")}

    def post(self, path: str, data: dict | None = None):
        return self.client.post(path, data={"csrf_token": self.token, **(data or {})})

    def sign(self, to="Zhao Lei", notes="Keys of room 3 are with security.",
             request_id="rq-sign-1"):
        return self.post("/staff/handover/sign", {"to": to, "notes": notes,
                                                  "request_id": request_id})

    def acknowledge(self, hid, name="Zhao Lei", pin="1357", request_id="rq-ack-1"):
        return self.post(f"/staff/handover/{hid}/acknowledge",
                         {"ack_name": name, "ack_pin": pin, "request_id": request_id})


@pytest.fixture
def incoming(app):
    """The incoming receptionist's account."""
    return app.extensions["staff_directory"].add("Zhao Lei", "receptionist", "1357",
                                                 actor=SYSTEM, now=app.config["CLOCK"]())


@pytest.fixture
def desk(app, client, incoming):
    return Desk(app, client)


def _record(app, store, desk, category, description):
    return actions.record(store, {"category": category, "location": "DEMO-LIB",
                                  "description": description, "phone": "13812345678"},
                          "phone", actor=desk.actor, now=app.config["CLOCK"](),
                          tz=app.config["TZ"], policy=app.config["POLICY"])


def test_the_summary_lists_a_late_repair_and_an_unacknowledged_emergency(app, store, desk, clock):
    repair = _record(app, store, desk, "repair", "The tap leaks")
    emergency = _record(app, store, desk, "emergency", "Smoke in the corridor")
    calm = _record(app, store, desk, "emergency", "Water on the floor")
    actions.acknowledge(store, calm["id"], actor=desk.actor, now=clock())
    clock.now += timedelta(hours=5)  # the repair's arrival is long overdue
    desk.again()
    prepared = service.prepare(store, clock(), app.config["TZ"], app.config["POLICY"])
    assert prepared["open_tickets"] == 3
    assert repair["number"] in prepared["late"]
    assert prepared["emergencies"] == [emergency["number"]]
    assert prepared["revisits_due"] == 0
    page = html_of(desk.client.get("/staff/handover"))
    assert repair["number"] in page and emergency["number"] in page
    assert "Emergencies not acknowledged (1)" in page


def test_the_summary_lists_parcels_waiting_items_overdue_and_notices_ending(app, store, desk,
                                                                           clock):
    tz = app.config["TZ"]
    for name in ("Zhang San", "Li Si"):
        parcels.receive(store, {"recipient": name, "carrier": "SF", "kind": "parcel"},
                        actor=desk.actor, now=clock())
    items.lend(store, {"item": "Ladder", "quantity": "1", "to_name": "Wang Wu",
                       "due_at": "2026-11-28T11:00"}, actor=desk.actor, now=clock(), tz=tz)
    items.lend(store, {"item": "Key 3-1201", "quantity": "1", "to_name": "Zhao Liu",
                       "due_at": "2026-11-30T11:00"}, actor=desk.actor, now=clock(), tz=tz)
    for title, end in (("Water off", "2026-11-29T09:00"), ("Lift check", "2026-12-05T18:00")):
        notices.publish(store, {"title": title, "text": "x", "valid_from": "2026-11-28T08:00",
                                "valid_to": end}, actor=desk.actor, now=clock(), tz=tz)
    clock.now += timedelta(hours=2)  # 12:00: the ladder was due back at 11:00
    prepared = service.prepare(store, clock(), tz, app.config["POLICY"])
    assert prepared["parcels_waiting"] == 2
    assert prepared["items_out"] == 2
    assert prepared["items_overdue"] == ["Ladder → Wang Wu"]
    assert prepared["notices_ending"] == ["Water off"]
    desk.again()
    page = html_of(desk.client.get("/staff/handover"))
    assert "Ladder → Wang Wu" in page and "Water off" in page and "Lift check" not in page


def test_signing_appends_one_handover_by_the_outgoing_person_and_a_resend_stores_nothing(
        store, desk):
    response = desk.sign()
    assert response.status_code == 303
    signed = of_type(store, "handover_signed")
    assert len(signed) == 1
    event = signed[0]
    assert event["actor"] == desk.actor
    assert event["data"]["to"] == "Zhao Lei"
    assert event["data"]["notes"] == "Keys of room 3 are with security."
    assert event["data"]["request_id"] == "rq-sign-1"
    assert set(event["data"]["prepared"]) >= {"open_tickets", "late", "emergencies",
                                              "revisits_due"}
    last = store.last_seq
    assert desk.sign().status_code == 303  # the same form again
    assert store.last_seq == last
    assert service.pending(store)["id"] == event["data"]["id"]


def test_bad_input_is_a_422_with_everything_typed_kept(store, desk):
    response = desk.sign(to="Nobody", notes="Remember the boiler")
    assert response.status_code == 422
    page = html_of(response)
    assert "Please choose whom you hand over to from the list." in page
    assert "Remember the boiler" in page
    assert desk.sign(to="", notes="x" * 2001).status_code == 422
    assert not of_type(store, "handover_signed")


def test_the_banner_shows_on_the_queue_until_the_incoming_person_acknowledges(
        app, store, desk, incoming):
    assert 'id="handover-pending"' not in html_of(desk.client.get("/staff/"))
    desk.sign()
    hid = service.pending(store)["id"]
    # the partial the queue includes, with what the console passes it
    with app.test_request_context():
        html = render_template_string('{% include "handover/_pending.html" %}',
                                      handover_pending=service.pending(store))
    assert 'id="handover-pending"' in html and "Li Na" in html
    desk.acknowledge(hid)
    assert service.pending(store) is None
    with app.test_request_context():
        html = render_template_string('{% include "handover/_pending.html" %}',
                                      handover_pending=service.pending(store))
    assert 'id="handover-pending"' not in html


def test_a_wrong_pin_is_a_422_appends_nothing_and_never_echoes_the_pin(store, desk):
    desk.sign()
    hid, last = service.pending(store)["id"], store.last_seq
    response = desk.acknowledge(hid, pin="9999")
    assert response.status_code == 422
    page = html_of(response)
    assert "This name and PIN do not match a staff account." in page
    assert "9999" not in page and 'value="Zhao Lei"' in page
    assert store.last_seq == last and service.pending(store)


def test_the_outgoing_person_cannot_acknowledge_their_own_handover(store, desk):
    desk.sign()
    hid, last = service.pending(store)["id"], store.last_seq
    response = desk.acknowledge(hid, name="Li Na", pin="2468")
    assert response.status_code == 422
    assert "You signed this handover yourself." in html_of(response)
    assert store.last_seq == last


def test_another_account_acknowledges_with_its_pin_signed_by_that_account(store, desk, incoming):
    desk.sign()
    hid = service.pending(store)["id"]
    response = desk.acknowledge(hid)
    assert response.status_code == 303
    [event] = of_type(store, "handover_acknowledged")
    assert event["actor"] == {k: incoming[k] for k in ("role", "id", "name")}
    assert event["data"] == {"id": hid, "request_id": "rq-ack-1"}
    last = store.last_seq
    assert desk.acknowledge(hid).status_code == 303  # resent: nothing new
    assert store.last_seq == last
    assert desk.acknowledge(hid, request_id="rq-other").status_code == 409
    assert store.last_seq == last
    history = html_of(desk.client.get("/staff/handover"))
    row = re.search(r'id="handover-%s".*?</tr>' % hid, history, re.S).group(0)
    assert "Li Na" in row and "Zhao Lei" in row


def test_the_diary_lists_entries_per_day_and_a_resend_stores_nothing(store, desk, clock):
    for _ in range(2):  # sent twice
        response = desk.post("/staff/diary", {"text": "Boiler checked", "request_id": "d1"})
        assert response.status_code == 303
    assert len(of_type(store, "diary_noted")) == 1
    response = desk.post("/staff/diary", {"text": "", "request_id": "d2"})
    assert response.status_code == 422
    assert desk.post("/staff/diary", {"text": "y" * 501, "request_id": "d3"}).status_code == 422
    clock.now += timedelta(days=1)
    desk.again()
    desk.post("/staff/diary", {"text": "Lift inspected", "request_id": "d4"})
    today = html_of(desk.client.get("/staff/diary"))
    assert "Lift inspected" in today and "Boiler checked" not in today
    yesterday = html_of(desk.client.get("/staff/diary?day=2026-11-28"))
    assert "Boiler checked" in yesterday and "Lift inspected" not in yesterday
    assert "Li Na" in yesterday
    assert desk.client.get("/staff/diary?day=yesterday").status_code == 404


def test_maintenance_gets_403(app, client):
    sign_in(app, client, "Zhang Wei", "maintenance", "1357")
    assert client.get("/staff/handover").status_code == 403
    assert client.get("/staff/diary").status_code == 403
    token = csrf_token(client, "/staff/")
    assert client.post("/staff/diary", data={"csrf_token": token, "text": "x"}).status_code == 403
    assert client.post("/staff/handover/sign", data={"csrf_token": token}).status_code == 403


def test_the_handover_pages_are_under_more_for_the_desk(desk):
    page = html_of(desk.client.get("/staff/more"))
    assert "/staff/handover" in page and "/staff/diary" in page


def test_a_lost_projection_is_rebuilt_from_the_log(tmp_path, clock, caplog):
    store = Store(tmp_path / "data", site_id="site-test")
    out = {"role": "receptionist", "id": "st-1", "name": "Li Na"}
    zhao = {"role": "receptionist", "id": "st-2", "name": "Zhao Lei"}
    tz, policy = ZoneInfo("Asia/Shanghai"), rules.POLICY
    signed = service.sign(store, "notes", "Zhao Lei", recipients=["Zhao Lei"], actor=out,
                          now=clock(), tz=tz, policy=policy, request_id="r1")
    service.acknowledge(store, signed["id"], zhao, actor=out, now=clock(), request_id="r2")
    service.note(store, "A note", actor=out, now=clock(), request_id="r3")
    before = (store.handovers(), service.diary(store, clock().astimezone(tz).date(), tz))
    store.close()
    (store.folder / "projections" / "handover.json").unlink()
    with caplog.at_level(logging.WARNING, logger="kiosk.store"):
        again = Store(tmp_path / "data")
    try:
        assert "rebuilding every projection" in caplog.text or "replayed" in caplog.text
        after = (again.handovers(), service.diary(again, clock().astimezone(tz).date(), tz))
        assert after == before and len(after[0]) == 1 and after[0][0]["acknowledged_by"] == zhao
        assert [e["text"] for e in after[1]] == ["A note"]
        again.rebuild()
        assert (again.handovers(), service.diary(again, clock().astimezone(tz).date(), tz)) \
            == before
    finally:
        again.close()


def test_hq_accepts_the_three_events_and_refuses_a_malformed_one(store, desk):
    desk.sign()
    desk.acknowledge(service.pending(store)["id"])
    desk.post("/staff/diary", {"text": "Noted", "request_id": "d9"})
    events = of_type(store, "handover_signed", "handover_acknowledged", "diary_noted")
    assert len(events) == 3
    assert {e["type"] for e in events} <= ingest.SITE_EVENT_TYPES
    assert ingest.malformed(events, store.site_id) is None
    assert all(ingest.fold(None, e) == (None, None) for e in events)
    bad = {**events[0], "data": {**events[0]["data"], "prepared": "none"}}
    assert ingest.malformed([bad], store.site_id)[2] == "data.prepared must be an object"
