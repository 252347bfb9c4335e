"""Acceptance (issue 12): the customer archive on the tablet. A manager imports the
archive from a CSV file through the file input; a receptionist records a phone call,
finds the caller's household from 4 digits of its phone number, saves, opens the
household from the ticket and sees the ticket's number there. Screenshots at tablet and
phone size go to /tmp/shots.

Fields and buttons are found by their ids and forms, so the test reads the same in
either language.
"""
from __future__ import annotations

from datetime import datetime, timezone

from playwright.sync_api import Page, expect

from e2e_flow import settled, shot, sign_in_as

SIGNER = {"role": "manager", "id": "st-e2e", "name": "E2E"}
MANAGER, MANAGER_PIN = "周敏", "1357"
DESK, DESK_PIN = "王芳", "2468"
CSV = ("\ufeff楼栋,房号,面积,姓名,电话,身份\n"
       "3号楼,1202,96.5,陈静,13812345678,业主\n"
       "3号楼,1202,,陈小明,13987650000,学生\n"
       "5号楼,101,,刘强,13700001111,租户\n")


def test_a_phone_call_finds_the_household_from_four_digits_and_lands_on_its_page(
        page: Page, make_server, open_phone, requests_seen, page_errors, tmp_path):
    server = make_server()
    directory, now = server.app.extensions["staff_directory"], datetime.now(timezone.utc)
    directory.add(MANAGER, "manager", MANAGER_PIN, actor=SIGNER, now=now)
    directory.add(DESK, "receptionist", DESK_PIN, actor=SIGNER, now=now)
    archive = tmp_path / "档案.csv"
    archive.write_text(CSV, encoding="utf-8")

    sign_in_as(page, server, MANAGER, MANAGER_PIN, "/staff/households")
    page.set_input_files("#archive-file", str(archive))
    page.locator("form[action$='/households/import'] button[type=submit]").click()
    expect(page.locator("p.notice")).to_contain_text("档案.csv")
    shot(page, "archive-index-tablet")
    page.context.clear_cookies()  # the manager leaves; the receptionist signs in

    sign_in_as(page, server, DESK, DESK_PIN, "/staff/record/phone")
    settled(page)
    page.fill("input[name=household_q]", "5678")
    choice = page.locator("#household-found button").first
    expect(choice).to_contain_text("3号楼 1202")
    shot(page, "archive-picker-tablet")
    choice.click()
    picker = page.locator("#household-picker")
    expect(picker.locator("input[name=household]")).to_have_count(1)
    expect(picker).to_contain_text("陈静")
    page.select_option("select[name=category]", "inquiry")
    page.fill("textarea[name=description]", "热水什么时候恢复？")
    page.locator("form[action$='/record/phone'] button[type=submit]").click()

    expect(page.locator("#full-phone")).to_contain_text("13812345678")  # the first person's
    number = page.locator(".ticket-number").first.inner_text().strip()
    page.locator("#household-link").click()
    expect(page.locator("#tickets")).to_contain_text(number)
    expect(page.locator("#people")).to_contain_text("13987650000")
    expect(page.locator("body")).not_to_contain_text("96.5")  # the area: managers only
    shot(page, "archive-household-tablet")
    [ticket] = server.store.open_tickets()
    assert ticket["household"] == page.url.rsplit("/", 1)[1]

    phone = open_phone(server.url)
    sign_in_as(phone, server, DESK, DESK_PIN, page.url.removeprefix(server.url))
    expect(phone.locator("#tickets")).to_contain_text(number)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the household page is {width}px wide on a 390px phone"
    shot(phone, "archive-household-phone")
    phone.goto(server.url + "/staff/record/phone")
    settled(phone)
    phone.fill("input[name=household_q]", "1111")
    expect(phone.locator("#household-found button").first).to_contain_text("5号楼 101")
    shot(phone, "archive-picker-phone")
