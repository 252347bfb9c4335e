"""The printed forms through the test client: which tickets have them, what they carry
(the full phone, the QR code's exact address, who took each step) and that what was
typed stays text. The browser prints them in tests/e2e/test_print_forms.py."""
from __future__ import annotations

import pytest
from helpers import sign_in

from kiosk.qr import qr_svg
from kiosk.staff.printing import fitted
from kiosk.tickets import actions, service

PHONE = "13812345678"
DESK = {"role": "receptionist", "id": "st-desk", "name": "Wang Fang"}
MANAGER = {"role": "manager", "id": "st-boss", "name": "Zhao Min"}


@pytest.fixture
def desk(app, client):
    """A client signed in as a receptionist."""
    sign_in(app, client)
    return client


def report(app, store, category: str = "repair", description: str = "Light out",
           channel: str = "phone") -> dict:
    return service.submit_report(
        store, {"category": category, "location": "DEMO-LIB", "description": description,
                "name": "Zhang", "phone": PHONE},
        channel=channel, actor=DESK, now=app.config["CLOCK"](), tz=app.config["TZ"])


def dispatched(app, store, description: str = "Light out") -> dict:
    ticket = report(app, store, description=description)
    return actions.dispatch(store, ticket["id"], "maintenance",
                            {"id": "st-tech", "name": "Li Gong"}, actor=DESK,
                            now=app.config["CLOCK"]())


def test_a_form_of_an_unknown_ticket_is_not_found(desk):
    assert desk.get("/staff/t/NOSUCHTICKET/work-order").status_code == 404
    assert desk.get("/staff/t/NOSUCHTICKET/complaint-record").status_code == 404


def test_the_forms_are_for_signed_in_staff_only(app, client, store):
    ticket = dispatched(app, store)
    response = client.get(f"/staff/t/{ticket['id']}/work-order")
    assert response.status_code == 303 and "/staff/login" in response.headers["Location"]


def test_a_repair_never_dispatched_has_no_work_order_yet(app, desk, store):
    ticket = report(app, store)
    desk.get("/lang/en")
    response = desk.get(f"/staff/t/{ticket['id']}/work-order")
    assert response.status_code == 409
    assert "This repair has not been dispatched yet" in response.get_data(as_text=True)


def test_only_a_repair_has_a_work_order_and_only_a_complaint_a_complaint_record(
        app, desk, store):
    repair, complaint = dispatched(app, store), report(app, store, "complaint")
    assert desk.get(f"/staff/t/{repair['id']}/complaint-record").status_code == 404
    assert desk.get(f"/staff/t/{complaint['id']}/work-order").status_code == 404


def test_the_work_order_carries_the_full_phone_and_the_technicians_qr_code(app, desk, store):
    ticket = dispatched(app, store)
    for layout in ("a4", "80mm", "anything else"):
        response = desk.get(f"/staff/t/{ticket['id']}/work-order", query_string={"layout": layout})
        html = response.get_data(as_text=True)
        assert response.status_code == 200
        assert f'paper-{"80mm" if layout == "80mm" else "a4"}' in html
        assert ticket["number"] in html and PHONE in html and "Li Gong" in html
        assert "Wang Fang" in html  # who dispatched it
        # the code is exactly the technician's order page, at an address a phone can open
        assert str(qr_svg(f"http://localhost/staff/orders/{ticket['id']}")) in html


def test_every_role_may_print_a_work_order(app, client, store):
    ticket = dispatched(app, store)
    sign_in(app, client, name="Li Gong", role="maintenance")
    assert client.get(f"/staff/t/{ticket['id']}/work-order").status_code == 200


def test_what_was_typed_is_printed_as_text_never_as_markup(app, desk, store):
    ticket = dispatched(app, store, description='<script>alert("x")</script> tap leaks')
    html = desk.get(f"/staff/t/{ticket['id']}/work-order").get_data(as_text=True)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; tap leaks" in html


def test_a_boosted_link_loads_the_form_as_a_page_of_its_own(app, desk, store):
    ticket = dispatched(app, store)
    path = f"/staff/t/{ticket['id']}/work-order?layout=80mm"
    response = desk.get(path, headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert response.status_code == 200 and response.headers["HX-Redirect"] == path


def test_the_complaint_record_names_who_took_each_step(app, desk, store):
    clock, tz = app.config["CLOCK"], app.config["TZ"]
    tid = report(app, store, "complaint", "The lift is dirty")["id"]
    empty = desk.get(f"/staff/t/{tid}/complaint-record").get_data(as_text=True)
    assert empty.count('class="line"') >= 6  # lines to fill in by hand

    actions.investigate(store, tid, "Nobody cleaned it on Sunday", actor=DESK, now=clock())
    actions.sign_off(store, tid, "Pass it to cleaning", signer=MANAGER, actor=DESK, now=clock())
    actions.transfer(store, tid, "cleaning", actor=DESK, now=clock())
    actions.resolve(store, tid, "Cleaned twice a day now", actor=DESK, now=clock())
    actions.feed_back(store, tid, "phone", "Thanks", actor=DESK, now=clock(), tz=tz)
    response = desk.get(f"/staff/t/{tid}/complaint-record")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for text in ("The lift is dirty", "Nobody cleaned it on Sunday", "Pass it to cleaning",
                 "保洁", "Cleaned twice a day now", "Thanks", PHONE, "Zhao Min", "Wang Fang"):
        assert text in html, text
    assert str(qr_svg(f"http://localhost/staff/t/{tid}")) in html


@pytest.mark.parametrize("text, fits, kept, cut", [
    ("short", (10, 2), "short", False),
    ("漏水" * 10, (4, 3), "漏水" * 4, True),          # two rows kept, the last for the note
    ("a\nb\nc", (4, 3), "a\nb\nc", False),
    ("a\nb\nc\nd", (4, 3), "a\nb", True),
    ("x" * 16, (4, 2), "x" * 16, False),              # a small letter: half a wide one
    ("x" * 17, (4, 2), "x" * 8, True),
    ("X" * 9, (4, 2), "X" * 4, True),                 # a capital: as wide as a Chinese one
    (None, (4, 1), "", False),
])
def test_a_text_is_cut_to_what_its_box_holds(text, fits, kept, cut):
    assert fitted(text, fits) == (kept, cut)
