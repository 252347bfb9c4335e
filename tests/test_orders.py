"""A technician's work orders on their own phone (issue 10, point 2): a session that lasts
the shift, the order page, arrival verified at the place (the poster opened first) or
declared, completion, someone else's order, resends; the poster's visitor flow stays as
it was for everyone else. Flask test client, clock injected."""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from helpers import CHEAP_PINS, csrf_token, post_sign_in, sign_in

from common import sessions
from kiosk import create_app
from kiosk.departments import service as departments
from kiosk.staff.sessions import StaffSessions
from kiosk.tickets import actions, service
from sync.events import iso

DESK = {"role": "manager", "id": "st-boss", "name": "Li Na"}
VISITOR = {"role": "visitor"}
PHONE = "13812345678"


def repair(app, technician: dict | None, location: str = "DEMO-LIB",
           description: str = "The light in the reading room is broken") -> dict:
    """Report a repair, confirm it and dispatch it to maintenance (and ``technician``)."""
    store, now = app.extensions["kiosk_store"], app.config["CLOCK"]()
    ticket = service.submit_report(store, {"category": "repair", "location": location,
                                           "description": description, "name": "Mr Zhou",
                                           "phone": PHONE},
                                   channel="kiosk", actor=VISITOR, now=now, tz=app.config["TZ"])
    actions.confirm(store, ticket["id"], {}, actor=DESK, now=now)
    who = {"id": technician["id"], "name": technician["name"]} if technician else None
    return actions.dispatch(store, ticket["id"], "maintenance", who, actor=DESK, now=now)


@pytest.fixture
def tech(app, client):
    """The technician Zhang, signed in on ``client`` (their phone)."""
    return sign_in(app, client, "Zhang Wei", "maintenance", "1357")


def post(client, path: str, data: dict | None = None, page: str = "/staff/orders/"):
    return client.post(path, data={"csrf_token": csrf_token(client, page), **(data or {})})


def signed_in(client) -> bool:
    return client.get("/staff/orders/").status_code == 200


def kinds(store, tid: str) -> list[str]:
    return [e["type"] for e in store.ticket(tid)["events"]]


# -- sessions: the tablet's two minutes, the technician's shift ----------------------------
def test_a_technicians_session_lasts_the_shift_and_a_receptionists_two_minutes(app, clock):
    phone, tablet = app.test_client(), app.test_client()
    sign_in(app, phone, "Zhang Wei", "maintenance", "1357")
    sign_in(app, tablet, "Wang Fang", "receptionist", "2468")
    clock.now += timedelta(seconds=121)
    assert not signed_in(tablet)
    assert signed_in(phone)
    clock.now += timedelta(hours=3)
    assert signed_in(phone)  # 3 hours untouched, still signed in
    clock.now += timedelta(hours=12, seconds=1)
    assert not signed_in(phone)  # the shift is over


def test_a_receptionist_signing_in_never_ends_the_technicians_session(app, clock):
    phone = app.test_client()
    sign_in(app, phone, "Zhang Wei", "maintenance", "1357")
    clock.now += timedelta(hours=3)
    sign_in(app, app.test_client(), "Wang Fang", "receptionist", "2468")  # sweeps the idle ones
    assert signed_in(phone)
    stored = json.loads((Path(app.config["DATA_DIR"]) / "sessions.json").read_text())["sessions"]
    assert sorted(s["idle"] for s in stored.values()) == [120, 12 * 3600]


def test_the_technicians_limit_comes_from_the_settings(tmp_path, clock):
    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "CLOCK": clock,
                      "SECRET_KEY": "test", "PIN_HASH_METHOD": CHEAP_PINS,
                      "TECHNICIAN_SESSION_HOURS": 1})
    phone = app.test_client()
    sign_in(app, phone, "Zhang Wei", "maintenance", "1357")
    clock.now += timedelta(minutes=59)
    assert signed_in(phone)
    clock.now += timedelta(minutes=61)
    assert not signed_in(phone)
    app.extensions["kiosk_store"].close()


