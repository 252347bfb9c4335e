"""A complaint carried through its procedure on the tablet (R10): a visitor complains from
their phone; the receptionist confirms it (reminded to apologise or thank), records the
facts; the manager signs it off on the receptionist's own screen with their name and PIN;
it is transferred, its result recorded, the customer told, and it is closed. The
visitor's status page follows each public step. Texts are the Chinese UI."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from playwright.sync_api import Page, expect

from e2e_flow import CATS, report
from test_staff_console import NAME, SIGNER, sign_in

MANAGER, MANAGER_PIN = "周敏", "1357"


def primary_step(page: Page):
    """The large panel of the most likely next step."""
    return page.locator(".primary-step")


def test_a_complaint_through_the_managers_sign_off_to_closing(
        page: Page, make_server, open_phone, page_errors):
    server = make_server()
    directory = server.app.extensions["staff_directory"]
    now = datetime.now(timezone.utc)
    directory.add(NAME, "receptionist", "2468", actor=SIGNER, now=now)
    directory.add(MANAGER, "manager", MANAGER_PIN, actor=SIGNER, now=now)
    phone = open_phone(server.url)
    number = report(phone, CATS["complaint"], "DEMO-D3", "宿舍楼晚上十一点后还很吵")
    status_path = phone.locator("#status-link").get_attribute("href")

    sign_in(page, server)
    page.get_by_role("link", name=number).click()
    expect(page).to_have_url(re.compile(r"/staff/t/[0-9A-Za-z]+$"))
    step = primary_step(page)
    expect(step.get_by_role("heading")).to_have_text("确认此登记")
    expect(step).to_contain_text("请向客户致歉，或感谢客户对我们工作的支持。")
    step.get_by_role("button", name="确认", exact=True).click()

    step = primary_step(page)
    expect(step.get_by_role("heading")).to_have_text("已查明事实")
    step.get_by_label("查明的事实").fill("3-201 宿舍有聚会到凌晨一点")
    step.get_by_role("button", name="记录事实").click()

    step = primary_step(page)
    expect(step.get_by_role("heading")).to_have_text("经理签认")
    step.get_by_label("经理姓名").fill(MANAGER)
    step.get_by_label("经理密码").fill("0000")
    step.get_by_role("button", name="签认", exact=True).click()
    expect(page.locator("#manager_pin-error")).to_have_text("此姓名与密码不是经理的账号。")
    expect(primary_step(page).get_by_label("经理姓名")).to_have_value(MANAGER)  # kept
    primary_step(page).get_by_label("经理密码").fill(MANAGER_PIN)
    primary_step(page).get_by_label("意见").fill("同意，请保安部处理")
    primary_step(page).get_by_role("button", name="签认", exact=True).click()
    signed = page.locator("ol.staff-timeline li.event-signed_off")
    expect(signed.locator(".who")).to_have_text(MANAGER)
    expect(signed).to_contain_text(f"在 {NAME} 的屏幕上")
    expect(page.locator(".staff-who")).to_have_text(f"{NAME} · 前台接待员")  # still signed in

    step = primary_step(page)
    expect(step.get_by_role("heading")).to_have_text("转交责任部门")
    step.get_by_label("部门").select_option("security")
    step.get_by_role("button", name="转交", exact=True).click()
    expect(page.locator(".status-pill")).to_have_text("正在处理")

    step = primary_step(page)
    step.get_by_label("处理结果").fill("保安已上门提醒，宿舍已安静")
    step.get_by_role("button", name="保存结果").click()

    step = primary_step(page)
    expect(step.get_by_role("heading")).to_have_text("向客户反馈结果")
    step.get_by_label("电话").check()
    step.get_by_label("客户的意见").fill("谢谢")
    step.get_by_role("button", name="保存反馈").click()

    page.get_by_text("关闭", exact=True).click()  # the closed panel's summary
    close = page.locator('form[data-action="close"]')
    expect(close.get_by_label("完成")).not_to_be_checked()  # nothing preselected
    close.get_by_label("完成").check()
    close.get_by_role("button", name="关闭报事单").click()
    expect(page.locator("#confirm-error")).to_be_visible()  # asks for a confirmation
    close = page.locator('form[data-action="close"]')
    close.get_by_label("完成").check()
    close.get_by_label("是的，关闭此报事单").check()
    close.get_by_role("button", name="关闭报事单").click()
    expect(page.locator(".status-pill")).to_have_text("已关闭")

    ticket = next(t for t in [server.store.ticket(page.url.rsplit("/", 1)[1])] if t)
    assert [e["type"] for e in ticket["events"]] == [
        "reported", "confirmed", "investigated", "signed_off", "transferred", "resolved",
        "fed_back", "closed"]
    assert ticket["events"][3]["actor"]["name"] == MANAGER

    phone.goto(status_path)
    for text in ("客户服务部经理审核中", "已转交相关部门", "已有处理结果", "已关闭"):
        expect(phone.locator("main")).to_contain_text(text)
    expect(phone.locator("body")).not_to_contain_text(MANAGER)
    expect(phone.locator("body")).not_to_contain_text("3-201")
