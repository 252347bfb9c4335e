"""Acceptance (issue 12, points 5 and 7) on the tablet: yesterday's meter reading, then a
lower one today refused with a warning until the "replaced or rolled over" box is ticked; a manager
imports the arrears list from a CSV and a receptionist records a contact, never seeing
the amount. The phone width is checked on both pages.

Fields and buttons are found by their ids and forms, so the test reads the same in
either language.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from playwright.sync_api import Page, expect

from e2e_flow import narrow_enough, shot, sign_in_as

SIGNER = {"role": "manager", "id": "st-e2e", "name": "E2E"}
FIXER, MANAGER, DESK, PIN = "张师傅", "刘经理", "王芳", "2468"
CSV = "楼栋,房号,姓名,欠费起始,金额\n3号楼,101,李强,2026-03,1280.50\n3号楼,102,赵敏,2026-06,\n"


def staffed_kiosk(make_server):
    server = make_server()
    directory, now = server.app.extensions["staff_directory"], datetime.now(timezone.utc)
    for name, role in ((FIXER, "maintenance"), (MANAGER, "manager"), (DESK, "receptionist")):
        directory.add(name, role, PIN, actor=SIGNER, now=now)
    return server


def test_a_lower_reading_needs_the_tick(page: Page, make_server, requests_seen, page_errors,
                                        open_phone):
    server = staffed_kiosk(make_server)
    sign_in_as(page, server, FIXER, PIN, "/staff/meters")
    form = page.locator("#read")
    page.fill("#meter", "W-3-101")
    page.select_option("#kind", "water")
    page.fill("#reading", "1234.5")
    today = datetime.now(server.app.config["TZ"]).date()
    page.fill("#read_on", (today - timedelta(days=1)).isoformat())  # yesterday's reading
    form.locator("button[type=submit]").click()
    readings = page.locator("#readings")
    expect(readings).to_contain_text("1234.5")

    page.fill("#meter", "W-3-101")
    page.select_option("#kind", "water")
    page.fill("#reading", "12")
    page.fill("#read_on", today.isoformat())
    form.locator("button[type=submit]").click()
    expect(page.locator("#reading-error")).to_contain_text("1234.5")
    expect(page.locator("#reading")).to_have_value("12")
    page.locator("#lower-confirm input").check()
    form.locator("button[type=submit]").click()
    expect(page.locator("#reading-error")).to_have_count(0)
    expect(readings.locator(".badge")).to_have_count(1)
    shot(page, "meters-tablet")
    assert [e["data"]["reading"] for e in server.store.events_after(0)
            if e["type"] == "meter_read"] == ["1234.5", "12"]

    phone = open_phone(server.url)
    sign_in_as(phone, server, FIXER, PIN, "/staff/meters")
    narrow_enough(phone)
    phone.fill("#meter", "W-3-101")
    phone.select_option("#kind", "water")
    phone.fill("#reading", "10")
    phone.locator("#read button[type=submit]").click()
    expect(phone.locator("#lower-confirm")).to_be_visible()
    narrow_enough(phone)
    # a screenshot leaves style attributes that the next boosted swap would copy: last
    shot(phone, "meters-lower-phone")


def test_a_manager_imports_arrears_and_a_receptionist_records_a_contact(
        page: Page, make_server, requests_seen, page_errors, open_phone, tmp_path):
    server = staffed_kiosk(make_server)
    sign_in_as(page, server, MANAGER, PIN, "/staff/arrears")
    csv_file = tmp_path / "arrears.csv"
    csv_file.write_text(CSV, encoding="utf-8")
    page.set_input_files("#csv-file", str(csv_file))
    page.locator("#arrears-import button[type=submit]").click()
    listing = page.locator("#arrears-list")
    expect(listing).to_contain_text("李强")
    expect(listing).to_contain_text("1280.50")
    shot(page, "arrears-manager-tablet")
    page.context.clear_cookies()

    sign_in_as(page, server, DESK, PIN, "/staff/arrears")
    expect(listing).to_contain_text("李强")
    expect(listing).not_to_contain_text("1280")
    listing.locator("tr", has_text="李强").get_by_role("link").click()
    page.locator("input[name=how][value=phone]").check()
    page.fill("#said", "业主说月底前交清。")
    page.fill("#promised_on", "2099-12-31")
    page.locator("#contact button[type=submit]").click()
    expect(page.locator("#contacts")).to_contain_text("业主说月底前交清。")
    expect(page.locator("#contacts")).to_contain_text(DESK)
    expect(page.locator("main")).not_to_contain_text("1280")
    shot(page, "arrears-contact-tablet")
    contact_url = page.url
    page.goto(server.url + "/staff/arrears")
    expect(listing).to_contain_text("2099-12-31")

    phone = open_phone(server.url)
    sign_in_as(phone, server, DESK, PIN, "/staff/arrears")
    narrow_enough(phone)
    shot(phone, "arrears-phone")
    phone.goto(contact_url)  # the household's contacts
    expect(phone.locator("#contacts")).to_contain_text("业主说月底前交清。")
    narrow_enough(phone)
    shot(phone, "arrears-contact-phone")
