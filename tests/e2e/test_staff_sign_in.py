"""Staff sign-in on the tablet: the first-run setup, the PIN lock-out, the idle sign-out.

Each test runs on its own kiosk (``make_server``): the first-run setup only exists while
no staff account does. Texts are the Chinese default UI.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from e2e_flow import settled

SIGNER = {"role": "manager", "id": "st-e2e", "name": "E2E"}
HOME = "您好！请问有什么可以帮您？"


def add_staff(server, name: str = "王芳", role: str = "receptionist", pin: str = "2468") -> dict:
    return server.app.extensions["staff_directory"].add(name, role, pin, actor=SIGNER,
                                                        now=datetime.now(timezone.utc))


def sign_in(page: Page, name: str, pin: str) -> None:
    """On the sign-in page, type a name and a PIN and tap sign in."""
    expect(page.get_by_role("heading", level=1)).to_have_text("员工登录")
    page.get_by_label("您的称呼").fill(name)
    page.get_by_label("密码").fill(pin)
    # wait for this very answer: the page before may show the same message already
    with page.expect_response(lambda r: r.request.method == "POST"
                              and "/staff/login" in r.url):
        page.get_by_role("button", name="登录", exact=True).click()
    settled(page)


def test_first_run_setup_creates_the_manager_and_signs_them_in(page: Page, make_server,
                                                               requests_seen, page_errors):
    server = make_server()
    page.goto(server.url + "/")
    # the staff take over the tablet from the start screen...
    page.get_by_role("link", name="员工").click()
    # ...and with nobody on file the sign-in page leads to the one-time setup
    expect(page).to_have_url(server.url + "/staff/setup")
    expect(page.get_by_role("heading", level=1)).to_have_text("首次启动：经理账号")
    page.get_by_label("经理姓名").fill("李娜")
    page.get_by_label(re.compile(r"^密码")).fill("8642")
    page.get_by_label("再次输入密码").fill("8643")
    page.get_by_role("button", name="创建并登录").click()
    # two different PINs: told so next to the second, the name kept, nobody created
    expect(page.locator("#pin_again-error")).to_have_text("两次输入的密码不一致。")
    expect(page.get_by_label("经理姓名")).to_have_value("李娜")
    # the cursor waits in the field to fix (and has got there before anything is typed)
    expect(page.get_by_label("再次输入密码")).to_be_focused()
    assert server.app.extensions["staff_directory"].all() == []

    page.get_by_label(re.compile(r"^密码")).fill("8642")
    page.get_by_label("再次输入密码").fill("8642")
    page.get_by_role("button", name="创建并登录").click()
    # on the queue, signed in as the new manager
    expect(page).to_have_url(server.url + "/staff/")
    expect(page.get_by_role("heading", level=1)).to_have_text("待办")
    expect(page.locator(".staff-who")).to_have_text("李娜 · 经理")
    expect(page.locator("#queue-rows")).to_contain_text("暂无待办。")
    (boss,) = server.app.extensions["staff_directory"].all()
    assert (boss["name"], boss["role"]) == ("李娜", "manager")
    # the setup is closed for good
    assert page.goto(server.url + "/staff/setup").status == 404


def test_five_wrong_pins_lock_the_account_even_against_the_right_pin(page: Page, make_server,
                                                                     requests_seen, page_errors):
    server = make_server()
    add_staff(server)
    page.goto(server.url + "/staff/")
    expect(page).to_have_url(re.compile(r"/staff/login\?next="))
    problem = page.locator("#sign-in-error")
    for attempt in range(4):
        sign_in(page, "王芳", f"111{attempt}")
        expect(problem).to_have_text("姓名或密码不正确。")
        expect(page.get_by_label("您的称呼")).to_have_value("王芳")  # the name is kept
        expect(page.get_by_label("密码")).to_have_value("")         # the PIN is not

    site = ZoneInfo("Asia/Shanghai")
    before = datetime.now(site)
    sign_in(page, "王芳", "1119")
    expect(problem).to_contain_text("密码错误次数过多")
    after = datetime.now(site)
    until = re.fullmatch(r"密码错误次数过多，该账号已锁定至 (\d\d:\d\d)，请届时再试。",
                         problem.inner_text().strip())
    assert until, problem.inner_text()
    # five minutes from now, in the site's time
    assert until.group(1) in {(t + timedelta(minutes=5)).strftime("%H:%M")
                              for t in (before, after)}

    # the right PIN is refused while the lock lasts
    sign_in(page, "王芳", "2468")
    expect(problem).to_contain_text(f"已锁定至 {until.group(1)}")
    expect(page).to_have_url(re.compile(r"/staff/login"))
    expect(page.locator(".staff-nav")).to_have_count(0)
    page.goto(server.url + "/staff/")
    expect(page.get_by_role("heading", level=1)).to_have_text("员工登录")


def test_an_idle_staff_session_hands_the_tablet_back_to_visitors(page: Page, make_server,
                                                                requests_seen, page_errors):
    idle, countdown = 2, 1
    server = make_server(STAFF_IDLE_SECONDS=idle, IDLE_COUNTDOWN_SECONDS=countdown)
    add_staff(server)
    page.goto(server.url + "/staff/")
    sign_in(page, "王芳", "2468")
    expect(page).to_have_url(server.url + "/staff/")
    expect(page.locator(".staff-who")).to_have_text("王芳 · 前台接待员")
    # nobody touches the screen: first the warning...
    warning = page.get_by_role("alertdialog")
    expect(warning).to_be_visible(timeout=(idle + 2) * 1000)
    expect(warning).to_contain_text("您还在吗？")
    # ...then the start screen with its tiles, the staff session gone
    expect(page.get_by_role("heading", level=1)).to_have_text(HOME,
                                                              timeout=(countdown + 3) * 1000)
    expect(page).to_have_url(server.url + "/")
    expect(page.get_by_role("button", name="报修", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="紧急情况", exact=True)).to_be_visible()
    expect(page.locator(".staff-nav")).to_have_count(0)
    page.goto(server.url + "/staff/")
    expect(page).to_have_url(re.compile(r"/staff/login\?next="))
    expect(page.get_by_role("heading", level=1)).to_have_text("员工登录")
