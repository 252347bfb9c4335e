"""The HQ sites page in Chromium (issue 15, points 2 and 4), against a real HQ served on
127.0.0.1 (``live.LiveApp`` of ``create_hq_app``, SQLite), at 1440x900 and 390x844: the
sites most urgent first, a count that lands on exactly its tickets, every count visible on
a phone with no page scrolling sideways, and the table refreshing itself when a new
ticket arrives. Sites feed real signed batches through HQ's ingest API."""
from __future__ import annotations

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
REFRESH = 1  # seconds: the table's refresh, made short for the test
#: the sites in the order the page must show them, and their names
SITES = [("site-b", "北区"), ("site-a2", "东区二期"), ("site-c", "南区"),
         ("site-f", "西区花园")]


#: for each element of a selector: its text -> how many lines it takes
LINES = """selector => Object.fromEntries([...document.querySelectorAll(selector)].map(e => {
  const range = document.createRange();
  range.selectNodeContents(e);
  const tops = new Set([...range.getClientRects()].filter(r => r.width > 0)
                       .map(r => Math.round(r.top)));
  return [e.closest('tr').id + ' ' + e.textContent.trim(), tops.size];
}))"""


class Site:
    """A site's kiosk log: real chained events, sent to HQ as signed batches."""

    def __init__(self, folder: Path, site_id: str, clock: Clock, key: dict):
        self.log, self.site_id = EventLog(folder, site_id), site_id
        self.clock, self.key = clock, key
        self.counter = 0

    def send(self, client, partials: list[dict]) -> None:
        events = self.log.prepare(partials)
        self.log.write(events)
        body = protocol.dumps({"site_id": self.site_id, "hq_epoch": None, "events": events})
        path = protocol.API_PATH.format(site_id=self.site_id)
        digest, stamp = protocol.body_sha256(body), str(int(self.clock().timestamp()))
        response = client.post(path, data=body, headers={
            protocol.H_KEY_ID: self.key["key_id"], protocol.H_TIMESTAMP: stamp,
            protocol.H_BODY_SHA256: digest, "Content-Type": "application/json",
            protocol.H_SIGNATURE: protocol.request_signature(
                self.key["secret"], "POST", path, self.site_id, stamp, digest)})
        assert response.status_code == 200, response.get_data(as_text=True)

    def report(self, ticket_id: str, category: str, due: datetime) -> dict:
        self.counter += 1
        at = self.clock().isoformat()
        return {"ticket_id": ticket_id, "type": "reported", "at": at, "actor": {"role": "visitor"},
                "data": {"number": f"{category[0].upper()}-1128-{self.counter:03d}",
                         "token": f"token-{ticket_id}", "day": "2026-11-28", "category": category,
                         "channel": "kiosk", "location": "", "description": "电梯坏了",
                         "name": "", "phone": "", "preferred_at": None,
                         "due_at": due.isoformat()}}

    def act(self, ticket_id: str, kind: str, data: dict) -> dict:
        return {"ticket_id": ticket_id, "type": kind, "at": self.clock().isoformat(),
                "actor": {"role": "manager", "id": "m-1", "name": "王芳"}, "data": data}


@pytest.fixture
def hq_server(tmp_path):
    """A real HQ with four sites: an emergency (北区), two late repairs (东区二期), an
    unsigned complaint (南区), nothing waiting (西区花园); and one admin."""
    clock = Clock(datetime.now(timezone.utc).replace(microsecond=0))
    app = create_hq_app({"TESTING": True, "DATA_DIR": str(tmp_path / "hq"), "CLOCK": clock,
                         "PIN_HASH_METHOD": CHEAP_PINS, "REFRESH_SECONDS": REFRESH})
    store, client, now = app.extensions["hq_store"], app.test_client(), clock()
    sites = {}
    for site_id, name in SITES:
        key_id, secret = protocol.new_key()
        store.add_site(site_id, name, key_id, secret, now)
        sites[site_id] = Site(tmp_path / site_id, site_id, clock,
                              {"key_id": key_id, "secret": secret})
    sites["site-b"].send(client, [sites["site-b"].report("b-1", "emergency", now)])
    sites["site-a2"].send(client, [sites["site-a2"].report(f"a-{i}", "repair",
                                                           now - timedelta(hours=i))
                                   for i in (1, 2)])
    c = sites["site-c"]
    c.send(client, [c.report("c-1", "complaint", now + timedelta(days=1)),
                    c.act("c-1", "confirmed", {})])
    f = sites["site-f"]
    f.send(client, [f.report("f-1", "inquiry", now + timedelta(days=1))])
    live = LiveApp(app, threads=4)
    yield {"live": live, "app": app, "client": client, "sites": sites, "clock": clock,
           "tmp": tmp_path}
    live.stop()
    store.close()


