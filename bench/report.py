#!/usr/bin/env python3
"""How fast is the customer feedback report over a year of data (R13)?

A fresh data folder (under the system temp folder, removed at the end) gets a year of
history from ``bench/_history.py`` in a child process: 100,000 tickets reported over
the past 365 days, each taken through its category's whole procedure (dispatched, on
site, completed, revisited; signed off, transferred, told; ...), all closed but an open
backlog of 300, the projections built by ``Store.rebuild()``.

Two measurements, side by side in this one run:

- the baseline, in a fresh child process: one read of those events, every line of the
  event log parsed once (``EventLog.read()``), which is what any report computed from
  the log itself would at least cost;
- the report: this process opens the folder through ``create_app`` (like a restarted
  kiosk), signs a manager in through the real sign-in form, and times
  ``GET /staff/reports?preset=last_month`` (the page, its figures over the month and
  the month before it, its charts): the first render, which reads those months'
  archives from disk, then ``RENDERS`` renders after it (the archives in memory, as
  on a kiosk that keeps running).

Prints both, then ``report seconds at 100k: X`` (the median of the renders after the
first; target X <= 0.5) and, last, ``report / one read of the log: Y``.

    python bench/report.py                    # about 1 minute
    python bench/report.py --tickets 20000
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _history import config, fill, label, run_child

TICKETS = 100_000
DAYS = 365
RENDERS = 20
FILL_TIMEOUT = 170  # seconds; the fill child is killed past this
READ_TIMEOUT = 120
NAME, PIN = "周敏", "1357"
PAGE = "/staff/reports?preset=last_month"


def read_log(data_dir: Path) -> dict:
    """Parse every event of the log once; return the seconds and the count."""
    from kiosk.eventlog import EventLog

    site = json.loads((data_dir / "site.json").read_text())["site_id"]
    log = EventLog(data_dir / "log", site)
    try:
        t = time.perf_counter()
        n = sum(1 for _ in log.read())
        return {"events": n, "seconds": time.perf_counter() - t}
    finally:
        log.close()


def sign_in(app, client) -> None:
    """Add a manager and sign ``client`` in through the real sign-in form."""
    from datetime import datetime, timezone

    app.extensions["staff_directory"].add(NAME, "manager", PIN,
                                          actor={"role": "system", "id": "bench", "name": "bench"},
                                          now=datetime.now(timezone.utc))
    page = client.get("/staff/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post("/staff/login", data={"csrf_token": token, "name": NAME, "pin": PIN})
    assert r.status_code == 303, (r.status_code, r.get_data(as_text=True)[:300])


def render(client) -> tuple[float, str]:
    t = time.perf_counter()
    r = client.get(PAGE)
    body = r.get_data(as_text=True)
    seconds = time.perf_counter() - t
    assert r.status_code == 200, (r.status_code, body[:300])
    return seconds, body


def measure(data_dir: Path, renders: int) -> dict:
    from kiosk import create_app

    app = create_app(config(data_dir, WTF_CSRF_ENABLED=True, STAFF_IDLE_SECONDS=3600))
    try:
        client = app.test_client()
        sign_in(app, client)
        first, page = render(client)
        assert "<svg" in page, "the report has no chart"
        after = sorted(render(client)[0] for _ in range(renders))
        return {"first": first, "median": statistics.median(after), "max": after[-1],
                "page_kb": len(page.encode()) / 1024}
    finally:
        app.extensions["kiosk_store"].close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=TICKETS,
                        help="tickets over the last %d days (default: %%(default)s)" % DAYS)
    parser.add_argument("--renders", type=int, default=RENDERS)
    parser.add_argument("--fill", metavar="DIR", help=argparse.SUPPRESS)
    parser.add_argument("--read", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fill:
        print(json.dumps(fill(Path(args.fill), args.tickets, days=DAYS)))
        return
    if args.read:
        print(json.dumps(read_log(Path(args.read))))
        return

    tmp = Path(tempfile.mkdtemp(prefix="frontdesk-report-"))
    try:
        data_dir = tmp / "data"
        f = run_child(__file__, "--fill", str(data_dir), "--tickets", str(args.tickets),
                      timeout=FILL_TIMEOUT)
        print(f"{label(args.tickets)} tickets over {DAYS} days: {f['events']} events, "
              f"{f['open']} open, {f['disk_mb']:.0f} MB on disk (made in "
              f"{f['generate_s'] + f['log_s'] + f['rebuild_s']:.1f} s)", flush=True)
        base = run_child(__file__, "--read", str(data_dir), timeout=READ_TIMEOUT)
        print(f"one read of the log: {base['events']} events parsed in "
              f"{base['seconds']:.2f} s", flush=True)
        m = measure(data_dir, args.renders)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"GET {PAGE}: first render {m['first']:.3f} s (the months' archives read from "
          f"disk), then n={args.renders}: median {m['median']:.3f} s, max {m['max']:.3f} s; "
          f"page {m['page_kb']:.0f} KB")
    print(f"report seconds at {label(args.tickets)}: {m['median']:.3f}")
    print(f"report / one read of the log: {m['median'] / base['seconds']:.3f}")


if __name__ == "__main__":
    sys.exit(main())
