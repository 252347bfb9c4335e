"""Notices (R18) on the tablet: a receptionist publishes one through the staff pages, the
kiosk's start screen (its idle screen) shows it in the rotating panel, and once the
clock passes its end it is gone after a reload.

The kiosk runs on its own server with a test clock (``CLOCK``); fields are found by their
ids, so the test holds whatever the catalog translates.
"""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from helpers import Clock
from playwright.sync_api import Page, expect

from e2e_flow import CATS
from kiosk.notices import service

NAME, PIN = "王芳", "2468"
SIGNER = {"role": "manager", "id": "st-e2e", "name": "E2E"}
SHOTS = Path("/tmp/shots")


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"notices-{name}.png"), full_page=True)


def test_a_published_notice_rotates_on_the_idle_screen_then_expires(
        page: Page, browser, make_server, requests_seen, page_errors):
    clock = Clock()  # 2026-11-28 10:00 in Shanghai
    server = make_server(CLOCK=clock)
    server.app.extensions["staff_directory"].add(NAME, "receptionist", PIN, actor=SIGNER,
                                                 now=clock())
    # the receptionist writes a notice, valid until tomorrow 18:00, pinned
    page.goto(server.url + "/staff/notices/new")
    page.get_by_label("您的称呼").fill(NAME)
    page.get_by_label("密码").fill(PIN)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).to_have_url(server.url + "/staff/notices/new")
    page.locator("#text").fill("周六 8:00–12:00 停水，请提前储水。")
    page.locator("#valid_to").fill("2026-11-29T18:00")
    page.locator("#building").select_option("")
    page.locator("form.form button.primary").click()
    expect(page.locator("#title-error")).to_be_visible()  # the title is missing
    expect(page.locator("#text")).to_have_value("周六 8:00–12:00 停水，请提前储水。")
    shot(page, "form-error")
    page.locator("#title").fill("3号楼停水通知")
    page.locator("#importance").select_option("important")
    page.locator("input[name=pinned]").check()
    page.locator("form.form button.primary").click()
    expect(page).to_have_url(re.compile(r"/staff/notices(#notice-n-[0-9a-f]+)?$"))
    expect(page.locator(".notice-row")).to_contain_text("3号楼停水通知")
    shot(page, "staff-list")
    # two more, so the panel has something to turn to
    for title, text in (("电梯年检", "1号楼电梯周五上午年检。"), ("消防演练", "下周三下午消防演练。")):
        service.publish(server.store, {"title": title, "text": text,
                                       "valid_from": "2026-11-28T09:00",
                                       "valid_to": "2026-12-05T18:00"},
                        actor={"role": "receptionist", "id": "x", "name": NAME}, now=clock(),
                        tz=server.app.config["TZ"])
    # the kiosk's start screen, which an idle kiosk returns to: the pinned notice stays in
    # view, the others take turns
    kiosk = browser.new_page(viewport={"width": 1280, "height": 800}, has_touch=True)
    kiosk.goto(server.url + "/")
    board = kiosk.locator("#notice-board")
    expect(board).to_be_visible()
    expect(board.locator("[aria-live=polite]")).to_have_count(1)
    expect(board.locator(".notice-pinned")).to_contain_text("3号楼停水通知")
    shown = board.locator(".notice-slide:visible")
    expect(shown).to_have_count(1)
    expect(shown).to_contain_text(re.compile("电梯年检|消防演练"))
    first, second = (("电梯年检", "消防演练") if "电梯年检" in shown.inner_text()
                     else ("消防演练", "电梯年检"))
    expect(board).not_to_contain_text(NAME)
    expect(kiosk.locator(".tile")).to_have_count(len(CATS))
    shot(kiosk, "kiosk-tablet")
    expect(shown).to_contain_text(second, timeout=12_000)  # about 8 s later, the next
    expect(board.locator(".notice-slide:visible")).to_have_count(1)
    expect(board.locator(".notice-pinned")).to_be_visible()
    expect(shown).to_contain_text(first, timeout=12_000)  # and round again
    # on a phone: every notice at once, in a list
    phone = browser.new_page(viewport={"width": 390, "height": 844}, has_touch=True,
                             is_mobile=True, device_scale_factor=2)
    phone.goto(server.url + "/?via=phone")
    expect(phone.locator(".notice-list article")).to_have_count(3)
    shot(phone, "phone")
    phone.close()
    # the day after its end, the notice is gone by itself
    clock.now += timedelta(days=1, hours=9)
    kiosk.reload()
    expect(kiosk.locator("body")).not_to_contain_text("3号楼停水通知")
    expect(kiosk.locator("#notice-board .notice-slide")).to_have_count(2)
    clock.now += timedelta(days=7)
    kiosk.reload()
    expect(kiosk.locator("#notice-board")).to_have_count(0)
    kiosk.close()
