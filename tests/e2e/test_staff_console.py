"""The receptionist's console on the tablet: the live queue, confirming and correcting an
entry, the emergency alarm, phone records, unfinished entries (R3) and the QR posters.

Each test runs on its own kiosk (``make_server``) with one receptionist, 王芳; visitors
report from their own phone (``open_phone``), a second browser. Texts are the Chinese UI.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone

from playwright.sync_api import Page, expect

from e2e_flow import (CATS, PHONE_NUMBER, choose_category, choose_place, fill_details, report,
                      send, settled)
from kiosk.locations import service as places
from kiosk.qr import qr_svg

SIGNER = {"role": "manager", "id": "st-e2e", "name": "E2E"}
NAME, PIN = "王芳", "2468"
GREETING = "您好，客户服务部，有什么能为您服务吗？"
OPEN = "处理中"
PLACE = re.compile(r"^地点")  # a label around a <select> is named with its choice too


def staffed_kiosk(make_server, **config):
    """A fresh kiosk with one receptionist on file."""
    server = make_server(**config)
    server.app.extensions["staff_directory"].add(NAME, "receptionist", PIN, actor=SIGNER,
                                                 now=datetime.now(timezone.utc))
    return server


def sign_in(page: Page, server, path: str = "/staff/") -> None:
    """Open a staff page, sign in as the receptionist and land on it."""
    page.goto(server.url + path)
    sign_in_here(page)
    expect(page).to_have_url(server.url + path)


def sign_in_here(page: Page) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("员工登录")
    # the sign-in page came by a boosted link: type only once htmx has settled it (the PIN
    # once went into the name box of a page still being swapped in)
    settled(page)
    page.get_by_label("您的称呼").fill(NAME)
    page.get_by_label("密码").fill(PIN)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.locator(".staff-who")).to_have_text(f"{NAME} · 前台接待员")


def ticket_by_number(server, number: str) -> dict:
    return next(t for t in server.store.open_tickets() if t["number"] == number)


def test_a_visitors_entry_appears_in_the_open_queue_and_is_confirmed_with_a_correction(
        page: Page, make_server, open_phone, requests_seen, page_errors):
    server = staffed_kiosk(make_server)
    sign_in(page, server)
    rows = page.locator("#queue-rows")
    expect(rows).to_contain_text("暂无待办。")
    queue_url = page.url
    page.evaluate("window.__still_this_page = true")

    # a visitor reports from their phone while the queue stays open on the tablet
    number = report(open_phone(server.url), CATS["repair"], place="DEMO-LIB",
                    description="图书馆二楼的灯坏了")
    link = page.get_by_role("link", name=number, exact=True)
    expect(link).to_be_visible(timeout=8000)  # the queue polls every 5 s
    assert page.url == queue_url
    assert page.evaluate("window.__still_this_page") is True  # no reload, no navigation
    row = rows.locator("tr", has=link)
    expect(row).to_contain_text("图书馆")
    expect(row).to_contain_text("已收到，等待前台确认")

    # open it, put it at the right place, confirm
    link.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(number)
    expect(page.locator("#full-phone")).to_have_text(PHONE_NUMBER)  # staff see it whole
    expect(page.get_by_role("heading", name="确认此登记")).to_be_visible()
    page.get_by_text("确认前修改内容").click()  # the corrections fold out
    page.get_by_label(PLACE).select_option("DEMO-GYM")
    page.get_by_role("button", name="确认", exact=True).click()

    expect(page.locator(".status-pill")).to_have_text(OPEN)
    expect(page.locator("dl.summary")).to_contain_text("体育馆 (DEMO-GYM)")
    timeline = page.locator("ol.staff-timeline")
    confirmed = timeline.locator("li.event-confirmed")
    expect(confirmed).to_contain_text("已确认")
    expect(confirmed.locator(".who")).to_have_text(NAME)
    amended = timeline.locator("li.event-amended")
    expect(amended).to_contain_text("更正")
    expect(amended.locator(".who")).to_have_text(NAME)
    expect(amended).to_contain_text("地点")  # the field by its name, the place by its name
    expect(amended.locator("del")).to_have_text("图书馆 (DEMO-LIB)")
    expect(amended.locator("ins")).to_have_text("体育馆 (DEMO-GYM)")
    ticket = ticket_by_number(server, number)
    assert (ticket["status"], ticket["location"]) == ("open", "DEMO-GYM")
    assert [e["type"] for e in ticket["events"]][-2:] == ["amended", "confirmed"]


def test_an_emergency_is_pinned_on_top_with_the_alarm_until_acknowledged(
        page: Page, make_server, open_phone, requests_seen, page_errors):
    server = staffed_kiosk(make_server)
    phone = open_phone(server.url)
    inquiry = report(phone, CATS["inquiry"], place=None, description="几点开门？", phone="")
    emergency = report(phone, CATS["emergency"], place="DEMO-GATE-N", description="北门有人晕倒")
    sign_in(page, server)

    rows = page.locator("#queue-rows tr")
    expect(rows).to_have_count(2)
    first = rows.first
    expect(first.get_by_role("link")).to_have_text(emergency)  # reported last, shown first
    expect(first).to_have_class(re.compile(r"\balarm\b"))
    expect(first.get_by_role("alert")).to_contain_text("紧急情况：请立即响应")  # after its icon
    expect(rows.nth(1).get_by_role("link")).to_have_text(inquiry)
    expect(page.get_by_role("alert")).to_have_count(1)

    first.get_by_role("link", name=emergency).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(emergency)
    chain = page.locator(".chain-levels")
    expect(chain.locator("li.current")).to_contain_text("客户服务部经理")  # whom to tell first
    chain.locator("li.current").get_by_role("button", name="确认已响应").click()
    expect(page.get_by_role("button", name="确认已响应")).to_have_count(0)
    acknowledged = page.locator("ol.staff-timeline li.event-acknowledged")
    expect(acknowledged).to_contain_text("已响应")
    expect(acknowledged.locator(".who")).to_have_text(NAME)

    page.get_by_role("link", name="待办").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("待办")
    expect(rows).to_have_count(2)
    expect(page.locator(".alarm-badge")).to_have_count(0)
    expect(page.locator("#queue-rows tr.alarm")).to_have_count(0)


def test_a_phone_call_is_recorded_under_the_greeting(page: Page, make_server, requests_seen,
                                                    page_errors):
    server = staffed_kiosk(make_server)
    sign_in(page, server)
    page.get_by_role("link", name="电话").click()
    expect(page).to_have_url(server.url + "/staff/record/phone")
    # the greeting script comes first, above the form
    greeting = page.get_by_role("note")
    expect(greeting).to_have_text(GREETING)
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text("电话记录")
    assert greeting.bounding_box()["y"] < heading.bounding_box()["y"]
    assert page.evaluate("document.querySelector('main .greeting').previousElementSibling"
                         ".classList.contains('staff-nav')")

    page.get_by_label("事项").select_option("repair")
    page.get_by_label(PLACE).select_option("DEMO-CANTEEN")
    page.get_by_label("详情").fill("食堂后厨水管漏水")
    page.get_by_label("称呼").fill("张老师")
    page.get_by_label("电话", exact=True).fill(PHONE_NUMBER)
    page.get_by_role("button", name="保存记录").click()

    expect(page).to_have_url(re.compile(r"/staff/t/[\w-]+$"))
    expect(page.locator(".eyebrow")).to_have_text("报修 · 电话")
    expect(page.locator(".status-pill")).to_have_text(OPEN)  # recorded by staff: no confirming
    summary = page.locator("dl.summary")
    expect(summary).to_contain_text("第一食堂 (DEMO-CANTEEN)")
    expect(summary).to_contain_text("张老师")
    expect(summary).to_contain_text("食堂后厨水管漏水")
    expect(page.locator("#full-phone")).to_have_text(PHONE_NUMBER)
    reported = page.locator("ol.staff-timeline li.event-reported")
    expect(reported.locator(".who")).to_have_text(NAME)
    number = page.get_by_role("heading", level=1).inner_text().strip()
    assert re.fullmatch(r"R-\d{4}-\d{3}", number)
    ticket = ticket_by_number(server, number)
    assert (ticket["channel"], ticket["status"], ticket["location"]) == (
        "phone", "open", "DEMO-CANTEEN")


def test_an_amendment_on_an_open_ticket_shows_the_old_and_the_new_value(
        page: Page, make_server, requests_seen, page_errors):
    server = staffed_kiosk(make_server)
    sign_in(page, server, "/staff/record/walk_in")
    expect(page.get_by_role("note")).to_contain_text("您好！请坐。")
    page.get_by_label("事项").select_option("inquiry")
    page.get_by_label("详情").fill("问水费怎么交")
    page.get_by_role("button", name="保存记录").click()
    expect(page.locator(".status-pill")).to_have_text(OPEN)
    expect(page.locator(".eyebrow")).to_have_text("咨询 · 来访")

    # no confirm step on an open ticket: the correction form sits folded
    expect(page.get_by_role("button", name="确认", exact=True)).to_have_count(0)
    page.get_by_text("更正此报事单").click()
    page.get_by_label("详情").fill("问电费怎么交")
    page.get_by_label("称呼").fill("刘先生")
    page.get_by_role("button", name="保存更正").click()

    expect(page.locator("dl.summary .prewrap")).to_have_text("问电费怎么交")
    amended = page.locator("ol.staff-timeline li.event-amended")
    expect(amended).to_have_count(1)
    expect(amended.locator(".who")).to_have_text(NAME)
    changes = amended.locator("ul.changes li")
    expect(changes).to_have_count(2)
    description = changes.filter(has_text="问电费怎么交")
    expect(description.locator("del")).to_have_text("问水费怎么交")
    expect(description.locator("ins")).to_have_text("问电费怎么交")
    name = changes.filter(has_text="刘先生")
    expect(name.locator("del")).to_have_text("—")  # there was none
    expect(name.locator("ins")).to_have_text("刘先生")
    expect(page.locator(".status-pill")).to_have_text(OPEN)


def test_a_visitors_half_filled_entry_waits_for_staff_to_finish_it(page: Page, make_server,
                                                                   requests_seen, page_errors):
    server = staffed_kiosk(make_server)
    # a visitor starts a repair on the tablet and walks away before giving a phone number
    page.goto(server.url + "/")
    choose_category(page, CATS["repair"])
    choose_place(page, "DEMO-LIB")
    fill_details(page, "三楼走廊的灯一闪一闪")
    expect(page.locator("#phone-error")).to_be_visible()

    # the receptionist takes the tablet: from the start screen to the staff sign-in
    page.get_by_role("link", name="物业服务前台").click()
    expect(page.locator(".notice.resume")).to_be_visible()
    page.get_by_role("link", name="员工").click()
    sign_in_here(page)
    expect(page).to_have_url(server.url + "/staff/")
    expect(page.get_by_role("heading", name="未完成的登记")).to_be_visible()
    draft = page.locator("ul.drafts li")
    expect(draft).to_have_count(1)
    expect(draft).to_contain_text("报修 · 三楼走廊的灯一闪一闪")

    draft.get_by_role("link", name="补全登记").click()
    expect(page).to_have_url(re.compile(r"/staff/record/walk_in\?draft="))
    expect(page.get_by_label("事项")).to_have_value("repair")
    expect(page.get_by_label(PLACE)).to_have_value("DEMO-LIB")
    expect(page.get_by_label("详情")).to_have_value("三楼走廊的灯一闪一闪")
    page.get_by_label("电话", exact=True).fill(PHONE_NUMBER)
    page.get_by_role("button", name="保存记录").click()

    expect(page.locator(".eyebrow")).to_have_text("报修 · 来访")
    expect(page.locator("dl.summary")).to_contain_text("图书馆 (DEMO-LIB)")
    number = page.get_by_role("heading", level=1).inner_text().strip()
    page.get_by_role("link", name="待办").click()
    expect(page.get_by_role("link", name=number, exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="未完成的登记")).to_have_count(0)
    assert server.store.all_drafts() == []
    ticket = ticket_by_number(server, number)
    assert (ticket["description"], ticket["phone"]) == ("三楼走廊的灯一闪一闪", PHONE_NUMBER)


def test_the_qr_sheet_has_one_code_per_active_place_each_starting_there(
        page: Page, make_server, open_phone, requests_seen, page_errors):
    server = staffed_kiosk(make_server)
    server.app.config["PUBLIC_BASE_URL"] = server.url  # the tablet's address, as phones see it
    places.retire(server.store, "DEMO-GATE-N", datetime.now(timezone.utc), SIGNER)
    active = {p["code"]: p["name_zh"] for p in server.store.locations()}
    assert "DEMO-GATE-N" not in active and len(active) == 7

    sign_in(page, server)
    page.get_by_role("link", name="更多").click()
    page.get_by_role("link", name="地点").click()
    page.get_by_role("link", name="打印二维码海报").click()
    expect(page).to_have_url(server.url + "/staff/places/posters")
    expect(page.get_by_role("heading", level=1)).to_have_text("二维码海报")
    expect(page.get_by_role("alert")).to_have_count(0)  # the public address is set
    posters = page.locator("article.poster")
    expect(posters).to_have_count(len(active))
    expect(page.locator(".sheet svg.qr")).to_have_count(len(active))

    printed = {}
    for poster in posters.all():
        code = poster.locator(".poster-code").inner_text().strip()
        url = poster.locator(".poster-url").inner_text().strip()
        assert url == f"{server.url}/q/{code}"
        expect(poster.locator(".poster-name")).to_have_text(active[code])
        expect(poster.locator("svg.qr")).to_have_count(1)
        # the code drawn is the URL printed under it
        drawn = poster.locator("svg.qr path").get_attribute("d")
        assert drawn == re.search(r' d="([^"]+)"', str(qr_svg(url))).group(1), code
        printed[code] = url
    assert set(printed) == set(active)

    # a phone scanning each poster reports about that place, without choosing it
    phone = open_phone(server.url)
    numbers = {}
    for code, url in printed.items():
        phone.goto(url)
        expect(phone).to_have_url(server.url + "/")
        expect(phone.locator(".place-notice")).to_contain_text(active[code])
        choose_category(phone, CATS["repair"])
        expect(phone).to_have_url(server.url + "/report/details")
        fill_details(phone, f"{code} 的灯坏了", PHONE_NUMBER)
        expect(phone.locator("dl.summary")).to_contain_text(active[code])
        send(phone)
        number = phone.locator("#ticket-number")
        expect(number).to_have_text(re.compile(r"^R-\d{4}-\d{3}$"))
        numbers[code] = number.inner_text().strip()
    for code, number in numbers.items():
        ticket = ticket_by_number(server, number)
        assert (ticket["location"], ticket["channel"]) == (code, "qr"), number