def _context(browser, server, viewport: dict):
    context = browser.new_context(**viewport, base_url=server["live"].url)
    context.set_default_timeout(10_000)
    return context, context.new_page()


def _sign_in(page: Page) -> None:
    page.goto("/login")
    page.locator("#name").fill(ADMIN)
    page.locator("#pin").fill(PIN)
    page.locator("button[type=submit]").last.click()
    expect(page.locator("#sites")).to_be_visible()


def _no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{page.url} scrolls sideways: {width}"


def test_the_sites_page_at_a_desk_urgent_first_links_and_refreshes_itself(browser, hq_server):
    server = hq_server
    SHOTS.mkdir(parents=True, exist_ok=True)
    store = server["app"].extensions["hq_store"]
    add_account(store, PinHasher(CHEAP_PINS), ADMIN, PIN, datetime.now(timezone.utc))
    context, page = _context(browser, server, DESK)
    try:
        _sign_in(page)
        rows = page.locator("#sites tbody tr")
        expect(rows).to_have_count(4)
        assert [r.get_attribute("id") for r in rows.all()] == [f"site-{s}" for s, _ in SITES]
        # a site's name and its numbers stay on one line at 1440 px
        lines = page.evaluate(
            LINES, "#sites .site-name a, #sites .site-name small, #sites [data-count]")
        assert lines and set(lines.values()) == {1}, lines
        _no_sideways_scroll(page)
        page.screenshot(path=str(SHOTS / "sites-1440.png"), full_page=True)
        # the page refreshes itself: two new emergencies at 西区花园 move it to the top
        page.locator("#name-site-c").focus()
        f, now = server["sites"]["site-f"], server["clock"]()
        f.send(server["client"], [f.report("f-em-1", "emergency", now),
                                  f.report("f-em-2", "emergency", now)])
        expect(page.locator("#site-site-f [data-count=emergencies]")).to_have_text(
            "2", timeout=5_000)
        expect(rows.first).to_have_attribute("id", "site-site-f")
        expect(page.locator("#name-site-c")).to_be_focused()  # the refresh kept the focus
        assert page.url.endswith("/")  # no reload: the table alone was swapped
        # a count lands on exactly its tickets
        page.locator("#late-site-a2").click()
        page.wait_for_url(re.compile(r"/tickets\?site=site-a2&category=repair&late=1$"))
        expect(page.locator("a[href^='/sites/site-a2/tickets/']")).to_have_count(2)
        # the attention filter is kept by the refresh
        page.goto("/?attention=1")
        expect(rows).to_have_count(4)  # 西区花园 now has an emergency
        assert page.locator("#sites-panel").get_attribute("hx-get") == "/?attention=1"
    finally:
        context.close()


def test_every_hq_page_on_a_phone_shows_every_count_without_sideways_scroll(browser,
                                                                            hq_server):
    server = hq_server
    SHOTS.mkdir(parents=True, exist_ok=True)
    context, page = _context(browser, server, PHONE)
    try:
        page.goto("/setup")  # no account yet: the first start
        _no_sideways_scroll(page)
        page.screenshot(path=str(SHOTS / "setup-390.png"), full_page=True)
        store = server["app"].extensions["hq_store"]
        add_account(store, PinHasher(CHEAP_PINS), ADMIN, PIN, datetime.now(timezone.utc))
        page.goto("/login")
        _no_sideways_scroll(page)
        page.screenshot(path=str(SHOTS / "login-390.png"), full_page=True)
        _sign_in(page)
        _no_sideways_scroll(page)
        width = page.viewport_size["width"]
        counts = page.locator("#sites [data-count]")
        assert counts.count() == 4 * 9
        for count in counts.all():
            expect(count).to_be_visible()
            box = count.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
        # each count is labelled in the card (the header row is for screen readers only)
        labels = page.evaluate("""() => [...document.querySelectorAll('#sites td[data-label]')]
            .map(td => getComputedStyle(td, '::before').content)""")
        assert len(labels) == 4 * 10 and all(label.startswith('"') and len(label) > 2
                                             for label in labels), labels
        nav = page.locator("nav.hq-nav a, nav.hq-nav button")
        for link in nav.all():
            box = link.bounding_box()
            assert box["x"] + box["width"] <= width and box["height"] >= 44, box
        page.screenshot(path=str(SHOTS / "sites-390.png"), full_page=True)
        for path, shot in (("/sites/site-b", "site-390.png"), ("/reports", "reports-390.png")):
            page.goto(path)
            _no_sideways_scroll(page)
            page.screenshot(path=str(SHOTS / shot), full_page=True)
    finally:
        context.close()
