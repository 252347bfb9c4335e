"""The customer archive (R17, R21) under /staff/households: a CSV import, all or nothing
and resend-safe; the lookup by phone digits and by unit; the picker in a desk record, the
ticket linked to its household and listed on its page; the receptionist/manager split
on the server; no public page shows an archived person's full phone number."""
from __future__ import annotations

import io
import re

import pytest
from helpers import csrf_token, sign_in

from hq import ingest
from kiosk.households import household_id, service
from kiosk.tickets import actions
from kiosk.store import Store

CSV = ("\ufeff楼栋,房号,面积,姓名,电话,身份\n"
       "1号楼,1201,89.5,张伟,13812345678,业主\n"
       "1号楼,1201,,李娜,13987654321,租户\n"
       "2号楼,305,,王芳,021-62751234,学生\n")
HID = household_id("1号楼", "1201")


def html_of(response) -> str:
    return response.get_data(as_text=True)


class Staff:
    """A signed-in staff member at the archive pages, sending real CSRF tokens."""

    def __init__(self, app, client, role="manager", name="Zhou Min"):
        self.client = client
        sign_in(app, client, name=name, role=role)
        client.get("/lang/en")
        self.token = csrf_token(client, "/staff/")

    def upload(self, text: str, request_id="rq-import-1", filename="archive.csv",
               encoding="utf-8"):
        return self.client.post("/staff/households/import", data={
            "csrf_token": self.token, "request_id": request_id,
            "file": (io.BytesIO(text.encode(encoding)), filename)},
            content_type="multipart/form-data")

    def post(self, path: str, data: dict):
        return self.client.post(path, data={"csrf_token": self.token, **data})


@pytest.fixture
def manager(app, client):
    return Staff(app, client)


def test_a_manager_imports_the_archive_in_one_append(manager, store):
    before = store.last_seq
    response = manager.upload(CSV)
    assert response.status_code == 303
    assert store.last_seq == before + 2  # two households, one append
    household = store.household(HID)
    assert household["area"] == "89.5" and household["building"] == "1号楼"
    assert household["people"] == [
        {"name": "张伟", "phone": "13812345678", "relation": "owner"},
        {"name": "李娜", "phone": "13987654321", "relation": "tenant"}]
    assert store.household(household_id("2号楼", "305"))["people"][0]["phone"] == "02162751234"
    events = [e for e in store.events_after(before)]
    assert {e["type"] for e in events} == {"household_saved"}
    assert all(ingest._data_problem(e["type"], e["data"]) is None for e in events)


def test_english_headers_and_no_bom_are_read_too(manager, store):
    text = "building,unit,area,name,phone,relation\nA,1,,Tom,13812345678,owner\n"
    assert manager.upload(text).status_code == 303
    assert store.household(household_id("A", "1"))["people"][0]["relation"] == "owner"


def test_a_malformed_file_changes_nothing_and_lists_every_bad_line(manager, store):
    manager.upload(CSV)
    before = store.last_seq
    bad = ("楼栋,房号,面积,姓名,电话,身份\n"
           "1号楼,1201,89.5,张伟,12345,业主\n"      # line 2: phone
           "1号楼,1202,,,13812345678,业主\n"        # line 3: no name
           "1号楼,1203,,赵六,13812345670,邻居\n"    # line 4: relation
           "3号楼,1,lots,钱七,13812345671,业主\n"   # line 5: area
           "3号楼,2,,孙八,13812345672\n"            # line 6: columns
           "3号楼,3,,周九,13812345673,业主\n")      # fine, but not stored either
    response = manager.upload(bad, request_id="rq-bad", filename="bad-archive.csv")
    assert response.status_code == 422
    html = html_of(response)
    for line in (2, 3, 4, 5, 6):
        assert f"Line {line}:" in html
    assert "Line 7" not in html and "bad-archive.csv" in html
    assert store.last_seq == before
    assert store.household(household_id("3号楼", "3")) is None


