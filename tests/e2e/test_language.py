"""中文 by default; "English" is one tap away, and one tap brings Chinese back."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from e2e_flow import CATS, choose_category


def test_switch_to_english_and_back(page: Page, requests_seen, page_errors):
    page.goto("/")
    html = page.locator("html")
    heading = page.get_by_role("heading", level=1)
    expect(html).to_have_attribute("lang", "zh-CN")
    expect(heading).to_have_text("您好！请问有什么可以帮您？")
    expect(page.get_by_role("button", name="报修", exact=True)).to_be_visible()

    page.get_by_role("link", name="English").click()
    expect(html).to_have_attribute("lang", "en")
    expect(heading).to_have_text("Hello! How can we help you?")
    for label in ("Repair", "Complaint", "Inquiry", "Suggestion", "Emergency", "Other"):
        expect(page.get_by_role("button", name=label, exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="报修", exact=True)).to_have_count(0)
    expect(page.locator(".topbar")).to_contain_text("Property service desk")

    page.get_by_role("link", name="中文").click()
    expect(html).to_have_attribute("lang", "zh-CN")
    expect(heading).to_have_text("您好！请问有什么可以帮您？")
    expect(page.get_by_role("link", name="English")).to_be_visible()


def test_switching_mid_flow_stays_on_the_same_step(page: Page):
    page.goto("/")
    choose_category(page, CATS["repair"])
    expect(page.get_by_role("heading", level=1)).to_have_text("在哪里？")
    page.get_by_role("link", name="English").click()
    expect(page).to_have_url(re.compile(r"/report/place$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Where is it?")
    expect(page.get_by_role("button", name=re.compile("Library"))).to_be_visible()
    page.get_by_role("button", name=re.compile("DEMO-LIB")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tell us more")
    page.get_by_label("What happened?").fill("The lights are out")
    page.get_by_label("Phone number").fill("12")
    page.get_by_role("button", name="Next").click()
    expect(page.locator("#phone-error")).to_have_text(
        re.compile("Please enter an 11-digit mobile number"))
    # typed but not sent yet: switching the language on this step carries it along
    page.get_by_label("What happened?").fill("The lights are out in room 201")
    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("请描述情况")
    expect(page.get_by_label("发生了什么？")).to_have_value("The lights are out in room 201")
    expect(page.get_by_label("电话号码")).to_have_value("12")


def test_english_on_a_phone(phone_page: Page):
    phone_page.goto("/")
    phone_page.get_by_role("link", name="English").click()
    expect(phone_page.get_by_role("heading", level=1)).to_have_text("Hello! How can we help you?")
    # the switch stays a comfortable touch target on a small screen
    box = phone_page.get_by_role("link", name="中文").bounding_box()
    assert box["height"] >= 48 and box["width"] >= 48
