"""Two repairs carried through their procedure (R9, R15), the desk on the tablet and the
technician on their own phone: reported at the kiosk, confirmed, dispatched with a
printed work order whose QR code the technician scans to sign in, arrival verified by
opening the place's poster, completion, the revisit, and closing; a second repair whose
revisit is "not satisfied" reopens and is back on the technician's list. Texts are the
Chinese UI."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from playwright.sync_api import Page, expect

from conftest import TABLET
from e2e_flow import CATS, report
from test_print_forms import decode_qr
from test_staff_console import NAME, SIGNER, sign_in
from test_technician import (TECHNICIAN, arrive_at_place, complete_order, dispatched_repair,
                             technician_signs_in_from_order)


def primary_step(page: Page):
    return page.locator(".primary-step")


def test_a_repair_from_the_kiosk_to_closing_and_a_second_reopened_by_its_revisit(
        browser, make_server, open_phone, tmp_path):
    server = make_server()
    page = browser.new_context(**TABLET, base_url=server.url).new_page()  # the kiosk tablet
    directory = server.app.extensions["staff_directory"]
    now = datetime.now(timezone.utc)
    desk = directory.add(NAME, "receptionist", "2468", actor=SIGNER, now=now)
    technician = directory.add(*TECHNICIAN[:1], "maintenance", TECHNICIAN[1], actor=SIGNER,
                               now=now)

    number = report(page, CATS["repair"], "DEMO-LIB", "阅览室的灯一直闪")  # at the kiosk
    sign_in(page, server)
    page.get_by_role("link", name=number).click()
    expect(page).to_have_url(re.compile(r"/staff/t/[0-9A-Za-z]+$"))
    tid = page.url.rsplit("/", 1)[1]
    primary_step(page).get_by_role("button", name="确认", exact=True).click()

    step = primary_step(page)
    expect(step.get_by_role("heading")).to_have_text("派工给维修部门")
    step.get_by_label(re.compile("^部门")).select_option("maintenance")
    step.get_by_label(re.compile("^维修人员")).select_option(technician["id"])
    step.get_by_role("button", name="派工并打印维修通知单").click()
    expect(page.locator(".status-pill")).to_have_text("已派维修")

    # the printed work order carries the order's address in its QR code
    page.get_by_role("link", name="维修通知单（A4）").click()
    expect(page.locator("body")).to_contain_text(number)
    page.locator("svg.qr").first.screenshot(path=str(tmp_path / "qr.png"))
    order_url = decode_qr(tmp_path / "qr.png")
    assert order_url == f"{server.url}/staff/orders/{tid}"

    phone = open_phone(server.url)
    technician_signs_in_from_order(phone, order_url, *TECHNICIAN)
    arrive_at_place(phone, server.url, "DEMO-LIB", number)
    complete_order(phone, "更换了镇流器", "镇流器一个", "20")

    page.goto(f"{server.url}/staff/t/{tid}")
    expect(page.locator(".summary")).to_contain_text("现场扫码确认")
    step = primary_step(page)
    expect(step.get_by_role("heading")).to_have_text("回访：致电客户")
    step.get_by_label("满意", exact=True).check()
    step.get_by_role("button", name="保存回访").click()
    step = primary_step(page)
    expect(step.get_by_role("heading")).to_have_text("关闭")
    step.get_by_label("完成").check()
    step.get_by_label("是的，关闭此报事单").check()
    step.get_by_role("button", name="关闭报事单").click()
    expect(page.locator(".status-pill")).to_have_text("已关闭")
    assert [e["type"] for e in server.store.ticket(tid)["events"]] == [
        "reported", "confirmed", "dispatched", "arrived", "completed", "revisited", "closed"]

    # a second repair: done, but the customer is not satisfied, so it reopens
    second = dispatched_repair(server, desk, technician, "DEMO-GYM", "体育馆淋浴没有热水")
    phone.goto(f"{server.url}/staff/orders/{second['id']}")
    phone.get_by_role("button", name="我已到场").click()
    expect(phone.locator("#order-arrival")).to_have_attribute("data-arrival", "declared")
    complete_order(phone, "调整了热水阀")
    page.goto(f"{server.url}/staff/t/{second['id']}")
    step = primary_step(page)
    step.get_by_label("不满意", exact=True).check()
    step.get_by_role("button", name="保存回访").click()
    expect(page.locator("#comment-error")).to_be_visible()  # a reason is required
    step = primary_step(page)
    step.get_by_label("不满意", exact=True).check()
    step.get_by_label(re.compile("^意见")).fill("水还是凉的")
    step.get_by_role("button", name="保存回访").click()
    expect(page.locator(".status-pill")).to_have_text("正在处理")
    expect(page.locator(".flags")).to_contain_text("已重新处理 1 次")
    reopened = page.locator("ol.staff-timeline li.event-revisited")
    expect(reopened).to_contain_text("水还是凉的")
    phone.goto(f"{server.url}/staff/orders/")
    expect(phone.locator("main")).to_contain_text(second["number"])  # back on the list
