"""Acceptance (issue 11): a manager issues the customer feedback report on a real kiosk,
through its form over HTTP, and sees it arrive at a real HQ process with the next sync.

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

from live import Browser
from sync_harness import HQ, ROOT, Kiosk, add_site_api, base_env, wait_until

from kiosk import ids
from kiosk.store import Store
from kiosk.tickets import figures

TZ = ZoneInfo("Asia/Shanghai")
SITE = "campus"
MANAGER, MANAGER_PIN = "Wang Fang", "1357"
ADMIN, ADMIN_PIN = "Zhao Min", "246810"
REMARKS = "十一月：电梯报修较多，已约厂家检修。"
ARRIVAL_TIMEOUT = 20.0
FORM = re.compile(r'action="/staff/reports/issue\?period=([^"]+)"')


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


def test_an_issued_report_arrives_at_a_real_hq(tmp_path):
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

        desk = Browser(kiosk.port)
        assert desk.sign_in("/staff/login", MANAGER, MANAGER_PIN).status == 303
        page = desk.get("/staff/reports/issue")  # the last period ended
        assert page.status == 200, page.text[:500]
        assert FORM.search(page.text).group(1) == period.key
        form = {name: re.search(rf'name="{name}" value="([^"]+)"', page.text).group(1)
                for name in ("csrf_token", "request_id")}
        issued = desk.post(f"/staff/reports/issue?period={period.key}",
                           {**form, "remarks": REMARKS})
        assert issued.status == 303 and issued.location == "/staff/reports/issued"
        assert desk.post(f"/staff/reports/issue?period={period.key}",
                         {**form, "remarks": REMARKS}).status == 303  # a resend: nothing new

        admin = Browser(hq.port)
        assert admin.sign_in("/login", ADMIN, ADMIN_PIN).status == 303
        row_id = f'id="issued-{SITE}-{period.key}"'
        polls = 0

        def arrived():
            nonlocal polls
            polls += 1
            text = admin.get("/reports").text
            return text if row_id in text else None

        html = wait_until(arrived, ARRIVAL_TIMEOUT, step=0.2)
        assert html, f"not at HQ after {ARRIVAL_TIMEOUT} s ({polls} polls)\n{kiosk.tail()}"
        assert polls <= ARRIVAL_TIMEOUT / 0.2 + 1
        row = re.search(rf'<tr {row_id}>(.*?)</tr>', html, re.S).group(1)
        assert REMARKS in row and MANAGER in row
        assert re.search(r'data-figure="total">\s*3\s*<', row)  # the figures as issued
        health = kiosk.wait_drained()
        assert health["sync"]["waiting"] == 0
        assert html.count(row_id) == 1  # issued once, however often it was sent
    finally:
        kiosk.kill()
        hq.kill()
