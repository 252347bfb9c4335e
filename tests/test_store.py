"""The store: one lock per data folder, appending, archives, drafts, request ids."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from kiosk import drafts, ids
from kiosk import store as store_module
from kiosk.store import Store, StoreLocked
from kiosk.tickets.rules import RuleError
from sync import events

from store_helpers import (  # noqa: F401 (fixtures: folder, opened, store)
    NOW, ROOT, SITE, STAFF, TZ, VISITOR, close, crash, folder, log_bytes, open_on_disk, opened,
    projection_files, reopen, report, state, step, store,
)


# -- one process per data folder ----------------------------------------------------
def test_second_store_on_the_same_folder_is_refused(store, folder):
    with pytest.raises(StoreLocked) as exc:
        Store(folder)
    message = str(exc.value)
    assert "already using the data folder" in message and str(folder) in message
    assert f"pid {os.getpid()}" in message
    with pytest.raises(StoreLocked):  # the refused attempt did not release the lock
        Store(folder)
    report(store)  # and the first store still works
    assert store.verify() == []


def test_close_releases_the_folder(store, opened):
    ticket = report(store)
    store.close()
    again = opened()
    assert again.ticket_by_token(ticket["token"])["id"] == ticket["id"]


def test_another_process_is_refused(store, folder):
    code = ("import sys; from kiosk.store import Store, StoreLocked\n"
            "try:\n    Store(sys.argv[1])\nexcept StoreLocked as e:\n    print('LOCKED', e)\n")
    out = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True,
                         text=True, timeout=30, cwd=ROOT)
    assert out.stdout.startswith("LOCKED"), out.stderr
    assert "stop it first" in out.stdout


def test_a_store_that_fails_to_open_releases_the_folder(store, folder, opened):
    store.close()
    with pytest.raises(ValueError, match="belongs to site"):
        Store(folder, site_id="another-site")
    opened().close()  # not left locked by the failed attempt


# -- appending ------------------------------------------------------------------------
def test_append_writes_the_log_then_the_projections(store):
    ticket = report(store)
    assert ticket["status"] == "new" and ticket["number"] == "R-1128-001"
    last = list(store.events_after(0))[-1]
    assert last["type"] == "reported" and last["ticket_id"] == ticket["id"]
    assert last["event_id"] == f"{SITE}:{last['seq']}"
    assert store._tickets.seq == store._locations.seq == store.last_seq
    store.checkpoint()
    assert list(open_on_disk(store)) == [ticket["id"]]
    assert store.status() == {"site_id": SITE, "last_seq": store.last_seq,
                              "open_tickets": 1}


def test_raw_reported_event_is_projected(store):
    data = {"number": "Q-1128-007", "token": "01KB4Z0P00" + "x" * 22, "day": "2026-11-28",
            "category": "inquiry", "channel": "phone", "location": "", "description": "Hours?",
            "name": "Li", "phone": "13812345678", "preferred_at": None, "due_at": None}
    tid = "01KB4Z0P00" + "A" * 16
    store.append([{"ticket_id": tid, "type": "reported", "at": NOW.isoformat(), "actor": STAFF,
                   "data": data}])
    ticket = store.ticket_by_token(data["token"])
    assert ticket["id"] == tid and ticket["status"] == "open"  # phone records start open
    assert store.last_number("2026-11-28") == 7


def test_daily_numbers_count_up(store):
    numbers = [report(store)["number"] for _ in range(3)]
    assert numbers == ["R-1128-001", "R-1128-002", "R-1128-003"]
    assert report(store, NOW + timedelta(days=1))["number"] == "R-1129-001"


REFUSED = {
    "never reported": lambda t: [{**step(t, "confirmed"), "ticket_id": "01KB4Z0P00" + "Z" * 16}],
    "reported twice": lambda t: [{**step(t, "reported"), "data": {}}],
    "wrong order": lambda t: [step(t, "resolved")],
    "good then bad": lambda t: [step(t, "confirmed"), step(t, "confirmed")],
    "close then change": lambda t: [step(t, "closed", reason="withdrawn"), step(t, "confirmed")],
    "transfer unsigned complaint": lambda t: [step(t, "confirmed"), step(t, "transferred")],
}


@pytest.mark.parametrize("batch", REFUSED.values(), ids=REFUSED.keys())
def test_refused_transition_changes_nothing(store, opened, batch):
    ticket = report(store, category="complaint")
    files, log_before, before = projection_files(store), log_bytes(store), state(store)
    with pytest.raises(RuleError):
        store.append(batch(ticket))
    assert log_bytes(store) == log_before
    assert projection_files(store) == files
    assert state(store) == before
    assert store.ticket(ticket["id"]) == ticket
    assert store.ticket_by_token(ticket["token"]) == ticket
    # the store goes on: a good event after the refused one
    store.append([step(ticket, "confirmed")])
    assert store.ticket(ticket["id"])["status"] == "open"
    again = reopen(store, opened)
    assert again.ticket(ticket["id"])["status"] == "open"
    assert again.verify() == []


def test_archive_is_recorded_after_a_refused_close(store, opened, caplog):
    """A refused batch that touched an archive must not hide that archive from recovery."""
    ticket = report(store)
    with pytest.raises(RuleError):
        store.append([step(ticket, "closed", reason="withdrawn"), step(ticket, "confirmed")])
    close(store, ticket)
    store.checkpoint()
    (store.folder / "projections" / "archive-2026-11.json").unlink()
    again = reopen(store, opened)
    assert again.ticket_by_token(ticket["token"])["status"] == "closed"


def test_failed_log_write_changes_nothing(store, monkeypatch):
    ticket = report(store)
    files, log_before, before = projection_files(store), log_bytes(store), state(store)

    def full_disk(events):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store._log, "write", full_disk)
    with pytest.raises(OSError):
        store.append([step(ticket, "closed", reason="withdrawn")])
    monkeypatch.undo()
    assert (log_bytes(store), projection_files(store), state(store)) == (log_before, files, before)
    assert store.ticket_by_token(ticket["token"])["status"] == "new"


# -- archives -------------------------------------------------------------------------
def test_closed_tickets_move_to_the_month_archive(store, opened):
    kept, closed = report(store), report(store)
    close(store, closed)
    store.checkpoint()
    archive = store.folder / "projections" / "archive-2026-11.json"
    assert archive.exists()
    assert [t["id"] for t in store.open_tickets()] == [kept["id"]]
    assert list(open_on_disk(store)) == [kept["id"]]
    assert closed["id"] in archive.read_text()
    for s in (store, reopen(store, opened)):
        by_id, by_token = s.ticket(closed["id"]), s.ticket_by_token(closed["token"])
        assert by_id == by_token
        assert by_id["status"] == "closed" and by_id["close_reason"] == "withdrawn"
        assert s.ticket_by_token(kept["token"])["status"] == "new"
        assert s.ticket_by_token(closed["token"][:-1] + "?") is None


def test_archives_per_month_beyond_those_kept_open(store, opened):
    months = [datetime(2026, m, 10, 2, 0, tzinfo=timezone.utc) for m in (7, 8, 9, 10, 11)]
    tickets = []
    for now in months:
        ticket = report(store, now)
        close(store, ticket, now)
        tickets.append(ticket)
    store.checkpoint()
    names = sorted(p.name for p in (store.folder / "projections").glob("archive-*.json"))
    assert names == [f"archive-2026-{m:02d}.json" for m in (7, 8, 9, 10, 11)]
    assert len(store._tickets._archives) <= store._tickets.ARCHIVES_KEPT
    for s in (store, reopen(store, opened)):
        for ticket in reversed(tickets):
            assert s.ticket_by_token(ticket["token"])["id"] == ticket["id"]
            assert s.ticket(ticket["id"])["status"] == "closed"


def test_a_closed_ticket_may_still_get_a_note_and_be_rebuilt(store, opened):
    ticket = report(store)
    close(store, ticket)
    store.append([step(ticket, "noted", text="called back, all fine")])
    assert [e["type"] for e in store.ticket(ticket["id"])["events"]] == [
        "reported", "closed", "noted"]
    store.rebuild()
    assert store.ticket(ticket["id"])["events"][-1]["type"] == "noted"
    again = reopen(store, opened)
    assert again.ticket_by_token(ticket["token"])["events"][-1]["type"] == "noted"


# -- drafts ---------------------------------------------------------------------------
def test_drafts_save_get_discard(store, opened):
    assert store.get_draft("nope") == {}
    seq = store.last_seq
    store.save_draft("d1", {"category": "repair"})
    store.save_draft("d2", {"category": "inquiry"})
    store.save_draft("d1", {"category": "repair", "location": "DEMO-LIB"})
    assert store.get_draft("d1") == {"category": "repair", "location": "DEMO-LIB"}
    draft = store.get_draft("d1")
    draft["location"] = "changed"  # a copy: changing it does not change the store
    assert store.get_draft("d1")["location"] == "DEMO-LIB"
    assert store.last_seq == seq  # drafts are never logged
    again = reopen(store, opened)
    assert again.get_draft("d2") == {"category": "inquiry"}
    again.discard_draft("d2")
    again.discard_draft("never-there")
    assert again.get_draft("d2") == {}
    assert again.get_draft("d1")["category"] == "repair"


def test_old_drafts_are_forgotten(store, monkeypatch):
    clock = [1_000_000.0]
    monkeypatch.setattr(store_module.time, "time", lambda: clock[0])
    store.save_draft("old", {"category": "repair"})
    clock[0] += drafts.DRAFT_TTL_SECONDS + 1
    store.save_draft("new", {"category": "inquiry"})
    assert store.get_draft("old") == {}
    assert store.get_draft("new") == {"category": "inquiry"}


# -- request ids: a resent submit finds its ticket ---------------------------------------
def report_with_request(store: Store, request_id: str | None, now: datetime = NOW) -> dict:
    """Record a report whose ``reported`` event carries ``request_id`` (None: none)."""
    tid = ids.new_ticket_id(now)
    day = now.astimezone(TZ).date().isoformat()
    data = {"category": "repair", "channel": "kiosk", "location": "DEMO-LIB",
            "description": "The light is broken", "name": "", "phone": "13812345678",
            "preferred_at": None, "due_at": None, "day": day, "token": ids.new_status_token(tid),
            "number": f"R-{day[5:7]}{day[8:]}-{store.last_number(day) + 1:03d}"}
    if request_id is not None:
        data["request_id"] = request_id
    store.append([events.new(tid, "reported", VISITOR, now, data)])
    return store.ticket(tid)


def test_a_ticket_is_found_by_its_request_id_open_closed_restarted_rebuilt(store, opened):
    plain = report(store)
    assert plain["request_id"] is None  # a report without one
    kept = report_with_request(store, "draft-kept")
    done = report_with_request(store, "draft-done")
    assert kept["request_id"] == "draft-kept"
    close(store, done)
    for s in (store, reopen(store, opened)):
        assert s.ticket_by_request("draft-kept") == s.ticket(kept["id"])
        assert s.ticket_by_request("draft-done") == s.ticket(done["id"])
        assert s.ticket_by_request("draft-done")["status"] == "closed"
        assert s.ticket_by_request("draft-other") is None
        assert s.ticket_by_request("") is None
        found = s.ticket_by_request("draft-kept")
        found["status"] = "changed"  # a copy
        assert s.ticket_by_request("draft-kept")["status"] == "new"
        s.rebuild()
        assert s.ticket_by_request("draft-kept")["id"] == kept["id"]
        assert s.ticket_by_request("draft-done")["id"] == done["id"]
        store = s


def test_request_ids_survive_a_crash_and_reach_last_month_archive(store, opened):
    last_month = report_with_request(store, "form-0", NOW - timedelta(days=31))
    close(store, last_month)
    closed = report_with_request(store, "form-1")
    store.checkpoint()
    close(store, closed)
    store.append([step(closed, "noted", text="called back")])
    later = report_with_request(store, "form-2")
    crash(store)  # the events since the last checkpoint are replayed from the log
    again = opened()
    assert again.ticket_by_request("form-0")["id"] == last_month["id"]
    assert again.ticket_by_request("form-1")["events"][-1]["type"] == "noted"
    assert again.ticket_by_request("form-2")["id"] == later["id"]


def test_a_report_reads_every_ticket_reported_in_its_range_open_or_archived(store):
    months = [NOW - timedelta(days=60), NOW - timedelta(days=31), NOW - timedelta(hours=1)]
    tickets = [report(store, at) for at in months]
    close(store, tickets[0], NOW)
    close(store, tickets[1], NOW)
    def compute(found):
        return sorted(t["number"] for t in found)

    everything = store.over_reported(NOW - timedelta(days=90), NOW, compute)
    assert everything == sorted(t["number"] for t in tickets)
    assert store.over_reported(NOW - timedelta(days=45), NOW - timedelta(hours=2),
                               compute) == [tickets[1]["number"]]  # the end is excluded
    assert store.over_reported(NOW - timedelta(days=59, hours=23), NOW - timedelta(days=32),
                               compute) == []
    assert store.ticket(tickets[0]["id"])["status"] == "closed"  # archived, and still read
