#!/usr/bin/env python3
"""How fast does a kiosk's backlog drain to HQ? (the sync worker against a real HQ)

Builds a fresh kiosk data folder holding a backlog of ``--events`` events (default
100,000): ticket lives (reported, confirmed, dispatched, noted, closed, spread over two
years) with some place and staff events between, written straight into the log in big
batches (``log.write(log.prepare(...))``, one fsync each), the projections then built
once (``Store.rebuild``). Starts HQ as its own process (``python run.py hq`` on a
temp data folder and a free port on 127.0.0.1) with the site's key, then drains the
backlog with the real ``SyncWorker`` on the real ``Store`` in this process
(``run_once`` until nothing waits: what the worker thread does while a backlog
remains), and checks that HQ holds every event once, with its chain intact.

Prints the build and drain figures and, last, ``sync drain events/s: X``.
Target: X >= 3000 on a 2-core machine.

    python bench/sync_drain.py                       # 100,000 events, about 30 s
    python bench/sync_drain.py --events 20000 --profile   # cProfile the kiosk's side,
                                                     # then HQ's side (in-process replay)
"""
from __future__ import annotations

import os
import sys

# bench/queue.py must not shadow the standard library's ``queue``: this script's folder
# (sys.path[0]) goes last
BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != BENCH] + [BENCH]

import argparse
import random
import shutil
import sqlite3
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _hq_server import HOST, start_hq, stop  # noqa: E402

SITE = "bench-site"
BATCH_WRITE = 20_000
STAFF = [{"role": "receptionist", "id": f"st-{i}", "name": n}
         for i, n in enumerate(("王芳", "李强", "张伟"), 1)]


def backlog(n: int, seed: int = 1) -> list[dict]:
    """Return ``n`` partial events: ticket lives in time order, a site event now and then."""
    from kiosk import ids

    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    start = now - timedelta(days=730)
    step = timedelta(days=730) / max(1, n // 4)
    out: list[dict] = []
    numbers: dict[str, int] = {}
    at = start
    while len(out) < n:
        at += step
        if rng.random() < 0.05:
            code = f"B{rng.randrange(20):02d}-{rng.randrange(50):03d}"
            out.append({"ticket_id": None, "type": "location_saved", "at": at.isoformat(),
                        "actor": STAFF[0], "data": {"code": code, "name_zh": f"教学楼 {code}",
                                                    "name_en": f"Building {code}",
                                                    "building": code[:3], "active": True}})
            continue
        tid = ids.new_ticket_id(at)
        day = at.date().isoformat()
        numbers[day] = k = numbers.get(day, 0) + 1
        repair = rng.random() < 0.5
        staff = rng.choice(STAFF)
        life = [("reported", {"visitor": True}, {
            "number": f"{'R' if repair else 'Q'}-{at:%m%d}-{k:03d}",
            "token": ids.new_status_token(tid), "day": day,
            "category": "repair" if repair else "inquiry", "channel": "kiosk",
            "location": "DEMO-LIB" if repair else "", "description": rng.choice(
                ["卫生间水龙头一直滴水", "走廊灯不亮了", "空调不制冷", "请问快递柜在哪里？",
                 "The light in the stairwell is broken"]),
            "name": "", "phone": f"13{rng.randrange(10**9):09d}", "preferred_at": None,
            "due_at": (at + timedelta(minutes=30)).isoformat()})]
        life.append(("confirmed", staff, {}))
        if repair:  # the procedures of kiosk/tickets/rules.py, so HQ's rules apply each step
            life += [("dispatched", staff, {"department": "maintenance", "technician": None}),
                     ("arrived", staff, {"how": "declared"}),
                     ("completed", staff, {"result": "已修好",
                                           "revisit_due": (at + timedelta(days=1)).isoformat()}),
                     ("revisited", staff, {"outcome": "satisfied", "comment": ""})]
        else:
            life += [("resolved", staff, {"result": "已答复"}),
                     ("fed_back", staff, {"how": "phone", "said": ""})]
        life.append(("noted", staff, {"text": "已处理，已回访"}))
        life.append(("closed", staff, {"reason": "done"}))
        t = at
        for kind, actor, data in life:
            t += timedelta(minutes=rng.uniform(1, 30))
            out.append({"ticket_id": tid, "type": kind, "at": t.isoformat(),
                        "actor": {"role": "visitor"} if kind == "reported" else actor,
                        "data": data})
    return out[:n]


def build(folder: Path, n: int) -> dict:
    """Make a fresh kiosk data folder with ``n`` events waiting; return timings."""
    from kiosk.store import Store

    t0 = time.perf_counter()
    partials = backlog(n)
    t1 = time.perf_counter()
    store = Store(folder, site_id=SITE)
    try:
        for i in range(0, len(partials), BATCH_WRITE):
            store._log.write(store._log.prepare(partials[i:i + BATCH_WRITE]))
        t2 = time.perf_counter()
        store.rebuild()  # the projections in step, as a kiosk that wrote them one by one
    finally:
        store.close()
    return {"generate_s": t1 - t0, "log_s": t2 - t1, "rebuild_s": time.perf_counter() - t2}


def add_site(hq_data: Path) -> tuple[str, str]:
    from sync import protocol
    from hq.database import open_store

    key_id, secret = protocol.new_key()
    store = open_store(hq_data)
    try:
        store.add_site(SITE, "Bench site", key_id, secret, datetime.now(timezone.utc))
    finally:
        store.close()
    return key_id, secret


def drain(kiosk: Path, url: str, key_id: str, secret: str, profile: Path | None) -> dict:
    """Push the whole backlog with the real worker; return what it took."""
    from kiosk.store import Store
    from sync.state import Settings
    from sync.worker import SyncWorker

    store = Store(kiosk)
    try:
        worker = SyncWorker(store, Settings(url, SITE, key_id, secret))
        rounds = 0
        profiler = None
        if profile:
            import cProfile
            profiler = cProfile.Profile()
            profiler.enable()
        t0 = time.perf_counter()
        c0 = time.process_time()
        while True:
            delay = worker.run_once()
            rounds += 1
            status = worker.status()
            if not status["waiting"] or delay:
                break
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile)
        return {"seconds": elapsed, "kiosk_cpu_s": cpu, "rounds": rounds, "status": status,
                "last_seq": store.last_seq}
    finally:
        store.close()


