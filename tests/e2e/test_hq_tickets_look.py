"""HQ's ticket list and a ticket's page in Chromium (issue 15, points 3-5), against a real
HQ served on 127.0.0.1 (``live.LiveApp`` of ``create_hq_app``, SQLite), at 1440x900 and
390x844: numbers shown with their site and distinct where they collide, a search and its
count, the CSV export downloaded, late tickets marked in words, place names, no column
hidden on the phone and no page scrolling sideways. Sites feed real signed batches
through HQ's ingest API; the page is in Chinese, as HQ starts."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from helpers import CHEAP_PINS, Clock
from live import LiveApp
from playwright.sync_api import Page, expect

from common.pins import PinHasher
from hq import create_hq_app
from hq.accounts import add_account
from kiosk.eventlog import EventLog
from sync import protocol

DESK = {"viewport": {"width": 1440, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True,
         "device_scale_factor": 2}
SHOTS = Path("/tmp/shots/15")
ADMIN, PIN = "Zhao Min", "246810"
SITES = [("site-a", "北区"), ("site-b", "南区花园二期"), ("site-c", "东区")]
NUMBER = "R-1202-010"  # at every site
PHONE_NUMBER = "13800138000"
COLUMNS = 6  # ticket, category, status, reported, due, place


def _send(client, site_id: str, key: dict, log: EventLog, partials: list[dict]) -> None:
    events = log.prepare(partials)
    log.write(events)
    body = protocol.dumps({"site_id": site_id, "hq_epoch": None, "events": events})
    path = protocol.API_PATH.format(site_id=site_id)
    digest, stamp = protocol.body_sha256(body), "1764295200"
    response = client.post(path, data=body, headers={
        protocol.H_KEY_ID: key["key_id"], protocol.H_TIMESTAMP: stamp,
        protocol.H_BODY_SHA256: digest, "Content-Type": "application/json",
        protocol.H_SIGNATURE: protocol.request_signature(key["secret"], "POST", path, site_id,
                                                         stamp, digest)})
    assert response.status_code == 200, response.get_data(as_text=True)


def _report(tid: str, number: str, at: datetime, due: datetime, category: str = "repair",
            phone: str = "", location: str = "") -> dict:
    return {"ticket_id": tid, "type": "reported", "at": at.isoformat(),
            "actor": {"role": "visitor"},
            "data": {"number": number, "token": f"t-{tid}", "day": at.date().isoformat(),
                     "category": category, "channel": "kiosk", "location": location,
                     "description": "楼道灯不亮", "name": "王先生", "phone": phone,
                     "preferred_at": None, "due_at": due.isoformat()}}


@pytest.fixture
def hq_server(tmp_path):
    """A real HQ with three sites whose first repair is R-1202-010 at each (late at 北区
    and 东区, not yet at 南区花园二期), places named at 北区, a dozen more tickets, and
    one admin."""
    clock = Clock(datetime.now(timezone.utc).replace(microsecond=0))
    app = create_hq_app({"TESTING": True, "DATA_DIR": str(tmp_path / "hq"), "CLOCK": clock,
                         "PIN_HASH_METHOD": CHEAP_PINS})
    store, client, now = app.extensions["hq_store"], app.test_client(), clock()
    add_account(store, PinHasher(CHEAP_PINS), ADMIN, PIN, now)
    for s, (site_id, name) in enumerate(SITES):
        key_id, secret = protocol.new_key()
        store.add_site(site_id, name, key_id, secret, now)
        log = EventLog(tmp_path / site_id, site_id)
        at = now - timedelta(hours=3, minutes=s)
        due = now + timedelta(hours=1) if site_id == "site-b" else now - timedelta(hours=2)
        partials = [{"ticket_id": None, "type": "locations_imported", "at": at.isoformat(),
                     "actor": {"role": "manager", "id": "m", "name": "王芳"},
                     "data": {"rows": [{"code": "D3-LOBBY", "name_zh": "3号学生公寓 大堂",
                                        "name_en": "Residence 3, Lobby", "building": "3号"}],
                              "replace_demo": False}}] if site_id == "site-a" else []
        partials.append(_report(f"{site_id}-1", NUMBER, at, due, phone=PHONE_NUMBER,
                                location="D3-LOBBY"))
        partials += [_report(f"{site_id}-{n}", f"C-1202-{n:03d}", at - timedelta(hours=n),
                             now + timedelta(days=1), category="complaint",
                             location="GATE-N") for n in range(2, 6)]
        _send(client, site_id, {"key_id": key_id, "secret": secret}, log, partials)
    live = LiveApp(app, threads=4)
    yield {"live": live, "app": app}
    live.stop()
    store.close()


def _context(browser, server, viewport: dict):
    context = browser.new_context(**viewport, base_url=server["live"].url,
                                  accept_downloads=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/login")
    page.locator("#name").fill(ADMIN)
    page.locator("#pin").fill(PIN)
    page.locator("button[type=submit]").last.click()
    page.wait_for_url(re.compile(r"/$"))
    return context, page


def _no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{page.url} scrolls sideways: {width}"


def _refs(page: Page) -> list[str]:
    return [" ".join(t.split()) for t in page.locator("#tickets .ticket-ref a").all_inner_texts()]


def test_the_list_at_a_desk_numbers_with_their_site_search_count_export(browser, hq_server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    context, page = _context(browser, hq_server, DESK)
    try:
        page.goto("/tickets")
        expect(page.locator("#list-count")).to_have_attribute("data-count", "15")
        refs = _refs(page)
        assert {f"{name} · {NUMBER}" for _, name in SITES} <= set(refs)
        # the number and the site's name stay on one line at 1440 px
        heights = page.evaluate("""() => [...document.querySelectorAll('#tickets .ref')]
            .map(e => e.getClientRects().length)""")
        assert set(heights) == {1}, heights
        # late in words; statuses and places in words
        late = page.locator("#tickets tr[data-late='1']")
        expect(late).to_have_count(2)
        for row in late.all():
            expect(row.locator(".late-badge")).to_have_text("已超时")
        assert "3号学生公寓 大堂" in page.locator("#tickets").inner_text()
        assert "new" not in page.locator("#tickets td:nth-child(3)").all_inner_texts()
        _no_sideways_scroll(page)
        page.screenshot(path=str(SHOTS / "tickets-1440.png"), full_page=True)
        # search: the number at one site, typed with the site's name
        page.locator("#search-number").fill(f"北区 · {NUMBER.lower()}")
        page.locator("#ticket-filters button[type=submit]").click()
        expect(page.locator("#list-count")).to_have_attribute("data-count", "1")
        assert _refs(page) == [f"北区 · {NUMBER}"]
        # by the phone's last 4 digits: the three R-1202-010
        page.goto("/tickets")
        page.locator("#search-phone").fill("8000")
        page.locator("#ticket-filters button[type=submit]").click()
        expect(page.locator("#list-count")).to_have_attribute("data-count", "3")
        assert sorted(_refs(page)) == sorted(f"{name} · {NUMBER}" for _, name in SITES)
        # the export of exactly that list, phones masked
        with page.expect_download() as found:
            page.locator("#export-csv").click()
        download = found.value
        assert re.fullmatch(r"hq-tickets-\d{8}-\d{4}\.csv", download.suggested_filename)
        rows = list(csv.reader(io.StringIO(Path(download.path()).read_bytes()[3:].decode(
            "utf-8"), newline="")))
        assert len(rows) == 4 and {r[1] for r in rows[1:]} == {NUMBER}
        assert {r[-1] for r in rows[1:]} == {"*******8000"}
        assert PHONE_NUMBER not in Path(download.path()).read_text(encoding="utf-8-sig")
        # a bad day: its message next to it, the rest kept, no 5xx
        page.locator("#search-from").fill("2026-12-05")
        page.locator("#search-to").fill("2026-12-01")
        page.locator("#ticket-filters button[type=submit]").click()
        expect(page.locator("#error-to")).to_be_visible()
        expect(page.locator("#search-phone")).to_have_value("8000")
        page.screenshot(path=str(SHOTS / "tickets-error-1440.png"), full_page=True)
        # a ticket's page: site and number, place, masked phone, every event verified
        page.goto("/tickets")
        page.locator("#tickets .ticket-ref a", has_text="北区").first.click()
        expect(page.locator("h1")).to_have_text(f"北区 · {NUMBER}")
        expect(page.locator("#ticket-place")).to_have_text("3号学生公寓 大堂")
        expect(page.locator("#ticket-phone")).to_have_text("*******8000")
        expect(page.locator("#late-badge")).to_be_visible()
        expect(page.locator("#ticket-verdict")).to_have_attribute("data-verified", "1")
        _no_sideways_scroll(page)
        page.screenshot(path=str(SHOTS / "ticket-1440.png"), full_page=True)
    finally:
        context.close()


def test_the_list_and_a_ticket_on_a_phone_hide_nothing(browser, hq_server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    context, page = _context(browser, hq_server, PHONE)
    try:
        page.goto("/tickets")
        expect(page.locator("#list-count")).to_have_attribute("data-count", "15")
        _no_sideways_scroll(page)
        width = page.viewport_size["width"]
        rows = page.locator("#tickets tbody tr")
        for row in rows.all()[:6]:
            cells = row.locator("td")
            assert cells.count() == COLUMNS
            for cell in cells.all():
                expect(cell).to_be_visible()
                box = cell.bounding_box()
                assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
        labels = page.evaluate("""() => [...document.querySelectorAll('#tickets td[data-label]')]
            .map(td => getComputedStyle(td, '::before').content)""")
        assert labels and all(label.startswith('"') and len(label) > 2 for label in labels)
        expect(page.locator("#tickets tr[data-late='1'] .late-badge").first).to_be_visible()
        for target in page.locator("#ticket-filters .button, #export-csv, #export-xlsx, "
                                   "#tickets .ticket-ref a").all()[:10]:
            assert target.bounding_box()["height"] >= 44
        page.screenshot(path=str(SHOTS / "tickets-390.png"), full_page=True)
        page.locator("#list-count").scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "tickets-390-list.png"))  # the first cards, as seen
        page.locator("#tickets .ticket-ref a", has_text="东区").first.click()
        expect(page.locator("#durations")).to_be_visible()
        _no_sideways_scroll(page)
        for cell in page.locator("#durations td").all():
            box = cell.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
        page.screenshot(path=str(SHOTS / "ticket-390.png"), full_page=True)
    finally:
        context.close()
