"""Households in arrears (欠费, R22) under /staff/arrears: a manager imports the list from
a CSV, all or nothing, bad lines listed; the desk records contacts, the overdue promises
first; the amount reaches managers only, enforced on the server; no public page ever
mentions arrears; resends store nothing; rebuilt from the log; accepted by HQ."""
from __future__ import annotations

import io
from datetime import date

import pytest
from flask import render_template_string
from helpers import csrf_token, sign_in

from hq import ingest
from kiosk.households import arrears, household_id

CSV = ("building,unit,name,since,amount\n"
       "3号楼,101,王芳,2026-03,1280.50\n"
       "3号楼,102,李强,2026-05-01,\n")
CSV_ZH = "\ufeff楼栋,房号,姓名,欠费起始,金额\r\n5号楼,201,张伟,2025-12,3999\r\n"
HID = household_id("3号楼", "101")


def listed(store, kind="arrears_listed") -> list[dict]:
    return [e for e in store.events_after(0) if e["type"] == kind]


def signed_in(app, client, role: str) -> str:
    sign_in(app, client, name=f"A {role}", role=role)
    client.get("/lang/en")
    return csrf_token(client, "/staff/arrears")


def upload(client, token, text: str, request_id="rq-arrears-1"):
    return client.post("/staff/arrears/import", content_type="multipart/form-data", data={
        "csrf_token": token, "request_id": request_id,
        "file": (io.BytesIO(text.encode()), "arrears.csv")})


@pytest.fixture
def manager(app, client):
    token = signed_in(app, client, "manager")
    assert upload(client, token, CSV).status_code == 303
    return client, token


def test_a_manager_imports_the_list_and_sees_the_amounts(store, manager):
    client, _ = manager
    [event] = listed(store)
    rows = event["data"]["list"]
    assert [r["household"] for r in rows] == [HID, household_id("3号楼", "102")]
    assert rows[0]["amount"] == "1280.50" and rows[1]["amount"] is None
    page = client.get("/staff/arrears").get_data(as_text=True)
    assert "王芳" in page and "1280.50" in page


def test_chinese_headers_are_accepted_and_a_new_list_replaces_the_old(store, manager):
    client, token = manager
    assert upload(client, token, CSV_ZH, request_id="rq-arrears-2").status_code == 303
    rows, _ = store.arrears()
    assert [r["name"] for r in rows] == ["张伟"]


def test_a_malformed_csv_changes_nothing_and_lists_the_bad_lines(store, manager):
    client, token = manager
    bad = ("building,unit,name,since,amount\n"
           "3号楼,201,赵六,2026-03,12\n"
           ",202,钱七,2026-03,\n"           # line 3: no building
           "3号楼,203,孙八,last year,\n"     # line 4: since
           "3号楼,204,周九,2026-03,lots\n"   # line 5: amount
           "3号楼,201,赵六,2026-04,\n"       # line 6: same household as line 2
           "3号楼,205\n")                    # line 7: columns
    last = store.last_seq
    response = upload(client, token, bad, request_id="rq-arrears-3")
    assert response.status_code == 422 and store.last_seq == last
    page = response.get_data(as_text=True)
    for n in (3, 4, 5, 6, 7):
        assert f"Line {n}:" in page
    assert "Line 2:" not in page and "Nothing was imported" in page
    assert upload(client, token, "a,b\n1,2\n", "rq-arrears-4").status_code == 422
    assert len(listed(store)) == 1


def test_a_resent_import_stores_nothing(store, manager):
    client, token = manager
    last = store.last_seq
    assert upload(client, token, CSV).status_code == 303  # the same request id
    assert store.last_seq == last


