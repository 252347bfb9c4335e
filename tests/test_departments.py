"""Departments and the emergency escalation chain (R9-R12) under /staff/departments: seeded
once, listed for every signed-in role, changed by managers only as signed site events,
rebuilt from the log like every projection, and accepted by HQ."""
from __future__ import annotations

import json
import logging
import re

import pytest
from helpers import CHEAP_PINS, csrf_token, sign_in

from hq import ingest
from kiosk import create_app
from kiosk.departments import service
from kiosk.projections.directory import SEED_ORDER
from kiosk.store import Store
from sync.events import GENESIS

BAD_PHONE = "Please enter an 11-digit mobile number or a landline number with its area code."
SYSTEM = {"role": "system", "id": "system", "name": "system"}
BOSS = {"role": "manager", "id": "m1", "name": "Wang Fang"}


def html_of(response) -> str:
    return response.get_data(as_text=True)


def of_type(store, *kinds: str) -> list[dict]:
    return [e for e in store.events_after(0) if e["type"] in kinds]


class Desk:
    """A signed-in staff member at the departments pages, sending real CSRF tokens."""

    def __init__(self, app, client, name="Wang Fang", role="manager"):
        self.client = client
        self.staff = sign_in(app, client, name, role)
        client.get("/lang/en")  # assert on the English msgids, whatever the catalog holds
        self.token = csrf_token(client, "/staff/departments")

    @property
    def actor(self) -> dict:
        return {k: self.staff[k] for k in ("role", "id", "name")}

    def post(self, path: str, data: dict | None = None):
        return self.client.post(path, data={"csrf_token": self.token, **(data or {})})

    def save(self, code="maintenance", **fields):
        form = {"name_zh": "维修部", "name_en": "Maintenance", "phone": "", "members": [],
                "active": "1", **fields}
        return self.post(f"/staff/departments/{code}", form)


@pytest.fixture
def manager(app, client):
    return Desk(app, client)


@pytest.fixture
def fixer(app):
    """A maintenance account, to be a member of a department."""
    return app.extensions["staff_directory"].add("Zhang Wei", "maintenance", "1357",
                                                 actor=SYSTEM, now=app.config["CLOCK"]())


# -- the defaults -----------------------------------------------------------------------
def test_the_defaults_are_seeded_once_in_order_and_a_restart_adds_nothing(tmp_path, clock):
    config = {"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "t",
              "CLOCK": clock, "PIN_HASH_METHOD": CHEAP_PINS}
    app = create_app(config)
    store = app.extensions["kiosk_store"]
    try:
        assert [d["code"] for d in service.DEFAULT_DEPARTMENTS] == list(SEED_ORDER)
        assert store.departments() == service.DEFAULT_DEPARTMENTS
        assert [(d["name_zh"], d["name_en"]) for d in store.departments()] == [
            ("维修部", "Maintenance"), ("保洁", "Cleaning"), ("保安", "Security"),
            ("绿化", "Greening"), ("能源中心", "Energy centre"),
            ("客户服务部", "Customer service")]
        assert store.escalation_chain() == service.DEFAULT_CHAIN
        assert [level["title_zh"] for level in store.escalation_chain()] == [
            "客户服务部经理", "物管中心主任", "能源中心主任", "后勤总公司领导"]
        seeded = of_type(store, "department_saved", "escalation_saved")
        assert len(seeded) == 7 and all(e["actor"] == SYSTEM and e["ticket_id"] is None
                                        for e in seeded)
        seq = store.last_seq
    finally:
        store.close()
    app = create_app(config)
    store = app.extensions["kiosk_store"]
    try:
        assert store.last_seq == seq and len(store.departments()) == 6
    finally:
        store.close()


def test_a_site_with_its_own_departments_gets_no_defaults(tmp_path, clock):
    store = Store(tmp_path / "data", site_id="site-test")
    try:
        service.save_department(store, "plumbing", {"name_zh": "水电"}, actor=BOSS,
                                now=clock(), staff_ids=[])
        service.ensure_defaults(store, clock())
        assert [d["code"] for d in store.departments()] == ["plumbing"]
        assert store.escalation_chain() == service.DEFAULT_CHAIN  # there was none
    finally:
        store.close()


