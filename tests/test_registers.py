"""The parcel and letter register (/staff/parcels) and the item register (/staff/items),
R19: a pickup code unique among the parcels waiting, a wrong code refused with nothing
stored, resends storing nothing, a second pickup or return refused; items overdue by the
clock; the 80 mm slip; desk only; rebuilt from the log; accepted by HQ."""
from __future__ import annotations

import logging
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from helpers import csrf_token, sign_in

from hq import ingest
from kiosk.households import household_id
from kiosk.registers import items, parcels
from kiosk.store import Store
from kiosk.tickets import rules
from sync.events import new as new_event

DESK = {"role": "receptionist", "id": "st-1", "name": "Li Na"}
TZ = ZoneInfo("Asia/Shanghai")


def html_of(response) -> str:
    return response.get_data(as_text=True)


def of_type(store, *kinds: str) -> list[dict]:
    return [e for e in store.events_after(0) if e["type"] in kinds]


class Desk:
    """A signed-in desk member at the register pages, sending real CSRF tokens."""

    def __init__(self, app, client):
        self.app, self.client = app, client
        self.again()

    def again(self):
        """Sign in (again, after the clock moved past the idle sign-out)."""
        sign_in(self.app, self.client, "Li Na", "receptionist")
        self.client.get("/lang/en")  # assert on the English msgids, whatever the catalog holds
        self.token = csrf_token(self.client, "/staff/parcels")

    def post(self, path: str, data: dict | None = None):
        return self.client.post(path, data={"csrf_token": self.token, **(data or {})})

    def arrival(self, request_id="rq-in-1", **fields):
        return self.post("/staff/parcels", {"kind": "parcel", "recipient": "Wang Fang",
                                            "phone": "13812345678", "carrier": "顺丰",
                                            "tracking": "SF1234567890", "shelf": "B-3",
                                            "request_id": request_id, **fields})

    def pickup(self, code, request_id="rq-out-1", name="Wang Fang", how="code"):
        return self.post("/staff/parcels/pickup", {"code": code, "collected_by": name,
                                                   "identified_by": how,
                                                   "request_id": request_id})


@pytest.fixture
def desk(app, client):
    return Desk(app, client)


def test_an_arrival_gets_a_six_digit_code_shown_large_on_its_page(store, desk):
    response = desk.arrival()
    assert response.status_code == 303
    [event] = of_type(store, "parcel_received")
    data = event["data"]
    assert re.fullmatch(r"\d{6}", data["code"])
    assert data["recipient"] == "Wang Fang" and data["household"] is None
    assert data["carrier"] == "顺丰" and data["shelf"] == "B-3"
    page = html_of(desk.client.get(response.headers["Location"]))
    assert f'id="pickup-code">{data["code"]}<' in page
    assert "/slip" in page
    listed = html_of(desk.client.get("/staff/parcels"))
    assert data["code"] in listed and "Wang Fang" in listed


def test_a_resent_arrival_stores_nothing_new(store, desk):
    first = desk.arrival()
    last = store.last_seq
    again = desk.arrival()
    assert again.headers["Location"] == first.headers["Location"]
    assert store.last_seq == last


def test_codes_are_unique_among_the_parcels_waiting(store, clock, monkeypatch):
    draws = iter([123456, 123456, 123456, 654321])
    monkeypatch.setattr(parcels.secrets, "randbelow", lambda n: next(draws))
    first = parcels.receive(store, {"recipient": "A"}, actor=DESK, now=clock(),
                            request_id="r1")
    second = parcels.receive(store, {"recipient": "B"}, actor=DESK, now=clock(),
                             request_id="r2")
    assert (first["code"], second["code"]) == ("123456", "654321")


def test_a_wrong_code_is_a_422_keeping_the_input_and_storing_nothing(store, desk):
    desk.arrival()
    last = store.last_seq
    code = of_type(store, "parcel_received")[0]["data"]["code"]
    wrong = "000000" if code != "000000" else "111111"
    response = desk.pickup(wrong, name="Zhang San")
    assert response.status_code == 422
    page = html_of(response)
    assert "No parcel waiting has this code." in page
    assert f'value="{wrong}"' in page and 'value="Zhang San"' in page
    assert store.last_seq == last