@pytest.mark.parametrize("data, problem", [
    (b"", "choose a CSV file first"),
    ("楼栋,房号,面积,姓名,电话,身份\n1号楼,1,,张伟,13812345678,业主\n".encode("gbk"),
     "not UTF-8"),
    (b"code,name\n1,2\n", "the header must be"),
])
def test_a_missing_foreign_or_headless_file_changes_nothing(manager, store, data, problem):
    before = store.last_seq
    response = manager.client.post("/staff/households/import", data={
        "csrf_token": manager.token, "file": (io.BytesIO(data), "x.csv")},
        content_type="multipart/form-data")
    assert response.status_code == 422 and problem in html_of(response)
    assert store.last_seq == before


def test_a_resent_import_stores_nothing(manager, store):
    manager.upload(CSV)
    seq = store.last_seq
    assert manager.upload(CSV).status_code == 303
    assert store.last_seq == seq


def test_lookup_by_four_digits_of_a_phone_and_by_unit(manager, store):
    manager.upload(CSV)
    found = html_of(manager.client.get("/staff/households/find?q=4321"))
    assert "1号楼 1201" in found and "2号楼 305" not in found
    found = html_of(manager.client.get("/staff/households/find?q=6275 1234"))
    assert "2号楼 305" in found and "1号楼 1201" not in found
    assert "1号楼 1201" in html_of(manager.client.get("/staff/households/find?q=1201"))
    assert "2号楼 305" in html_of(manager.client.get("/staff/households/find?q=2号楼305"))
    assert "No household found" in html_of(manager.client.get("/staff/households/find?q=0000"))
    assert "4 or more digits" in html_of(manager.client.get("/staff/households/find?q=1"))
    found, more = store.find_households("1381234", 8)
    assert [h["id"] for h in found] == [HID] and not more


def test_the_index_follows_an_edit_and_survives_a_reopen(manager, app, store, tmp_path):
    manager.upload(CSV)
    html = html_of(manager.client.get(f"/staff/households/{HID}/edit"))
    rid = re.search(r'name="request_id" value="([^"]+)"', html).group(1)
    response = manager.post(f"/staff/households/{HID}/edit", {
        "request_id": rid, "rows": "2", "area": "90", "note": "Dog",
        "name_0": "张伟", "phone_0": "13800001111", "relation_0": "owner",
        "name_1": "", "phone_1": ""})
    assert response.status_code == 303
    assert store.find_households("5678", 8)[0] == []
    assert store.find_households("0000 1111", 8)[0][0]["people"] == [
        {"name": "张伟", "phone": "13800001111", "relation": "owner"}]
    store.close()
    reopened = Store(tmp_path / "data")
    try:
        assert reopened.find_households("1111", 8)[0][0]["note"] == "Dog"
        reopened.rebuild()
        assert reopened.find_households("1111", 8)[0][0]["area"] == "90"
    finally:
        reopened.close()
        app.extensions["kiosk_store"] = Store(tmp_path / "data")


def test_a_bad_edit_is_a_422_with_everything_typed_kept(manager, store):
    manager.upload(CSV)
    before = store.last_seq
    response = manager.post(f"/staff/households/{HID}/edit", {
        "rows": "1", "area": "big", "name_0": "张伟", "phone_0": "123", "relation_0": "owner"})
    assert response.status_code == 422
    html = html_of(response)
    assert 'value="big"' in html and 'value="123"' in html
    assert store.last_seq == before


def test_a_receptionist_finds_but_gets_403_on_what_is_for_managers(app, client, store):
    Staff(app, app.test_client()).upload(CSV)
    desk = Staff(app, client, role="receptionist", name="Li Na")
    page = html_of(client.get(f"/staff/households/{HID}"))
    assert "13812345678" in page and "张伟" in page  # a staff page: the full number
    assert "89.5" not in page and "Edit the household" not in page
    assert client.get(f"/staff/households/{HID}/edit").status_code == 403
    assert client.get("/staff/households/new").status_code == 403
    assert desk.upload(CSV, request_id="rq-desk").status_code == 403
    assert "archive-file" not in html_of(client.get("/staff/households"))


