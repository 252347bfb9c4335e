"""Letters from templates (函件, R27) on the tablet: a letter opened from a repair's
ticket page, filled from its household and the ticket, edited, issued and printed on ONE
A4 page (counted by ``pdfinfo``, poppler-utils), then seen on the household's page; the
write page at phone size keeps to the screen's width.

The kiosk runs on its own server with a test clock (``CLOCK``); fields are found by their
ids, so the test holds whatever the catalog translates. Screenshots at tablet and phone
size, and the printed letter as PDF and PNG, go to /tmp/shots.
"""
from __future__ import annotations

import re
import subprocess

from helpers import Clock
from playwright.sync_api import Page, expect

from conftest import PHONE
from e2e_flow import SHOTS, shot, sign_in_as, tool
from kiosk.households import service as households
from kiosk.tickets import actions
from kiosk.tickets import service as tickets

NAME, PIN = "李娜", "2468"
MANAGER = {"role": "manager", "id": "st-e2e", "name": "E2E"}


def kiosk(make_server):
    """A kiosk with a receptionist, a household and its repair, done, taken by phone."""
    clock = Clock()  # 2026-11-28 10:00 in Shanghai
    server = make_server(CLOCK=clock)
    desk = server.app.extensions["staff_directory"].add(NAME, "receptionist", PIN,
                                                        actor=MANAGER, now=clock())
    desk = {"role": "receptionist", "id": desk["id"], "name": NAME}
    store, tz = server.store, server.app.config["TZ"]
    household = households.save(store, {"building": "3号楼", "unit": "101", "name_0": "王芳",
                                        "phone_0": "13812345678", "relation_0": "owner"}, 1,
                                 actor=MANAGER, now=clock(), new=True)
    ticket = tickets.submit_report(
        store, {"category": "repair", "location": "DEMO-LIB", "description": "厨房水管漏水",
                "household": household["id"]},
        channel="phone", actor=desk, now=clock(), tz=tz)
    actions.dispatch(store, ticket["id"], "maintenance", {"id": "st-lw", "name": "老王"},
                     actor=desk, now=clock())
    actions.arrive(store, ticket["id"], actor=desk, now=clock())
    actions.complete(store, ticket["id"], {"result": "已更换水管接头"}, actor=desk, now=clock(),
                     tz=tz)
    return server, household, store.ticket(ticket["id"])


def test_a_letter_from_a_ticket_edited_issued_printed_and_on_the_household_page(
        page: Page, browser, make_server, requests_seen, page_errors):
    server, household, ticket = kiosk(make_server)
    sign_in_as(page, server, NAME, PIN, f"/staff/t/{ticket['id']}")
    page.locator("#write-letter").click()
    expect(page.locator("#template-choice")).to_have_value("maintenance_notice")
    body = page.locator("#body")
    expect(body).to_have_value(re.compile(r"^尊敬的王芳："))
    for filled in (ticket["number"], "厨房水管漏水", "已更换水管接头"):
        expect(body).to_contain_text(filled)
    expect(page.locator("#letter-missing")).to_have_count(0)
    shot(page, "letters-write-tablet")

    body.fill(body.input_value() + "\n\n如仍有问题，请随时与前台联系。")
    page.locator("#subject").fill("维修完成通知")
    page.locator("#letter-form button.primary").click()
    expect(page).to_have_url(re.compile(r"/staff/letters/l-[0-9a-f]{12}/print$"))
    [event] = [e for e in server.store.events_after(0) if e["type"] == "letter_issued"]
    assert event["data"]["household"] == household["id"]
    assert event["data"]["ticket"] == ticket["id"]
    assert event["data"]["body"].endswith("如仍有问题，请随时与前台联系。")
    expect(page.locator("#paper-title")).to_have_text("维修完成通知")
    expect(page.locator("#letter-to")).to_contain_text("3号楼 101 · 王芳")
    shot(page, "letters-print-tablet")

    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    path = SHOTS / "letters-letter.pdf"
    SHOTS.mkdir(exist_ok=True)
    path.write_bytes(pdf)
    info = subprocess.run([tool("pdfinfo"), str(path)], capture_output=True, text=True,
                          timeout=30, check=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M), info
    assert re.search(r"^Page size:.*\(A4\)$", info, re.M), info
    text = subprocess.run([tool("pdftotext"), "-layout", str(path), "-"], capture_output=True,
                          text=True, timeout=30, check=True).stdout
    assert "维修完成通知" in text and "如仍有问题" in text and "2026-11-28" in text
    subprocess.run([tool("pdftoppm"), "-png", "-r", "100", "-singlefile", str(path),
                    str(SHOTS / "letters-letter")], check=True, timeout=60)

    page.goto(server.url + f"/staff/households/{household['id']}")
    letters = page.locator("#letters")
    expect(letters).to_contain_text("维修完成通知")
    expect(letters).to_contain_text(NAME)
    shot(page, "letters-household-tablet")
    page.goto(server.url + "/staff/letters")
    expect(page.locator("#issued")).to_contain_text("维修完成通知")
    shot(page, "letters-index-tablet")


def test_the_write_page_at_phone_size(browser, make_server, requests_seen):
    server, household, ticket = kiosk(make_server)
    phone = browser.new_context(**PHONE, base_url=server.url).new_page()
    sign_in_as(phone, server, NAME, PIN, "/staff/letters")
    phone.goto(f"{server.url}/staff/letters/write?template=arrears_reminder"
               f"&household={household['id']}")
    expect(phone.locator("#letter-missing")).to_contain_text("{欠费起始}")
    expect(phone.locator("#body")).to_have_value(re.compile("3号楼101自{欠费起始}起"))
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "letters-write-phone")
    phone.locator("#letter-form button.primary").click()  # the field is still to fill
    expect(phone.locator("#body-error")).to_be_visible()
    shot(phone, "letters-write-phone-refused")
    phone.context.close()