def test_a_session_stored_without_its_own_limit_keeps_the_tablets(tmp_path, clock):
    session_id, key = sessions.new_session()
    path = tmp_path / "sessions.json"
    path.write_text(json.dumps({"sessions": {key: {"staff_id": "st-1",
                                                   "seen": clock().timestamp()}}}))
    live = StaffSessions(path)
    assert live.staff_id(session_id, clock() + timedelta(seconds=119), 120) == "st-1"
    assert live.staff_id(session_id, clock() + timedelta(seconds=240), 120) is None
    # and a session with its own limit is judged by it after a restart too
    own = live.start("st-2", clock(), 3600, 120)
    assert StaffSessions(path).staff_id(own, clock() + timedelta(minutes=59), 120) == "st-2"


# -- the order page ------------------------------------------------------------------
def test_the_order_page_shows_the_order_with_the_full_phone(app, client, tech, store):
    ticket = repair(app, tech)
    page = client.get(f"/staff/orders/{ticket['id']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for shown in (ticket["number"], "图书馆", "The light in the reading room is broken",
                  "Mr Zhou", f'href="tel:{PHONE}"', "2026-11-28 10:30", 'data-status="dispatched"',
                  f'action="/staff/orders/{ticket["id"]}/arrive"'):
        assert shown in html, shown
    assert 'data-action="complete"' not in html  # arrival first
    assert "已超时" not in html


def test_a_late_order_says_so(app, client, tech, clock):
    ticket = repair(app, tech)
    clock.now += timedelta(minutes=31)
    html = client.get(f"/staff/orders/{ticket['id']}").get_data(as_text=True)
    assert 'class="due-late"' in html and "已超时" in html


def test_the_order_link_asks_for_a_sign_in_then_comes_back(app, client):
    zhang = app.extensions["staff_directory"].add("Zhang Wei", "maintenance", "1357", actor=DESK,
                                                  now=app.config["CLOCK"]())
    ticket = repair(app, zhang)
    path = f"/staff/orders/{ticket['id']}"
    reply = client.get(path)
    assert reply.status_code == 303
    assert reply.location == f"/staff/login?next={path}"
    reply = post_sign_in(client, "/staff/login", "Zhang Wei", "1357", next=path)
    assert reply.status_code == 303 and reply.location == path
    assert client.get(path).status_code == 200


def test_an_unknown_order_or_a_matter_other_than_a_repair_is_404(app, client, tech, store):
    inquiry = service.submit_report(store, {"category": "inquiry", "description": "Hours?"},
                                    channel="kiosk", actor=VISITOR, now=app.config["CLOCK"](),
                                    tz=app.config["TZ"])
    assert client.get("/staff/orders/nope").status_code == 404
    assert client.get(f"/staff/orders/{inquiry['id']}").status_code == 404


def test_the_desk_may_look_at_an_order_and_is_sent_to_the_ticket_for_the_rest(app, client, tech):
    ticket = repair(app, tech)
    desk = app.test_client()
    sign_in(app, desk, "Wang Fang", "receptionist", "2468")
    html = desk.get(f"/staff/orders/{ticket['id']}").get_data(as_text=True)
    assert ticket["number"] in html and f'href="tel:{PHONE}"' in html
    assert 'data-action="arrive"' not in html and f'href="/staff/t/{ticket["id"]}"' in html
    assert 'data-idle="120"' in html  # the tablet's idle timer


def test_the_technicians_screen_keeps_the_session_for_the_shift(app, client, tech):
    html = client.get(f"/staff/orders/{repair(app, tech)['id']}").get_data(as_text=True)
    assert f'data-idle="{12 * 3600}"' in html


def test_my_orders_are_mine_and_the_desk_sees_every_order(app, client, tech, store, clock):
    directory = app.extensions["staff_directory"]
    other = directory.add("Chen Gang", "maintenance", "2468", actor=DESK, now=clock())
    departments.save_department(store, "maintenance",
                                {"name_zh": "维修部", "members": [tech["id"]]}, actor=DESK,
                                now=clock(), staff_ids=[tech["id"], other["id"]])
    named = repair(app, tech, description="Named to me")
    to_us = repair(app, None, "DEMO-GYM", description="To my department")
    theirs = repair(app, other, description="Named to Chen")
    html = client.get("/staff/orders/").get_data(as_text=True)
    assert named["number"] in html and to_us["number"] in html
    assert theirs["number"] not in html
    desk = app.test_client()
    sign_in(app, desk, "Wang Fang", "receptionist", "2468")
    html = desk.get("/staff/orders/").get_data(as_text=True)
    assert all(t["number"] in html for t in (named, to_us, theirs))