def test_a_receptionist_never_sees_the_amount_and_cannot_import(app, store, manager):
    other = app.test_client()
    token = signed_in(app, other, "receptionist")
    for path in ("/staff/arrears", f"/staff/arrears/{HID}"):
        page = other.get(path).get_data(as_text=True)
        assert "王芳" in page and "2026-03" in page
        assert "1280.50" not in page and "1280" not in page and "Amount" not in page
    assert 'action="/staff/arrears/import"' not in other.get("/staff/arrears").get_data(
        as_text=True)
    assert upload(other, token, CSV, request_id="rq-arrears-5").status_code == 403
    assert "amount" not in arrears.for_household(store, HID, "receptionist")
    assert "amount" not in arrears.for_household(store, HID)
    rows, _ = arrears.listing(store, "receptionist", date(2026, 11, 28))
    assert all("amount" not in r for r in rows)


def test_maintenance_may_not_see_the_list(app, manager):
    other = app.test_client()
    sign_in(app, other, name="A fixer", role="maintenance")
    assert other.get("/staff/arrears").status_code == 403


def test_a_contact_is_recorded_listed_and_a_resend_stores_nothing(app, store, clock, manager):
    desk = app.test_client()
    token = signed_in(app, desk, "receptionist")
    data = {"csrf_token": token, "how": "phone", "said": "Will pay after the holiday.",
            "promised_on": "2026-12-05", "request_id": "rq-contact-1"}
    assert desk.post(f"/staff/arrears/{HID}", data=data).status_code == 303
    assert desk.post(f"/staff/arrears/{HID}", data=data).status_code == 303
    [event] = listed(store, "arrears_contacted")
    assert event["data"] == {"household": HID, "how": "phone",
                             "said": "Will pay after the holiday.",
                             "promised_on": "2026-12-05", "request_id": "rq-contact-1"}
    page = desk.get(f"/staff/arrears/{HID}").get_data(as_text=True)
    assert "Will pay after the holiday." in page and "A receptionist" in page
    rows, _ = arrears.listing(store, "receptionist", date(2026, 12, 6))
    assert rows[0]["household"] == HID and rows[0]["overdue"]  # the promise has passed
    assert "2026-12-05" in desk.get("/staff/arrears").get_data(as_text=True)


def test_a_bad_contact_is_a_422_with_everything_kept(app, store, manager):
    client, token = manager
    response = client.post(f"/staff/arrears/{HID}", data={
        "csrf_token": token, "how": "", "said": "Nobody answered", "promised_on": "2026-11-01"})
    assert response.status_code == 422 and not listed(store, "arrears_contacted")
    page = response.get_data(as_text=True)
    assert "Please choose how you made contact." in page and "Nobody answered" in page
    assert "A promised day cannot be in the past." in page
    assert client.post("/staff/arrears/hnotlisted", data={
        "csrf_token": token, "how": "phone", "said": "x"}).status_code == 404


def test_the_household_section_shows_the_amount_to_managers_only(app, store, manager):
    template = '{% include "households/_arrears.html" %}'
    for role, amount_shown in (("manager", True), ("receptionist", False)):
        row = arrears.for_household(store, HID, role)
        with app.test_request_context():
            html = render_template_string(template, household={"id": HID}, arrears=row)
        assert "2026-03" in html
        assert ("1280.50" in html) is amount_shown


def test_no_public_page_mentions_arrears(app, manager):
    client, _ = manager
    public = app.test_client()
    for path in ("/", "/report/place", "/report/details"):
        page = public.get(path).get_data(as_text=True)
        for word in ("1280.50", "arrears", "Arrears", "欠费", "王芳"):
            assert word not in page, (path, word)


def test_the_list_and_contacts_are_rebuilt_from_the_log_and_accepted_by_hq(store, manager):
    client, token = manager
    client.post(f"/staff/arrears/{HID}", data={"csrf_token": token, "how": "visit",
                                               "said": "Spoke at the door"})
    for event in store.events_after(0):
        assert ingest._shape_problem(event, store.site_id) is None, event["type"]
    store.rebuild()
    row = arrears.for_household(store, HID, "manager")
    assert row["amount"] == "1280.50" and row["contacts"][0]["said"] == "Spoke at the door"
