"""The tickets projection: lookups through indexes, checkpoints that write only what changed."""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

import pytest
from test_store import NOW, TZ, VISITOR, close, crash, folder, open_on_disk, opened, report, step

from kiosk import ids
from kiosk.locations.service import ensure_demo
from kiosk.projections.tickets import Tickets
from kiosk.store import Store
from sync import events

__all__ = ["folder", "opened"]  # fixtures shared with test_store


def reported(store: Store, now: datetime, request_id: str | None = None, after: int = 0) -> dict:
    """A ``reported`` event of a new ticket for ``append``, numbered ``after`` numbers past
    the store's last."""
    tid = ids.new_ticket_id(now)
    day = now.astimezone(TZ).date().isoformat()
    n = store.last_number(day) + 1 + after
    data = {"category": "repair", "channel": "kiosk", "location": "DEMO-LIB",
            "description": "The light is broken", "name": "", "phone": "13812345678",
            "preferred_at": None, "due_at": None, "day": day, "token": ids.new_status_token(tid),
            "number": f"R-{day[5:7]}{day[8:]}-{n:03d}", "request_id": request_id}
    return events.new(tid, "reported", VISITOR, now, data)


def fill(store: Store, count: int, now: datetime = NOW) -> list[dict]:
    """Report ``count`` tickets, 100 to a batch, each a millisecond after the last."""
    tickets = []
    for start in range(0, count, 100):
        batch = [reported(store, now + timedelta(milliseconds=i), f"r{i}", after=i - start)
                 for i in range(start, min(count, start + 100))]
        tickets += [store.ticket(e["ticket_id"]) for e in store.append(batch)]
    return tickets


@pytest.fixture
def store(opened):
    s = opened()
    ensure_demo(s, NOW)
    return s


class NoWalk(dict):
    """The open tickets, refusing to be walked: a lookup must go through an index."""

    def _refuse(self, *args):
        raise AssertionError("the open tickets were walked")

    __iter__ = values = items = keys = _refuse


def test_lookups_and_appends_never_walk_the_open_tickets(store):
    tickets = fill(store, 300)
    store.checkpoint()
    store._tickets.open = NoWalk(store._tickets.open)
    some = tickets[150]
    assert store.ticket(some["id"]) == some
    assert store.ticket_by_token(some["token"]) == some
    assert store.ticket_by_request("r150") == some
    assert store.ticket_by_token(some["token"][:-2] + "xx") is None
    assert store.ticket_by_request("r-none") is None
    store.append([step(some, "confirmed")])
    (new,) = store.append([reported(store, NOW + timedelta(seconds=5), "r-new")])
    close(store, tickets[7])
    store.checkpoint()
    assert store.ticket_by_request("r-new")["id"] == new["ticket_id"]
    assert store.ticket_by_token(some["token"])["status"] == "open"
    assert store.ticket_by_token(tickets[7]["token"])["status"] == "closed"


def _batches(store: Store) -> list[bytes]:
    """The batches of the journal, each ending with its commit line."""
    data = (store.folder / "projections" / "open.jsonl").read_bytes()
    out, current = [], []
    for line in data.splitlines(keepends=True):
        current.append(line)
        if set(json.loads(line)) == {"seq"}:
            out.append(b"".join(current))
            current = []
    return out


@pytest.mark.parametrize("open_count", [10, 2000])
def test_a_checkpoint_writes_only_what_changed(store, open_count):
    """Whether 10 or 2,000 tickets are open, a checkpoint after one change appends one
    small batch and leaves what the journal already held as it was."""
    tickets = fill(store, open_count)
    store.checkpoint()
    before = (store.folder / "projections" / "open.jsonl").read_bytes()
    store.append([step(tickets[3], "confirmed")])
    store.checkpoint()
    after = (store.folder / "projections" / "open.jsonl").read_bytes()
    assert after.startswith(before)  # appended to, not rewritten
    last = _batches(store)[-1]
    assert last == after[len(before):]
    records = [json.loads(line) for line in last.splitlines()]
    assert [r["put"]["id"] for r in records if "put" in r] == [tickets[3]["id"]]
    assert len(records) == 2 and records[-1] == {"seq": store.last_seq}
    assert len(last) < 2000  # one ticket, whatever the number open
    assert open_on_disk(store)[tickets[3]["id"]]["status"] == "open"


