"""Helpers and fixtures of the store tests: a store on a fresh data folder, reports, steps."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.locations.service import ensure_demo
from kiosk.jsonstorage import Journal
from kiosk.store import Store
from kiosk.tickets import service

ROOT = Path(__file__).resolve().parent.parent
SITE = "site-test"
NOW = datetime(2026, 11, 28, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai
TZ = ZoneInfo("Asia/Shanghai")
STAFF = {"role": "staff", "id": "s1", "name": "Wang"}
VISITOR = {"role": "visitor"}


def report(store: Store, now: datetime = NOW, category: str = "repair", **fields) -> dict:
    """Record a visitor's report through the ticket service; return the ticket."""
    entry = {"category": category, "location": "DEMO-LIB", "description": "The light is broken",
             "phone": "13812345678", **fields}
    return service.submit_report(store, entry, channel="kiosk", actor=VISITOR, now=now, tz=TZ)


def step(ticket: dict, kind: str, now: datetime = NOW, **data) -> dict:
    """A staff event on ``ticket``, ready for ``store.append``."""
    return {"ticket_id": ticket["id"], "type": kind, "at": now.isoformat(), "actor": STAFF,
            "data": data}


def close(store: Store, ticket: dict, now: datetime = NOW) -> None:
    store.append([step(ticket, "closed", now, reason="withdrawn")])


def projection_files(store: Store) -> dict[str, bytes]:
    folder = store.folder / "projections"
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def open_on_disk(store: Store) -> dict[str, dict]:
    """The open tickets the journal's committed batches hold, by id."""
    tickets: dict[str, dict] = {}
    for record in Journal(store.folder / "projections" / "open.jsonl").read():
        if "put" in record:
            tickets[record["put"]["id"]] = record["put"]
        elif "drop" in record:
            tickets.pop(record["drop"], None)
    return tickets


def log_bytes(store: Store) -> bytes:
    return b"".join(p.read_bytes() for p in store._log.segments())


def state(store: Store) -> dict:
    """What a reader sees: open tickets, locations and the log's end."""
    return {"open": sorted(store.open_tickets(), key=lambda t: t["id"]),
            "locations": store.locations(active_only=False),
            "end": (store.last_seq, store._log.last_hash)}


@pytest.fixture
def folder(tmp_path):
    return tmp_path / "data"


@pytest.fixture
def opened(folder):
    """Open stores on ``folder`` (closed at the end, whatever happened)."""
    stores = []

    def open_store(**kwargs) -> Store:
        s = Store(folder, site_id=SITE, **kwargs)
        stores.append(s)
        return s

    yield open_store
    for s in stores:
        s.close()


@pytest.fixture
def store(opened):
    s = opened()
    ensure_demo(s, NOW)
    return s


def reopen(store: Store, opened) -> Store:
    store.close()
    return opened()


def crash(store: Store) -> None:
    """Stop like a killed process: the log is on disk, the projections since the last
    checkpoint only in memory, and the data-folder lock goes with the process."""
    store._log.close()
    store._lockfile.close()