# -- arrival: verified at the place, or declared -------------------------------------------
def test_arrived_on_the_order_itself_is_declared(app, client, tech, store):
    ticket = repair(app, tech)
    path = f"/staff/orders/{ticket['id']}"
    reply = post(client, f"{path}/arrive", {"at_place": "1"}, page=path)  # no poster opened
    assert reply.status_code == 303 and reply.location == path
    assert store.ticket(ticket["id"])["arrival"] == "declared"
    assert 'data-arrival="declared"' in client.get(path).get_data(as_text=True)


def test_the_poster_offers_arrival_and_proves_it(app, client, tech, store, clock):
    ticket = repair(app, tech)
    page = client.get("/q/DEMO-LIB")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert ticket["number"] in html and 'name="at_place" value="1"' in html
    assert 'href="/q/DEMO-LIB?report=1"' in html  # report something else here
    with client.session_transaction() as cookie:
        assert cookie["at_place"] == {"code": "DEMO-LIB", "at": iso(clock())}
        assert "draft" not in cookie  # no visitor's entry started
    clock.now += timedelta(minutes=15)
    reply = post(client, f"/staff/orders/{ticket['id']}/arrive", {"at_place": "1"})
    assert reply.status_code == 303
    after = store.ticket(ticket["id"])
    assert (after["status"], after["arrival"]) == ("in_progress", "verified")
    assert after["events"][-1]["actor"]["id"] == tech["id"]
    html = client.get(f"/staff/orders/{ticket['id']}").get_data(as_text=True)
    assert 'data-arrival="verified"' in html


def test_a_proof_older_than_15_minutes_is_only_declared(app, client, tech, store, clock):
    ticket = repair(app, tech)
    client.get("/q/DEMO-LIB")
    clock.now += timedelta(minutes=15, seconds=1)
    post(client, f"/staff/orders/{ticket['id']}/arrive", {"at_place": "1"})
    assert store.ticket(ticket["id"])["arrival"] == "declared"


def test_a_proof_of_another_place_is_only_declared(app, client, tech, store):
    here, there = repair(app, tech, "DEMO-LIB"), repair(app, tech, "DEMO-GYM")
    assert there["number"] in client.get("/q/DEMO-GYM").get_data(as_text=True)
    post(client, f"/staff/orders/{here['id']}/arrive", {"at_place": "1"})
    assert store.ticket(here["id"])["arrival"] == "declared"


def test_someone_elses_order_is_refused_and_nothing_is_stored(app, client, tech, store, clock):
    other = app.extensions["staff_directory"].add("Chen Gang", "maintenance", "2468", actor=DESK,
                                                  now=clock())
    ticket = repair(app, other)
    html = client.get(f"/staff/orders/{ticket['id']}").get_data(as_text=True)
    assert ticket["number"] in html and 'data-action="arrive"' not in html  # may look only
    assert client.get("/q/DEMO-LIB").status_code == 303  # the poster: the visitor's flow
    seq = store.last_seq
    reply = post(client, f"/staff/orders/{ticket['id']}/arrive", {"at_place": "1"})
    assert reply.status_code == 403
    assert store.last_seq == seq
    actions.arrive(store, ticket["id"], actor=DESK, now=clock())  # told by phone
    seq = store.last_seq
    reply = post(client, f"/staff/orders/{ticket['id']}/complete", {"result": "Fixed it"})
    assert reply.status_code == 403
    assert store.last_seq == seq


def test_arriving_twice_is_refused_with_409(app, client, tech, store):
    ticket = repair(app, tech)
    post(client, f"/staff/orders/{ticket['id']}/arrive")
    seq = store.last_seq
    assert post(client, f"/staff/orders/{ticket['id']}/arrive").status_code == 409
    assert store.last_seq == seq


# -- completion -------------------------------------------------------------------------
@pytest.fixture
def on_site(app, client, tech):
    ticket = repair(app, tech)
    post(client, f"/staff/orders/{ticket['id']}/arrive")
    return ticket


