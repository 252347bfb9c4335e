"""Fee standards at the counter (R25) under /staff/fees: a manager saves versions of a
standard (a change is a new version, the old ones kept; a resend stores nothing; bad
input is a 422 with everything typed kept); the desk computes a unit's fee with the rule
shown, from the archive's area or the meter readings; maintenance sees nothing; no public
page ever shows an amount; the versions are rebuilt from the log and accepted by HQ."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from helpers import csrf_token, sign_in

from hq import ingest
from kiosk.fees import service
from kiosk.households import household_id
from kiosk.households import service as households
from kiosk.meters import service as meters
from kiosk.permissions import Forbidden

MANAGER = {"role": "manager", "id": "st-m", "name": "刘经理"}
HID = household_id("3号楼", "101")
STANDARD = {"item_code": "management", "name_zh": "综合管理费", "name_en": "Management fee",
            "basis": "area", "rate": "2.80", "valid_from": "2026-01-01"}


def saved(store) -> list[dict]:
    return [e for e in store.events_after(0) if e["type"] == "fee_standard_saved"]


@pytest.fixture
def unit(store, clock):
    """Household 3号楼 101 of 89.5 m², with its water meter read on 1 and 28 November."""
    households.save(store, {"building": "3号楼", "unit": "101", "area": "89.5",
                            "name_0": "李强", "phone_0": "13812345678", "relation_0": "owner"},
                    1, actor=MANAGER, now=clock())
    for day, reading in (("2026-11-01", "1200"), ("2026-11-28", "1234.5")):
        meters.record(store, {"meter": "W-3-101", "kind": "water", "reading": reading,
                              "read_on": day, "household": HID}, confirmed=False,
                      actor=MANAGER, now=clock(), tz=clock().tzinfo)
    return HID


class Counter:
    """A signed-in staff member at /staff/fees, in English, with real CSRF tokens."""

    def __init__(self, app, client, role="manager", name="刘经理"):
        sign_in(app, client, name=name, role=role)
        client.get("/lang/en")
        self.client, self.token, self.n = client, csrf_token(client, "/staff/more"), 0

    def save(self, **fields):
        self.n += 1
        return self.client.post("/staff/fees/standards", data={
            "csrf_token": self.token, "request_id": f"rq-fee-{self.n}", **STANDARD, **fields})

    def compute(self, **fields):
        return self.client.post("/staff/fees/compute", data={
            "csrf_token": self.token, "household": HID, "item": "management", "by": "month",
            "month": "2026-11", **fields})


@pytest.fixture
def manager(app, client):
    return Counter(app, client)


def test_a_change_is_a_new_version_and_the_old_one_stays(store, manager):
    assert manager.save().status_code == 303
    assert manager.save(rate="3.1", valid_from="2026-11-16").status_code == 303
    versions = store.fee_standards()
    assert [(v["rate"], v["valid_from"]) for v in versions] == [("2.80", "2026-01-01"),
                                                                ("3.10", "2026-11-16")]
    assert [e["actor"]["name"] for e in saved(store)] == ["刘经理", "刘经理"]
    page = manager.client.get("/staff/fees").get_data(as_text=True)
    assert "2.80 yuan/m²·month" in page and "3.10 yuan/m²·month" in page
    [item] = service.items(store, datetime(2026, 11, 28).date())
    assert item["current"]["rate"] == "3.10" and len(item["versions"]) == 2


def test_a_resend_stores_nothing(store, manager):
    data = {"csrf_token": manager.token, "request_id": "rq-fee-same", **STANDARD}
    assert manager.client.post("/staff/fees/standards", data=data).status_code == 303
    last = store.last_seq
    assert manager.client.post("/staff/fees/standards", data=data).status_code == 303
    assert store.last_seq == last and len(saved(store)) == 1


@pytest.mark.parametrize("fields, field", [
    ({"item_code": "管理费"}, "item_code"), ({"name_zh": ""}, "name_zh"),
    ({"basis": "per-car"}, "basis"), ({"rate": "2.80001"}, "rate"), ({"rate": "-1"}, "rate"),
    ({"valid_from": "2026-02-30"}, "valid_from"),
    ({"basis": "reading", "meter_kind": ""}, "meter_kind"),
    ({"basis": "reading", "meter_kind": "water", "tier_above_1": "10", "tier_rate_1": ""},
     "tier_rate_1"),
    ({"basis": "reading", "meter_kind": "water", "tier_above_1": "10", "tier_rate_1": "4",
      "tier_above_2": "5", "tier_rate_2": "5"}, "tier_above_2"),
])
def test_a_bad_standard_is_a_422_with_everything_kept(store, manager, fields, field):
    response = manager.save(**fields)
    assert response.status_code == 422 and saved(store) == []
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page
    assert 'value="综合管理费"' in page or fields.get("name_zh") == ""


def test_the_desk_computes_from_the_area_with_the_rule_shown(app, client, store, unit):
    store.append([{"ticket_id": None, "type": "fee_standard_saved", "actor": MANAGER,
                   "at": "2026-01-01T00:00:00+00:00",
                   "data": {**STANDARD, "meter_kind": "", "tiers": [], "rate": "2.80"}}])
    desk = Counter(app, client, role="receptionist", name="王芳")
    before = store.last_seq
    page = desk.compute().get_data(as_text=True)
    assert "89.50 m² × 2.80 yuan/m²·month × 1 month(s) = 250.60 yuan" in page
    assert "Total: 250.60 yuan" in page
    assert store.last_seq == before  # a computation is an explanation: nothing stored
    part = desk.compute(by="days", start="2026-11-16", end="2026-11-30").get_data(as_text=True)
    assert "× 15/30 month(s) = 125.30 yuan" in part
    household_page = client.get(f"/staff/households/{HID}").get_data(as_text=True)
    assert f'href="/staff/fees?household={HID}"' in household_page
    assert "3号楼 101" in client.get(f"/staff/fees?household={HID}").get_data(as_text=True)


def test_per_household_a_month(store, manager, unit):
    manager.save(item_code="repair", name_zh="公共设施日常维修费", basis="household",
                 rate="15")
    page = manager.compute(item="repair", month="2026-02").get_data(as_text=True)
    assert "1 household × 15.00 yuan/household·month × 1 month(s) = 15.00 yuan" in page


def test_a_change_mid_month_is_explained_in_two_parts(store, manager, unit):
    manager.save()
    manager.save(rate="3.10", valid_from="2026-11-16")
    page = manager.compute().get_data(as_text=True)
    assert "2026-11-01 to 2026-11-15" in page and "2026-11-16 to 2026-11-30" in page
    assert "89.50 m² × 2.80 yuan/m²·month × 15/30 month(s) = 125.30 yuan" in page
    assert "89.50 m² × 3.10 yuan/m²·month × 15/30 month(s) = 138.73 yuan" in page
    assert "Total: 264.03 yuan" in page


def test_water_by_reading_and_a_missing_reading_is_a_clear_422(store, manager, unit):
    manager.save(item_code="water", name_zh="水费", basis="reading", meter_kind="water",
                 rate="3.00", tier_above_1="10", tier_rate_1="4.50")
    days = {"item": "water", "by": "days", "start": "2026-11-01"}
    page = manager.compute(**days, end="2026-11-28").get_data(as_text=True)
    assert "Meter W-3-101: 1234.5 (2026-11-28) − 1200 (2026-11-01) = 34.5 m³" in page
    assert "10 m³ × 3.00 yuan/m³ = 30.00 yuan" in page
    assert "24.5 m³ × 4.50 yuan/m³ = 110.25 yuan" in page and "Total: 140.25 yuan" in page
    missing = manager.compute(item="water")  # the whole month: no reading of 30 November
    assert missing.status_code == 422
    assert "No reading of meter W-3-101 on 2026-11-30" in missing.get_data(as_text=True)


@pytest.mark.parametrize("fields, field", [
    ({"household": ""}, "household"), ({"household": "nobody"}, "household"),
    ({"item": "parking"}, "item"), ({"month": "2026-13"}, "month"), ({"month": "0000-05"}, "month"),
    ({"month": ""}, "month"), ({"by": "days", "start": "2025-01-01", "end": "2026-11-30"}, "end"),
    ({"by": "days", "start": "2026-11-20", "end": "2026-11-01"}, "end"),
    ({"by": "days", "start": "", "end": "2026-11-01"}, "start"),
    ({"month": "2025-12"}, "result"),  # before the first standard
])
def test_a_bad_computation_is_a_422_with_the_message_by_its_field(store, manager, unit,
                                                                  fields, field):
    manager.save()
    response = manager.compute(**fields)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page and 'id="result"' not in page
    if fields.get("month"):
        assert f'value="{fields["month"]}"' in page


def test_the_last_month_of_the_calendar_is_computed_not_a_5xx(store, manager, unit):
    manager.save()
    assert "Total: 250.60 yuan" in manager.compute(month="9999-12").get_data(as_text=True)


def test_roles_the_desk_computes_only_a_manager_saves_maintenance_sees_nothing(app, client,
                                                                                 store):
    desk = Counter(app, client, role="receptionist", name="王芳")
    page = client.get("/staff/fees").get_data(as_text=True)
    assert 'id="compute"' in page and 'id="standard"' not in page
    assert desk.save().status_code == 403 and saved(store) == []
    with pytest.raises(Forbidden):
        service.save(store, STANDARD, actor={"role": "receptionist", "id": "x", "name": "x"},
                     now=datetime.now(timezone.utc))
    fixer = Counter(app, app.test_client(), role="maintenance", name="张师傅")
    assert fixer.client.get("/staff/fees").status_code == 403
    assert fixer.compute().status_code == 403


def test_no_public_page_shows_a_standard_or_an_amount(app, store, manager, unit):
    manager.save(rate="2.85")
    assert "Total: 255.08 yuan" in manager.compute().get_data(as_text=True)  # 89.5 × 2.85
    public = app.test_client()
    for path in ("/", "/report/place", "/report/details", "/staff/fees"):
        page = public.get(path).get_data(as_text=True)
        for word in ("2.85", "255.08", "综合管理费", "Management fee", "89.5"):
            assert word not in page, (path, word)


def test_versions_are_rebuilt_from_the_log_and_accepted_by_hq(store, manager):
    manager.save(item_code="water", name_zh="水费", basis="reading", meter_kind="water",
                 rate="3.00", tier_above_1="10", tier_rate_1="4.5")
    for event in store.events_after(0):
        assert ingest._shape_problem(event, store.site_id) is None, event["type"]
    store.rebuild()
    [version] = store.fee_standards()
    assert version["tiers"] == [{"above": "10", "rate": "4.50"}] and version["by"]["name"]
