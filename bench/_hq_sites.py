"""Realistic event chains of many sites for the HQ benches (shared by hq_ingest.py and
hq_dashboard.py; not a benchmark itself).

``site_chain(site_id, n_events, seed, end, days)`` returns a site's first ``n_events``
events, whole and hash-chained as its kiosk would have written them (``sync.events``):
ticket lives over ``days`` days up to ``end``, each through its category's procedure
(``kiosk.tickets.rules``), so HQ folds every one: repairs dispatched, on site, completed,
revisited and closed; inquiries, suggestions and others answered, told and closed;
complaints investigated, signed off, transferred, answered; emergencies acknowledged and
handled; some closed at once as duplicates. Tickets of the last days stay open at every
stage of their life. About 5.1 events a ticket (``EVENTS_PER_TICKET``).
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
import sys

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kiosk import ids  # noqa: E402
from kiosk.tickets import rules  # noqa: E402
from sync.events import GENESIS, chain  # noqa: E402

EVENTS_PER_TICKET = 5.1
#: category, weight (a duplicate is a repair closed at once)
MIX = (("repair", 0.35), ("inquiry", 0.25), ("suggestion", 0.1), ("other", 0.1),
       ("complaint", 0.07), ("emergency", 0.03), ("duplicate", 0.10))
STAFF = [{"role": "receptionist", "id": f"st-{i}", "name": n}
         for i, n in enumerate(("王芳", "李强", "张伟", "刘洋"), 1)]
MANAGER = {"role": "manager", "id": "mg-1", "name": "赵敏"}
TEXTS = ["卫生间水龙头一直滴水", "走廊灯不亮了", "空调不制冷", "请问快递柜在哪里？",
         "The light in the stairwell is broken", "楼下噪音太大，晚上无法休息", "电梯按钮失灵"]


def _steps(category: str, at: datetime) -> list[tuple[str, dict]]:
    """The steps after ``reported``: (type, data), actor chosen by the caller."""
    if category == "duplicate":
        return [("closed", {"reason": "duplicate"})]
    steps = [("confirmed", {})]
    if category == "repair":
        steps += [("dispatched", {"department": "maintenance", "technician": None}),
                  ("arrived", {"how": "declared"}),
                  ("completed", {"result": "已修好",
                                 "revisit_due": (at + timedelta(days=1)).isoformat()}),
                  ("revisited", {"outcome": "satisfied", "comment": ""})]
    elif category == "complaint":
        steps += [("investigated", {"facts": "已核实"}), ("signed_off", {"remarks": ""}),
                  ("transferred", {"department": "customer_service", "person": ""}),
                  ("resolved", {"result": "已处理"}), ("fed_back", {"how": "phone", "said": ""})]
    elif category == "emergency":
        steps += [("acknowledged", {"level": 0}), ("resolved", {"result": "已处置"})]
    else:
        steps += [("resolved", {"result": "已答复"}), ("fed_back", {"how": "phone", "said": ""})]
    return steps + [("closed", {"reason": "done"})]


def partials(site_id: str, n_events: int, seed: int, end: datetime,
             days: int = 365) -> list[dict]:
    """Return a site's first ``n_events`` event parts (``sync.events.new`` shape)."""
    rng = random.Random(seed)
    start = end - timedelta(days=days)
    step = timedelta(days=days) / max(1, n_events / EVENTS_PER_TICKET)
    open_after = end - timedelta(days=3)
    cats, weights = zip(*MIX)
    out: list[dict] = []
    numbers: dict[str, int] = {}
    at = start
    while len(out) < n_events:
        at += step * rng.uniform(0.5, 1.5)
        category = rng.choices(cats, weights)[0]
        real = "repair" if category == "duplicate" else category
        tid = ids.new_ticket_id(at)
        local = at + timedelta(hours=8)
        day = local.date().isoformat()
        numbers[day] = k = numbers.get(day, 0) + 1
        out.append({"ticket_id": tid, "type": "reported", "at": at.isoformat(),
                    "actor": {"role": "visitor"},
                    "data": {"number": f"{real[0].upper()}-{local:%m%d}-{k:03d}",
                             "token": ids.new_status_token(tid), "day": day,
                             "category": real, "channel": rng.choice(("kiosk", "phone")),
                             "location": "", "description": rng.choice(TEXTS), "name": "",
                             "phone": f"13{rng.randrange(10**9):09d}", "preferred_at": None,
                             "due_at": (at + timedelta(minutes=30)).isoformat()}})
        steps = _steps(category, at)
        if rules.initial_status(out[-1]["data"]["channel"]) != "new":
            steps = [s for s in steps if s[0] != "confirmed"]  # taken by staff: open already
        if at > open_after:  # recent: still on its way
            steps = steps[:rng.randrange(len(steps))]
        t = at
        for kind, data in steps:
            t += timedelta(minutes=rng.uniform(1, 20))
            actor = MANAGER if kind == "signed_off" else rng.choice(STAFF)
            out.append({"ticket_id": tid, "type": kind, "at": t.isoformat(), "actor": actor,
                        "data": data})
    return out[:n_events]


def site_chain(site_id: str, n_events: int, seed: int, end: datetime | None = None,
               days: int = 365) -> list[dict]:
    """Return a site's first ``n_events`` whole events, chained from seq 1."""
    end = end or datetime(2026, 11, 30, tzinfo=timezone.utc)
    return chain(partials(site_id, n_events, seed, end, days), site_id, 0, GENESIS)