def test_a_pickup_by_code_records_who_and_how_once(store, desk):
    desk.arrival()
    code = of_type(store, "parcel_received")[0]["data"]["code"]
    assert desk.pickup(code, how="id_card").status_code == 303
    [event] = of_type(store, "parcel_collected")
    assert event["data"]["collected_by"] == "Wang Fang"
    assert event["data"]["identified_by"] == "id_card"
    assert event["actor"]["name"] == "Li Na"
    last = store.last_seq
    assert desk.pickup(code).status_code == 303  # the same form sent again: done
    assert store.last_seq == last
    assert store.parcels_waiting() == []
    # collected: the code no longer names a parcel waiting
    assert desk.pickup(code, request_id="rq-out-2").status_code == 422


def test_collecting_twice_from_the_parcel_page_is_a_409(store, desk):
    pid = desk.arrival().headers["Location"].rsplit("/", 1)[-1].split("?")[0]
    path = f"/staff/parcels/{pid}/collect"
    data = {"collected_by": "Wang Fang", "identified_by": "known", "request_id": "c1"}
    assert desk.post(path, data).status_code == 303
    last = store.last_seq
    assert desk.post(path, data).status_code == 303  # a resend answers as done
    assert desk.post(path, {**data, "request_id": "c2"}).status_code == 409
    assert store.last_seq == last
    missing = desk.post(path.replace(pid, "NOPE"), data)
    assert missing.status_code == 404


def test_a_pickup_needs_a_name_and_how_they_were_identified(store, desk):
    pid = desk.arrival().headers["Location"].rsplit("/", 1)[-1].split("?")[0]
    response = desk.post(f"/staff/parcels/{pid}/collect",
                         {"collected_by": "", "identified_by": "passport"})
    assert response.status_code == 422
    assert "Please fill this in." in html_of(response)
    assert not of_type(store, "parcel_collected")


def test_a_registered_letter_needs_its_tracking_number(store, desk):
    response = desk.arrival(kind="registered_letter", tracking="", recipient="Chen Jie")
    assert response.status_code == 422
    page = html_of(response)
    assert "A registered letter needs its tracking number." in page
    assert 'value="Chen Jie"' in page
    assert not of_type(store, "parcel_received")
    assert desk.arrival(kind="registered_letter", tracking="XA123").status_code == 303
    assert of_type(store, "parcel_received")[0]["data"]["kind"] == "registered_letter"


def test_bad_arrival_fields_are_refused_by_field(store, desk):
    response = desk.arrival(recipient="", phone="123", kind="box")
    assert response.status_code == 422
    page = html_of(response)
    assert 'id="recipient-error"' in page and 'id="phone-error"' in page
    assert 'id="kind-error"' in page
    assert not of_type(store, "parcel_received")


def test_the_waiting_list_is_longest_waiting_first_and_searchable(store, desk, clock):
    desk.arrival(recipient="First Person", request_id="a")
    clock.now += timedelta(minutes=90)
    desk.again()
    desk.arrival(recipient="Second Person", tracking="YT777", request_id="b")
    waiting = parcels.waiting(store, clock())
    assert [p["recipient"] for p in waiting] == ["First Person", "Second Person"]
    assert [p["waited"] for p in waiting] == [90, 0]
    page = html_of(desk.client.get("/staff/parcels"))
    assert page.index("First Person") < page.index("Second Person")
    assert "1 h 30 min" in page
    found = html_of(desk.client.get("/staff/parcels?q=yt777"))
    assert "Second Person" in found and "First Person" not in found
    by_code = html_of(desk.client.get(f"/staff/parcels?q={waiting[0]['code']}"))
    assert "First Person" in by_code


def test_the_slip_prints_the_code_on_80mm_paper(store, desk):
    pid = desk.arrival().headers["Location"].rsplit("/", 1)[-1].split("?")[0]
    code = store.parcel(pid)["code"]
    page = html_of(desk.client.get(f"/staff/parcels/{pid}/slip"))
    assert 'class="paper paper-80mm paper-slip"' in page
    assert f'id="slip-code">{code}<' in page
    assert "<svg" in page and "Wang Fang" in page and "B-3" in page


