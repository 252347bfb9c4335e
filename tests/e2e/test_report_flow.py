"""Every category end to end, from its home tile to the receipt (tablet and phone)."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from e2e_flow import (CATS, PHONE_NUMBER, SKIP_PLACE, choose_category, choose_place, fill_details,
                      number_pattern, send, settled, site_mmdd)

# repair, complaint and emergency are about a place; the others skip it
PLACE = {"repair": "DEMO-LIB", "complaint": "DEMO-CANTEEN", "emergency": "DEMO-GYM",
         "inquiry": None, "suggestion": None, "other": None}
PLACE_NAME = {"DEMO-LIB": "图书馆", "DEMO-CANTEEN": "第一食堂", "DEMO-GYM": "体育馆",
              None: SKIP_PLACE}


def walk_to_receipt(page: Page, code: str) -> None:
    """Report a matter of category ``code`` and check every screen on the way."""
    cat, place = CATS[code], PLACE[code]
    description = f"e2e {code}: 第一行\n第二行"
    phone = PHONE_NUMBER if cat.phone_required or code == "emergency" else ""
    before = site_mmdd()

    page.goto("/")
    choose_category(page, cat)
    # the place step names the matter; only place-free matters may skip the place
    expect(page.locator(".lead")).to_contain_text(cat.tile)
    expect(page.get_by_role("button", name=SKIP_PLACE)).to_have_count(0 if cat.place_required
                                                                      else 1)
    choose_place(page, place)

    expect(page.locator(".steps [aria-current=step]")).to_have_text("详情")
    expect(page.get_by_label("希望维修人员什么时候来？")).to_have_count(1 if code == "repair" else 0)
    fill_details(page, description, phone)

    # review shows the whole entry once more
    summary = page.locator("dl.summary")
    expect(summary).to_contain_text(cat.tile)
    expect(summary).to_contain_text(PLACE_NAME[place])
    expect(summary.locator(".prewrap")).to_have_text(description)
    expect(summary).to_contain_text(phone or "—")
    if code == "repair":
        expect(summary).to_contain_text("尽快")
    send(page)

    expect(page).to_have_url(re.compile(r"/report/receipt$"))
    expect(page.get_by_role("heading", name="您的报事单号")).to_be_visible()
    number = page.locator("#ticket-number")
    expect(number).to_have_text(number_pattern(cat.letter))
    mmdd = number_pattern(cat.letter).match(number.inner_text().strip()).group(1)
    assert mmdd in {before, site_mmdd()}
    next_step = page.get_by_role("status")
    expect(next_step).to_contain_text("接下来")
    expect(next_step).to_contain_text(cat.next_step)
    expect(page.locator("a#status-link")).to_have_attribute("href", re.compile(r"^/t/[\w-]{20,}$"))


@pytest.mark.parametrize("code", list(CATS))
def test_each_category_reaches_its_receipt_on_the_tablet(page: Page, requests_seen, page_errors,
                                                         code):
    walk_to_receipt(page, code)
    assert any(u.endswith("/report/receipt") for u in requests_seen)


@pytest.mark.parametrize("code", ["repair", "emergency", "suggestion"])
def test_categories_reach_their_receipt_on_a_phone(phone_page: Page, code):
    walk_to_receipt(phone_page, code)
    # nothing is wider than the phone's screen
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390


def test_emergency_receipt_is_marked_urgent(page: Page):
    page.goto("/")
    choose_category(page, CATS["emergency"])
    choose_place(page, "DEMO-GATE-N")
    fill_details(page, "北门有人晕倒")
    send(page)
    box = page.locator(".next-step")
    expect(box).to_have_class(re.compile(r"\burgent\b"))
    expect(box).to_contain_text("110 / 119 / 120")


def test_numbers_count_up_within_a_day(page: Page):
    numbers = []
    for _ in range(2):
        page.goto("/")
        choose_category(page, CATS["inquiry"])
        choose_place(page, None)
        fill_details(page, "几点开门？")
        send(page)
        numbers.append(page.locator("#ticket-number").inner_text().strip())
        page.get_by_role("button", name="完成").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("您好！请问有什么可以帮您？")
    (day1, first), (day2, second) = (number_pattern("Q").match(n).groups() for n in numbers)
    # the counter starts again at 001 each day (in case the two straddle midnight)
    assert int(second) == (int(first) + 1 if day1 == day2 else 1), numbers


def test_place_search_narrows_the_list(page: Page, page_errors):
    page.goto("/")
    choose_category(page, CATS["repair"])
    expect(page).to_have_url(re.compile(r"/report/place$"))
    # the step came by a boosted swap: type once htmx has taken the new page in hand
    settled(page)
    places = page.locator("#places button")
    expect(places).not_to_have_count(1)
    page.get_by_label("搜索地点").fill("食堂")
    expect(places).to_have_count(1)
    expect(places).to_contain_text("第一食堂")
    page.get_by_label("搜索地点").fill("zzz-nothing")
    expect(page.locator("#places")).to_contain_text("没有找到相符的地点")
    page.get_by_label("搜索地点").fill("")
    choose_place(page, "DEMO-T1-201")
    expect(page).to_have_url(re.compile(r"/report/details$"))


def test_enter_in_the_place_search_searches_and_picks_nothing(page: Page):
    """The keyboard's Enter key in the search box filters the list; it does not silently
    pick whichever place happens to be first."""
    page.goto("/")
    choose_category(page, CATS["repair"])
    page.get_by_label("搜索地点").fill("食堂")
    with page.expect_request(lambda r: r.url.endswith("/report/place?q=%E9%A3%9F%E5%A0%82")
                             and r.method == "GET" and not r.headers.get("hx-trigger"),
                             timeout=5000):
        page.get_by_label("搜索地点").press("Enter")
    page.wait_for_load_state("networkidle")
    expect(page).to_have_url(re.compile(r"/report/place\?q="))
    expect(page.get_by_role("heading", level=1)).to_have_text("在哪里？")
    expect(page.locator("#places button")).to_have_count(1)
    expect(page.locator("#places button")).to_contain_text("第一食堂")
    expect(page.get_by_label("搜索地点")).to_have_value("食堂")
