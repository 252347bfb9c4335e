"""A validation error is shown next to its field and keeps everything typed."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from e2e_flow import CATS, choose_category, choose_place, send

DESCRIPTION = "三楼男卫生间水龙头关不上，\n水一直在流。"


def go_to_details(page: Page, code: str = "repair") -> None:
    page.goto("/")
    choose_category(page, CATS[code])
    choose_place(page, "DEMO-LIB")
    expect(page).to_have_url(re.compile(r"/report/details$"))


def test_a_bad_phone_number_is_explained_and_the_text_is_kept(page: Page, requests_seen,
                                                              page_errors):
    go_to_details(page)
    page.get_by_label("发生了什么？").fill(DESCRIPTION)
    page.get_by_label("您的称呼").fill("王老师")
    page.get_by_label("电话号码").fill("123")
    page.get_by_role("button", name="下一步").click()

    expect(page.get_by_role("alert")).to_contain_text("您填写的内容都已保留")
    phone = page.get_by_label("电话号码")
    error = page.locator("#phone-error")
    expect(error).to_have_text(re.compile("请输入 11 位手机号码"))
    expect(phone).to_have_attribute("aria-invalid", "true")
    # the message sits with its field, and is announced with it
    expect(page.locator(".field.invalid")).to_have_count(1)
    expect(page.locator(".field.invalid #phone-error")).to_be_visible()
    expect(phone).to_have_accessible_description(re.compile("请输入 11 位手机号码"))
    # everything typed is still there
    expect(page.get_by_label("发生了什么？")).to_have_value(DESCRIPTION)
    expect(page.get_by_label("您的称呼")).to_have_value("王老师")
    expect(phone).to_have_value("123")
    expect(page).to_have_url(re.compile(r"/report/details$"))

    # fixing the number moves on, and the fixed entry is what is reviewed
    phone.fill("138 1234 5678")
    page.get_by_role("button", name="下一步").click()
    summary = page.locator("dl.summary")
    expect(summary).to_contain_text("13812345678")
    expect(summary.locator(".prewrap")).to_have_text(DESCRIPTION)
    send(page)
    expect(page.locator("#ticket-number")).to_have_text(re.compile(r"^R-"))


def test_missing_description_and_phone_for_a_complaint(page: Page):
    go_to_details(page, "complaint")
    page.get_by_role("button", name="下一步").click()
    expect(page.locator("#description-error")).to_have_text(re.compile("请填写此项"))
    expect(page.locator("#phone-error")).to_have_text(re.compile("请留下电话号码"))
    expect(page.get_by_label("发生了什么？")).to_have_attribute("aria-invalid", "true")


def test_going_back_from_review_keeps_the_details(page: Page):
    go_to_details(page)
    page.get_by_label("发生了什么？").fill(DESCRIPTION)
    page.get_by_label("电话号码").fill("13812345678")
    page.get_by_role("button", name="下一步").click()
    expect(page).to_have_url(re.compile(r"/report/review$"))
    page.locator("dl.summary").get_by_role("link", name="修改").nth(2).click()
    expect(page).to_have_url(re.compile(r"/report/details$"))
    expect(page.get_by_label("发生了什么？")).to_have_value(DESCRIPTION)
    expect(page.get_by_label("电话号码")).to_have_value("13812345678")
