"""The public status page, reached from the receipt's QR link: number, masked phone, timeline."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from e2e_flow import CATS, MASKED_PHONE, PHONE_NUMBER, report


def open_status(page: Page) -> str:
    """From the receipt, follow the QR code's link; return the ticket number."""
    number = page.locator("#ticket-number").inner_text().strip()
    link = page.locator("a#status-link")
    expect(link).to_have_attribute("href", re.compile(r"^/t/[\w-]{20,}$"))
    expect(link.locator("svg")).to_be_visible()  # the QR code itself
    href = link.get_attribute("href")
    link.click()
    expect(page).to_have_url(re.compile(re.escape(href) + "$"))
    return number


def test_status_page_from_the_receipt(page: Page, requests_seen, page_errors):
    report(page, CATS["repair"], place="DEMO-LIB", phone=PHONE_NUMBER)
    number = open_status(page)

    expect(page.get_by_role("heading", level=1)).to_have_text(number)
    main = page.locator("main")
    expect(main).to_contain_text("报修")
    expect(main).to_contain_text("图书馆")
    expect(page.locator(".status-pill")).to_have_text("已收到，等待前台确认")
    # the phone number is masked, never shown in full, not even hidden in the markup
    expect(main).to_contain_text(MASKED_PHONE)
    assert PHONE_NUMBER not in page.content()
    # a repair tells when maintenance is due on site
    expect(main).to_contain_text("维修人员预计到场")
    # the timeline has the report, with its time
    steps = page.locator("ol.timeline li")
    expect(steps).to_have_count(1)
    expect(steps.first).to_contain_text("已登记")
    expect(steps.first.locator("time")).to_have_text(re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$"))
    expect(steps.first.locator("time")).to_have_attribute("datetime", re.compile(r"^\d{4}-\d{2}-"))


def test_status_page_on_a_phone(phone_page: Page):
    report(phone_page, CATS["complaint"], place="DEMO-CANTEEN", description="饭菜太咸",
           phone="010-6275 1234")
    number = open_status(phone_page)
    expect(phone_page.get_by_role("heading", level=1)).to_have_text(number)
    expect(phone_page.locator("main")).to_contain_text("*******1234")
    assert "62751234" not in phone_page.content()
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390


def test_status_page_without_a_phone(page: Page):
    report(page, CATS["suggestion"], place=None, description="多放几张长椅", phone="")
    open_status(page)
    expect(page.locator("main")).not_to_contain_text("电话")
    expect(page.locator("ol.timeline li")).to_contain_text("已登记")


def test_unknown_status_token_is_a_friendly_404(page: Page):
    response = page.goto("/t/" + "x" * 30)
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("找不到这张报事单")
    expect(page.get_by_role("link", name="返回首页")).to_be_visible()
