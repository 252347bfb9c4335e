"""An emergency from the kiosk to its acknowledgement (issue 10, R12), on tablets: the
visitor's short flow ("I don't know where", no phone), the receptionist's queue sounding
the alarm with the level of the chain to call and the acknowledge button on the row, above
the fold; five minutes later (the clock moved, not waited for) the next level highlighted
and the alarm still sounding; acknowledged on the row, the alarm stops and the ticket's
timeline says who took it on. Texts are the Chinese default UI."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from helpers import CHAIN, Clock
from playwright.sync_api import Page, expect
from test_staff_console import NAME, sign_in, staffed_kiosk

from e2e_flow import CATS, choose_category, send
from kiosk.departments import service as departments

MANAGER = {"role": "manager", "id": "st-e2e", "name": "E2E"}
TABLET = {"viewport": {"width": 1280, "height": 800}, "has_touch": True}
#: Counts the oscillators the page starts: each beep of the alarm is one.
COUNT_BEEPS = """(() => {
  window.__beeps = 0;
  const Context = window.AudioContext;
  const start = Context.prototype.createOscillator;
  Context.prototype.createOscillator = function () {
    window.__beeps += 1;
    return start.call(this);
  };
})();"""


def beeps(page: Page) -> int:
    return page.evaluate("window.__beeps")


def test_an_emergency_sounds_until_acknowledged_on_its_queue_row(
        page: Page, browser, make_server, requests_seen, page_errors):
    clock = Clock(datetime.now(timezone.utc))
    server = staffed_kiosk(make_server, CLOCK=clock, STAFF_IDLE_SECONDS=3600)
    departments.save_chain(server.store, CHAIN, actor=MANAGER, now=clock())

    # the visitor, on the kiosk tablet: the tile, "I don't know where", a few words, send
    page.goto(server.url + "/")
    choose_category(page, CATS["emergency"])
    advice = page.locator(".emergency-numbers")
    expect(advice).to_contain_text("110")
    page.get_by_role("button", name="我不知道在哪里").click()
    expect(page).to_have_url(re.compile(r"/report/details$"))
    expect(page.locator(".emergency-numbers")).to_be_in_viewport()
    assert page.locator(".emergency-numbers").bounding_box()["y"] < \
        page.get_by_role("heading", level=1).bounding_box()["y"]
    expect(page.get_by_label("电话号码")).to_have_value("")  # optional: left empty
    page.get_by_label("发生了什么？").fill("楼梯间有烟")
    page.get_by_role("button", name="下一步").click()
    send(page)
    number = page.locator("#ticket-number").inner_text().strip()
    expect(page.locator(".next-step.urgent")).to_contain_text("110 / 119 / 120")
    (ticket,) = server.store.open_tickets()
    assert (ticket["number"], ticket["location"], ticket["phone"]) == (number, "", "")

    # the receptionist's tablet: the queue sounds and shows whom to call
    desk_context = browser.new_context(**TABLET)
    desk_context.add_init_script(COUNT_BEEPS)
    desk = desk_context.new_page()
    desk.set_default_timeout(10_000)
    sign_in(desk, server)  # a tap: the browser now lets the page play sound
    rows = desk.locator("#queue-rows")
    expect(rows).to_have_attribute("data-alarm", "1")
    row = rows.locator("tr", has=desk.get_by_role("link", name=number, exact=True))
    expect(row).to_have_class(re.compile(r"\balarm\b"))
    call = row.locator(".call-now")
    expect(call).to_contain_text("客户服务部经理")
    expect(call).to_contain_text("周敏")
    expect(call).to_contain_text("13800000001")
    expect(call).not_to_have_class(re.compile(r"\bescalated\b"))
    button = row.get_by_role("button", name="确认已响应")
    expect(button).to_be_visible()
    assert desk.evaluate("window.scrollY") == 0
    box = button.bounding_box()
    assert 0 <= box["y"] and box["y"] + box["height"] < 800, box  # no scrolling on the tablet
    expect(desk.locator("#queue-rows")).to_have_attribute("data-alarm", "1")
    desk.wait_for_function("() => window.__beeps > 0")

    # tapping the ticket opens its own address (not the queue's), and back again
    desk.get_by_role("link", name=number, exact=True).click()
    expect(desk.get_by_role("heading", level=1)).to_have_text(number)
    assert desk.url == f"{server.url}/staff/t/{ticket['id']}"
    desk.go_back()
    expect(desk).to_have_url(server.url + "/staff/")
    expect(rows).to_have_attribute("data-alarm", "1")

    # five minutes without an acknowledgement: the next level, and the alarm goes on
    clock.now += timedelta(minutes=5)
    expect(call).to_have_class(re.compile(r"\bescalated\b"), timeout=8000)  # the 5 s poll
    expect(call).to_contain_text("物管中心主任")
    expect(call).to_contain_text("钱军")
    expect(rows).to_have_attribute("data-alarm", "1")
    heard = beeps(desk)
    desk.wait_for_function("heard => window.__beeps > heard", arg=heard, timeout=8000)

    # acknowledged on the row: the ticket's timeline says who took it on, the alarm stops
    assert row.get_by_role("button", name="确认已响应").bounding_box()["y"] < 800
    row.get_by_role("button", name="确认已响应").click()
    expect(desk).to_have_url(f"{server.url}/staff/t/{ticket['id']}")
    acknowledged = desk.locator("ol.staff-timeline li.event-acknowledged")
    expect(acknowledged).to_contain_text("钱军")
    expect(acknowledged.locator(".who")).to_have_text(NAME)
    stored = server.store.ticket(ticket["id"])
    assert (stored["acknowledged_by"], stored["acknowledged_level"]) == ("钱军", 1)

    desk.get_by_role("link", name="待办").click()
    expect(rows).to_have_attribute("data-alarm", "0")
    expect(desk.locator("#queue-rows tr.alarm")).to_have_count(0)
    expect(desk.locator(".row-acknowledge")).to_have_count(0)
    heard = beeps(desk)
    desk.wait_for_timeout(5500)  # a poll and more than one beat of the alarm
    assert beeps(desk) == heard
    desk_context.close()
