"""The hash-chained event log: chain fields, verification, torn tails, segments."""
from __future__ import annotations

import json
import logging

import pytest

from kiosk import eventlog
from kiosk.eventlog import EventLog
from sync.events import GENESIS, canonical, event_hash

SITE = "site-test"


def partial(n: int, **data) -> dict:
    return {"ticket_id": f"T{n}", "type": "noted", "at": f"2026-11-28T02:00:{n % 60:02d}+00:00",
            "actor": {"role": "staff"}, "data": {"n": n, **data}}


def append(log: EventLog, count: int, start: int = 1) -> list[dict]:
    written = []
    for n in range(start, start + count):
        events = log.prepare([partial(n)])
        log.write(events)
        written += events
    return written


def lines_of(log: EventLog) -> list[tuple]:
    """Every readable (segment, line index, event) on disk, oldest first."""
    out = []
    for path in log.segments():
        for i, line in enumerate(path.read_bytes().splitlines()):
            try:
                out.append((path, i, json.loads(line)))
            except ValueError:
                continue  # a line a test already damaged
    return out


def rewrite_line(path, index: int, new: bytes | None) -> None:
    """Replace (or, with None, delete) line ``index`` of a segment file."""
    lines = path.read_bytes().splitlines(keepends=True)
    if new is None:
        del lines[index]
    else:
        lines[index] = new
    path.write_bytes(b"".join(lines))


@pytest.fixture
def log(tmp_path):
    log = EventLog(tmp_path / "log", SITE)
    yield log
    log.close()


# -- the chain ----------------------------------------------------------------------
def test_empty_log_starts_at_genesis(log):
    assert (log.last_seq, log.last_hash) == (0, GENESIS)
    assert list(log.read()) == []
    assert log.verify() == []


def test_prepare_chains_fields_without_writing(log):
    events = log.prepare([partial(1), partial(2), partial(3)])
    assert [e["seq"] for e in events] == [1, 2, 3]
    assert [e["event_id"] for e in events] == [f"{SITE}:1", f"{SITE}:2", f"{SITE}:3"]
    assert all(e["site_id"] == SITE for e in events)
    assert events[0]["prev_hash"] == GENESIS
    assert events[1]["prev_hash"] == events[0]["hash"]
    assert events[2]["prev_hash"] == events[1]["hash"]
    for e in events:
        assert e["hash"] == event_hash(e)
        assert len(e["hash"]) == 64
    assert log.last_seq == 0 and list(log.read()) == []  # nothing written yet


def test_written_events_are_canonical_lines_that_verify(log):
    written = append(log, 5)
    (segment,) = log.segments()
    raw = segment.read_bytes()
    assert raw == b"".join(canonical(e) + b"\n" for e in written)
    assert list(log.read()) == written
    assert [e["seq"] for e in log.read()] == [1, 2, 3, 4, 5]
    assert (log.last_seq, log.last_hash) == (5, written[-1]["hash"])
    assert log.verify() == []


def test_hash_covers_every_field_but_itself(log):
    (event,) = log.prepare([partial(1)])
    for field in ("ticket_id", "type", "at", "actor", "data", "site_id", "seq", "event_id",
                  "prev_hash"):
        changed = {**event, field: "x"}
        assert event_hash(changed) != event["hash"], field
    assert event_hash({**event, "hash": "whatever"}) == event["hash"]


def test_one_batch_is_one_write(log):
    events = log.prepare([partial(1), partial(2)])
    log.write(events)
    assert [e["seq"] for e in log.read()] == [1, 2]
    assert log.verify() == []


def test_write_refuses_events_prepared_against_an_old_end(log):
    stale = log.prepare([partial(1)])
    log.write(log.prepare([partial(2)]))
    with pytest.raises(ValueError, match="not prepared against the current end"):
        log.write(stale)
    assert [e["seq"] for e in log.read()] == [1]


def test_reopen_continues_the_chain(tmp_path):
    first = EventLog(tmp_path / "log", SITE)
    written = append(first, 3)
    first.close()
    again = EventLog(tmp_path / "log", SITE)
    assert (again.last_seq, again.last_hash) == (3, written[-1]["hash"])
    (event,) = append(again, 1, start=4)
    assert event["seq"] == 4 and event["prev_hash"] == written[-1]["hash"]
    assert again.verify() == []
    again.close()


@pytest.mark.parametrize("after, expected", [(0, [1, 2, 3, 4, 5, 6]), (1, [2, 3, 4, 5, 6]),
                                             (4, [5, 6]), (6, []), (99, [])])
def test_read_after(log, after, expected):
    append(log, 6)
    assert [e["seq"] for e in log.read(after=after)] == expected


