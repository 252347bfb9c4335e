"""Acceptance (issue 12): a shift handover on the tablet. The outgoing receptionist
prepares and signs it; the banner waits on the queue; the incoming receptionist
acknowledges with their own name and PIN on the same tablet; the banner is gone and the
history shows both names.

Fields and buttons are found by their ids and forms, so the test reads the same in
either language.
"""
from __future__ import annotations

from datetime import datetime, timezone

from playwright.sync_api import Page, expect

from e2e_flow import sign_in_as
from kiosk.tickets import actions

SIGNER = {"role": "manager", "id": "st-e2e", "name": "E2E"}
OUT, OUT_PIN = "王芳", "2468"
IN, IN_PIN = "李强", "1357"


def staffed_kiosk(make_server):
    """A fresh kiosk with two receptionists and an emergency nobody acknowledged."""
    server = make_server()
    directory, now = server.app.extensions["staff_directory"], datetime.now(timezone.utc)
    out = directory.add(OUT, "receptionist", OUT_PIN, actor=SIGNER, now=now)
    directory.add(IN, "receptionist", IN_PIN, actor=SIGNER, now=now)
    emergency = actions.record(
        server.store, {"category": "emergency", "location": "DEMO-LIB",
                       "description": "走廊有烟", "phone": "13812345678"}, "phone",
        actor={k: out[k] for k in ("role", "id", "name")}, now=now,
        tz=server.app.config["TZ"], policy=server.app.config["POLICY"])
    return server, emergency["number"]


def test_the_incoming_receptionist_acknowledges_the_handover_with_their_own_pin(
        page: Page, make_server, requests_seen, page_errors):
    server, number = staffed_kiosk(make_server)
    sign_in_as(page, server, OUT, OUT_PIN, "/staff/handover")
    prepared = page.locator("#prepare")
    expect(prepared).to_contain_text(number)  # the emergency nobody acknowledged
    page.select_option("#to", IN)
    page.fill("#notes", "3号楼钥匙在保安处。")
    prepared.locator("button[type=submit]").click()

    pending = page.locator("#pending")
    expect(pending).to_contain_text(OUT)
    expect(pending).to_contain_text("3号楼钥匙在保安处。")

    page.goto(server.url + "/staff/")
    banner = page.locator("#handover-pending")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text(OUT)
    expect(banner).to_contain_text(IN)
    banner.get_by_role("link").click()

    expect(pending).to_be_visible()
    page.fill("#ack_name", IN)
    page.fill("#ack_pin", "0000")  # a wrong PIN first: refused, nothing stored
    pending.locator("button[type=submit]").click()
    expect(page.locator("#ack_pin-error")).to_be_visible()
    expect(page.locator("#ack_pin")).to_have_value("")
    expect(page.locator("#ack_name")).to_have_value(IN)
    page.fill("#ack_pin", IN_PIN)
    pending.locator("button[type=submit]").click()

    expect(page.locator("#pending")).to_have_count(0)
    row = page.locator(".handover-history tbody tr").first
    expect(row.locator(".signed-by")).to_have_text(OUT)
    expect(row.locator(".acknowledged-by")).to_contain_text(IN)

    page.goto(server.url + "/staff/")
    expect(page.locator("#handover-pending")).to_have_count(0)
    [event] = [e for e in server.store.events_after(0) if e["type"] == "handover_acknowledged"]
    assert event["actor"]["name"] == IN


def test_the_diary_is_written_and_printed_at_phone_width(
        make_server, open_phone):
    server, _ = staffed_kiosk(make_server)
    page = open_phone(server.url)
    sign_in_as(page, server, OUT, OUT_PIN, "/staff/more")
    page.get_by_role("link", name="工作日记").click()  # boosted: htmx runs no script tag
    expect(page).to_have_url(server.url + "/staff/diary")
    page.fill("#text", "电梯年检完成。")
    page.locator("form.diary-add button[type=submit]").click()
    expect(page.locator("#entries")).to_contain_text("电梯年检完成。")
    expect(page.locator("#entries")).to_contain_text(OUT)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the diary is {width}px wide on a 390px phone"
    # the page came by boosted links and a boosted form, yet its Print button works
    page.evaluate("window.print = () => { window.__printed = true; }")
    page.locator("button[data-print]").click()
    assert page.evaluate("window.__printed") is True
    page.emulate_media(media="print")
    expect(page.locator(".staff-nav")).to_be_hidden()
    expect(page.locator("form.diary-add")).to_be_hidden()
    expect(page.locator("#entries")).to_be_visible()
