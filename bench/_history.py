"""A realistic ticket history for the benchmarks, written fast (shared by the bench scripts).

``fill(data_dir, n_tickets)`` makes a fresh data folder the way the kiosk would have
after ~24 months of use: the demo places (via ``create_app``), then ``n_tickets``
tickets written straight into the event log in big batches
(``store._log.write(store._log.prepare(batch))``, one fsync per batch), then the
projections built from the log by ``Store.rebuild()`` (one fold in memory, each file
written once). Nearly all tickets are closed; an open backlog of ``OPEN_BACKLOG``
recent tickets (the same at every size; ``open_backlog`` asks for another) is left at
every stage of its life: new visitor entries, confirmed, dispatched repairs, handled
ones; of mixed categories and channels, with some unacknowledged emergencies, repairs
past their 30-minute due time and repairs booked for a time to come.

It also holds what the benches measure with: ``percentile``, ``label`` and
``run_child`` (one phase of a bench in a fresh Python process).

Not a benchmark itself: ``import _history`` from a script in ``bench/``.
"""
from __future__ import annotations

import json
import math
import random
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

OPEN_BACKLOG = 300
HISTORY_DAYS = 730          # ~24 months
BATCH_EVENTS = 20_000       # events per log write (one fsync each)
SITE_TZ = ZoneInfo("Asia/Shanghai")

VISITOR = {"role": "visitor"}
STAFF = [{"role": "receptionist", "id": f"st-bench{i}", "name": name}
         for i, name in enumerate(("王芳", "李强", "张伟", "刘洋"), 1)]
CATEGORY_WEIGHTS = {"repair": 45, "complaint": 10, "inquiry": 22, "suggestion": 6,
                    "emergency": 2, "other": 15}
#: the open backlog has more emergencies than the history: a few alarms on the queue
OPEN_CATEGORY_WEIGHTS = {**CATEGORY_WEIGHTS, "emergency": 5}
CHANNEL_WEIGHTS = {"kiosk": 40, "qr": 20, "phone": 30, "walk_in": 10}
PLACES = ["DEMO-T1", "DEMO-T1-201", "DEMO-D3", "DEMO-D3-LOBBY", "DEMO-LIB", "DEMO-CANTEEN",
          "DEMO-GYM", "DEMO-GATE-N"]
DESCRIPTIONS = ["卫生间水龙头一直滴水", "教室投影仪无法开机", "走廊灯不亮了", "空调不制冷",
                "门禁卡刷不开", "食堂地面湿滑，请处理", "Wi-Fi信号很差", "窗户关不上",
                "The light in the stairwell is broken", "请问快递柜在哪里？"]


def config(data_dir: Path, **extra) -> dict:
    """The app settings every bench uses: testing, no CSRF, no rate limit, no sync."""
    return {"TESTING": True, "WTF_CSRF_ENABLED": False, "DATA_DIR": str(data_dir),
            "RATE_LIMIT": 10**9, "SECRET_KEY": "bench", **extra}


#: The steps of each category's procedure, in order, with typical data (rules.PROCEDURES).
_PASSED_ON = [("resolved", {"result": "已答复"}), ("fed_back", {"how": "phone", "said": ""})]
PROCEDURE = {
    "repair": [("dispatched", {"department": "maintenance", "technician": None}),
               ("arrived", {"how": "verified"}), ("completed", {"result": "已修好"}),
               ("revisited", {"outcome": "satisfied", "comment": ""})],
    "complaint": [("investigated", {"facts": "已核实"}), ("signed_off", {"remarks": ""}),
                  ("transferred", {"department": "security", "person": None}),
                  ("resolved", {"result": "已处理"}), ("fed_back", {"how": "phone", "said": ""})],
    "emergency": [("acknowledged", {"level": 0, "by": "经理"}), ("resolved", {"result": "已处置"})],
    "inquiry": _PASSED_ON, "suggestion": _PASSED_ON, "other": _PASSED_ON,
}

