#!/usr/bin/env python3
"""How fast is the receptionist's queue page with 100,000 closed tickets of history?

A fresh data folder (under the system temp folder, removed at the end) gets a
realistic history from ``bench/_history.py`` in a child process: the demo places,
~100,000 tickets reported over the past ~24 months, all closed but an open backlog
of 300 recent ones (mixed categories and channels, at every stage, some
unacknowledged emergencies, repairs past their due time), the projections built by
``Store.rebuild()``.

This process then opens the folder through ``create_app`` (like a restarted kiosk),
adds a receptionist with ``app.extensions["staff_directory"].add(...)`` and signs the
Flask test client in with a real ``POST /staff/login`` (with the CSRF token of the
sign-in page, as ``tests/helpers.py`` does). After a warm-up it times ``GET /staff/``
(the whole queue page) and the htmx partial the page polls every 5 s (``HX-Request:
true``, ``HX-Trigger: queue-rows``), alternating, each response checked to list
every open ticket.

Prints p50/p99 (ms, wall clock; thread CPU time too, which the load of other
processes on the machine disturbs less) of both and, last,
``queue p99 ms at 100k history: X``. Target: X <= 50.

    python bench/queue.py                     # about 1 minute
    python bench/queue.py --tickets 20000 --renders 100
"""
from __future__ import annotations

import os
import sys

# bench/queue.py must not shadow the standard library's ``queue`` for anything this script
# imports: the script's own folder (sys.path[0]) goes last, after the standard library
BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != BENCH] + [BENCH]

import argparse
import gc
import json
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from _history import OPEN_BACKLOG, config, fill, label, percentile, run_child  # noqa: E501 (bench/ is on sys.path, last)

TICKETS = 100_000
WARMUPS = 20
RENDERS = 300
FILL_TIMEOUT = 170           # seconds; the fill child is killed past this
STAFF_NAME, STAFF_PIN = "王芳", "2468"
PARTIAL = {"HX-Request": "true", "HX-Trigger": "queue-rows"}
ROW = re.compile(r'<tr class="row-(\w+)( alarm)?( due-(\w+))?')


def sign_in(app, client) -> None:
    """Add the receptionist and sign ``client`` in through the real sign-in form."""
    from datetime import datetime, timezone

    directory = app.extensions["staff_directory"]
    directory.add(STAFF_NAME, "receptionist", STAFF_PIN,
                  actor={"role": "system", "id": "bench", "name": "bench"},
                  now=datetime.now(timezone.utc))
    page = client.get("/staff/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post("/staff/login", data={"csrf_token": token, "name": STAFF_NAME,
                                          "pin": STAFF_PIN})
    assert r.status_code == 303, (r.status_code, r.get_data(as_text=True)[:300])


def get(client, headers: dict | None = None) -> tuple[float, float, str]:
    """GET /staff/; return wall ms, thread CPU ms and the body."""
    t, c = time.perf_counter(), time.thread_time()
    r = client.get("/staff/", headers=headers)
    body = r.get_data(as_text=True)
    dt, dc = time.perf_counter() - t, time.thread_time() - c
    assert r.status_code == 200, r.status_code
    return dt * 1000, dc * 1000, body


def summary(wall: list[float], cpu: list[float]) -> dict:
    wall, cpu = sorted(wall), sorted(cpu)
    return {"p50": statistics.median(wall), "p99": percentile(wall, 0.99), "max": wall[-1],
            "mean": statistics.fmean(wall), "cpu_p50": statistics.median(cpu),
            "cpu_p99": percentile(cpu, 0.99)}