# -- verification -------------------------------------------------------------------
def test_verify_reports_a_changed_field(log):
    append(log, 4)
    path, index, event = lines_of(log)[2]
    event["data"]["n"] = 999  # edit the JSON, keep it valid
    rewrite_line(path, index, canonical(event) + b"\n")
    problems = log.verify()
    assert [(p.seq, p.problem) for p in problems] == [(3, "content changed: hash does not match")]


def test_verify_reports_a_flipped_byte(log):
    append(log, 4)
    path = log.segments()[0]
    raw = bytearray(path.read_bytes())
    lines = raw.split(b"\n")
    offset = len(lines[0]) + 1 + lines[1].index(b'"at":"') + 8  # a digit of seq 2's time
    raw[offset] = ord("9") if raw[offset] != ord("9") else ord("8")
    path.write_bytes(bytes(raw))
    assert [p.seq for p in log.verify()] == [2]
    assert "hash does not match" in log.verify()[0].problem


def test_verify_reports_a_rehashed_forgery_as_a_broken_link(log):
    append(log, 4)
    path, index, event = lines_of(log)[1]
    event["data"]["n"] = 999
    event["hash"] = event_hash(event)  # a forger recomputes this event's hash...
    rewrite_line(path, index, canonical(event) + b"\n")
    problems = log.verify()  # ...but the next event still links to the old one
    assert [(p.seq, p.problem) for p in problems] == [(3, "link to the previous event is broken")]


@pytest.mark.parametrize("missing", [1, 3, 5])
def test_verify_reports_a_missing_event_with_its_seq(log, missing):
    append(log, 6)
    path, index, _ = lines_of(log)[missing - 1]
    rewrite_line(path, index, None)
    problems = log.verify()
    assert problems[0].seq == missing
    assert problems[0].problem.startswith("missing")
    assert f"found seq {missing + 1} next" in problems[0].problem


def test_verify_reports_a_missing_last_event(log):
    append(log, 3)
    path, index, _ = lines_of(log)[-1]
    rewrite_line(path, index, None)
    problems = log.verify()
    assert [p.seq for p in problems] == [3]
    assert "missing" in problems[0].problem


def test_verify_reports_an_unreadable_line_and_checks_the_rest(log):
    append(log, 5)
    path, index, _ = lines_of(log)[1]
    rewrite_line(path, index, b'{"seq": 2, garbage\n')
    path, index, event = lines_of(log)[3]  # seq 5, after the unreadable line
    event["data"]["n"] = 999
    rewrite_line(path, index, canonical(event) + b"\n")
    problems = log.verify()
    assert problems[0].seq == 2 and "unreadable" in problems[0].problem
    assert problems[-1].seq == 5 and "hash does not match" in problems[-1].problem
    assert {p.seq for p in problems} <= {2, 3, 5}  # 3 no longer links to anything read


# -- torn tails -----------------------------------------------------------------------
@pytest.mark.parametrize("torn", [b'{"seq":4,"ty', b"{", b"\x00\x00\x00\x00", b'{"a":1}'])
def test_torn_last_line_is_dropped_on_reopen(tmp_path, caplog, torn):
    first = EventLog(tmp_path / "log", SITE)
    written = append(first, 3)
    first.close()
    (segment,) = first.segments()
    good = segment.read_bytes()
    with open(segment, "ab") as f:
        f.write(torn)  # a crash in the middle of a write: no newline
    with caplog.at_level(logging.WARNING, logger="kiosk.eventlog"):
        again = EventLog(tmp_path / "log", SITE)
    assert "torn" in caplog.text and f"{len(torn)} bytes" in caplog.text
    assert segment.read_bytes() == good
    assert (again.last_seq, again.last_hash) == (3, written[-1]["hash"])
    (event,) = append(again, 1, start=4)
    assert event["seq"] == 4 and event["prev_hash"] == written[-1]["hash"]
    assert [e["seq"] for e in again.read()] == [1, 2, 3, 4]
    assert again.verify() == []
    again.close()


def test_read_ignores_a_torn_tail_before_it_is_repaired(log):
    append(log, 2)
    with open(log.segments()[-1], "ab") as f:
        f.write(b'{"seq":3')
    assert [e["seq"] for e in log.read()] == [1, 2]
    assert log.verify() == []


def test_a_segment_holding_only_a_torn_line_is_removed(tmp_path, caplog):
    first = EventLog(tmp_path / "log", SITE, segment_bytes=1)
    written = append(first, 2)
    first.close()
    assert len(first.segments()) == 2
    torn = tmp_path / "log" / "events-000000000003.jsonl"
    torn.write_bytes(b'{"seq":3,"ti')  # the crash came right after a roll-over
    with caplog.at_level(logging.WARNING, logger="kiosk.eventlog"):
        again = EventLog(tmp_path / "log", SITE, segment_bytes=1)
    assert "torn" in caplog.text
    assert (again.last_seq, again.last_hash) == (2, written[-1]["hash"])
    append(again, 2, start=3)
    assert [e["seq"] for e in again.read()] == [1, 2, 3, 4]
    assert again.verify() == []
    again.close()


