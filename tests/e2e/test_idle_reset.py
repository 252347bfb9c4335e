"""The kiosk clears itself for the next visitor: a warning with a countdown, then home.

These run on their own server with short timeouts (seconds instead of minutes).
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from e2e_flow import CATS, PHONE_NUMBER, choose_category, choose_place, send

IDLE, COUNTDOWN = 2, 2
TYPED = "这是上一位访客写的内容"


@pytest.fixture
def kiosk(make_server, page: Page):
    """A kiosk that warns after 2 s idle and clears 2 s later; the page starts on it."""
    server = make_server(IDLE_SECONDS=IDLE, IDLE_COUNTDOWN_SECONDS=COUNTDOWN, RECEIPT_SECONDS=1)
    page.goto(server.url + "/")
    return server


def start_typing(page: Page) -> None:
    choose_category(page, CATS["repair"])
    choose_place(page, "DEMO-LIB")
    page.get_by_label("发生了什么？").fill(TYPED)
    page.get_by_label("电话号码").fill(PHONE_NUMBER)


def resets(page: Page) -> list:
    posts = []
    page.on("request", lambda r: posts.append(r.url)
            if r.method == "POST" and r.url.endswith("/reset") else None)
    return posts


def test_idle_warning_counts_down_then_clears_the_form(page: Page, kiosk, requests_seen,
                                                       page_errors):
    start_typing(page)
    warning = page.locator("#idle-warning")
    expect(warning).to_be_hidden()
    # after IDLE seconds without a touch: the warning, counting down
    expect(warning).to_be_visible(timeout=(IDLE + 2) * 1000)
    expect(page.get_by_role("alertdialog")).to_contain_text("您还在吗？")
    expect(page.locator("#idle-count")).to_have_text(re.compile(r"^[0-2]$"))
    expect(page.get_by_role("button", name="我还在")).to_be_focused()
    # then the kiosk goes home, the entry forgotten
    expect(page.get_by_role("heading", level=1)).to_have_text("您好！请问有什么可以帮您？",
                                                              timeout=(COUNTDOWN + 3) * 1000)
    expect(page).to_have_url(kiosk.url + "/")
    expect(page.locator(".notice.resume")).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text(TYPED)
    # the Back button does not bring the last visitor's entry back
    page.go_back(wait_until="commit")
    expect(page.get_by_role("heading", level=1)).to_have_text("您好！请问有什么可以帮您？")
    expect(page.locator("body")).not_to_contain_text(TYPED)
    # going back into the flow starts afresh
    choose_category(page, CATS["repair"])
    choose_place(page, "DEMO-LIB")
    expect(page.get_by_label("发生了什么？")).to_have_value("")
    expect(page.get_by_label("电话号码")).to_have_value("")


def test_i_am_still_here_cancels_the_reset(page: Page, kiosk):
    posts = resets(page)
    page.clock.install()  # time runs as usual, and the test may move it on at once
    start_typing(page)
    warning = page.locator("#idle-warning")
    page.clock.run_for(IDLE * 1000 + 100)
    expect(warning).to_be_visible()
    count = page.locator("#idle-count")
    expect(count).to_have_text(str(COUNTDOWN))
    page.clock.run_for(1000)
    expect(count).to_have_text(str(COUNTDOWN - 1))  # it counts down, second by second
    page.get_by_role("button", name="我还在").click()
    expect(warning).to_be_hidden()
    # move past the moment the countdown would have cleared the screen
    page.clock.run_for(COUNTDOWN * 1000 + 500)
    assert posts == []
    expect(page).to_have_url(re.compile(r"/report/details$"))
    expect(page.get_by_label("发生了什么？")).to_have_value(TYPED)


def test_typing_keeps_the_kiosk_awake(page: Page, kiosk):
    posts = resets(page)
    page.clock.install()
    start_typing(page)
    box = page.get_by_label("发生了什么？")
    for _ in range(5):  # 5 x 1.5 s > IDLE + COUNTDOWN, never IDLE without a key
        page.clock.run_for(1500)
        box.press("End")
        box.press_sequentially("。")
    expect(page.locator("#idle-warning")).to_be_hidden()
    assert posts == []
    expect(box).to_have_value(TYPED + "。" * 5)


def test_the_receipt_clears_itself(page: Page, kiosk):
    page.clock.install()
    start_typing(page)
    page.get_by_role("button", name="下一步").click()
    send(page)
    expect(page.locator("#ticket-number")).to_be_visible()
    # RECEIPT_SECONDS (1) then the countdown (2): home again
    page.clock.run_for(1000 + 100)
    expect(page.locator("#idle-warning")).to_be_visible()
    page.clock.run_for(COUNTDOWN * 1000)
    expect(page.get_by_role("heading", level=1)).to_have_text("您好！请问有什么可以帮您？")
    # the receipt is gone from the session too
    page.goto(kiosk.url + "/report/receipt")
    expect(page).to_have_url(kiosk.url + "/")
    expect(page.locator("#ticket-number")).to_have_count(0)


def test_a_phone_never_resets(make_server, open_phone):
    """On a visitor's own phone (QR channel) nothing times out."""
    server = make_server(IDLE_SECONDS=1, IDLE_COUNTDOWN_SECONDS=1)
    page = open_phone(server.url)
    page.clock.install()
    page.goto("/?via=phone")
    choose_category(page, CATS["inquiry"])
    choose_place(page, None)
    page.get_by_label("发生了什么？").fill(TYPED)
    expect(page.locator("#idle-config")).to_have_count(0)
    page.clock.run_for(5000)
    expect(page.locator("#idle-warning")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/report/details$"))
    expect(page.get_by_label("发生了什么？")).to_have_value(TYPED)
