"""QR posters: /q/<code> starts an entry at that place; an unknown code is a friendly 404."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from e2e_flow import CATS, PHONE_NUMBER, choose_category, choose_place, fill_details, send


def test_a_place_qr_code_skips_the_place_step(page: Page, requests_seen, page_errors):
    page.goto("/q/DEMO-LIB")
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator(".place-notice")).to_contain_text("图书馆")
    choose_category(page, CATS["repair"])
    # straight to the details: the place came from the poster
    expect(page).to_have_url(re.compile(r"/report/details$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("请描述情况")
    fill_details(page, "阅览室空调漏水", PHONE_NUMBER)
    expect(page.locator("dl.summary")).to_contain_text("图书馆")
    send(page)
    expect(page.locator("#ticket-number")).to_have_text(re.compile(r"^R-\d{4}-\d{3}$"))
    assert not any("/report/place" in u for u in requests_seen)


def test_a_place_qr_code_on_a_phone(phone_page: Page):
    phone_page.goto("/q/DEMO-D3-LOBBY")
    expect(phone_page.locator(".place-notice")).to_contain_text("3号学生公寓 大堂")
    choose_category(phone_page, CATS["complaint"])
    fill_details(phone_page, "大堂晚上太吵", PHONE_NUMBER)
    send(phone_page)
    expect(phone_page.locator("#ticket-number")).to_have_text(re.compile(r"^C-\d{4}-\d{3}$"))
    expect(phone_page.get_by_role("status")).to_contain_text("客户服务部经理会审阅您的投诉")


def test_an_unknown_place_code_is_a_friendly_404(page: Page, requests_seen, page_errors):
    response = page.goto("/q/NOPE")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("无法识别这个地点编号")
    expect(page.locator("main")).to_contain_text("NOPE")
    expect(page.locator("body")).not_to_contain_text("Traceback")
    # ...and a way to go on: report anyway and choose the place
    page.get_by_role("link", name="自己选择地点").click()
    choose_category(page, CATS["repair"])
    choose_place(page, "DEMO-GYM")
    expect(page).to_have_url(re.compile(r"/report/details$"))


def test_an_unknown_page_is_a_friendly_404(page: Page):
    response = page.goto("/no/such/page")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("找不到这个页面")
    page.get_by_role("link", name="返回首页").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("您好！请问有什么可以帮您？")
