"""The work plan (R26) on the tablet: a receptionist adds a task, carries it over with its
reason (refused without one) and finds it on its new day with the reason; the manager's
"what slipped" lists it; the plan prints on ONE A4 landscape page. The same plan on a
phone. Screenshots of each, and the printed page as a PNG, go to /tmp/shots.

The kiosk runs on its own server with a test clock (``CLOCK``): Saturday 2026-11-28 in
Shanghai, so the plan runs from Monday 11-23 to Sunday 12-27. Fields are found by their
ids, so the test holds whatever the catalog translates.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from datetime import timedelta

import pytest
from helpers import Clock
from playwright.sync_api import Page, expect

from e2e_flow import SHOTS, pdf_pages, shot, sign_in_as

NAME, MANAGER, PIN = "王芳", "赵经理", "2468"
SIGNER = {"role": "manager", "id": "st-e2e", "name": "E2E"}


def test_a_task_carried_over_with_its_reason_slips_and_prints_on_one_page(
        page: Page, browser, make_server, open_phone, requests_seen, page_errors):
    clock = Clock()
    server = make_server(CLOCK=clock)
    directory = server.app.extensions["staff_directory"]
    for name, role in ((NAME, "receptionist"), (MANAGER, "manager")):
        directory.add(name, role, PIN, actor=SIGNER, now=clock())
    # the receptionist adds a one-off task for Tuesday 12-01, assigned to herself
    sign_in_as(page, server, NAME, PIN, "/staff/plan/new")
    page.locator("#title").fill("3号楼催费通知")
    page.locator("#kind").select_option("fee_reminder")
    page.locator("#assignee").select_option(NAME)
    page.locator("input[name=repeat][value=once]").check()
    page.locator("#due").fill("2026-12-01")
    page.locator("form.form button.primary").click()
    expect(page).to_have_url(server.url + "/staff/plan")
    day = page.locator("#day-2026-12-01")
    expect(day.locator(".plan-entry")).to_contain_text("3号楼催费通知")
    expect(day.locator(".plan-entry")).to_contain_text(NAME)
    # and a weekly meter-reading round on Mondays for the manager
    page.get_by_role("link", name=re.compile("添加任务|Add a task")).click()
    page.locator("#title").fill("周一抄表")
    page.locator("#kind").select_option("meter_round")
    page.locator("#assignee").select_option(MANAGER)
    page.locator("input[name=repeat][value=week]").check()
    page.locator("#weekday").select_option("0")
    shot(page, "plan-form")
    page.locator("form.form button.primary").click()
    for monday in ("2026-11-30", "2026-12-07", "2026-12-14", "2026-12-21"):
        expect(page.locator(f"#day-{monday} .plan-entry")).to_contain_text("周一抄表")
    expect(page.locator("#day-2026-11-23 .plan-entry")).to_have_count(0)  # saved after it
    shot(page, "plan-tablet")
    # carried over: refused without a reason, what was typed kept
    day.locator(".plan-entry").click()
    page.locator("#to").fill("2026-12-03")
    page.locator("form.form button.big").click()
    expect(page.locator("#reason-error")).to_be_visible()
    expect(page.locator("#to")).to_have_value("2026-12-03")
    shot(page, "plan-carry-error")
    page.locator("#reason").fill("通知单还没印好")
    page.locator("form.form button.big").click()
    expect(page).to_have_url(re.compile(r"/staff/plan(#day-2026-12-03)?$"))
    moved = page.locator("#day-2026-12-03 .plan-entry")
    expect(moved).to_contain_text("3号楼催费通知")
    expect(moved.locator(".plan-carried")).to_contain_text("2026-12-01")
    expect(moved.locator(".plan-carried")).to_contain_text("通知单还没印好")
    expect(page.locator("#day-2026-12-01 .plan-entry")).to_have_count(0)
    expect(page.locator("#day-2026-12-01 .plan-moved")).to_contain_text("2026-12-03")
    expect(page.get_by_role("link", name=re.compile("漏办|What slipped"))).to_have_count(0)
    shot(page, "plan-carried")

    # the plan printed: one A4 landscape page with the five weeks
    page.goto(server.url + "/staff/plan/print")
    expect(page.locator(".plan-sheet td")).to_have_count(35)
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    assert pdf_pages(pdf) == 1, f"the plan prints on {pdf_pages(pdf)} pages"
    SHOTS.mkdir(exist_ok=True)
    (SHOTS / "plan-print.pdf").write_bytes(pdf)
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        pytest.fail("pdftoppm is missing: install Debian's poppler-utils")
    subprocess.run([pdftoppm, "-png", "-r", "100", "-singlefile", str(SHOTS / "plan-print.pdf"),
                    str(SHOTS / "plan-print")], check=True, timeout=60)
    size = subprocess.run(["pdfinfo", str(SHOTS / "plan-print.pdf")], capture_output=True,
                          text=True, check=True, timeout=30).stdout
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", size).groups())
    assert width > height, "the plan prints in landscape"
    shot(page, "plan-print-screen")

    # the manager, five days on (Thursday 12-03 passed, not done): what slipped lists it
    clock.now += timedelta(days=6)  # Friday 12-04
    manager = browser.new_page(viewport={"width": 1280, "height": 800}, has_touch=True)
    sign_in_as(manager, server, MANAGER, PIN, "/staff/plan")
    manager.get_by_role("link", name=re.compile("漏办|What slipped")).click()
    late, carried = manager.locator("#late"), manager.locator("#carried")
    expect(late).to_contain_text("3号楼催费通知")
    expect(late).to_contain_text("周一抄表")  # Monday 11-30, never marked done
    expect(carried).to_contain_text("3号楼催费通知")
    expect(carried).to_contain_text("通知单还没印好")
    expect(carried).to_contain_text("2026-12-03")
    shot(manager, "plan-slipped")

    # the plan on a phone: only the days with something on, each task a big target
    phone = open_phone(server.url)
    sign_in_as(phone, server, NAME, PIN, "/staff/plan")
    entry = phone.locator("#day-2026-12-07 .plan-entry")
    expect(entry).to_contain_text("周一抄表")
    assert entry.bounding_box()["height"] >= 48
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "plan-phone")
    manager.close()
