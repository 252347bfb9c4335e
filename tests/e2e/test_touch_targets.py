"""Every control a visitor can touch is at least 48x48 CSS pixels, and nothing is wider
than the screen, on the tablet and on a phone, on every screen of the flow."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page

from e2e_flow import CATS, PHONE_NUMBER, choose_category, choose_place, fill_details, send

CONTROLS = """() => [...document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), textarea, select, [role=button]')]
  .filter(el => el.offsetParent !== null || getComputedStyle(el).position === 'fixed')
  .map(el => { const r = el.getBoundingClientRect();
               return {what: el.outerHTML.slice(0, 80), w: r.width, h: r.height}; })
  .filter(c => c.w > 0 && c.h > 0)"""


#: The icons a <use> could not draw from the sprite (an empty box instead of an icon).
BLANK_ICONS = """() => [...document.querySelectorAll('svg.icon use')]
  .filter(use => !(use.getBBox().width > 0)).map(use => use.getAttribute('href'))"""


def check_screen(page: Page, name: str, problems: list) -> None:
    page.wait_for_load_state("load")
    blank = page.evaluate(BLANK_ICONS)
    if blank:
        problems.append(f"{name}: icons not drawn: {blank}")
    width = page.viewport_size["width"]
    scroll = page.evaluate("document.documentElement.scrollWidth")
    if scroll > width:
        problems.append(f"{name}: the page is {scroll}px wide on a {width}px screen")
    controls = page.evaluate(CONTROLS)
    if not controls:
        problems.append(f"{name}: no controls found")
    for c in controls:
        if c["w"] < 48 or c["h"] < 48:
            problems.append(f"{name}: {c['w']:.0f}x{c['h']:.0f} {c['what']}")


def walk(page: Page) -> list:
    """Visit every screen of a repair report, with a validation error on the way."""
    problems: list = []
    page.goto("/")
    check_screen(page, "home", problems)
    choose_category(page, CATS["repair"])
    check_screen(page, "place", problems)
    choose_place(page, "DEMO-T1-201")
    page.get_by_label("发生了什么？").fill("投影仪不亮")
    page.get_by_label("电话号码").fill("12")
    page.get_by_role("button", name="下一步").click()
    page.locator("#phone-error").wait_for()
    check_screen(page, "details with an error", problems)
    fill_details(page, "投影仪不亮", PHONE_NUMBER)
    page.wait_for_url(re.compile(r"/report/review$"))
    check_screen(page, "review", problems)
    send(page)
    page.locator("#ticket-number").wait_for()
    check_screen(page, "receipt", problems)
    page.locator("#status-link").click()
    page.wait_for_url(re.compile(r"/t/"))
    check_screen(page, "status", problems)
    page.goto("/q/NOPE")
    check_screen(page, "unknown place", problems)
    return problems


def test_touch_targets_on_the_tablet(page: Page):
    assert walk(page) == []


def test_touch_targets_on_a_phone(phone_page: Page):
    assert walk(phone_page) == []


@pytest.mark.parametrize("width", [320])
def test_nothing_overflows_a_small_phone(browser, live_server, width):
    """The smallest phones in use (320 px) still fit every screen without sideways scroll."""
    context = browser.new_context(viewport={"width": width, "height": 640}, has_touch=True,
                                  is_mobile=True, base_url=live_server.url)
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        problems = [p for p in walk(page) if "wide on a" in p]
        assert problems == []
    finally:
        context.close()