def test_a_checkpoint_with_nothing_new_writes_nothing(store):
    fill(store, 5)
    store.checkpoint()
    before = (store.folder / "projections" / "open.jsonl").read_bytes()
    store.checkpoint()
    assert (store.folder / "projections" / "open.jsonl").read_bytes() == before


def test_the_journal_is_compacted_when_it_holds_twice_what_lives(store, opened, monkeypatch):
    monkeypatch.setattr(Tickets, "COMPACT_RECORDS", 20)
    tickets = fill(store, 10)
    store.checkpoint()
    for round_ in range(40):
        store.append([step(tickets[round_ % 10], "noted", text=f"note {round_}")])
        store.checkpoint()
        live = len(store._tickets.open) + len(store._tickets.counters) + len(
            store._tickets.months)
        assert store._tickets.journal.records <= 2 * live + 20 + 2  # never far beyond
    assert len(_batches(store)) < 40  # rewritten along the way
    expected = {t["id"]: store.ticket(t["id"]) for t in tickets}
    store.close()
    again = opened()
    assert {tid: again.ticket(tid) for tid in expected} == expected
    assert again.last_number(NOW.astimezone(TZ).date().isoformat()) == 10


def test_a_torn_batch_is_ignored_then_cut_off(store, opened, caplog):
    first = report(store)
    store.checkpoint()
    second = report(store)
    crash(store)
    journal = store.folder / "projections" / "open.jsonl"
    torn = json.dumps({"put": {**second, "status": "closed"}}).encode() + b"\n{\"se"
    with open(journal, "ab") as f:  # a checkpoint killed halfway through its write
        f.write(torn)
    with caplog.at_level(logging.WARNING, logger="kiosk.store"):
        again = opened()
    assert "replayed 1 event(s)" in caplog.text
    assert again.ticket(second["id"])["status"] == "new"
    assert again.ticket(first["id"])["status"] == "new"
    assert torn[:-5] not in journal.read_bytes()  # the torn batch was cut off
    assert all(json.loads(line) for line in journal.read_bytes().splitlines())


def test_an_older_data_folder_is_replayed_into_a_journal(store, opened, caplog):
    ticket = report(store)
    store.close()
    projections = store.folder / "projections"
    (projections / "open.jsonl").unlink()
    (projections / "open.json").write_text('{"tickets": {}}')  # the file before the journal
    with caplog.at_level(logging.WARNING, logger="kiosk.store"):
        again = opened()
    assert "replayed" in caplog.text
    assert again.ticket_by_token(ticket["token"])["id"] == ticket["id"]
    assert not (projections / "open.json").exists()
    assert list(open_on_disk(again)) == [ticket["id"]]


def test_the_newest_archives_stay_open_for_request_lookups(store):
    """A submit asks for its request id, a miss looking in the newest archives: those are
    kept open, an old month's archive read in between is closed first."""
    tickets = {}
    for month in (8, 9, 10, 11):
        now = NOW.replace(month=month, day=10)
        (event,) = store.append([reported(store, now, f"m{month}")])
        tickets[month] = store.ticket(event["ticket_id"])
        close(store, tickets[month], now)
    store.checkpoint()
    assert store.ticket_by_request("never-sent") is None
    assert store.ticket_by_request("m11")["id"] == tickets[11]["id"]
    assert store.ticket_by_request("m8") is None  # beyond the newest months: not looked for
    assert store.ticket_by_token(tickets[8]["token"])["status"] == "closed"  # an old month
    report(store)
    assert sorted(store._tickets._archives) == ["2026-10", "2026-11"]
