#!/usr/bin/env python3
"""How fast does the desk find a household from 4 digits of a phone number, with an
archive of 20,000 households and 50,000 people (R17)?

A fresh data folder (under the system temp folder, removed at the end) gets the archive
through the store, as an import writes it: one ``household_saved`` event per household,
all in ONE ``store.append`` (random buildings and units, 1-4 people each, random
11-digit mobile numbers). The folder is then opened again through ``create_app`` (like
a restarted kiosk: the lookup index is built on open), a receptionist is added and the
Flask test client signs in with a real ``POST /staff/login``. After a warm-up it times
``GET /staff/households/find?q=NNNN`` (the picker's htmx fragment) for random 4-digit
queries, each response checked.

Prints p50/p99 (ms, wall clock), the time to append and to reopen, and, last,
``household lookup p99 ms at 50k people: X``. Target: X <= 20.

    python bench/archive_lookup.py                  # about half a minute
    python bench/archive_lookup.py --households 5000 --people 12000 --lookups 200
"""
from __future__ import annotations

import argparse
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kiosk import create_app  # noqa: E402
from kiosk.households import household_id  # noqa: E402
from kiosk.store import Store  # noqa: E402
from sync.events import new as new_event  # noqa: E402

HOUSEHOLDS, PEOPLE, LOOKUPS, WARMUPS = 20_000, 50_000, 500, 30
RELATIONS = ("owner", "tenant", "resident", "student", "teacher", "other")
MANAGER = {"role": "manager", "id": "bench", "name": "bench"}


def archive(rng: random.Random, households: int, people: int) -> list[dict]:
    """Return ``households`` households holding ``people`` people in all (1 each, the
    rest spread at random, at most 4), with random mobile numbers."""
    sizes = [1] * households
    for _ in range(people - households):
        i = rng.randrange(households)
        while sizes[i] >= 4:
            i = rng.randrange(households)
        sizes[i] += 1
    found = []
    for n, size in enumerate(sizes):
        building, unit = f"{n // 400 + 1}号楼", f"{n % 400 // 20 + 1}{n % 20 + 1:02d}"
        found.append({"id": household_id(building, unit), "building": building, "unit": unit,
                      "area": f"{rng.randint(40, 160)}", "note": "",
                      "people": [{"name": f"住户{n}-{k}",
                                  "phone": f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}",
                                  "relation": rng.choice(RELATIONS)} for k in range(size)]})
    return found


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=HOUSEHOLDS)
    parser.add_argument("--people", type=int, default=PEOPLE)
    parser.add_argument("--lookups", type=int, default=LOOKUPS)
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    folder = Path(tempfile.mkdtemp(prefix="archive-bench-"))
    try:
        households = archive(rng, args.households, args.people)
        now = datetime.now(timezone.utc)
        store = Store(folder)
        started = time.perf_counter()
        store.append([new_event(None, "household_saved", MANAGER, now, h) for h in households])
        appended = time.perf_counter() - started
        store.close()
        started = time.perf_counter()
        app = create_app({"DATA_DIR": str(folder), "SECRET_KEY": "bench", "RATE_LIMIT": 10**6})
        reopened = time.perf_counter() - started
        store = app.extensions["kiosk_store"]
        assert store.household_count() == args.households
        app.extensions["staff_directory"].add("Bench Desk", "receptionist", "2468",
                                              actor=MANAGER, now=now)
        client = app.test_client()
        page = client.get("/staff/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        signed = client.post("/staff/login", data={"csrf_token": token, "name": "Bench Desk",
                                                    "pin": "2468"})
        assert signed.status_code == 303, signed.status_code
        times, hits = [], 0
        for i in range(WARMUPS + args.lookups):
            q = f"{rng.randrange(10_000):04d}"
            started = time.perf_counter()
            response = client.get(f"/staff/households/find?q={q}",
                                  headers={"HX-Request": "true"})
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, response.status_code
            html = response.get_data(as_text=True)
            assert "household-found" in html or "No household found" in html
            if i >= WARMUPS:
                times.append(elapsed)
                hits += "household-found" in html
        store.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"households {args.households}, people {args.people}: one append {appended:.2f} s, "
          f"reopened (index built) in {reopened:.2f} s")
    print(f"lookups {len(times)} (random 4 digits, {hits} found something): "
          f"p50 {statistics.median(times):.2f} ms, p99 {percentile(times, 99):.2f} ms")
    print(f"household lookup p99 ms at 50k people: {percentile(times, 99):.2f}")


if __name__ == "__main__":
    main()