def test_departments_list_seeded_ones_first_then_by_code(store, clock):
    for code in ("zoo", "aircon"):
        service.save_department(store, code, {"name_zh": code}, actor=BOSS, now=clock(),
                                staff_ids=[])
    assert [d["code"] for d in store.departments()] == [*SEED_ORDER, "aircon", "zoo"]


# -- the list: every signed-in role ----------------------------------------------------
def test_the_list_is_in_chinese_by_default_with_the_chain(app, client):
    sign_in(app, client)  # a receptionist
    html = html_of(client.get("/staff/departments"))
    assert '<html lang="zh-CN">' in html and "维修部" in html and "能源中心主任" in html
    assert html.index("客户服务部经理") < html.index("物管中心主任") < html.index("后勤总公司领导")


def test_a_receptionist_sees_the_phones_but_may_not_change_anything(app, client, store, clock):
    service.save_department(store, "security", {"name_zh": "保安", "phone": "010-6275 1234"},
                            actor=BOSS, now=clock(), staff_ids=[])
    desk = Desk(app, client, "Li Na", "receptionist")
    html = html_of(client.get("/staff/departments"))
    assert '<a class="tel" href="tel:01062751234">' in html
    assert "/staff/departments/security" not in html and "/staff/departments/new" not in html
    seq = store.last_seq
    for path in ("/staff/departments/security", "/staff/departments/new",
                 "/staff/departments/escalation"):
        assert client.get(path).status_code == 403
    assert desk.save("security", phone="13812345678").status_code == 403
    assert desk.post("/staff/departments/new", {"code": "x", "name_zh": "x"}).status_code == 403
    assert desk.post("/staff/departments/escalation",
                     {"levels-0-title_zh": "经理"}).status_code == 403
    assert store.last_seq == seq and store.department("security")["phone"] == "01062751234"


def test_signed_out_the_pages_send_to_the_sign_in(client):
    response = client.get("/staff/departments")
    assert response.status_code == 303 and "/staff/login" in response.location


# -- a manager changes a department ----------------------------------------------------
def test_a_manager_sets_the_phone_and_members_signed_by_them(manager, fixer, store, clock):
    edit = html_of(manager.client.get("/staff/departments/maintenance"))
    names = re.findall(r'name="members" value="([^"]+)"', edit)
    assert names == [fixer["id"], manager.staff["id"]]  # maintenance first, whatever the name
    labels = re.findall(r'<label class="member[^"]*">(.*?)</label>', edit, re.S)
    assert "Zhang Wei" in labels[0] and '<span class="badge">Maintenance staff</span>' in labels[0]
    assert "Wang Fang" in labels[1] and "badge" not in labels[1]  # marked: maintenance only

    response = manager.save(phone="138 1234 5678", members=[fixer["id"]])
    assert response.status_code == 303
    assert response.location.endswith("/staff/departments#department-maintenance")
    assert store.department("maintenance") == {
        "code": "maintenance", "name_zh": "维修部", "name_en": "Maintenance",
        "phone": "13812345678", "members": [fixer["id"]], "active": True}
    (event,) = of_type(store, "department_saved")[-1:]
    assert event["ticket_id"] is None and event["actor"] == manager.actor
    assert event["at"] == clock.now.isoformat() and event["data"]["phone"] == "13812345678"
    html = html_of(manager.client.get("/staff/departments"))
    assert "Saved Maintenance." in html
    assert '<a class="tel" href="tel:13812345678">' in html and "Zhang Wei" in html


def test_a_bad_phone_is_refused_next_to_its_field_keeping_what_was_typed(manager, fixer,
                                                                         store):
    seq = store.last_seq
    response = manager.save(name_zh="维修班", phone="12345", members=[fixer["id"]])
    assert response.status_code == 422
    html = html_of(response)
    assert re.search(rf'<p class="error" id="phone-error">[^<]*{re.escape(BAD_PHONE)}', html)
    assert 'value="12345"' in html and 'value="维修班"' in html
    assert re.search(rf'value="{fixer["id"]}"\s+checked', html)  # the ticked box stays ticked
    assert store.last_seq == seq and store.department("maintenance")["phone"] == ""


@pytest.mark.parametrize("fields, field, message", [
    ({"name_zh": " "}, "name_zh", "Please fill this in."),
    ({"name_zh": "维" * 41}, "name_zh", "Please keep this to 40 characters or fewer."),
    ({"name_en": "x" * 41}, "name_en", "Please keep this to 40 characters or fewer."),
    ({"members": ["st-nobody"]}, "members", "Please choose members from the list"),
])
def test_other_bad_fields_are_refused(manager, store, fields, field, message):
    seq = store.last_seq
    response = manager.save(**fields)
    assert response.status_code == 422
    assert re.search(rf'id="{field}-error">[^<]*{re.escape(message)}', html_of(response))
    assert store.last_seq == seq