def test_completion_needs_a_result_and_keeps_what_was_typed(client, store, on_site):
    seq = store.last_seq
    reply = post(client, f"/staff/orders/{on_site['id']}/complete",
                 {"result": "  ", "materials": "One fuse", "fee": "35"})
    assert reply.status_code == 422
    html = reply.get_data(as_text=True)
    assert 'id="result-error"' in html and 'value="One fuse"' in html and 'value="35"' in html
    assert store.last_seq == seq


def test_a_bad_fee_is_refused_next_to_the_field(client, store, on_site):
    seq = store.last_seq
    reply = post(client, f"/staff/orders/{on_site['id']}/complete",
                 {"result": "Changed the fuse", "fee": "lots"})
    assert reply.status_code == 422
    html = reply.get_data(as_text=True)
    assert 'id="fee-error"' in html and 'value="lots"' in html and "Changed the fuse" in html
    assert store.last_seq == seq


def test_completion_resolves_the_repair_and_a_revisit_is_due(client, store, tech, on_site):
    reply = post(client, f"/staff/orders/{on_site['id']}/complete",
                 {"result": "Changed the fuse", "materials": "One fuse", "fee": "35"})
    assert reply.status_code == 303 and reply.location == f"/staff/orders/{on_site['id']}"
    done = store.ticket(on_site["id"])
    assert (done["status"], done["result"], done["materials"], done["fee"]) == \
        ("resolved", "Changed the fuse", "One fuse", "35.00")
    assert done["revisit_due"] and done["events"][-1]["data"]["how"] == "technician"
    html = client.get(f"/staff/orders/{on_site['id']}").get_data(as_text=True)
    assert 'data-status="resolved"' in html and 'data-action="complete"' not in html


def test_a_resent_arrival_or_completion_is_stored_once(app, client, tech, store):
    ticket = repair(app, tech)
    path = f"/staff/orders/{ticket['id']}"
    for _ in range(2):
        assert post(client, f"{path}/arrive", {"request_id": "arrive-1"}).status_code == 303
    for _ in range(2):
        reply = post(client, f"{path}/complete", {"request_id": "complete-1", "result": "Done"})
        assert reply.status_code == 303
    assert kinds(store, ticket["id"]).count("arrived") == 1
    assert kinds(store, ticket["id"]).count("completed") == 1


# -- the poster, for everyone else: the visitor's flow as it was -----------------------------
def test_a_visitor_opening_the_poster_starts_an_entry_there(app, client, store):
    repair(app, None)
    reply = client.get("/q/DEMO-LIB")
    assert reply.status_code == 303 and reply.location == "/"
    with client.session_transaction() as cookie:
        assert store.get_draft(cookie["draft"]) == {"location": "DEMO-LIB"}
        assert cookie["channel"] == "qr" and "at_place" not in cookie


def test_a_technician_with_no_order_there_gets_the_visitors_flow(app, client, tech, store):
    repair(app, tech, "DEMO-GYM")
    reply = client.get("/q/DEMO-LIB")
    assert reply.status_code == 303 and reply.location == "/"
    with client.session_transaction() as cookie:
        assert store.get_draft(cookie["draft"]) == {"location": "DEMO-LIB"}
        assert "at_place" not in cookie


def test_report_something_else_here_is_the_visitors_flow(app, client, tech, store):
    repair(app, tech)
    reply = client.get("/q/DEMO-LIB?report=1")
    assert reply.status_code == 303 and reply.location == "/"
    with client.session_transaction() as cookie:
        assert store.get_draft(cookie["draft"]) == {"location": "DEMO-LIB"}


def test_a_technician_already_on_site_gets_the_visitors_flow(app, client, tech):
    ticket = repair(app, tech)
    post(client, f"/staff/orders/{ticket['id']}/arrive")
    assert client.get("/q/DEMO-LIB").status_code == 303


def test_a_technician_on_the_ticket_page_records_their_own_arrival_as_on_the_order(
        app, client, store, tech):
    ticket = repair(app, tech)
    html = client.get(f"/staff/t/{ticket['id']}").get_data(as_text=True)
    form = html[html.index('data-action="arrive"') - 200:html.index('data-action="arrive"')]
    assert f'action="/staff/orders/{ticket["id"]}/arrive"' in form  # not the desk's by-phone
    assert post(client, f"/staff/orders/{ticket['id']}/arrive",
                page=f"/staff/t/{ticket['id']}").status_code == 303
    assert store.ticket(ticket["id"])["arrival"] == "declared"
