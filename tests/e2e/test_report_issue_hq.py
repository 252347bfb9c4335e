"""Acceptance (issue 11): a manager issues the customer feedback report on a real kiosk,
in Chromium, and an HQ admin sees it arrive at a real HQ process with the next sync.

HQ (``python run.py hq``) and the kiosk (``python run.py --hq-url ...``) run as their own
processes on 127.0.0.1 (``tests/sync_harness.py``); the kiosk's data folder is seeded
beforehand with matters reported in the period just ended. Every wait is bounded; both
processes are killed in ``finally``.
"""
from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect
from sync_harness import HQ, ROOT, Kiosk, add_site_api, base_env

from kiosk import ids
from kiosk.store import Store
from kiosk.tickets import figures

TZ = ZoneInfo("Asia/Shanghai")
SITE = "campus"
MANAGER, MANAGER_PIN = "Wang Fang", "1357"
ADMIN, ADMIN_PIN = "Zhao Min", "246810"
REMARKS = "十一月：电梯报修较多，已约厂家检修。"
ARRIVAL_TIMEOUT = 20.0


def run(*args: str) -> str:
    return subprocess.run([sys.executable, "run.py", *args], cwd=ROOT, env=base_env(),
                          capture_output=True, text=True, timeout=60, check=True).stdout


def seed(folder, period: figures.Period, count: int) -> None:
    """Create the kiosk's data folder as site ``SITE`` with ``count`` repairs reported on
    the period's first days, and a manager account."""
    store = Store(folder, site_id=SITE)
    try:
        for i in range(count):
            at = datetime.combine(period.first + timedelta(days=i), time(10), TZ)
            tid = ids.new_ticket_id(at)
            store.append([{"ticket_id": tid, "type": "reported",
                           "at": at.astimezone(timezone.utc).isoformat(),
                           "actor": {"role": "visitor"},
                           "data": {"number": f"R-{at:%m%d}-{i + 1:03d}",
                                    "token": ids.new_status_token(tid), "day": f"{at:%Y-%m-%d}",
                                    "category": "repair", "channel": "kiosk", "location": "",
                                    "description": f"seeded repair {i}", "name": "",
                                    "phone": "13812345678", "preferred_at": None,
                                    "due_at": (at + timedelta(minutes=30)).astimezone(
                                        timezone.utc).isoformat()}}])
    finally:
        store.close()
    run("staff", "add", MANAGER, "--role", "manager", "--pin", MANAGER_PIN, "--data", str(folder))


def sign_in(page: Page, url: str, name: str, pin: str) -> None:
    """On a sign-in page (the kiosk's or HQ's, both Chinese first), sign in."""
    page.goto(url)
    page.get_by_label(re.compile("^(您的称呼|称呼)$")).fill(name)
    page.get_by_label("密码").fill(pin)
    page.get_by_role("button", name="登录", exact=True).click()


def test_an_issued_report_arrives_at_a_real_hq(page: Page, browser, tmp_path):
    today = datetime.now(TZ).date()
    period = figures.period_ended(today, TZ, 1)
    hq = HQ(tmp_path / "hq-data", tmp_path / "hq.log")
    key = add_site_api(hq.data, SITE)
    run("hq", "admin", "add", ADMIN, "--pin", ADMIN_PIN, "--data", str(hq.data))
    seed(tmp_path / "kiosk", period, 3)
    kiosk = Kiosk(tmp_path / "kiosk", tmp_path / "kiosk.log", SITE, hq.url, key)
    try:
        hq.start()
        kiosk.start()
        kiosk.wait_drained()

        # the manager, on the kiosk: the queue offers the report of the month just ended
        kiosk_url = f"http://127.0.0.1:{kiosk.port}"
        sign_in(page, f"{kiosk_url}/staff/login", MANAGER, MANAGER_PIN)
        page.locator(f'a[href="/staff/reports/issue?period={period.key}"]').first.click()
        expect(page.locator("main")).to_contain_text(period.key)
        page.get_by_label(re.compile("^经理意见")).fill(REMARKS)
        page.get_by_role("button", name="签发报告").click()
        expect(page).to_have_url(f"{kiosk_url}/staff/reports/issued")

        # the admin, at HQ: it arrives with the next sync (the page is reloaded, bounded)
        admin = browser.new_page()
        sign_in(admin, f"http://127.0.0.1:{hq.port}/login", ADMIN, ADMIN_PIN)
        row = admin.locator(f'tr[id="issued-{SITE}-{period.key}"]')
        deadline = datetime.now() + timedelta(seconds=ARRIVAL_TIMEOUT)
        while True:
            admin.goto(f"http://127.0.0.1:{hq.port}/reports")
            if row.count() or datetime.now() > deadline:
                break
            admin.wait_for_timeout(200)
        assert row.count() == 1, f"not at HQ after {ARRIVAL_TIMEOUT} s\n{kiosk.tail()}"
        expect(row).to_contain_text(REMARKS)
        expect(row).to_contain_text(MANAGER)
        expect(row.locator('[data-figure="total"]')).to_have_text("3")  # the figures as issued
        assert kiosk.wait_drained()["sync"]["waiting"] == 0
    finally:
        kiosk.kill()
        hq.kill()