def test_sending_the_same_values_again_stores_nothing(manager, fixer, store):
    assert manager.save(phone="13812345678", members=[fixer["id"]]).status_code == 303
    seq = store.last_seq
    assert manager.save(phone="138-1234-5678", members=[fixer["id"]]).status_code == 303
    assert store.last_seq == seq


def test_a_department_taken_out_of_use_leaves_the_working_list(manager, store):
    assert manager.save("greening", name_zh="绿化", name_en="Greening", active="").status_code == 303
    assert "greening" not in [d["code"] for d in store.departments()]
    assert store.department("greening")["active"] is False
    assert "Not in use" in html_of(manager.client.get("/staff/departments"))


def test_an_unknown_department_is_not_found(manager):
    assert manager.client.get("/staff/departments/nope").status_code == 404


# -- a manager adds one -----------------------------------------------------------------
def test_a_manager_adds_a_department(manager, store):
    response = manager.post("/staff/departments/new", {
        "code": "plumbing", "name_zh": "水电班", "name_en": "Plumbing", "phone": "62751234"})
    assert response.status_code == 303
    assert response.location.endswith("/staff/departments#department-plumbing")
    assert store.department("plumbing") == {
        "code": "plumbing", "name_zh": "水电班", "name_en": "Plumbing", "phone": "62751234",
        "members": [], "active": True}
    assert of_type(store, "department_saved")[-1]["actor"] == manager.actor


@pytest.mark.parametrize("code, message", [
    ("", "Please fill this in."),
    ("water pipes", "Use 1 to 32 letters, digits, - or _ (no spaces)."),
    ("maintenance", "This code is taken."),
    ("new", "This code is taken."),
])
def test_a_new_department_needs_a_good_unused_code(manager, store, code, message):
    seq = store.last_seq
    response = manager.post("/staff/departments/new", {"code": code, "name_zh": "水电班"})
    assert response.status_code == 422
    html = html_of(response)
    assert re.search(rf'id="code-error">[^<]*{re.escape(message)}', html)
    assert 'value="水电班"' in html and store.last_seq == seq
    assert store.department("maintenance")["name_zh"] == "维修部"


# -- the escalation chain --------------------------------------------------------------
def test_a_manager_saves_the_chain_and_it_is_read_back_in_order(manager, store):
    form = {"levels-0-title_zh": "客户服务部经理", "levels-0-name": "王芳",
            "levels-0-phone": "139 0000 1111",
            "levels-2-title_zh": "物管中心主任", "levels-2-title_en": "Director",
            "levels-2-phone": "010-62751234"}  # row 1 left empty: left out
    response = manager.post("/staff/departments/escalation", form)
    assert response.status_code == 303 and response.location.endswith("/staff/departments#escalation")
    assert store.escalation_chain() == [
        {"title_zh": "客户服务部经理", "title_en": "", "name": "王芳", "phone": "13900001111"},
        {"title_zh": "物管中心主任", "title_en": "Director", "name": "", "phone": "01062751234"}]
    event = of_type(store, "escalation_saved")[-1]
    assert event["actor"] == manager.actor and event["data"]["levels"] == store.escalation_chain()
    seq = store.last_seq
    assert manager.post("/staff/departments/escalation", form).status_code == 303
    assert store.last_seq == seq  # the same chain again: nothing new
    html = html_of(manager.client.get("/staff/departments"))
    assert html.index("王芳") < html.index("Director")
    assert 'href="tel:13900001111"' in html
    edit = html_of(manager.client.get("/staff/departments/escalation"))
    assert 'value="王芳"' in edit and 'id="levels-5-title_zh"' in edit


