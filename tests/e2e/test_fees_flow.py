"""Acceptance (issue 14, point 2) on the tablet: a manager saves the management-fee
standard; a receptionist picks a unit and computes its November fee, the rule shown step
by step; the manager changes the standard from December (a new version); the same
November computation is explained with the standard that applied then, and a period
across the change is split in two. The phone width is checked too.

Fields and buttons are found by their ids and forms, so the test reads the same in
either language; the figures are checked as numbers.
"""
from __future__ import annotations

from datetime import datetime, timezone

from playwright.sync_api import Page, expect

from e2e_flow import narrow_enough, settled, shot, sign_in_as
from kiosk.households import service as households

SIGNER = {"role": "manager", "id": "st-e2e", "name": "E2E"}
MANAGER, DESK, PIN = "刘经理", "王芳", "2468"


def save_standard(page: Page, rate: str, valid_from: str) -> None:
    form = page.locator("#standard")
    page.fill("#item_code", "management")
    page.fill("#name_zh", "综合管理费")
    page.fill("#name_en", "Management fee")
    form.locator("input[name=basis][value=area]").check()
    page.fill("#rate", rate)
    page.fill("#valid_from", valid_from)
    form.locator("button[type=submit]").click()
    expect(page.locator("#item-management")).to_be_visible()


def compute(page: Page, **period) -> None:
    form = page.locator("#compute")
    if form.locator("input[name=household]").count() == 0:
        settled(page)
        page.fill("input[name=household_q]", "5678")
        page.locator("#household-found button").first.click()
        expect(form.locator("input[name=household]")).to_have_count(1)
    page.select_option("#item", "management")
    if "month" in period:
        form.locator("input[name=by][value=month]").check()
        page.fill("#month", period["month"])
    else:
        form.locator("input[name=by][value=days]").check()
        page.fill("#start", period["start"])
        page.fill("#end", period["end"])
    form.locator("button[type=submit]").click()


def test_a_fee_computed_then_explained_again_after_the_standard_changed(
        page: Page, make_server, requests_seen, page_errors, open_phone):
    server = make_server()
    directory, now = server.app.extensions["staff_directory"], datetime.now(timezone.utc)
    for name, role in ((MANAGER, "manager"), (DESK, "receptionist")):
        directory.add(name, role, PIN, actor=SIGNER, now=now)
    households.save(server.store, {"building": "3号楼", "unit": "101", "area": "89.5",
                                   "name_0": "李强", "phone_0": "13812345678",
                                   "relation_0": "owner"}, 1, actor=SIGNER, now=now)

    sign_in_as(page, server, MANAGER, PIN, "/staff/fees")
    save_standard(page, "2.80", "2026-01-01")
    page.context.clear_cookies()  # the manager leaves; the receptionist signs in

    sign_in_as(page, server, DESK, PIN, "/staff/fees")
    expect(page.locator("#standard")).to_have_count(0)  # the desk does not edit standards
    compute(page, month="2026-11")
    result = page.locator("#result")
    expect(result).to_contain_text("89.50 m² × 2.80")
    expect(result).to_contain_text("= 250.60")
    shot(page, "fees-computed-tablet")
    page.context.clear_cookies()

    sign_in_as(page, server, MANAGER, PIN, "/staff/fees")
    page.locator("#item-management ~ p a.button").first.click()  # change: a new version
    expect(page.locator("#rate")).to_have_value("2.80")
    page.fill("#rate", "3.10")
    page.fill("#valid_from", "2026-12-01")
    page.locator("#standard button[type=submit]").click()
    expect(page.locator(".fee-versions tbody tr")).to_have_count(2)  # the old version stays
    shot(page, "fees-manager-tablet")
    page.context.clear_cookies()

    sign_in_as(page, server, DESK, PIN, "/staff/fees")
    compute(page, month="2026-11")  # the same computation: the standard of November
    expect(result).to_contain_text("89.50 m² × 2.80")
    expect(result).to_contain_text("= 250.60")
    expect(result).to_contain_text("2026-01-01")
    expect(result).not_to_contain_text("3.10")
    compute(page, start="2026-11-16", end="2026-12-15")  # across the change: two parts
    expect(result.locator(".fee-part")).to_have_count(2)
    expect(result).to_contain_text("2.80")
    expect(result).to_contain_text("15/30")
    expect(result).to_contain_text("= 125.30")
    expect(result).to_contain_text("3.10")
    expect(result).to_contain_text("15/31")
    expect(result).to_contain_text("= 134.25")
    expect(result.locator(".fee-total")).to_contain_text("259.55")
    shot(page, "fees-split-tablet")
    assert [e["data"]["rate"] for e in server.store.events_after(0)
            if e["type"] == "fee_standard_saved"] == ["2.80", "3.10"]

    phone = open_phone(server.url)
    sign_in_as(phone, server, DESK, PIN, "/staff/fees")
    narrow_enough(phone)
    compute(phone, start="2026-11-16", end="2026-12-15")
    expect(phone.locator("#result .fee-part")).to_have_count(2)
    narrow_enough(phone)
    shot(phone, "fees-phone")
