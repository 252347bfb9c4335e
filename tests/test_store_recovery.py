"""The store recovers: damaged projections rebuilt, logged events replayed, checkpoints."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from store_helpers import (  # noqa: F401 (fixtures: folder, opened, store)
    close, crash, folder, opened, projection_files, report, state, step, store,
)


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


