"""The customer feedback report in a real Chromium (issue 11): October's matters, whose
figures are known (``seed_october`` of tests/test_reports.py), seeded through the domain
API on a kiosk with its clock at 2026-11-28; the receptionist opens last month's report,
reads the key figures, downloads the CSV and the .xlsx and reads them back (Chinese
intact, formulas neutralised), and prints it to PDF (A4, numbered pages, the period on
it). Then the monthly statistics, a bad period, and the phone's width.

Screenshots go to /tmp/shots/report-*.png. The PDF is read with ``pdftotext`` and
``pdftoppm`` (poppler-utils, as tests/e2e/test_print_forms.py).
"""
from __future__ import annotations

import csv
import io
import re
import subprocess
from pathlib import Path

import pytest
from helpers import Clock
from openpyxl import load_workbook
from playwright.sync_api import Page, expect
from test_reports import PERSON, UNSATISFIED, seed_october

from e2e_flow import tool

SHOTS = Path("/tmp/shots")
NAME, PIN = "王芳", "2468"
PERIOD = "2026-10-01 至 2026-10-31"


@pytest.fixture
def kiosk(make_server):
    """A kiosk whose clock stands at 2026-11-28 10:00, with October's matters."""
    clock = Clock()
    server = make_server(CLOCK=clock)
    server.tickets = seed_october(server.app, clock)
    SHOTS.mkdir(exist_ok=True)
    return server


def sign_in(page: Page, server, path: str) -> None:
    """Open a staff page, sign in as the receptionist on the way, and land on it (the
    sign-in goes back to the page's path: its query is asked again)."""
    page.goto(server.url + path)
    page.get_by_label("您的称呼").fill(NAME)
    page.get_by_label("密码").fill(PIN)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).to_have_url(server.url + path.split("?")[0])
    if "?" in path:
        page.goto(server.url + path)


def download(page: Page, link: str) -> tuple[str, bytes]:
    with page.expect_download() as info:
        page.get_by_role("link", name=link, exact=True).click()
    return info.value.suggested_filename, Path(info.value.path()).read_bytes()