def measure(data_dir: Path, warmups: int, renders: int, profile: str | None) -> dict:
    """Open the folder through the app, sign in, then time the page and its partial."""
    from kiosk import create_app

    t0 = time.perf_counter()
    app = create_app(config(data_dir, WTF_CSRF_ENABLED=True, STAFF_IDLE_SECONDS=3600))
    open_s = time.perf_counter() - t0
    store = app.extensions["kiosk_store"]
    try:
        client = app.test_client()
        sign_in(app, client)
        n_open = store.status()["open_tickets"]
        _, _, page = get(client)
        rows = ROW.findall(page)
        assert len(rows) == n_open, (len(rows), n_open)
        info = {"open_s": open_s, "open": n_open, "page_kb": len(page.encode()) / 1024,
                "alarms": sum(1 for r in rows if r[1]),
                "late": sum(1 for r in rows if r[3] == "late"),
                "categories": len({r[0] for r in rows})}
        _, _, part = get(client, PARTIAL)
        assert part.lstrip().startswith("<tbody") and len(ROW.findall(part)) == n_open
        info["partial_kb"] = len(part.encode()) / 1024
        for _ in range(warmups):
            get(client)
            get(client, PARTIAL)
        if profile:
            import cProfile
            import pstats

            prof = cProfile.Profile()
            prof.enable()
            for _ in range(50):
                get(client)
            prof.disable()
            pstats.Stats(prof).sort_stats(profile).print_stats(40)
        times = {"page": ([], []), "partial": ([], [])}
        full_gc = []  # full (generation 2) garbage collections during the timed renders

        def count_full_gc(phase: str, info: dict) -> None:
            if phase == "start" and info["generation"] == 2:
                full_gc.append(1)

        gc.callbacks.append(count_full_gc)
        try:
            for i in range(renders):
                # alternate which goes first, so both see the same machine load
                for which in (("page", "partial") if i % 2 == 0 else ("partial", "page")):
                    wall, cpu, body = get(client, PARTIAL if which == "partial" else None)
                    assert body.count('<tr class="row-') == n_open
                    times[which][0].append(wall)
                    times[which][1].append(cpu)
        finally:
            gc.callbacks.remove(count_full_gc)
        info.update({which: summary(*t) for which, t in times.items()}, full_gc=len(full_gc))
    finally:
        store.close()
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=TICKETS,
                        help="tickets of history, %d of them open (default: %%(default)s)"
                        % OPEN_BACKLOG)
    parser.add_argument("--renders", type=int, default=RENDERS,
                        help="timed renders of the page and of the partial each "
                             "(default: %(default)s)")
    parser.add_argument("--warmups", type=int, default=WARMUPS)
    parser.add_argument("--profile", metavar="SORT",
                        help="print a cProfile of 50 page renders sorted by SORT "
                             "(e.g. cumulative) before timing")
    parser.add_argument("--fill", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fill:
        print(json.dumps(fill(Path(args.fill), args.tickets)))
        return

    tmp = Path(tempfile.mkdtemp(prefix="frontdesk-queue-"))
    try:
        data_dir = tmp / "data"
        f = run_child(__file__, "--fill", str(data_dir), "--tickets", str(args.tickets),
                      timeout=FILL_TIMEOUT)
        print(f"{label(args.tickets)} tickets: {f['events']} events, {f['open']} open, "
              f"{f['disk_mb']:.0f} MB on disk; generate {f['generate_s']:.1f} s, "
              f"log {f['log_s']:.1f} s, Store.rebuild() {f['rebuild_s']:.1f} s "
              f"(CPU {f['rebuild_cpu_s']:.1f} s)", flush=True)
        m = measure(data_dir, args.warmups, args.renders, args.profile)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"app open {m['open_s']:.2f} s; queue: {m['open']} rows ({m['alarms']} emergency "
          f"alarms, {m['late']} late, {m['categories']} categories), page {m['page_kb']:.0f} KB, "
          f"partial {m['partial_kb']:.0f} KB; {m['full_gc']} full garbage collections during "
          f"the {2 * args.renders} timed renders")
    for which, name in (("partial", "htmx partial (HX-Trigger: queue-rows)"),
                        ("page", "GET /staff/ (whole page)")):
        s = m[which]
        print(f"{name}, n={args.renders}: p50 {s['p50']:.2f} ms  p99 {s['p99']:.2f} ms  "
              f"max {s['max']:.2f} ms  mean {s['mean']:.2f} ms (CPU: p50 {s['cpu_p50']:.2f} ms  "
              f"p99 {s['cpu_p99']:.2f} ms)", flush=True)
    print(f"queue p99 ms at {label(args.tickets)} history: {m['page']['p99']:.2f}")


if __name__ == "__main__":
    main()