def check_hq(hq_data: Path, last_seq: int) -> None:
    """HQ holds seqs 1..last_seq once each, and the site's chain verifies."""
    from hq.chain import verify_site_chain
    from hq.database import open_store

    db = sqlite3.connect(f"file:{hq_data / 'hq.sqlite3'}?mode=ro", uri=True)
    try:
        count, low, high, ids = db.execute(
            "SELECT COUNT(*), MIN(seq), MAX(seq), COUNT(DISTINCT event_id) FROM events "
            "WHERE site_id = ?", (SITE,)).fetchone()
    finally:
        db.close()
    assert (count, low, high, ids) == (last_seq, 1, last_seq, last_seq), (count, low, high, ids)
    store = open_store(hq_data)
    try:
        problems = verify_site_chain(store, SITE)
    finally:
        store.close()
    assert not problems, problems[:5]


def profile_hq(kiosk: Path, n: int, out: Path) -> None:
    """cProfile HQ's side: the same signed batches through the HQ app in this process."""
    import cProfile

    from kiosk.eventlog import EventLog
    from sync import client, protocol
    from hq import create_hq_app
    from sync.state import Settings

    hq_dir = out.parent / "hq-profile"
    app = create_hq_app({"TESTING": True, "DATA_DIR": str(hq_dir)})
    key_id, secret = add_site(hq_dir)
    settings = Settings("http://hq", SITE, key_id, secret)
    log = EventLog(kiosk / "log", SITE)
    events = list(log.read())[:n]
    log.close()
    requests = []
    for i in range(0, len(events), protocol.MAX_BATCH_EVENTS):
        chunk = client.batch(iter(events[i:]))
        requests.append(client.build(settings, None, chunk, "1"))
    test = app.test_client()
    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    for r in requests:
        response = test.post(r.path, data=r.body, headers=r.headers)
        assert response.status_code == 200, response.get_data()[:200]
    profiler.disable()
    took = time.perf_counter() - t0
    profiler.dump_stats(out)
    app.extensions["hq_store"].close()
    print(f"HQ in-process: {len(events)} events in {took:.2f} s "
          f"({len(events) / took:.0f} events/s, profiler on)")


def print_profile(path: Path, title: str, limit: int = 25) -> None:
    import pstats

    print(f"\n--- {title} (cumulative) ---")
    pstats.Stats(str(path)).sort_stats("cumulative").print_stats(limit)
    print(f"--- {title} (own time) ---")
    pstats.Stats(str(path)).sort_stats("tottime").print_stats(limit)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the kiosk's side of the drain, then HQ's side")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="sync-drain-"))
    hq = None
    try:
        kiosk, hq_data = tmp / "kiosk", tmp / "hq-data"
        built = build(kiosk, args.events)
        print(f"backlog: {args.events} events built in "
              f"{sum(built.values()):.1f} s ({', '.join(f'{k} {v:.1f}' for k, v in built.items())})")
        key_id, secret = add_site(hq_data)
        hq, port = start_hq(hq_data, tmp / "hq.log", timeout=20)
        result = drain(kiosk, f"http://{HOST}:{port}", key_id, secret,
                       tmp / "kiosk.prof" if args.profile else None)
        status = result["status"]
        assert status["waiting"] == 0 and not status["alarm"], status
        assert status["acked_through"] == result["last_seq"], status
        check_hq(hq_data, result["last_seq"])
        rate = result["last_seq"] / result["seconds"]
        print(f"drained: {result['last_seq']} events in {result['rounds']} batches, "
              f"{result['seconds']:.1f} s (kiosk CPU {result['kiosk_cpu_s']:.1f} s); "
              f"HQ holds each once, chain verified")
        if args.profile:
            print_profile(tmp / "kiosk.prof", "kiosk side: SyncWorker.run_once")
            profile_hq(kiosk, min(args.events, 20_000), tmp / "hq.prof")
            print_profile(tmp / "hq.prof", "HQ side: POST /api/v1/sites/<site>/events")
        print(f"sync drain events/s: {rate:.1f}")
        return 0
    finally:
        if hq is not None:
            stop(hq, wait=10)
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
