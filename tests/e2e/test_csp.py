"""No page breaks the Content Security Policy or logs any other error in the browser
console, across the visitor's flow and the staff pages (issue 9): htmx's own indicator
styles would be an inline <style>, refused by ``style-src 'self'``, so they are off and
the stylesheet styles indicators.

``page_errors`` (conftest) collects console errors (a CSP violation is one), script
errors and failed loads, and fails the test if there is any. Texts are the Chinese UI.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone

from playwright.sync_api import Page, expect

from e2e_flow import CATS, PHONE_NUMBER, choose_category, choose_place, fill_details, send

SIGNER = {"role": "manager", "id": "st-e2e", "name": "E2E"}
NAME, PIN = "王芳", "2468"
STAFF_PAGES = ["/staff/record/phone", "/staff/record/walk_in", "/staff/places", "/staff/sync",
               "/staff/team"]


#: True once every icon of the page is drawn from the sprite (a <use> it cannot resolve
#: draws nothing: its box is empty).
ICONS_DRAWN = """() => [...document.querySelectorAll('svg.icon use')]
  .every(use => use.getBBox().width > 0 && use.getBBox().height > 0)"""


def settle(page: Page) -> None:
    """Let the page finish loading, so that what it logs is seen before the next step; its
    icons must be drawn."""
    page.wait_for_load_state("load")
    page.wait_for_function(ICONS_DRAWN, timeout=5000)
    page.wait_for_timeout(150)


def visitor_flow(page: Page, base: str) -> str:
    """Report an emergency through every visitor screen; return its status page."""
    page.goto(base + "/")
    settle(page)
    assert page.locator(".tile svg.icon").count() == len(CATS)
    choose_category(page, CATS["emergency"])
    settle(page)
    choose_place(page, "DEMO-LIB")
    settle(page)
    page.goto(base + "/report/details")  # a fresh load of the page the issue saw it on
    settle(page)
    page.get_by_label("发生了什么？").fill("水管爆裂")
    page.get_by_label("电话号码").fill("12")
    page.get_by_role("button", name="下一步").click()
    expect(page.locator("#phone-error")).to_be_visible()  # details with an error
    settle(page)
    fill_details(page, "水管爆裂", PHONE_NUMBER)
    settle(page)
    send(page)
    expect(page.locator("#ticket-number")).to_be_visible()
    settle(page)
    page.locator("#status-link").first.click()
    page.wait_for_url(re.compile(r"/t/"))
    settle(page)
    return page.url


def staff_pages(page: Page, base: str) -> None:
    """Sign in through the sign-in page (a wrong PIN first), then open every staff page."""
    page.goto(base + "/staff/login")
    settle(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("员工登录")
    page.get_by_label("您的称呼").fill(NAME)
    page.get_by_label("密码").fill("1357")
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.locator(".error-summary, .error").first).to_be_visible()
    settle(page)
    page.get_by_label("您的称呼").fill(NAME)
    page.get_by_label("密码").fill(PIN)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.locator(".staff-who")).to_have_text(f"{NAME} · 经理")
    settle(page)
    page.goto(base + "/staff/")  # a fresh load of the queue, its alarm ringing
    expect(page.locator(".alarm-badge svg.icon")).to_be_visible()
    assert page.locator(".staff-nav svg.icon").count() == 3  # phone, walk-in, emergencies
    settle(page)
    page.locator("#queue-rows tr.alarm a").first.click()  # a ticket
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^E-\d{4}-\d{3}$"))
    settle(page)
    page.reload()
    settle(page)
    for path in STAFF_PAGES:
        response = page.goto(base + path)
        assert response.status == 200, path
        expect(page.locator(".staff-who")).to_be_visible()
        settle(page)


def test_no_page_logs_a_csp_violation_or_any_console_error(page: Page, make_server, page_errors):
    server = make_server()
    server.app.extensions["staff_directory"].add(NAME, "manager", PIN, actor=SIGNER,
                                                 now=datetime.now(timezone.utc))
    status = visitor_flow(page, server.url)
    page.goto(status)  # the status page as a visitor opens it from the QR code
    settle(page)
    staff_pages(page, server.url)
    assert page_errors == []


def test_the_check_sees_htmx_inline_indicator_styles(page: Page, make_server):
    """The watch above would catch htmx's indicator styles: with them switched back on in
    the page, the browser refuses the inline <style> and says so in the console."""
    server = make_server()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    def indicator_styles_on(route):
        response = route.fetch()
        body = response.text()
        assert '"includeIndicatorStyles": false' in body
        route.fulfill(response=response,
                      body=body.replace('"includeIndicatorStyles": false',
                                        '"includeIndicatorStyles": true'))

    page.route(re.compile(r"/(staff/login|report/details)$"), indicator_styles_on)
    page.goto(server.url + "/staff/login")
    settle(page)
    assert any("Content Security Policy" in e and "style" in e for e in errors), errors