def test_a_bad_line_before_good_events_is_not_truncated_away(tmp_path, caplog):
    """Only a torn *tail* is dropped: damage in the middle must never delete later events."""
    first = EventLog(tmp_path / "log", SITE)
    written = append(first, 5)
    first.close()
    (segment,) = first.segments()
    rewrite_line(segment, 1, b"garbage\n")
    size = segment.stat().st_size
    again = EventLog(tmp_path / "log", SITE)
    assert segment.stat().st_size == size
    assert (again.last_seq, again.last_hash) == (5, written[-1]["hash"])
    assert any(p.seq == 2 for p in again.verify())
    again.close()


def test_failed_write_leaves_no_half_batch(log, monkeypatch):
    append(log, 2)
    real_write = eventlog.os.write
    calls = []

    def half_then_fail(fd, data):
        if calls:
            raise OSError(28, "No space left on device")
        calls.append(1)
        return real_write(fd, bytes(data)[: len(data) // 2])

    monkeypatch.setattr(eventlog.os, "write", half_then_fail)
    with pytest.raises(OSError):
        log.write(log.prepare([partial(3), partial(4)]))
    monkeypatch.undo()
    assert log.last_seq == 2
    assert [e["seq"] for e in log.read()] == [1, 2]
    append(log, 1, start=3)
    assert [e["seq"] for e in log.read()] == [1, 2, 3]
    assert log.verify() == []


def test_failed_fsync_leaves_no_half_batch(log, monkeypatch):
    append(log, 2)

    def fail(fd):
        raise OSError(5, "I/O error")

    monkeypatch.setattr(eventlog.os, "fsync", fail)
    with pytest.raises(OSError):
        log.write(log.prepare([partial(3)]))
    monkeypatch.undo()
    assert log.last_seq == 2 and [e["seq"] for e in log.read()] == [1, 2]
    append(log, 1, start=3)
    assert log.verify() == []


# -- segments -------------------------------------------------------------------------
@pytest.mark.parametrize("segment_bytes", [1, 300, 1000])
def test_segment_roll_over_keeps_read_and_verify(tmp_path, segment_bytes):
    log = EventLog(tmp_path / "log", SITE, segment_bytes=segment_bytes)
    written = append(log, 12)
    segments = log.segments()
    assert len(segments) > 1
    starts = [int(p.name[len("events-"):-len(".jsonl")]) for p in segments]
    assert starts[0] == 1 and starts == sorted(starts)
    for path, start in zip(segments, starts):  # each segment is named after its first seq
        assert json.loads(path.read_bytes().splitlines()[0])["seq"] == start
    assert list(log.read()) == written
    for after in range(0, 13):
        assert [e["seq"] for e in log.read(after=after)] == list(range(after + 1, 13))
    assert log.verify() == []
    log.close()
    again = EventLog(tmp_path / "log", SITE, segment_bytes=segment_bytes)
    assert again.last_seq == 12
    append(again, 3, start=13)
    assert [e["seq"] for e in again.read()] == list(range(1, 16))
    assert again.verify() == []
    again.close()


def test_verify_spots_a_missing_segment(tmp_path):
    log = EventLog(tmp_path / "log", SITE, segment_bytes=1)  # one event per segment
    append(log, 5)
    log.segments()[2].unlink()
    problems = log.verify()
    assert problems[0].seq == 3 and "missing" in problems[0].problem
    log.close()


def test_reading_after_the_mark_finds_exactly_the_later_events(tmp_path):
    """``EventLog.read(after)`` bisects a segment (sync reads after the mark every batch)."""
    log = EventLog(tmp_path / "log", "s", segment_bytes=3000)
    for i in range(60):  # lines of uneven length, in many segments
        log.write(log.prepare([{"ticket_id": None, "type": "noted", "at": "t", "actor": {},
                                "data": {"pad": "y" * (i * 7 % 50)}}] * (1 + i % 3)))
    last = log.last_seq
    assert len(log.segments()) > 5
    for after in range(-1, last + 3):
        assert [e["seq"] for e in log.read(after)] == list(range(max(after, 0) + 1, last + 1))
    with open(log.segments()[-1], "ab") as f:  # a torn tail is never read
        f.write(b'{"seq": 99999, "ha')
    for after in range(0, last + 1):
        assert [e["seq"] for e in log.read(after)] == list(range(after + 1, last + 1))
    second = log.segments()[1]  # a damaged line after the mark is still an error
    lines = second.read_bytes().split(b"\n")
    lines[1] = b"not json"
    second.write_bytes(b"\n".join(lines))
    with pytest.raises(ValueError):
        list(log.read(0))
    log.close()