def test_for_household_lists_its_parcels_waiting_and_collected(store, clock):
    hid = "h0123456789ab"  # logged as the archive's picker sends it
    for pid, code, household in (("P1", "111111", hid), ("P2", "222222", hid),
                                 ("P3", "333333", None)):
        store.append([new_event(None, "parcel_received", DESK, clock(), {
            "id": pid, "kind": "parcel", "household": household, "recipient": pid,
            "code": code, "request_id": pid})])
    clock.now += timedelta(minutes=5)
    parcels.collect(store, "P1", "A", "code", actor=DESK, now=clock())
    mine = parcels.for_household(store, hid, clock())
    assert [p["id"] for p in mine["waiting"]] == ["P2"] and mine["waiting"][0]["waited"] == 5
    assert [p["id"] for p in mine["collected"]] == ["P1"]


def test_an_arrival_for_a_household_of_the_archive_is_found_by_its_unit(store, desk, clock):
    hid = household_id("3号楼", "502")
    store.append([new_event(None, "household_saved", DESK, clock(), {
        "id": hid, "building": "3号楼", "unit": "502", "area": "", "note": "",
        "people": [{"name": "Wang Fang", "phone": "13812345678", "relation": "owner"}]})])
    assert desk.arrival(household=hid).status_code == 303
    assert of_type(store, "parcel_received")[0]["data"]["household"] == hid
    found = html_of(desk.client.get("/staff/parcels?q=502"))
    assert "3号楼 502" in found and "Wang Fang" in found
    response = desk.arrival(household="h000000000000", request_id="other")
    assert response.status_code == 422 and 'id="household-error"' in html_of(response)
    assert len(of_type(store, "parcel_received")) == 1


def test_lending_an_item_then_overdue_by_the_clock_then_returned(store, desk, clock):
    token = csrf_token(desk.client, "/staff/items")
    due = (clock() + timedelta(hours=2)).astimezone(TZ).strftime("%Y-%m-%dT%H:%M")
    response = desk.client.post("/staff/items", data={
        "csrf_token": token, "item": "Key of room 3", "quantity": "2", "to_name": "Zhou Min",
        "phone": "13900001111", "due_at": due, "note": "", "request_id": "l1"})
    assert response.status_code == 303
    [event] = of_type(store, "item_lent")
    assert event["data"]["quantity"] == 2
    assert event["data"]["due_at"] == (clock() + timedelta(hours=2)).isoformat()
    assert items.overdue(store, clock()) == []
    assert "Overdue" not in html_of(desk.client.get("/staff/items"))
    clock.now += timedelta(hours=2, minutes=1)
    assert [i["item"] for i in items.overdue(store, clock())] == ["Key of room 3"]
    desk.again()
    page = html_of(desk.client.get("/staff/items"))
    assert 'class="due-late"' in page and "Overdue" in page
    iid = event["data"]["id"]
    token = csrf_token(desk.client, "/staff/items")
    back = {"csrf_token": token, "request_id": "ret-1"}
    assert desk.client.post(f"/staff/items/{iid}/return", data=back).status_code == 303
    last = store.last_seq
    assert desk.client.post(f"/staff/items/{iid}/return", data=back).status_code == 303
    assert desk.client.post(f"/staff/items/{iid}/return",
                            data={**back, "request_id": "ret-2"}).status_code == 409
    assert store.last_seq == last
    assert items.out(store, clock()) == []


def test_the_overdue_come_first_and_handed_out_for_good_is_never_out(store, clock):
    now = clock()
    later = (now + timedelta(days=1)).astimezone(TZ).strftime("%Y-%m-%dT%H:%M")
    soon = (now + timedelta(hours=1)).astimezone(TZ).strftime("%Y-%m-%dT%H:%M")
    items.lend(store, {"item": "Ladder", "to_name": "A", "due_at": later}, actor=DESK,
               now=now, tz=TZ, request_id="1")
    items.lend(store, {"item": "Drill", "to_name": "B", "due_at": soon}, actor=DESK,
               now=now, tz=TZ, request_id="2")
    bulbs = items.lend(store, {"item": "Bulbs", "quantity": "10", "to_name": "C"},
                       actor=DESK, now=now, tz=TZ, request_id="3")
    assert bulbs["due_at"] is None
    clock.now += timedelta(hours=3)
    assert [(i["item"], i["overdue"]) for i in items.out(store, clock())] == [
        ("Drill", True), ("Ladder", False)]
    with pytest.raises(rules.RuleError):
        items.give_back(store, bulbs["id"], actor=DESK, now=clock(), request_id="4")


