"""The staff queue on a phone (issue 9, point 4): below a tablet's width each row is a card
of labelled cells, so number, matter, place, status, age and due time all stay readable,
in the page as loaded and in the rows the queue polls in; on the tablet it stays a table."""
from __future__ import annotations

from datetime import datetime, timezone

from playwright.sync_api import Page, expect
from test_staff_console import sign_in, staffed_kiosk

from kiosk.tickets import service

VISITOR = {"role": "visitor"}
PHONE_WIDTH = 390
CELLS = {"status": "状态", "age": "已过", "due": "期限"}


def add_ticket(server, category: str, location: str, description: str = "灯坏了") -> dict:
    return service.submit_report(
        server.store, {"category": category, "location": location, "description": description,
                       "phone": "13812345678"},
        channel="kiosk", actor=VISITOR, now=datetime.now(timezone.utc),
        tz=server.app.config["TZ"])


def cell_boxes(page: Page) -> list[dict]:
    """For each row of the queue: each labelled cell's box, text, label and line count."""
    return page.evaluate("""() => [...document.querySelectorAll('#queue-rows tr')].map(tr =>
      Object.fromEntries([...tr.querySelectorAll('td[data-label]')].map(td => {
        const box = td.getBoundingClientRect(), style = getComputedStyle(td);
        const lineHeight = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.5;
        const text = td.lastChild ? td.lastChild : td;
        const textRange = document.createRange();
        textRange.selectNodeContents(text);
        return [td.className || td.dataset.label, {
          left: box.left, right: box.right, width: box.width, height: box.height,
          display: style.display, visible: box.width > 0 && box.height > 0,
          clipped: td.scrollWidth > td.clientWidth + 1,
          label: getComputedStyle(td, '::before').content,
          lines: Math.round(textRange.getBoundingClientRect().height / lineHeight),
          text: td.innerText}];
      })))""")


def test_on_a_phone_every_row_is_a_readable_card(make_server, open_phone):
    server = staffed_kiosk(make_server)
    for category, place in (("emergency", "DEMO-T1-201"), ("repair", "DEMO-D3-LOBBY"),
                            ("inquiry", "DEMO-LIB"), ("complaint", "DEMO-T1")):
        add_ticket(server, category, place)
    phone = open_phone(server.url)
    sign_in(phone, server)
    rows = phone.locator("#queue-rows tr")
    expect(rows).to_have_count(4)
    expect(phone.locator(".alarm-badge")).to_be_visible()

    # a visitor reports while the queue is open: the polled rows are cards too
    added = add_ticket(server, "repair", "DEMO-LIB", "二楼的水龙头漏水")
    expect(phone.get_by_role("link", name=added["number"], exact=True)).to_be_visible(timeout=8000)
    expect(rows).to_have_count(5)

    width = phone.evaluate("document.documentElement.clientWidth")
    assert width == PHONE_WIDTH
    assert phone.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scroll
    for row in cell_boxes(phone):
        assert set(CELLS) <= set(row), row
        for name, label in CELLS.items():
            cell = row[name]
            assert cell["visible"] and cell["display"] != "none", (name, cell)
            assert 0 <= cell["left"] and cell["right"] <= width, (name, cell)
            assert not cell["clipped"], (name, cell)
            assert cell["label"] == f'"{label}"', (name, cell)  # labelled on the card
            assert cell["width"] >= 120, (name, cell)  # not one character a line
            assert cell["text"].strip(), (name, cell)
        assert row["due"]["lines"] <= 2 and row["status"]["lines"] <= 3, row
    # the due time of each row reads whole, e.g. "10:30 · 已超时"
    due = phone.locator("#queue-rows td.due").first
    expect(due).to_contain_text(":")


def test_on_the_tablet_the_queue_stays_a_table(page: Page, make_server, page_errors):
    server = staffed_kiosk(make_server)
    add_ticket(server, "repair", "DEMO-LIB")
    sign_in(page, server)
    expect(page.locator("table.queue thead")).to_be_visible()
    assert page.locator("#queue-rows tr").first.evaluate("tr => getComputedStyle(tr).display") \
        == "table-row"
    assert page.locator("#queue-rows td.status").first.evaluate(
        "td => getComputedStyle(td, '::before').content") in ("none", "normal")