def history(n_tickets: int, now: datetime, seed: int = 1,
            open_backlog: int = OPEN_BACKLOG, days: int = HISTORY_DAYS) -> list[dict]:
    """Return the partial events of ``n_tickets`` tickets reported over the last ``days``
    days, in time order; at most ``open_backlog`` of them (and half of all) stay open."""
    from kiosk import ids
    from kiosk.tickets import rules

    rng = random.Random(seed)
    n_open = min(open_backlog, n_tickets // 2)
    reports = sorted(
        [(now - timedelta(seconds=rng.uniform(2 * 86400, days * 86400)), False)
         for _ in range(n_tickets - n_open)]
        # the open backlog: half came in the last six hours, half over two weeks
        + [(now - timedelta(seconds=rng.uniform(60, 6 * 3600) if i % 2
                            else rng.uniform(6 * 3600, 14 * 86400)), True)
           for i in range(n_open)])
    numbers: dict[str, int] = {}
    events: list[tuple[datetime, int, dict]] = []

    def add(tid: str, kind: str, at: datetime, actor: dict, data: dict | None = None):
        events.append((at, len(events), {"ticket_id": tid, "type": kind, "at": at.isoformat(),
                                         "actor": actor, "data": data or {}}))

    for at, stays_open in reports:
        weights = OPEN_CATEGORY_WEIGHTS if stays_open else CATEGORY_WEIGHTS
        category = rng.choices(list(weights), list(weights.values()))[0]
        channel = rng.choices(list(CHANNEL_WEIGHTS), list(CHANNEL_WEIGHTS.values()))[0]
        local = at.astimezone(SITE_TZ)
        day = local.date().isoformat()
        numbers[day] = n = numbers.get(day, 0) + 1
        tid = ids.new_ticket_id(at)
        # a quarter of the open repairs are booked for a time to come: due later, or soon
        preferred = None
        if stays_open and category == "repair" and rng.random() < 0.25:
            preferred = (now + timedelta(minutes=rng.uniform(2, 2 * 1440))).replace(
                second=0, microsecond=0)
        due = rules.due_at(category, channel, at, SITE_TZ, preferred)
        visitor = channel in rules.VISITOR_CHANNELS
        add(tid, "reported", at, VISITOR if visitor else rng.choice(STAFF), {
            "number": f"{rules.CATEGORIES[category].letter}-{local:%m%d}-{n:03d}",
            "token": ids.new_status_token(tid), "day": day, "category": category,
            "channel": channel,
            "location": rng.choice(PLACES) if category in ("repair", "complaint", "emergency")
            or rng.random() < 0.3 else "",
            "description": rng.choice(DESCRIPTIONS), "name": rng.choice(["", "王同学", "Li"]),
            "phone": f"13{rng.randrange(10**9):09d}",
            "preferred_at": preferred.isoformat() if preferred else None,
            "due_at": due.isoformat() if due else None})
        staff = rng.choice(STAFF)
        t = at
        if not stays_open and rng.random() < 0.08:  # duplicate or spam, closed at once
            add(tid, "closed", t + timedelta(minutes=rng.uniform(2, 30)), staff,
                {"reason": rng.choice(["duplicate", "spam", "withdrawn"])})
            continue
        # each category's procedure (kiosk/tickets/rules.py); open ones stop on the way,
        # the newest before anyone looked at them, half the open emergencies unacknowledged
        steps = ([] if not visitor else [("confirmed", {})]) + PROCEDURE[category]
        if stays_open:
            done = 0 if at > now - timedelta(hours=2) else rng.randrange(len(steps) + 1)
            if category == "emergency" and rng.random() < 0.5:
                done = 0
        else:
            done = len(steps)
        for kind, data in steps[:done]:
            t = min(t + timedelta(minutes=rng.uniform(3, 120)), now - timedelta(minutes=1))
            if kind in ("completed", "fed_back"):
                data = {**data, "revisit_due": (t + timedelta(days=1)).isoformat()}
            add(tid, kind, t, staff, data)
        if not stays_open:
            t = min(t + timedelta(minutes=rng.uniform(30, 1440)), now - timedelta(minutes=1))
            add(tid, "closed", t, staff, {"reason": "done"})
    events.sort(key=lambda e: (e[0], e[1]))
    return [e[2] for e in events]


def fill(data_dir: Path, n_tickets: int, seed: int = 1, open_backlog: int = OPEN_BACKLOG,
         days: int = HISTORY_DAYS) -> dict:
    """Create a data folder with ``n_tickets`` tickets of history, ``open_backlog`` of
    them open; return timings (s).

    Leaves the folder closed, its projections in step with the log (checked by
    reopening it once: nothing may be replayed or rebuilt any more).
    """
    from kiosk import create_app
    from kiosk.store import Store

    app = create_app(config(data_dir))          # demo places, seq 1
    app.extensions["kiosk_store"].close()
    t0 = time.perf_counter()
    partials = history(n_tickets, datetime.now(timezone.utc), seed, open_backlog, days)
    t1 = time.perf_counter()
    store = Store(data_dir)
    try:
        for i in range(0, len(partials), BATCH_EVENTS):
            store._log.write(store._log.prepare(partials[i:i + BATCH_EVENTS]))
        t2 = time.perf_counter()
        c2 = time.process_time()
        store.rebuild()
        t3, c3 = time.perf_counter(), time.process_time()
    finally:
        store.close()
    last_seq = store.last_seq
    t4 = time.perf_counter()
    store = Store(data_dir)
    try:
        assert min(p.seq for p in store._projections()) == last_seq == store.last_seq
        n_open = len(store.open_summaries())
    finally:
        store.close()
    return {"events": last_seq, "open": n_open, "generate_s": t1 - t0, "log_s": t2 - t1,
            "rebuild_s": t3 - t2, "rebuild_cpu_s": c3 - c2, "reopen_s": time.perf_counter() - t4,
            "disk_mb": sum(p.stat().st_size for p in data_dir.rglob("*") if p.is_file()) / 1e6}


# -- measuring, shared by the bench scripts ---------------------------------------------
def percentile(sorted_ms: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    return sorted_ms[max(0, math.ceil(q * len(sorted_ms)) - 1)]


def label(n: int) -> str:
    """Return a size as the benches print it: ``100``, ``10k``."""
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def child_args(script: str, *args: str) -> list[str]:
    """Return the command that runs ``script`` (a bench's ``__file__``) with ``args``."""
    return [sys.executable, str(Path(script).resolve()), *args]


def run_child(script: str, *args: str, timeout: float) -> dict:
    """Run one phase of ``script`` in a fresh Python process; return its last line, parsed."""
    out = subprocess.run(child_args(script, *args), capture_output=True, text=True,
                         timeout=timeout, cwd=ROOT)
    if out.returncode:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"bench step {' '.join(args[:2])} failed ({out.returncode})")
    return json.loads(out.stdout.strip().splitlines()[-1])
