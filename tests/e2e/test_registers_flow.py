"""The parcel and item registers (R19) on the tablet: a parcel logged, its pickup code
read off its page and printed on the 80 mm slip, then collected with that code (a wrong
code first: refused, everything typed kept); an item lent until a time, flagged overdue
once the clock passes it, then returned.

The kiosk runs on its own server with a test clock (``CLOCK``); fields are found by their
ids, so the test holds whatever the catalog translates. Screenshots at tablet and phone
size, and the slip as PDF and PNG, go to /tmp/shots.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from datetime import timedelta

from helpers import Clock
from playwright.sync_api import Page, expect

from conftest import PHONE
from e2e_flow import SHOTS, shot, sign_in_as

NAME, PIN = "王芳", "2468"
SIGNER = {"role": "manager", "id": "st-e2e", "name": "E2E"}


def kiosk(make_server):
    clock = Clock()  # 2026-11-28 10:00 in Shanghai
    server = make_server(CLOCK=clock)
    server.app.extensions["staff_directory"].add(NAME, "receptionist", PIN, actor=SIGNER,
                                                 now=clock())
    return server, clock


def test_a_parcel_from_arrival_to_pickup_with_its_code(page: Page, browser, make_server,
                                                       requests_seen, page_errors):
    server, clock = kiosk(make_server)
    sign_in_as(page, server, NAME, PIN, "/staff/parcels")
    arrival = page.locator("#arrival form")
    arrival.locator("#recipient").fill("李明")
    arrival.locator("#phone").fill("13812345678")
    arrival.locator("#carrier").fill("顺丰")
    arrival.locator("#tracking").fill("SF1234567890")
    arrival.locator("#shelf").fill("B-3")
    arrival.locator("button[type=submit]").click()
    code_box = page.locator("#pickup-code")
    expect(code_box).to_have_text(re.compile(r"^\d{6}$"))
    code = code_box.inner_text()
    shot(page, "registers-parcel-tablet")

    page.get_by_role("link", name=re.compile("80")).click()
    expect(page.locator("#slip-code")).to_have_text(code)
    shot(page, "registers-slip-screen")
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    (SHOTS / "registers-slip.pdf").write_bytes(pdf)
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "150", "-singlefile",
                        str(SHOTS / "registers-slip.pdf"), str(SHOTS / "registers-slip")],
                       check=True, timeout=60)

    # an hour later the recipient comes with the code; a mistyped one first
    clock.now += timedelta(minutes=30)
    sign_in_as(page, server, NAME, PIN, "/staff/parcels")
    row = page.locator(f"tr[data-code='{code}']")
    expect(row).to_contain_text("李明")
    shot(page, "registers-parcels-tablet")
    pickup = page.locator("#pickup form")
    wrong = "000000" if code != "000000" else "111111"
    pickup.locator("#code").fill(wrong)
    pickup.locator("#collected_by").fill("李明的家人")
    pickup.locator("input[name=identified_by][value=id_card]").check()
    pickup.locator("button[type=submit]").click()
    expect(page.locator("#code-error")).to_be_visible()
    expect(page.locator("#code")).to_have_value(wrong)
    expect(page.locator("#collected_by")).to_have_value("李明的家人")
    expect(page.locator("input[name=identified_by][value=id_card]")).to_be_checked()
    shot(page, "registers-pickup-error")
    page.locator("#code").fill(code)
    page.locator("#pickup button[type=submit]").click()
    expect(page.locator("p.notice[role=status]")).to_contain_text("李明的家人")
    expect(page.locator(f"tr[data-code='{code}']")).to_have_count(0)
    expect(page.locator("#recent")).to_contain_text("李明的家人")
    [event] = [e for e in server.store.events_after(0) if e["type"] == "parcel_collected"]
    assert event["data"]["identified_by"] == "id_card"

    phone = browser.new_context(**PHONE, base_url=server.url).new_page()
    sign_in_as(phone, server, NAME, PIN, "/staff/parcels")
    phone.locator("#arrival #recipient").fill("张华")
    phone.locator("#arrival input[name=kind][value=registered_letter]").check()
    phone.locator("#arrival button[type=submit]").click()
    expect(phone.locator("#tracking-error")).to_be_visible()
    expect(phone.locator("#recipient")).to_have_value("张华")
    phone.locator("#tracking").fill("XA00001")
    phone.locator("#arrival button[type=submit]").click()
    expect(phone.locator("#pickup-code")).to_have_text(re.compile(r"^\d{6}$"))
    shot(phone, "registers-parcel-phone")
    phone.goto(server.url + "/staff/parcels")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "registers-parcels-phone")
    phone.context.close()


def test_an_item_lent_is_flagged_overdue_when_the_clock_passes_its_due_time(
        page: Page, browser, make_server, requests_seen, page_errors):
    server, clock = kiosk(make_server)
    sign_in_as(page, server, NAME, PIN, "/staff/items")
    lend = page.locator("#lend form")
    lend.locator("#item").fill("3号会议室钥匙")
    lend.locator("#to_name").fill("赵工")
    lend.locator("#due_at").fill("2026-11-28T12:00")  # two hours from now, site time
    lend.locator("button[type=submit]").click()
    row = page.locator("#out tbody tr").first
    expect(row).to_contain_text("3号会议室钥匙")
    expect(row.locator(".overdue")).to_have_count(0)
    shot(page, "registers-items-tablet")

    clock.now += timedelta(hours=2, minutes=5)  # past its due time
    sign_in_as(page, server, NAME, PIN, "/staff/items")
    row = page.locator("#out tbody tr").first
    expect(row).to_have_class("due-late")
    expect(row.locator(".overdue")).to_be_visible()
    shot(page, "registers-items-overdue-tablet")

    phone = browser.new_context(**PHONE, base_url=server.url).new_page()
    sign_in_as(phone, server, NAME, PIN, "/staff/items")
    expect(phone.locator("#out .overdue")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "registers-items-phone")
    phone.context.close()

    row.locator("button[type=submit]").click()
    expect(page.locator("#out tbody tr .overdue")).to_have_count(0)
    expect(page.locator("#recent")).to_contain_text(NAME)