def test_last_months_report_on_screen_in_the_files_and_on_paper(
        page: Page, kiosk, tmp_path, requests_seen, page_errors):
    sign_in(page, kiosk, "/staff/reports")
    expect(page.get_by_role("heading", level=1)).to_have_text("客户反映情况报告")
    expect(page.locator("#report-period")).to_have_text(PERIOD)
    expect(page.get_by_role("link", name="上月")).to_have_attribute("aria-current", "page")
    expect(page.locator("#fig-total")).to_have_text("9")
    expect(page.locator("#fig-arrival-median")).to_have_text("30 分钟")
    expect(page.locator("#fig-arrival-p90")).to_have_text("7 小时")
    expect(page.locator("#fig-completion-median")).to_contain_text("1 小时 30 分")
    expect(page.locator("#fig-in-time")).to_have_text("67%")
    expect(page.locator("#fig-satisfied")).to_have_text("50%")
    expect(page.locator("#by-category tfoot")).to_contain_text("+350%")
    expect(page.locator(".report-summary li").first).to_contain_text("共 9 件")
    expect(page.locator("#unsatisfied")).to_contain_text(UNSATISFIED)  # as text, not markup
    for chart in ("#chart-categories", "#chart-daily", "#chart-on-time"):
        expect(page.locator(chart)).to_be_visible()
    number = kiosk.tickets["R2"]["number"]
    expect(page.locator("#carried-over").get_by_role("link", name=number)).to_have_attribute(
        "href", f"/staff/t/{kiosk.tickets['R2']['id']}")
    page.screenshot(path=SHOTS / "report-tablet.png", full_page=True)

    # the files: CSV with a BOM, Chinese intact, the customer's "=1+1" defused
    name, data = download(page, "汇总（CSV）")
    assert name == "report-2026-10.csv" and data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline="")))
    figures = {(r[0], r[1]): r[2] for r in rows[1:]}
    assert figures[("总数", "反映事项")] == "9"
    assert figures[("不满意", number)] == "'" + UNSATISFIED
    assert figures[("投诉按部门", "'" + PERSON)] == "1"
    name, data = download(page, "报事单（CSV）")
    assert name == "report-2026-10-tickets.csv"
    tickets = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert len(tickets) == 10 and "图书馆 (DEMO-LIB)" in {r[4] for r in tickets}
    name, data = download(page, "汇总和报事单（Excel）")
    assert name == "report-2026-10.xlsx"
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["汇总", "报事单"]
    values = {(r[0], r[1]): r[2] for r in book["汇总"].iter_rows(min_row=2, values_only=True)}
    assert values[("总数", "反映事项")] == 9
    assert values[("不满意", number)] == "'" + UNSATISFIED

    # the Print button opens the print dialog (its script, not an inline one)
    page.evaluate("window.print = () => { window.__printed = true; }")
    page.get_by_role("button", name="打印").click()
    assert page.evaluate("window.__printed") is True

    # on paper: A4 pages, numbered, the period, who prepared it, no menu
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    info = subprocess.run([tool("pdfinfo"), str(path)], capture_output=True, text=True,
                          check=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert pages >= 1 and re.search(r"Page size:.*\(A4\)", info)
    text = subprocess.run([tool("pdftotext"), "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert PERIOD in text and "客户反映情况报告" in text and "物业服务前台" in text
    assert f"编制：{NAME}" in text and "经理签字" in text
    assert re.search(rf"\b1\s*/\s*{pages}\b", text)  # the numbers of the @page margin box
    assert re.search(rf"\b{pages}\s*/\s*{pages}\b", text)
    assert "待办" not in text and "打印" not in text  # the menu and buttons stay on screen
    subprocess.run([tool("pdftoppm"), "-png", "-r", "70", str(path), str(SHOTS / "report-pdf")],
                   check=True, timeout=60)


def test_the_monthly_statistics_and_a_bad_period(page: Page, kiosk, requests_seen, page_errors):
    sign_in(page, kiosk, "/staff/reports/monthly?month=2026-10")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "月派工报事统计分析表及有偿服务收费明细表")
    row = page.locator("#dispatch tbody tr", has_text="维修部")
    expect(row.locator("td")).to_have_text(["4", "3", "1", "27 分钟", "1 小时 30 分"])
    expect(page.locator("#paid-total")).to_have_text("155.50")
    page.screenshot(path=SHOTS / "report-monthly-tablet.png", full_page=True)
    name, data = download(page, "两者（Excel）")
    assert name == "monthly-2026-10.xlsx"
    assert load_workbook(io.BytesIO(data)).sheetnames == ["派工统计", "有偿服务"]

    page.get_by_role("link", name="客户反映情况报告").click()
    page.get_by_label("开始日期").fill("2026-10-20")
    page.get_by_label("结束日期").fill("2026-10-10")
    page.get_by_role("button", name="查看这些日期").click()
    expect(page.locator("#last-error")).to_have_text(re.compile("结束日期不能早于开始日期"))
    expect(page.get_by_label("开始日期")).to_have_value("2026-10-20")
    expect(page.get_by_label("结束日期")).to_have_value("2026-10-10")
    page.screenshot(path=SHOTS / "report-bad-dates.png", full_page=True)
    page.get_by_label("结束日期").fill("2026-10-31")
    page.get_by_role("button", name="查看这些日期").click()
    expect(page.locator("#report-period")).to_have_text("2026-10-20 至 2026-10-31")
    expect(page.locator("#fig-total")).to_have_text("3")  # R3, R4 and P2


def test_the_report_fits_a_phone(open_phone, kiosk):
    phone = open_phone(kiosk.url)
    sign_in(phone, kiosk, "/staff/reports")
    expect(phone.locator("#fig-total")).to_have_text("9")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the report is {width} px wide on a 390 px phone"
    phone.screenshot(path=SHOTS / "report-phone.png", full_page=True)
