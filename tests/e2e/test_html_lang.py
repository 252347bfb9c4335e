"""``<html lang>`` follows the language shown, also after switching back to Chinese
(issue 9, point 6): on the start screen (cached per language), a staff page, and the
details step, whose switch is sent with the form and comes back as a boosted page."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from test_staff_console import sign_in, staffed_kiosk

from e2e_flow import CATS, choose_category


def switch_there_and_back(page: Page, english_heading: str, chinese_heading: str) -> None:
    html, heading = page.locator("html"), page.get_by_role("heading", level=1)
    page.locator(".lang-switch").click()
    expect(heading).to_have_text(english_heading)
    expect(html).to_have_attribute("lang", "en")
    page.locator(".lang-switch").click()
    expect(heading).to_have_text(chinese_heading)
    expect(html).to_have_attribute("lang", "zh-CN")


def test_start_screen_and_staff_page_come_back_to_chinese(page: Page, make_server, page_errors):
    server = staffed_kiosk(make_server)
    page.goto(server.url + "/")
    for _ in range(2):  # the second round is served from the start screen's cache
        switch_there_and_back(page, "Hello! How can we help you?", "您好！请问有什么可以帮您？")
    sign_in(page, server)
    switch_there_and_back(page, "Queue", "待办")


def test_the_details_step_switch_sets_html_lang_both_ways(page: Page, make_server, page_errors):
    page.goto(make_server().url + "/")
    html, heading = page.locator("html"), page.get_by_role("heading", level=1)
    choose_category(page, CATS["repair"])
    expect(heading).to_have_text("在哪里？")
    page.get_by_role("link", name="English").click()  # a whole page: lang="en"
    expect(heading).to_have_text("Where is it?")
    expect(html).to_have_attribute("lang", "en")
    page.get_by_role("button", name=re.compile(r"DEMO-LIB\b")).first.click()
    expect(heading).to_have_text("Tell us more")
    page.get_by_label("What happened?").fill("The lights are out")
    page.get_by_role("button", name="中文").click()  # sent with the form, a boosted page
    expect(heading).to_have_text("请描述情况")
    expect(page.get_by_label("发生了什么？")).to_have_value("The lights are out")
    expect(html).to_have_attribute("lang", "zh-CN")
    page.get_by_role("button", name="English").click()
    expect(heading).to_have_text("Tell us more")
    expect(html).to_have_attribute("lang", "en")
