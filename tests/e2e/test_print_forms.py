"""The printed forms in a real Chromium (issue 10): the repair work order on A4 and on an
80 mm roll, and the complaint record on A4. Each prints as ONE page carrying its ticket
number, and its QR code decodes to the exact address it promises, both from the printed
PDF and from a screenshot in print media.

The tickets are made through the domain API on the kiosk's store; the receptionist signs
in through the sign-in page. The QR codes are read with ``zbarimg`` (Debian's zbar-tools)
and the PDFs with ``pdftotext`` and ``pdftoppm`` (poppler-utils); ``.ci/run`` installs
both, and a test fails, never skips, when one is missing.
"""
from __future__ import annotations

import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from e2e_flow import pdf_pages, sign_in_as, tool
from kiosk.tickets import actions, service

NAME, PIN = "王芳", "2468"
SYSTEM = {"role": "system", "id": "e2e", "name": "e2e"}
CUSTOMER_PHONE = "13812345678"
#: 80 mm at 96 CSS pixels to the inch: what a receipt roll shows of the page.
ROLL_WIDTH = 302


@pytest.fixture
def browser_context_args(browser_context_args):
    # two device pixels to a CSS pixel: the 80 mm roll's QR code has modules to spare
    return {**browser_context_args, "device_scale_factor": 2}