@pytest.mark.parametrize("form, field, message", [
    ({"levels-1-name": "王芳"}, "levels-1-title_zh", "Please fill this in."),
    ({"levels-0-title_zh": "经理", "levels-0-phone": "12345"}, "levels-0-phone", BAD_PHONE),
    ({"levels-0-title_zh": "经理", "levels-0-name": "王" * 41}, "levels-0-name",
     "Please keep this to 40 characters or fewer."),
    ({}, "levels", "Please fill in at least one level."),
])
def test_a_bad_chain_is_refused_keeping_what_was_typed(manager, store, form, field, message):
    seq = store.last_seq
    response = manager.post("/staff/departments/escalation",
                            {f"levels-{i}-{name}": "" for i in range(6)
                             for name in service.LEVEL_FIELDS} | form)
    assert response.status_code == 422
    html = html_of(response)
    assert re.search(rf'id="{field}-error">[^<]*{re.escape(message)}', html)
    for value in form.values():
        assert f'value="{value}"' in html
    assert store.last_seq == seq and store.escalation_chain() == service.DEFAULT_CHAIN


def test_the_chain_has_at_most_six_levels(store, clock):
    with pytest.raises(service.ValidationError) as caught:
        service.save_chain(store, [{"title_zh": f"第{i}级"} for i in range(7)], actor=BOSS,
                           now=clock())
    assert "levels" in caught.value.errors


# -- names in the page's language ------------------------------------------------------
def test_names_and_titles_in_either_language():
    department = {"name_zh": "保洁", "name_en": ""}
    assert service.department_name(department, "zh") == "保洁"
    assert service.department_name(department, "en") == "保洁"  # no English name: Chinese
    assert service.department_name({**department, "name_en": "Cleaning"}, "en") == "Cleaning"
    level = service.DEFAULT_CHAIN[1]
    assert service.level_title(level, "zh") == "物管中心主任"
    assert service.level_title(level, "en") == "Property-centre director"


# -- rebuilt from the log --------------------------------------------------------------
def _garbage(path):
    path.write_bytes(b"\x00\xffgarbage{{{")


def _seq_not_a_number(path):
    data = json.loads(path.read_bytes())
    data["_meta"]["1"] = {"seq": "7"}
    path.write_text(json.dumps(data))


@pytest.mark.parametrize("damage", [lambda path: path.unlink(), _garbage, _seq_not_a_number],
                         ids=["deleted", "garbage", "seq not a number"])
def test_a_lost_or_damaged_directory_is_rebuilt_from_the_log(tmp_path, clock, caplog, damage):
    store = Store(tmp_path / "data", site_id="site-test")
    service.ensure_defaults(store, clock())
    service.save_department(store, "maintenance", {"name_zh": "维修部", "phone": "13812345678",
                                                   "members": ["st-1"]},
                            actor=BOSS, now=clock(), staff_ids=["st-1"])
    service.save_department(store, "plumbing", {"name_zh": "水电班"}, actor=BOSS, now=clock(),
                            staff_ids=[], new=True)
    service.save_chain(store, [{"title_zh": "经理", "phone": "13900001111"}], actor=BOSS,
                       now=clock())
    before = (store.departments(active_only=False), store.escalation_chain(), store.last_seq)
    store.close()
    path = store.folder / "projections" / "directory.json"
    assert path.exists()
    damage(path)
    with caplog.at_level(logging.WARNING, logger="kiosk.store"):
        again = Store(tmp_path / "data")
    try:
        assert "replayed" in caplog.text or "rebuilding every projection" in caplog.text
        assert (again.departments(active_only=False), again.escalation_chain(),
                again.last_seq) == before
        assert again._directory.seq == again.last_seq
        again.rebuild()  # and a rebuild of everything gives the same
        assert (again.departments(active_only=False), again.escalation_chain(),
                again.last_seq) == before
    finally:
        again.close()


def test_a_read_is_a_copy(store):
    store.department("maintenance")["members"].append("st-x")
    store.escalation_chain()[0]["name"] = "someone"
    assert store.department("maintenance")["members"] == []
    assert store.escalation_chain() == service.DEFAULT_CHAIN


# -- HQ ----------------------------------------------------------------------------------
def test_hq_stores_both_event_types(manager, store):
    manager.save(phone="13812345678")
    assert {"department_saved", "escalation_saved"} <= ingest.SITE_EVENT_TYPES
    events = store.events_after(0)
    assert ingest.malformed(events, store.site_id) is None
    mine = [(e, result) for e, result, _ in ingest.plan(events, 0, GENESIS, {})
            if e["type"] in ("department_saved", "escalation_saved")]
    assert len(mine) == 8 and all(result == ingest.STORED for _, result in mine)
    assert all(ingest.fold(None, e) == (None, None) for e, _ in mine)