def test_maintenance_may_not_open_the_archive(app, client, store):
    Staff(app, app.test_client()).upload(CSV)
    sign_in(app, client, name="Wang Gong", role="maintenance")
    for path in ("/staff/households", f"/staff/households/{HID}",
                 "/staff/households/find?q=5678", f"/staff/households/pick?id={HID}"):
        assert client.get(path).status_code == 403, path


def record(desk: Staff, **fields):
    html = html_of(desk.client.get("/staff/record/phone"))
    rid = re.search(r'name="request_id" value="([^"]+)"', html).group(1)
    return desk.post("/staff/record/phone", {"request_id": rid, "category": "inquiry",
                                             "description": "When is the water back?",
                                             **fields})


def test_a_picked_household_goes_on_the_ticket_and_the_ticket_on_its_page(app, client, store):
    Staff(app, app.test_client()).upload(CSV)
    desk = Staff(app, client, role="receptionist", name="Li Na")
    form = html_of(client.get("/staff/record/phone"))
    assert 'id="household-picker"' in form
    picked = html_of(client.get(f"/staff/households/pick?id={HID}"))
    assert f'name="household" value="{HID}"' in picked
    response = record(desk, household=HID)
    assert response.status_code == 303
    ticket = store.ticket(response.headers["Location"].rsplit("/", 1)[1])
    assert ticket["household"] == HID
    assert (ticket["name"], ticket["phone"]) == ("张伟", "13812345678")  # the first person
    assert f"/staff/households/{HID}" in html_of(client.get(f"/staff/t/{ticket['id']}"))
    assert ticket["number"] in html_of(client.get(f"/staff/households/{HID}"))
    typed = record(desk, household=HID, name="A neighbour", phone="13700000000")
    ticket = store.ticket(typed.headers["Location"].rsplit("/", 1)[1])
    assert (ticket["name"], ticket["phone"]) == ("A neighbour", "13700000000")


def test_a_closed_ticket_stays_on_its_households_page_after_a_rebuild(app, client, store,
                                                                      tmp_path):
    Staff(app, app.test_client()).upload(CSV)
    desk = Staff(app, client, role="receptionist", name="Li Na")
    first, second = (store.ticket(record(desk, household=HID).headers["Location"]
                                  .rsplit("/", 1)[1]) for _ in range(2))
    record(desk)  # no household: on no household's page
    actions.close(store, first["id"], "duplicate", actor={"role": "receptionist", "id": "x",
                                                         "name": "Li Na"},
                  now=app.config["CLOCK"]())
    store.checkpoint()  # the closed ticket moves to its month's archive
    listed = service.tickets(store, HID)
    assert [(t["number"], t["status"]) for t in listed] == [
        (second["number"], "open"), (first["number"], "closed")]
    store.rebuild()
    assert service.tickets(store, HID) == listed
    assert service.tickets(store, household_id("2号楼", "305")) == []


def test_a_visitor_cannot_link_a_household(app, client, store, visitor):
    Staff(app, app.test_client()).upload(CSV)
    visitor.report(category="inquiry", location=None)
    assert all(t.get("household") is None for t in store.open_tickets())


def test_no_public_page_shows_an_archived_persons_full_phone(app, client, store, visitor):
    Staff(app, app.test_client()).upload(CSV)
    desk = Staff(app, app.test_client(), role="receptionist", name="Li Na")
    response = record(desk, household=HID)
    ticket = store.ticket(response.headers["Location"].rsplit("/", 1)[1])
    pages = [html_of(client.get("/")), html_of(client.get(f"/t/{ticket['token']}"))]
    visitor.report(category="inquiry", location=None, phone="13812345678")
    pages.append(html_of(client.get("/report/receipt")))
    for page in pages:
        for phone in ("13812345678", "13987654321", "02162751234"):
            assert phone not in page
    assert "*******5678" in pages[1]
