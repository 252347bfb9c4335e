"""The move-in hand-over (入伙手续, R24): the steps taken in order, each one signed event;
a resend stores nothing; the keys land in the item register as handed out for good with
the household, the readings as readings of the unit's meters; the contact goes into the
archive when a manager signs it, else stays on the move-in; bad input is a 422 keeping
what was typed; the desk only, the checklist managers only; accepted by HQ."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from helpers import csrf_token, sign_in

from hq import ingest
from kiosk.households import household_id
from kiosk.households import service as households
from kiosk.meters import service as meters
from kiosk.movein import service
from kiosk.notices import service as notices
from kiosk.permissions import Forbidden
from kiosk.tickets import rules

DESK = {"role": "receptionist", "id": "st-1", "name": "Li Na"}
MANAGER = {"role": "manager", "id": "st-2", "name": "Zhao"}
TZ = ZoneInfo("Asia/Shanghai")
HID = household_id("3栋", "1201")
PERSON = {"name": "陈新", "phone": "13912345678", "relation": "tenant"}


def of_type(store, *kinds: str) -> list[dict]:
    return [e for e in store.events_after(0) if e["type"] in kinds]


@pytest.fixture
def unit(store, clock):
    households.save(store, {"building": "3栋", "unit": "1201", "area": "89.5",
                            "name_0": "王业主", "phone_0": "13800000001", "relation_0": "owner"},
                    1, actor=MANAGER, now=clock())
    notices.publish(store, {"title": "停水通知", "text": "周六停水", "valid_from":
                            (clock() - timedelta(hours=1)).astimezone(TZ).strftime("%Y-%m-%dT%H:%M"),
                            "valid_to": (clock() + timedelta(days=2)).astimezone(TZ)
                            .strftime("%Y-%m-%dT%H:%M")}, actor=DESK, now=clock(), tz=TZ)
    return HID


def started(store, clock, actor=DESK, request_id="rq-start"):
    return service.start(store, {"household": HID, **PERSON}, actor=actor, now=clock(),
                         request_id=request_id)


def step(store, clock, movein, key, form, actor=DESK, request_id=None):
    return service.do_step(store, movein["id"], key, form, actor=actor, now=clock(), tz=TZ,
                           request_id=request_id or f"rq-{movein['id']}-{key}")


KEYS = {"key_item_0": "入户门钥匙", "key_count_0": "3", "key_item_1": "信报箱钥匙",
        "key_count_1": "1", "key_item_2": "门禁卡", "key_count_2": ""}
READINGS = {"meter_water": "W-1201", "reading_water": "12.5",
            "meter_electricity": "E-1201", "reading_electricity": "3021"}


def all_steps(store, clock, movein, actor=DESK):
    step(store, clock, movein, "identity", {"note": "身份证已核验"}, actor)
    step(store, clock, movein, "documents", {"note": ""}, actor)
    step(store, clock, movein, "keys", KEYS, actor)
    step(store, clock, movein, "readings", READINGS, actor)
    step(store, clock, movein, "contact", PERSON, actor)
    shown = [n["id"] for n in notices.current(store, clock())]
    return step(store, clock, movein, "notices", {"shown": shown}, actor)


def test_the_steps_go_in_order_each_one_signed_event_and_the_last_completes(store, clock, unit):
    movein = started(store, clock)
    assert service.next_step(movein)["key"] == "identity" and movein["completed_at"] is None
    with pytest.raises(rules.RuleError):
        step(store, clock, movein, "keys", KEYS)
    done = all_steps(store, clock, movein)
    assert done["completed_at"] and service.next_step(done) is None
    assert [e["data"]["step"] for e in of_type(store, "movein_step_done")] == [
        "identity", "documents", "keys", "readings", "contact", "notices"]
    assert all(e["actor"]["name"] == "Li Na" for e in of_type(store, "movein_step_done"))
    assert len(of_type(store, "movein_completed")) == 1
    assert done["done"]["identity"]["data"] == {"note": "身份证已核验"}
    with pytest.raises(rules.RuleError):
        step(store, clock, done, "notices", {}, request_id="rq-other")


def test_a_resend_stores_nothing(store, clock, unit):
    movein = started(store, clock)
    assert started(store, clock)["id"] == movein["id"]
    step(store, clock, movein, "identity", {})
    step(store, clock, movein, "documents", {})
    step(store, clock, movein, "keys", KEYS)
    before = len(store.events_after(0))
    step(store, clock, movein, "keys", KEYS)  # the same request id
    assert len(store.events_after(0)) == before
    assert len(of_type(store, "movein_started")) == 1


def test_keys_land_in_the_item_register_for_good_with_the_household(store, clock, unit):
    movein = started(store, clock)
    step(store, clock, movein, "identity", {})
    step(store, clock, movein, "documents", {})
    done = step(store, clock, movein, "keys", KEYS)
    lent = [e["data"] for e in of_type(store, "item_lent")]
    assert [(i["item"], i["quantity"]) for i in lent] == [("入户门钥匙", 3), ("信报箱钥匙", 1)]
    assert all(i["household"] == HID and i["due_at"] is None and i["to_name"] == "陈新"
               and i["phone"] == "13912345678" for i in lent)
    assert [k["item_id"] for k in done["done"]["keys"]["data"]["keys"]] == [i["id"] for i in lent]
    assert store.items_out() == []  # handed out for good: nothing due back


def test_readings_land_as_readings_of_the_units_meters(store, clock, unit):
    movein = started(store, clock)
    for key in ("identity", "documents"):
        step(store, clock, movein, key, {})
    step(store, clock, movein, "keys", KEYS)
    step(store, clock, movein, "readings", READINGS)
    readings = {r["meter"]: r for r in store.meter_readings()}
    assert readings["W-1201"]["reading"] == "12.5" and readings["W-1201"]["kind"] == "water"
    assert readings["E-1201"]["household"] == HID and len(readings) == 2
    assert service.unit_meters(store, HID) == {"water": "W-1201", "electricity": "E-1201"}


def test_a_lower_reading_needs_the_tick_and_stores_nothing_without_it(store, clock, unit):
    movein = started(store, clock)
    step(store, clock, movein, "identity", {})
    step(store, clock, movein, "documents", {})
    step(store, clock, movein, "keys", KEYS)
    clock.now -= timedelta(days=3)
    meters.record(store, {"meter": "W-1201", "kind": "water", "reading": "50",
                          "read_on": clock().astimezone(TZ).date().isoformat()},
                  confirmed=False, actor=DESK, now=clock(), tz=TZ)
    clock.now += timedelta(days=3)
    count = len(store.meter_readings())
    with pytest.raises(service.ValidationError) as exc:
        step(store, clock, movein, "readings", READINGS)
    assert set(exc.value.errors) == {"reading_water"} and len(store.meter_readings()) == count
    step(store, clock, movein, "readings", {**READINGS, "confirm_lower": "yes"})
    assert len(store.meter_readings()) == count + 2


def test_the_contact_goes_into_the_archive_only_when_a_manager_signs(store, clock, unit):
    movein = all_steps(store, clock, started(store, clock))
    assert movein["done"]["contact"]["data"]["archived"] is False
    assert [p["name"] for p in store.household(HID)["people"]] == ["王业主"]
    assert service.for_household(store, HID)[0]["archived"] is False
    other = all_steps(store, clock, started(store, clock, MANAGER, "rq-2"), MANAGER)
    assert other["done"]["contact"]["data"]["archived"] is True
    people = store.household(HID)["people"]
    assert [p["name"] for p in people] == ["王业主", "陈新"]
    assert people[1] == PERSON


def test_the_notices_must_each_be_ticked(store, clock, unit):
    movein = started(store, clock)
    for key, form in (("identity", {}), ("documents", {}), ("keys", KEYS),
                      ("readings", READINGS), ("contact", PERSON)):
        movein = step(store, clock, movein, key, form)
    with pytest.raises(service.ValidationError) as exc:
        step(store, clock, movein, "notices", {"shown": []})
    assert set(exc.value.errors) == {"shown"}
    assert not of_type(store, "movein_completed")


@pytest.mark.parametrize("form, field", [
    ({"key_item_0": "门", "key_count_0": "x"}, "key_count_0"),
    ({"key_item_0": "", "key_count_0": "2"}, "key_item_0"),
    ({}, "keys"),
])
def test_bad_keys_are_refused_and_nothing_is_lent(store, clock, unit, form, field):
    movein = started(store, clock)
    step(store, clock, movein, "identity", {})
    step(store, clock, movein, "documents", {})
    with pytest.raises(service.ValidationError) as exc:
        step(store, clock, movein, "keys", form)
    assert field in exc.value.errors and not of_type(store, "item_lent")


def test_start_needs_a_household_a_name_and_a_phone(store, clock, unit):
    with pytest.raises(service.ValidationError) as exc:
        service.start(store, {"household": "", "name": "", "phone": "12", "relation": "x"},
                      actor=DESK, now=clock())
    assert set(exc.value.errors) == {"household", "name", "phone", "relation"}
    with pytest.raises(Forbidden):
        service.start(store, {"household": HID, **PERSON},
                      actor={"role": "maintenance", "id": "m", "name": "M"}, now=clock())


def test_a_manager_edits_the_steps_and_a_new_move_in_uses_them(store, clock, unit):
    old = started(store, clock)
    form = {"key_0": "identity", "label_zh_0": "核验身份", "label_en_0": "ID", "kind_0": "confirm",
            "key_1": "keys", "label_zh_1": "钥匙", "label_en_1": "", "kind_1": "keys",
            "label_zh_2": "装修须知签收", "label_en_2": "Renovation rules", "kind_2": "confirm"}
    with pytest.raises(Forbidden):
        service.save_steps(store, form, 3, actor=DESK, now=clock())
    steps = service.save_steps(store, form, 3, actor=MANAGER, now=clock(), request_id="rq-s")
    assert [(s["key"], s["kind"]) for s in steps] == [("identity", "confirm"), ("keys", "keys"),
                                                      ("step1", "confirm")]
    service.save_steps(store, form, 3, actor=MANAGER, now=clock(), request_id="rq-s")
    assert len(of_type(store, "movein_steps_saved")) == 1
    new = started(store, clock, request_id="rq-new")
    assert [s["key"] for s in new["steps"]] == ["identity", "keys", "step1"]
    assert len(store.movein(old["id"])["steps"]) == 6  # a move-in keeps its steps
    with pytest.raises(service.ValidationError) as exc:
        service.save_steps(store, {**form, "kind_2": "keys"}, 3, actor=MANAGER, now=clock())
    assert set(exc.value.errors) == {"kind_2"}


class Desk:
    def __init__(self, app, client, name="Li Na", role="receptionist"):
        self.client = client
        sign_in(app, client, name, role)
        client.get("/lang/en")
        self.token = csrf_token(client, "/staff/movein")

    def post(self, path, data):
        return self.client.post(path, data={"csrf_token": self.token, **data})


def test_the_pages_keep_what_was_typed_on_bad_input_and_list_the_move_in(app, client, store,
                                                                         clock, unit):
    desk = Desk(app, client)
    bad = desk.post("/staff/movein", {"household": HID, "name": "陈新", "phone": "12",
                                      "relation": "tenant", "request_id": "rq-a"})
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert 'value="陈新"' in html and 'value="12"' in html and 'id="phone-error"' in html
    assert not of_type(store, "movein_started")
    ok = desk.post("/staff/movein", {"household": HID, **PERSON, "request_id": "rq-b"})
    assert ok.status_code == 303
    mid = store.moveins_open()[0]["id"]
    assert mid in desk.client.get("/staff/movein").get_data(as_text=True)
    for key in ("identity", "documents"):
        assert desk.post(f"/staff/movein/{mid}/{key}", {"request_id": f"rq-{key}"}).status_code == 303
    bad = desk.post(f"/staff/movein/{mid}/keys", {"key_item_0": "入户门钥匙", "key_count_0": "x",
                                                  "request_id": "rq-k"})
    assert bad.status_code == 422 and 'value="x"' in bad.get_data(as_text=True)
    assert desk.post(f"/staff/movein/{mid}/identity", {"request_id": "rq-z"}).status_code == 409
    page = desk.client.get(f"/staff/movein/{mid}").get_data(as_text=True)
    assert "Li Na" in page and 'id="step-keys"' in page
    household = desk.client.get(f"/staff/households/{HID}").get_data(as_text=True)
    assert f"/staff/movein/{mid}" in household
    record = desk.client.get(f"/staff/movein/{mid}/record").get_data(as_text=True)
    assert "陈新" in record and "3栋 1201" in record


@pytest.mark.parametrize("role, code", [("maintenance", 403), ("receptionist", 403)])
def test_who_may_open_which_page(app, client, role, code):
    sign_in(app, client, f"A {role}", role)
    assert client.get("/staff/movein/steps").status_code == code
    assert client.get("/staff/movein").status_code == (403 if role == "maintenance" else 200)


def test_a_manager_opens_the_checklist_editor(app, client):
    sign_in(app, client, "Zhao", "manager")
    assert client.get("/staff/movein/steps").status_code == 200


def test_hq_accepts_the_move_in_events(store, clock, unit):
    all_steps(store, clock, started(store, clock))
    service.save_steps(store, {"label_zh_0": "核验", "kind_0": "confirm"}, 1, actor=MANAGER,
                       now=clock())
    kinds = ("movein_started", "movein_step_done", "movein_completed", "movein_steps_saved")
    events = of_type(store, *kinds)
    assert {e["type"] for e in events} == set(kinds) <= ingest.SITE_EVENT_TYPES
    assert ingest.malformed(events, store.site_id) is None
    assert all(ingest.fold(None, e) == (None, None) for e in events)
