"""The store: one lock per data folder, projections rebuilt or replayed from the log."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk import drafts, ids
from kiosk import store as store_module
from kiosk.locations.service import ensure_demo
from kiosk.jsonstorage import Journal
from kiosk.store import Store, StoreLocked
from kiosk.tickets import service
from kiosk.tickets.rules import RuleError
from sync import events

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
    store.append([step(ticket, "closed", now, reason="done")])


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
    "close then change": lambda t: [step(t, "closed", reason="done"), step(t, "confirmed")],
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
        store.append([step(ticket, "closed", reason="done"), step(ticket, "confirmed")])
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
        store.append([step(ticket, "closed", reason="done")])
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
        assert by_id["status"] == "closed" and by_id["close_reason"] == "done"
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


# -- recovery on open ---------------------------------------------------------------
def _garbage(path: Path) -> None:
    path.write_bytes(b"\x00\xff\x13garbage{{{" * 7)


def _truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _not_an_object(path: Path) -> None:
    path.write_bytes(b"[1, 2, 3]")


def _wrong_shape(path: Path) -> None:
    path.write_bytes(b'{"_meta": {"1": {"seq": "7"}}, "tickets": 5, "locations": [1]}')


def _seq_not_a_number(path: Path) -> None:
    data = json.loads(path.read_bytes())
    data.setdefault("_meta", {})["1"] = {"seq": "7"}
    path.write_text(json.dumps(data))


DAMAGE = {"deleted": Path.unlink, "garbage": _garbage, "truncated": _truncated,
          "not an object": _not_an_object, "wrong shape": _wrong_shape,
          "seq not a number": _seq_not_a_number}


@pytest.fixture
def history(store):
    """A store with open, confirmed and closed tickets."""
    tickets = [report(store) for _ in range(4)]
    close(store, tickets[0])
    store.append([step(tickets[1], "confirmed")])
    return tickets


def _garbage_line_then_commit(path: Path) -> None:
    path.write_bytes(path.read_bytes() + b"\x00\xffgarbage{{{\n" + b'{"seq": 99}\n')


def _unknown_record(path: Path) -> None:
    path.write_bytes(path.read_bytes() + b'{"what": 1}\n' + b'{"seq": 99}\n')


def _commit_not_a_number(path: Path) -> None:
    path.write_bytes(path.read_bytes() + b'{"seq": "99"}\n')


JOURNAL_DAMAGE = {"garbage line then commit": _garbage_line_then_commit,
                  "unknown record": _unknown_record, "commit not a number": _commit_not_a_number}
DAMAGES = {"open.jsonl": DAMAGE | JOURNAL_DAMAGE, "meta.json": DAMAGE,
           "archive-2026-11.json": DAMAGE}
DAMAGED = [pytest.param(name, damage, id=f"{name}-{label}")
           for name, damages in DAMAGES.items() for label, damage in damages.items()
           if not (name != "meta.json" and damage is _seq_not_a_number)]  # no seq there


@pytest.mark.parametrize("name, damage", DAMAGED)
def test_damaged_projection_is_rebuilt_from_the_log(store, opened, history, caplog, name, damage):
    before = state(store)
    closed = store.ticket(history[0]["id"])
    last_number = store.last_number("2026-11-28")
    store.close()
    damage(store.folder / "projections" / name)
    with caplog.at_level(logging.WARNING):
        again = opened()
        found = again.ticket_by_token(history[0]["token"])
    # a lost hot file is filled again by replaying the whole log, and so is a journal
    # whose every batch is torn (no whole commit); an unreadable hot file or journal
    # (or a missing archive) throws every projection away and rebuilds them; an
    # unreadable archive is rebuilt from the log alone when it is first needed
    if damage is Path.unlink or (name == "open.jsonl" and damage in DAMAGE.values()):
        logger, expected = "kiosk.store", ("replayed" if name in ("open.jsonl", "meta.json")
                                           else "rebuilding every projection from the log")
    elif name.startswith("archive"):
        logger, expected = "kiosk.projections", "rebuilding 2026-11 from the event log"
    else:
        logger, expected = "kiosk.store", "rebuilding every projection from the log"
    assert any(r.levelno >= logging.WARNING and r.name == logger
               and expected in r.getMessage() for r in caplog.records), caplog.text
    assert found == closed
    assert state(again) == before
    assert again.last_number("2026-11-28") == last_number
    assert report(again)["number"] == f"R-1128-{last_number + 1:03d}"
    for fresh in projection_files(again).values():  # every projection readable again
        assert all(isinstance(json.loads(line), dict) for line in fresh.splitlines())
    assert again.verify() == []


def test_counters_survive_losing_the_hot_file_when_all_were_closed(store, opened):
    tickets = [report(store) for _ in range(2)]
    for ticket in tickets:
        close(store, ticket)
    store.close()
    (store.folder / "projections" / "open.jsonl").unlink()
    again = opened()
    assert again.last_number("2026-11-28") == 2
    assert report(again)["number"] == "R-1128-003"


def test_events_logged_but_not_projected_are_replayed(store, opened, caplog):
    ticket = report(store)
    # a crash after the log's fsync, before the projections were written
    store._log.write(store._log.prepare([step(ticket, "confirmed"), step(ticket, "dispatched")]))
    assert store.ticket(ticket["id"])["status"] == "new"  # not projected yet
    store.close()
    with caplog.at_level(logging.WARNING, logger="kiosk.store"):
        again = opened()
    assert "replayed 2 event(s)" in caplog.text
    assert again.ticket(ticket["id"])["status"] == "dispatched"
    assert again._tickets.seq == again._locations.seq == again.last_seq


def test_an_older_projection_copy_is_brought_up_to_date(store, opened, caplog):
    first = report(store)
    store.checkpoint()
    saved = projection_files(store)
    later = [report(store) for _ in range(3)]
    close(store, first)
    close(store, later[0])
    store.append([step(later[1], "confirmed")])
    before = state(store)
    store.close()
    for name in ("open.jsonl", "meta.json"):
        (store.folder / "projections" / name).write_bytes(saved[name])
    with caplog.at_level(logging.WARNING, logger="kiosk.store"):
        again = opened()
    assert "replayed" in caplog.text
    assert state(again) == before
    assert [again.ticket_by_token(t["token"])["status"] for t in [first, *later]] == [
        "closed", "closed", "open", "new"]
    assert again.last_number("2026-11-28") == 4


def test_projections_ahead_of_a_shorter_log_are_rebuilt(store, opened, caplog):
    kept = report(store)
    lost = report(store)
    store.close()
    segment = store._log.segments()[-1]
    lines = segment.read_bytes().splitlines(keepends=True)
    segment.write_bytes(b"".join(lines[:-1]))  # the last event never reached the disk
    with caplog.at_level(logging.WARNING, logger="kiosk.store"):
        again = opened()
    assert "ahead of the event log" in caplog.text
    assert again.ticket_by_token(kept["token"]) is not None
    assert again.ticket_by_token(lost["token"]) is None
    assert again._tickets.seq == again.last_seq


def test_torn_log_tail_is_dropped_when_the_store_opens(store, opened, caplog):
    ticket = report(store)
    store.close()
    with open(store._log.segments()[-1], "ab") as f:
        f.write(b'{"actor":{"role":"visitor"},"at":"2026-11-28T0')
    with caplog.at_level(logging.WARNING):
        again = opened()
    assert "torn" in caplog.text
    assert again.ticket_by_token(ticket["token"])["id"] == ticket["id"]
    report(again)
    assert again.verify() == []


def test_rebuild_twice_in_a_row(store):
    ticket = report(store)
    close(store, ticket)
    store.rebuild()
    store.rebuild()
    assert store.ticket_by_token(ticket["token"])["status"] == "closed"
    assert not list(store.folder.glob("projections.old-*"))


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


def crash(store: Store) -> None:
    """Stop like a killed process: the log is on disk, the projections since the last
    checkpoint only in memory, and the data-folder lock goes with the process."""
    store._log.close()
    store._lockfile.close()


def test_only_the_log_is_written_per_append_and_a_crash_replays_since_the_checkpoint(
        store, opened, caplog):
    first = report(store)
    store.checkpoint()
    files = projection_files(store)
    later = [report(store) for _ in range(3)]
    close(store, first)
    assert projection_files(store) == files  # answered after the log's fsync alone
    before = state(store)
    crash(store)
    with caplog.at_level(logging.WARNING, logger="kiosk.store"):
        again = opened()
    assert "replayed 4 event(s)" in caplog.text
    assert state(again) == before
    assert again.ticket_by_token(first["token"])["status"] == "closed"
    assert [again.ticket_by_token(t["token"])["status"] for t in later] == ["new"] * 3


def test_a_checkpoint_is_taken_every_so_many_events(store, monkeypatch):
    import kiosk.store as store_module
    monkeypatch.setattr(store_module, "CHECKPOINT_EVENTS", 3)
    store.checkpoint()
    files = projection_files(store)
    report(store), report(store)
    assert projection_files(store) == files
    third = report(store)
    assert third["id"] in projection_files(store)["open.jsonl"].decode()


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
