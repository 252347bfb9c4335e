"""The move-in hand-over (R24) on the tablet: a move-in started for a household picked
from the archive, its steps taken one by one (a bad key count first: refused, what was
typed kept), the keys found in the item register, the readings in the meter readings,
then the hand-over record printed on ONE A4 page (counted from the PDF's page objects).

Screenshots at tablet and phone size, and the record as PDF and PNG, go to /tmp/shots.
"""
from __future__ import annotations

import re
import shutil
import subprocess

from helpers import Clock
from playwright.sync_api import Page, expect

from conftest import PHONE
from e2e_flow import SHOTS, pdf_pages, settled, shot
from kiosk.households import household_id
from kiosk.households import service as households

NAME, PIN = "王芳", "2468"
SIGNER = {"role": "manager", "id": "st-e2e", "name": "E2E"}


def test_a_move_in_from_start_to_the_printed_record(page: Page, browser, make_server,
                                                    page_errors):
    clock = Clock()
    server = make_server(CLOCK=clock)
    server.app.extensions["staff_directory"].add(NAME, "receptionist", PIN, actor=SIGNER,
                                                 now=clock())
    households.save(server.store, {"building": "3栋", "unit": "1201", "area": "89.5",
                                   "name_0": "王业主", "phone_0": "13800000001",
                                   "relation_0": "owner"}, 1, actor=SIGNER, now=clock())
    hid = household_id("3栋", "1201")

    page.goto(server.url + "/staff/movein")
    page.locator("input[name=name]").fill(NAME)
    page.locator("input[name=pin]").fill(PIN)
    page.locator("form[action*='login'] button[type=submit]").click()
    expect(page).to_have_url(server.url + "/staff/movein")

    start = page.locator("#start form")
    settled(page)
    start.locator("input[name=household_q]").fill("1201")
    page.locator("#household-found button, #household-found a").first.click()
    expect(start.locator("input[name=household]")).to_have_value(hid)
    start.locator("#name").fill("陈新")
    start.locator("#phone").fill("13912345678")
    start.locator("#relation").select_option("tenant")
    shot(page, "movein-start-tablet")
    start.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/staff/movein/\w+$"))
    movein_url = page.url

    def done_step(fill=None):
        form = page.locator(".movein-next form")
        if fill:
            fill(form)
        form.locator("button[type=submit]").click()

    done_step(lambda f: f.locator("#note").fill("身份证已核验"))
    done_step()
    expect(page.locator("#step-identity")).to_contain_text(NAME)
    # keys: a bad count first, refused with everything typed kept
    form = page.locator(".movein-next form")
    form.locator("#key_count_0").fill("2")
    form.locator("#key_count_1").fill("x")
    form.locator("button[type=submit]").click()
    expect(page.locator("#key_count_1-error")).to_be_visible()
    expect(page.locator("#key_count_0")).to_have_value("2")
    expect(page.locator("#key_item_0")).to_have_value("入户门钥匙")
    shot(page, "movein-keys-error-tablet")
    page.locator("#key_count_1").fill("1")
    done_step()
    expect(page.locator("#step-keys")).to_contain_text("入户门钥匙 × 2")

    # paused: the list of move-ins in progress resumes it
    page.goto(server.url + "/staff/movein")
    expect(page.locator(".moveins-open")).to_contain_text("陈新")
    page.locator(".moveins-open a.button").first.click()
    expect(page).to_have_url(movein_url)

    def readings(f):
        f.locator("#meter_water").fill("W-1201")
        f.locator("#reading_water").fill("12.5")
        f.locator("#meter_electricity").fill("E-1201")
        f.locator("#reading_electricity").fill("3021")
    done_step(readings)
    expect(page.locator("#name")).to_have_value("陈新")
    shot(page, "movein-contact-tablet")
    done_step()
    done_step()  # no notice is valid: the step just confirms
    expect(page.locator(".movein-done")).to_have_count(6)
    expect(page.locator(".movein-next")).to_have_count(0)
    shot(page, "movein-done-tablet")

    # the keys in the item register, the readings in the meter readings
    page.goto(server.url + "/staff/items")
    recent = page.locator(".items-recent")
    expect(recent).to_contain_text("入户门钥匙 × 2")
    expect(recent).to_contain_text("单元门禁卡 × 1")
    expect(recent).to_contain_text("3栋 1201")
    page.goto(server.url + "/staff/meters")
    expect(page.locator("body")).to_contain_text("W-1201")
    expect(page.locator("body")).to_contain_text("3021")
    page.goto(server.url + f"/staff/households/{hid}")
    expect(page.locator("#moveins")).to_contain_text("陈新")

    # the printed record: one A4 page
    page.goto(movein_url + "/record")
    expect(page.locator(".paper")).to_contain_text("3栋 1201")
    shot(page, "movein-record-tablet")
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    assert pdf_pages(pdf) == 1, f"the record prints on {pdf_pages(pdf)} pages"
    SHOTS.mkdir(exist_ok=True)
    (SHOTS / "movein-record.pdf").write_bytes(pdf)
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "80", "-singlefile",
                        str(SHOTS / "movein-record.pdf"), str(SHOTS / "movein-record")],
                       check=True, timeout=60)
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(SHOTS / "movein-record.pdf")],
                              capture_output=True, text=True, check=True).stdout
        assert re.search(r"^Pages:\s+1$", info, re.M)

    phone = browser.new_page(**PHONE)
    phone.context.add_cookies(page.context.cookies())
    for path, name in ((movein_url, "checklist-phone"), (server.url + "/staff/movein",
                                                         "index-phone")):
        phone.goto(path)
        shot(phone, f"movein-{name}")
    phone.close()
    assert page_errors == []
