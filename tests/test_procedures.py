"""Each category's procedure over HTTP (kiosk/staff/procedures.py): the server refuses
every shortcut and writes nothing then; the manager signs a complaint off with their
own PIN on the receptionist's screen; each step is signed by whoever took it."""
from __future__ import annotations

from datetime import timedelta

import pytest
from helpers import csrf_token, sign_in

MANAGER = ("Zhou Min", "manager", "1357")


@pytest.fixture
def desk(app, client):
    """A client signed in as a receptionist, with a manager account on the same kiosk."""
    staff = sign_in(app, client)
    app.extensions["staff_directory"].add(*MANAGER, actor={"role": "system", "id": "t",
                                                           "name": "t"}, now=app.config["CLOCK"]())
    client.token = csrf_token(client, "/staff/")
    client.staff = staff
    return client


def post(desk, tid, step, **data):
    return desk.post(f"/staff/t/{tid}/{step}", data={"csrf_token": desk.token, **data})


def log_types(store, tid):
    return [e["type"] for e in store.ticket(tid)["events"]]


def phone_complaint(desk, store):
    response = desk.post("/staff/record/phone", data={
        "csrf_token": desk.token, "category": "complaint", "location": "DEMO-D3",
        "description": "Noise at night", "phone": "13812345678"})
    assert response.status_code == 303
    return response.location.rsplit("/", 1)[1]


def test_transferring_an_unsigned_complaint_is_refused_and_changes_nothing(desk, store):
    tid = phone_complaint(desk, store)
    assert post(desk, tid, "investigate", facts="Party in 3-201 until 1 am").status_code == 303
    seq, before = store.last_seq, store.ticket(tid)
    response = post(desk, tid, "transfer", department="security")
    assert response.status_code == 409
    assert "现在无法进行这一步" in response.get_data(as_text=True)
    assert store.last_seq == seq and store.ticket(tid) == before


def test_the_manager_signs_off_with_their_pin_on_the_receptionists_screen(desk, store):
    tid = phone_complaint(desk, store)
    post(desk, tid, "investigate", facts="Party in 3-201 until 1 am")
    seq = store.last_seq
    wrong = post(desk, tid, "sign-off", manager_name="Zhou Min", manager_pin="0000",
                 remarks="Agreed")
    html = wrong.get_data(as_text=True)
    assert wrong.status_code == 422 and 'id="manager_pin-error"' in html and "Agreed" in html
    assert "0000" not in html  # a PIN is never sent back
    own = post(desk, tid, "sign-off", manager_name="Li Na", manager_pin="2468")
    assert own.status_code == 422 and 'id="manager_name-error"' in own.get_data(as_text=True)
    assert store.last_seq == seq
    assert post(desk, tid, "sign-off", manager_name="Zhou Min", manager_pin="1357",
                remarks="Agreed").status_code == 303
    signed = store.ticket(tid)["events"][-1]
    assert signed["type"] == "signed_off" and signed["actor"]["name"] == "Zhou Min"
    assert signed["actor"]["role"] == "manager"
    assert signed["data"]["recorded_by"]["name"] == "Li Na"
    page = desk.get(f"/staff/t/{tid}").get_data(as_text=True)
    assert "Li Na" in page.split('class="staff-who"')[1][:80]  # still the receptionist's session


def test_a_complaint_goes_through_transfer_result_feedback_and_closes(desk, store, clock):
    tid = phone_complaint(desk, store)
    post(desk, tid, "investigate", facts="Party in 3-201")
    post(desk, tid, "sign-off", manager_name="Zhou Min", manager_pin="1357")
    assert post(desk, tid, "transfer", department="security").status_code == 303
    assert post(desk, tid, "resolve", result="Security spoke to 3-201").status_code == 303
    closing = post(desk, tid, "close", reason="done", confirm="yes")
    assert closing.status_code == 422  # not before the customer heard the result
    assert post(desk, tid, "feedback", how="", said="").status_code == 422
    assert post(desk, tid, "feedback", how="phone", said="Thanks").status_code == 303
    assert store.ticket(tid)["revisit_due"]
    assert post(desk, tid, "close", reason="done").status_code == 422  # not confirmed
    assert post(desk, tid, "close", reason="done", confirm="yes").status_code == 303
    assert log_types(store, tid) == ["reported", "investigated", "signed_off", "transferred",
                                     "resolved", "fed_back", "closed"]


def test_a_repair_is_dispatched_and_told_by_phone_with_materials_and_fee(desk, store, visitor):
    visitor.report()
    (ticket,) = store.open_tickets()
    tid = ticket["id"]
    post(desk, tid, "confirm")
    bad = post(desk, tid, "dispatch", department="nowhere")
    assert bad.status_code == 422 and 'id="department-error"' in bad.get_data(as_text=True)
    assert post(desk, tid, "dispatch", department="maintenance").status_code == 303
    assert post(desk, tid, "arrive").status_code == 303
    assert store.ticket(tid)["arrival"] == "phone"
    bad = post(desk, tid, "complete", result="Lamp changed", materials="LED tube", fee="abc")
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "LED tube" in html and 'id="fee-error"' in html
    assert post(desk, tid, "complete", result="Lamp changed", materials="LED tube",
                fee="35").status_code == 303
    done = store.ticket(tid)
    assert (done["status"], done["fee"], done["materials"]) == ("resolved", "35.00", "LED tube")
    assert post(desk, tid, "revisit", outcome="unsatisfied", comment="").status_code == 422
    assert post(desk, tid, "revisit", outcome="unsatisfied", comment="Flickers",
                next="/staff/").status_code == 303
    assert store.ticket(tid)["status"] == "in_progress"


def test_an_agreed_deadline_needs_a_reason_and_a_time_ahead(desk, store, visitor, clock):
    visitor.report()
    (ticket,) = store.open_tickets()
    tid = ticket["id"]
    post(desk, tid, "confirm")
    later = (clock() + timedelta(hours=3)).astimezone(desk.application.config["TZ"])
    assert post(desk, tid, "deadline", due_at=f"{later:%Y-%m-%dT%H:%M}").status_code == 422
    assert post(desk, tid, "deadline", due_at="2020-01-01T10:00", reason="parts").status_code == 422
    assert post(desk, tid, "deadline", due_at=f"{later:%Y-%m-%dT%H:%M}",
                reason="Parts on order").status_code == 303
    assert store.ticket(tid)["deadline_reason"] == "Parts on order"


def test_a_revisit_from_the_revisit_queue_goes_back_there_and_nowhere_else(desk, store, visitor):
    visitor.report(category="inquiry")
    (ticket,) = store.open_tickets()
    tid = ticket["id"]
    post(desk, tid, "confirm")
    response = post(desk, tid, "resolve", result="Open 8-17", told="phone",
                    next="https://evil.example/")
    assert response.location.endswith(f"/staff/t/{tid}")
    assert log_types(store, tid)[-2:] == ["resolved", "fed_back"]


def test_raising_a_matter_puts_it_on_the_chain(desk, store, visitor):
    visitor.report(category="inquiry")
    (ticket,) = store.open_tickets()
    tid = ticket["id"]
    assert post(desk, tid, "raise", reason="").status_code == 422
    assert post(desk, tid, "raise", reason="Water near the switchboard").status_code == 303
    assert post(desk, tid, "escalate", level="9").status_code == 422
    assert post(desk, tid, "escalate", level="0").status_code == 303
    assert post(desk, tid, "acknowledge", level="0").status_code == 303
    ticket = store.ticket(tid)
    assert ticket["important"] and ticket["acknowledged"]
    assert ticket["escalations"][0]["level"] == 0
