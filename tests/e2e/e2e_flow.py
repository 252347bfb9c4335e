"""Steps of the visitor's flow for the browser tests, written the way a visitor acts:
tap a tile, tap a place, type, tap "next". Texts are the Chinese default UI. And what the
staff flows share: signing in on the way to a page, waiting for htmx to settle, the
phone's width, screenshots, a PDF's pages and the tools that read them."""
from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

PHONE_NUMBER = "13812345678"
MASKED_PHONE = "*******5678"
SKIP_PLACE = "不涉及具体地点"
#: Where the browser tests leave their screenshots and printed pages.
SHOTS = Path("/tmp/shots")


@dataclass(frozen=True)
class Cat:
    code: str
    letter: str
    tile: str       # the tile's label
    next_step: str  # the receipt's "what happens next"
    place_required: bool
    phone_required: bool


CATS = {c.code: c for c in (
    Cat("repair", "R", "报修", "维修人员将在 30 分钟内到达现场。", True, True),
    Cat("complaint", "C", "投诉",
        "客户服务部经理会审阅您的投诉，处理后我们会给您回电告知结果。感谢您的反映。", True, True),
    Cat("inquiry", "Q", "咨询", "前台会在今天内答复您。", False, False),
    Cat("suggestion", "S", "建议", "谢谢您！前台会转达给相关部门。", False, False),
    Cat("emergency", "E", "紧急情况", "已立即通知工作人员。如有生命危险，请拨打 110 / 119 / 120。",
        True, False),
    Cat("other", "O", "其他", "前台会在今天内查看并跟进。", False, False),
)}


def site_mmdd() -> str:
    """The month and day (MMDD) a ticket number made now carries, in the site's time."""
    return datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%m%d")


def number_pattern(letter: str) -> re.Pattern:
    return re.compile(rf"^{letter}-(\d{{4}})-(\d{{3}})$")


def choose_category(page: Page, cat: Cat) -> None:
    """On the home page, tap the category's tile."""
    expect(page.get_by_role("heading", level=1)).to_have_text("您好！请问有什么可以帮您？")
    page.get_by_role("button", name=cat.tile, exact=True).click()


def choose_place(page: Page, code: str | None) -> None:
    """On the place step, tap the place with ``code``, or skip it when ``code`` is None."""
    expect(page).to_have_url(re.compile(r"/report/place$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("在哪里？")
    if code is None:
        page.get_by_role("button", name=SKIP_PLACE).click()
    else:
        page.get_by_role("button", name=re.compile(re.escape(code) + r"\b")).first.click()


def fill_details(page: Page, description: str, phone: str = "", name: str = "") -> None:
    """On the details step, type the matter (and a phone number) and tap next."""
    expect(page).to_have_url(re.compile(r"/report/details$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("请描述情况")
    page.get_by_label("发生了什么？").fill(description)
    if name:
        page.get_by_label("您的称呼").fill(name)
    if phone:
        page.get_by_label("电话号码").fill(phone)
    page.get_by_role("button", name="下一步").click()


def send(page: Page) -> None:
    """On the review step, tap send."""
    expect(page).to_have_url(re.compile(r"/report/review$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("确认并提交")
    page.get_by_role("button", name="提交", exact=True).click()


def report(page: Page, cat: Cat, place: str | None = "DEMO-LIB",
           description: str = "图书馆二楼的灯坏了", phone: str = PHONE_NUMBER) -> str:
    """Go from the home page to the receipt; return the ticket number shown."""
    page.goto("/")
    choose_category(page, cat)
    choose_place(page, place)
    fill_details(page, description, phone)
    send(page)
    expect(page).to_have_url(re.compile(r"/report/receipt$"))
    number = page.locator("#ticket-number")
    expect(number).to_have_text(number_pattern(cat.letter))
    return number.inner_text().strip()


# -- what the staff flows share ------------------------------------------------------------
def settled(page: Page) -> None:
    """Wait until htmx has settled the page (no request, swap or settle under way): a
    page a boosted link or a swap brought takes typing only then."""
    page.wait_for_function("() => !document.querySelector("
                           "'.htmx-request, .htmx-swapping, .htmx-settling')")


def sign_in_as(page: Page, server, name: str, pin: str, path: str) -> None:
    """Open the staff page ``path``; sign in as ``name`` on the way and land on it. The
    fields are found by their names, so it holds in any language."""
    page.goto(server.url + path)
    page.locator("input[name=name]").fill(name)
    page.locator("input[name=pin]").fill(pin)
    page.locator("form[action*='login'] button[type=submit]").click()
    expect(page).to_have_url(server.url + path)


def narrow_enough(page: Page) -> None:
    """The page keeps to a 390px phone's width (nothing scrolls sideways)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{page.url} is {width}px wide on a 390px phone"


def shot(page: Page, name: str) -> None:
    """Save the whole page as ``SHOTS/<name>.png``. The caret is left as it is: hiding it
    would take an inline style, which the CSP refuses."""
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True, caret="initial")


def pdf_pages(pdf: bytes) -> int:
    """Count the page objects of a PDF (``/Type /Page``, not the ``/Pages`` tree)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def tool(name: str, package: str = "poppler-utils") -> str:
    """Return the path of a command the test needs, or fail saying how to install it."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: install Debian's {package} "
                    f"(apt-get install -y {package}); .ci/run installs it on CI")
    return path