def decode_qr(png: Path) -> str:
    """Return what the one QR code in ``png`` says."""
    done = subprocess.run([tool("zbarimg", "zbar-tools"), "--raw", "-q", str(png)],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, f"no QR code read in {png}: {done.stderr}"
    return done.stdout.strip()


def check_printed(page: Page, folder: Path, name: str, number: str, url: str) -> None:
    """Print the open form to PDF: one page, with ``number`` in its text and a QR code
    that reads ``url``, on the page as printed and in a screenshot in print media."""
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    assert pdf_pages(pdf) == 1, f"{name} prints on {pdf_pages(pdf)} pages"
    path = folder / f"{name}.pdf"
    path.write_bytes(pdf)
    text = subprocess.run([tool("pdftotext", "poppler-utils"), "-layout", str(path), "-"],
                          capture_output=True, text=True, timeout=30, check=True).stdout
    assert number in text
    subprocess.run([tool("pdftoppm", "poppler-utils"), "-png", "-r", "200", "-singlefile",
                    str(path), str(folder / f"{name}-printed")], check=True, timeout=60)
    assert decode_qr(folder / f"{name}-printed.png") == url

    page.emulate_media(media="print")
    shot = folder / f"{name}-screen.png"
    page.screenshot(path=shot, full_page=True)
    page.emulate_media(media="no-override")  # page.pdf() prints in print media again
    assert decode_qr(shot) == url


def kiosk_with_staff(make_server):
    """A fresh kiosk with a receptionist, a manager and a technician on file."""
    server = make_server()
    directory = server.app.extensions["staff_directory"]
    now = datetime.now(timezone.utc)
    people = {role: directory.add(name, role, PIN, actor=SYSTEM, now=now)
              for name, role in ((NAME, "receptionist"), ("赵经理", "manager"),
                                 ("李师傅", "maintenance"))}
    server.people = {role: {"role": role, "id": p["id"], "name": p["name"]}
                     for role, p in people.items()}
    return server


def dispatched_repair(server, description: str) -> dict:
    """A visitor's repair, confirmed and dispatched to maintenance's technician."""
    store, now, tz = server.store, datetime.now(timezone.utc), server.app.config["TZ"]
    desk = server.people["receptionist"]
    ticket = service.submit_report(
        store, {"category": "repair", "location": "DEMO-LIB", "description": description,
                "name": "张先生", "phone": CUSTOMER_PHONE},
        channel="kiosk", actor={"role": "visitor"}, now=now, tz=tz)
    actions.confirm(store, ticket["id"], {}, actor=desk, now=now)
    technician = server.people["maintenance"]
    return actions.dispatch(store, ticket["id"], "maintenance",
                            {"id": technician["id"], "name": technician["name"]},
                            actor=desk, now=now)


def fed_back_complaint(server, words: str = "") -> dict:
    """A complaint taken by phone through facts, the manager's sign-off, transfer to
    cleaning, the department's result and the feedback to the customer; with ``words``,
    every text of it as long as it may be, called back, reopened, and closed at last."""
    store, now, tz = server.store, datetime.now(timezone.utc), server.app.config["TZ"]
    desk = server.people["receptionist"]

    def say(text: str, most: int) -> str:
        return longest(words, most) if words else text

    tid = actions.record(store, {"category": "complaint", "location": "DEMO-GYM",
                                 "description": say("健身房更衣室连续三天没有打扫，地面很脏。",
                                                    service.MAX_DESCRIPTION),
                                 "name": "陈女士", "phone": CUSTOMER_PHONE},
                         "phone", actor=desk, now=now, tz=tz)["id"]
    actions.investigate(store, tid, say("保洁排班表显示该区域本周无人负责。", actions.MAX_NOTE),
                        actor=desk, now=now)
    actions.sign_off(store, tid, say("同意转保洁，今天内处理。", actions.MAX_REASON),
                     signer=server.people["manager"], actor=desk, now=now)
    actions.transfer(store, tid, "cleaning", "保洁主管" * 10 if words else "",
                     actor=desk, now=now)
    for outcome in ("unsatisfied", "satisfied") if words else ("",):
        actions.resolve(store, tid, say("已安排专人每日两次打扫。", actions.MAX_RESULT),
                        actor=desk, now=now)
        actions.feed_back(store, tid, "phone", say("顾客表示满意，谢谢。", actions.MAX_RESULT),
                          actor=desk, now=now, tz=tz)
        if outcome:
            actions.revisit(store, tid, outcome, longest(words, actions.MAX_RESULT),
                            actor=desk, now=now)
    if words:
        actions.close(store, tid, "done", actor=desk, now=now)
    return store.ticket(tid)


def test_the_work_order_prints_on_one_a4_page_and_one_80mm_roll_with_the_technicians_qr(
        page: Page, make_server, tmp_path, requests_seen, page_errors):
    server = kiosk_with_staff(make_server)
    ticket = dispatched_repair(server, "图书馆二楼阅览室的灯不亮了，靠窗一排全部不亮。")
    order_url = f"{server.url}/staff/orders/{ticket['id']}"
    path = f"/staff/t/{ticket['id']}/work-order"
    sign_in_as(page, server, NAME, PIN, f"/staff/t/{ticket['id']}")
    page.wait_for_load_state()  # htmx boosts the links
    page.locator(f'a[href="{path}"]').click()  # the ticket page's link to its work order
    expect(page).to_have_url(server.url + path)
    page.wait_for_load_state()

    paper = page.locator("article.paper")
    expect(paper).to_contain_text(ticket["number"])
    expect(paper).to_contain_text(CUSTOMER_PHONE)  # whole: the form is for staff
    expect(paper).to_contain_text("李师傅")
    expect(paper).to_contain_text(NAME)  # who dispatched it
    page.evaluate("() => { window.print = () => { window.__printed = true; }; }")
    page.locator("[data-print]").click()  # the Print button, by a script of its own (CSP)
    assert page.evaluate("window.__printed") is True
    check_printed(page, tmp_path, "work-order-a4", ticket["number"], order_url)

    # the other layout, one tap away: the receipt roll of 80 mm
    page.locator(f'a[href="{path}?layout=80mm"]').click()
    expect(page).to_have_url(server.url + path + "?layout=80mm")
    expect(page.locator("article.paper-80mm")).to_contain_text(ticket["number"])
    page.set_viewport_size({"width": ROLL_WIDTH, "height": 800})
    check_printed(page, tmp_path, "work-order-80mm", ticket["number"], order_url)
    # printed, the sheet is alone: no menu, no buttons
    page.emulate_media(media="print")
    expect(page.locator(".staff-nav")).to_be_hidden()
    expect(page.locator("[data-print]")).to_be_hidden()


def longest(text: str, n: int) -> str:
    """Return ``n`` characters of ``text`` over and over, a line break after every 60."""
    run = (text * n)[:n]
    return "\n".join(run[i:i + 60] for i in range(0, n, 60)).strip()[:n]


def test_every_text_at_its_longest_still_prints_on_one_page_in_either_language(
        page: Page, make_server):
    server = kiosk_with_staff(make_server)
    store, now, tz = server.store, datetime.now(timezone.utc), server.app.config["TZ"]
    desk, forms = server.people["receptionist"], []
    for words in ("漏水不止，请尽快处理。", "The pipe under the sink LEAKS again. "):
        repair = dispatched_repair(server, longest(words, service.MAX_DESCRIPTION))
        rid = repair["id"]
        actions.agree_deadline(store, rid, (now + timedelta(hours=3)).astimezone(tz).strftime(
            "%Y-%m-%dT%H:%M"), longest(words, actions.MAX_REASON).replace("\n", " "),
            actor=desk, now=now, tz=tz)
        actions.arrive(store, rid, actor=desk, now=now)
        actions.complete(store, rid, {"result": longest(words, actions.MAX_RESULT),
                                      "materials": longest(words, actions.MAX_REASON).replace(
                                          "\n", " "), "fee": "99999.99"},
                         actor=desk, now=now, tz=tz)
        complaint = fed_back_complaint(server, words)
        forms += [f"/staff/t/{rid}/work-order?layout=a4", f"/staff/t/{rid}/work-order?layout=80mm",
                  f"/staff/t/{complaint['id']}/complaint-record"]
    sign_in_as(page, server, NAME, PIN, "/staff/")
    for lang in ("zh_Hans_CN", "en"):
        page.goto(f"{server.url}/lang/{lang}?next=/staff/")
        for path in forms:
            page.goto(server.url + path)
            expect(page.locator(".cut-note").first).to_be_visible()
            pdf = page.pdf(prefer_css_page_size=True, print_background=True)
            assert pdf_pages(pdf) == 1, f"{lang} {path}: {pdf_pages(pdf)} pages"


def test_the_complaint_record_prints_every_step_with_its_signer_on_one_a4_page(
        page: Page, make_server, tmp_path, requests_seen, page_errors):
    server = kiosk_with_staff(make_server)
    ticket = fed_back_complaint(server)
    sign_in_as(page, server, NAME, PIN, f"/staff/t/{ticket['id']}/complaint-record")

    paper = page.locator("article.paper")
    for text in (ticket["number"], CUSTOMER_PHONE, "保洁排班表显示该区域本周无人负责。",
                 "同意转保洁，今天内处理。", "赵经理", "保洁", "已安排专人每日两次打扫。",
                 "顾客表示满意，谢谢。", NAME):
        expect(paper).to_contain_text(text)
    check_printed(page, tmp_path, "complaint-record", ticket["number"],
                  f"{server.url}/staff/t/{ticket['id']}")