def test_bad_loan_fields_are_a_422_keeping_the_input(store, desk, clock):
    token = csrf_token(desk.client, "/staff/items")
    past = (clock() - timedelta(hours=1)).astimezone(TZ).strftime("%Y-%m-%dT%H:%M")
    response = desk.client.post("/staff/items", data={
        "csrf_token": token, "item": "Ladder", "quantity": "0", "to_name": "",
        "due_at": past, "request_id": "x"})
    assert response.status_code == 422
    page = html_of(response)
    for field in ("quantity", "to_name", "due_at"):
        assert f'id="{field}-error"' in page
    assert 'value="Ladder"' in page and f'value="{past}"' in page
    assert not of_type(store, "item_lent")


@pytest.mark.parametrize("path", ["/staff/parcels", "/staff/items"])
def test_maintenance_may_not_open_the_registers(app, client, path):
    sign_in(app, client, "Wu Gong", "maintenance")
    assert client.get(path).status_code == 403


def test_a_manager_may_use_the_registers(app, client):
    sign_in(app, client, "Boss", "manager")
    assert client.get("/staff/parcels").status_code == 200
    assert client.get("/staff/items").status_code == 200


def test_the_services_refuse_maintenance(store, clock):
    fixer = {"role": "maintenance", "id": "st-9", "name": "Wu"}
    with pytest.raises(Exception) as exc:
        parcels.receive(store, {"recipient": "A"}, actor=fixer, now=clock())
    assert type(exc.value).__name__ == "Forbidden"
    with pytest.raises(Exception) as exc:
        items.lend(store, {"item": "A", "to_name": "B"}, actor=fixer, now=clock(), tz=TZ)
    assert type(exc.value).__name__ == "Forbidden"


def test_a_lost_projection_is_rebuilt_from_the_log(tmp_path, clock, caplog):
    store = Store(tmp_path / "data", site_id="site-test")
    parcel = parcels.receive(store, {"recipient": "A", "shelf": "C1"}, actor=DESK,
                             now=clock(), request_id="r1")
    parcels.collect(store, parcel["id"], "A", "code", actor=DESK, now=clock(),
                    request_id="r2")
    soon = (clock() + timedelta(hours=1)).astimezone(TZ).strftime("%Y-%m-%dT%H:%M")
    items.lend(store, {"item": "Key", "to_name": "B", "due_at": soon}, actor=DESK,
               now=clock(), tz=TZ, request_id="r3")
    before = (store.parcel(parcel["id"]), items.out(store, clock()))
    store.close()
    (store.folder / "projections" / "registers.json").unlink()
    with caplog.at_level(logging.WARNING, logger="kiosk.store"):
        again = Store(tmp_path / "data")
    try:
        assert (again.parcel(parcel["id"]), items.out(again, clock())) == before
        assert before[0]["collected_by"] == "A" and len(before[1]) == 1
        again.rebuild()
        assert (again.parcel(parcel["id"]), items.out(again, clock())) == before
    finally:
        again.close()


def test_hq_accepts_the_four_events_and_refuses_a_malformed_one(store, clock):
    parcel = parcels.receive(store, {"recipient": "A"}, actor=DESK, now=clock())
    parcels.collect(store, parcel["id"], "A", "other", actor=DESK, now=clock())
    soon = (clock() + timedelta(hours=1)).astimezone(TZ).strftime("%Y-%m-%dT%H:%M")
    item = items.lend(store, {"item": "Key", "to_name": "B", "due_at": soon}, actor=DESK,
                      now=clock(), tz=TZ)
    items.give_back(store, item["id"], actor=DESK, now=clock())
    kinds = ("parcel_received", "parcel_collected", "item_lent", "item_returned")
    events = of_type(store, *kinds)
    assert [e["type"] for e in events] == list(kinds)
    assert {e["type"] for e in events} <= ingest.SITE_EVENT_TYPES
    assert ingest.malformed(events, store.site_id) is None
    assert all(ingest.fold(None, e) == (None, None) for e in events)
    bad = {**events[2], "data": {**events[2]["data"], "quantity": "2"}}
    assert ingest.malformed([bad], store.site_id)[2] == "data.quantity must be an integer"
