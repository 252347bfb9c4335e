"""The append-only, hash-chained event log: the source of truth of a site.

Events are JSON lines in segment files ``events-<first seq>.jsonl``. Every append
is written, flushed and fsynced before it returns. The event format and its hash chain
are ``sync.events``'s, shared with HQ. This module knows nothing of tickets or of Flask.
"""
from __future__ import annotations

import json
import logging
import mmap
import os
from pathlib import Path
from typing import Iterator

from common.files import fsync_dir
from sync.events import GENESIS, ChainProblem, canonical, chain, verify_chain

log = logging.getLogger(__name__)

SEGMENT_BYTES = 4 * 1024 * 1024
_PREFIX, _SUFFIX = "events-", ".jsonl"


class EventLog:
    """Append-only JSONL segments with a SHA-256 hash chain. Not thread-safe: the store locks."""

    def __init__(self, folder: Path, site_id: str | None, segment_bytes: int = SEGMENT_BYTES,
                 *, read_only: bool = False):
        """Open the log in ``folder`` for appending: find the last good event, drop a torn
        tail. ``read_only`` opens it as found, for ``read`` and ``verify`` only (the shell's
        ``kiosk.snapshot``): nothing created, repaired or written, ``last_seq`` stays 0."""
        self.folder = Path(folder)
        self.site_id = site_id
        self.segment_bytes = segment_bytes
        self.last_seq = 0
        self.last_hash = GENESIS
        self._file = None
        self._size = 0  # bytes of the current segment that hold whole, written batches
        if not read_only:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._recover_tail()

    # -- opening -----------------------------------------------------------------
    def segments(self) -> list[Path]:
        """Return the segment files, oldest first."""
        return sorted(self.folder.glob(f"{_PREFIX}*{_SUFFIX}"))

    def _recover_tail(self) -> None:
        """Find the last good event; drop a torn tail left by a crash.

        Only what follows the last readable event is dropped: a damaged line with good
        events after it is left in place for ``verify`` to report, never truncated away.
        """
        segments = self.segments()
        while segments:
            path = segments[-1]
            data = path.read_bytes()
            good_end, last, pos, unreadable, damaged = 0, None, 0, 0, 0
            for line in data.split(b"\n")[:-1]:  # complete lines only
                pos += len(line) + 1
                event = _parse(line)
                if event is None:
                    unreadable += 1
                    continue
                good_end, last, damaged = pos, event, unreadable
            if damaged:
                log.error("event log %s: %d unreadable line(s) before good events; kept for "
                          "inspection (see verify)", path.name, damaged)
            if good_end < len(data):
                log.warning("event log %s: dropped a torn last line (%d bytes) after a crash",
                            path.name, len(data) - good_end)
                with open(path, "r+b") as f:
                    f.truncate(good_end)
                    f.flush()
                    os.fsync(f.fileno())
            if last is None:
                path.unlink()  # an empty segment carries nothing
                fsync_dir(self.folder)
                segments.pop()
                continue
            self.last_seq, self.last_hash = last["seq"], last["hash"]
            break
        if segments:
            self._open_segment(segments[-1])
        else:
            self._start_segment()

    def _open_segment(self, path: Path) -> None:
        if self._file:
            self._file.close()
        self._file = open(path, "ab", buffering=0)
        self._size = os.fstat(self._file.fileno()).st_size

    def _start_segment(self) -> None:
        """Open a new segment named after the next seq."""
        self._open_segment(self.folder / f"{_PREFIX}{self.last_seq + 1:012d}{_SUFFIX}")
        fsync_dir(self.folder)

    def close(self) -> None:
        """Close the current segment."""
        if self._file:
            self._file.close()
            self._file = None

    # -- writing -----------------------------------------------------------------
    def prepare(self, partials: list[dict]) -> list[dict]:
        """Return ``partials`` chained after the last event, not yet written.

        Each partial carries ``ticket_id``, ``type``, ``at``, ``actor`` and ``data``;
        this adds ``site_id``, ``seq``, ``event_id``, ``prev_hash`` and ``hash``.
        """
        return chain(partials, self.site_id, self.last_seq, self.last_hash)

    def write(self, events: list[dict]) -> None:
        """Write prepared events with one write and one fsync.

        If the write or the fsync fails (a full disk), the segment is cut back to where
        the batch began, so no half batch is ever followed by the next append.
        """
        if not events:
            return
        if events[0]["seq"] != self.last_seq + 1 or events[0]["prev_hash"] != self.last_hash:
            raise ValueError("events were not prepared against the current end of the log")
        if self._size >= self.segment_bytes:
            self._start_segment()
        fd, start = self._file.fileno(), self._size
        payload = b"".join(canonical(e) + b"\n" for e in events)
        try:
            if os.fstat(fd).st_size != start:
                os.ftruncate(fd, start)  # an earlier failed write could not be cut back
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        except BaseException:
            try:
                os.ftruncate(fd, start)  # never leave half a batch for the next append
            except OSError:
                log.exception("event log: could not cut back a failed write; the next "
                              "append will")
            raise
        self._size = start + len(payload)
        self.last_seq, self.last_hash = events[-1]["seq"], events[-1]["hash"]

    # -- reading -----------------------------------------------------------------
    def read(self, after: int = 0) -> Iterator[dict]:
        """Yield the events with ``seq > after``, in order."""
        segments = self.segments()
        starts = [int(p.name[len(_PREFIX):-len(_SUFFIX)]) for p in segments]
        for i, path in enumerate(segments):
            if i + 1 < len(starts) and starts[i + 1] <= after + 1:
                continue  # every event of this segment is at or before ``after``
            with open(path, "rb") as f:
                _skip_to(f, after)
                for line in f:
                    if not line.endswith(b"\n"):
                        break
                    event = json.loads(line)
                    if event["seq"] > after:
                        yield event

    def verify(self, written_through: int = 0) -> list[ChainProblem]:
        """Check every event's seq, hash and link; return the problems found (none = intact).

        An unreadable line is reported and checking goes on with the next one; a log that
        ends before the last event this process wrote, or before ``written_through`` (what
        HQ confirmed), reports the missing tail.
        """
        return verify_chain(self._lines(), max(self.last_seq, written_through))

    def _lines(self) -> Iterator[tuple[None, dict | str]]:
        """Yield every whole line as ``(None, event)``, or why it is unreadable."""
        for path in self.segments():
            with open(path, "rb") as f:
                for line in f:
                    if not line.endswith(b"\n"):
                        break  # a torn tail: never acknowledged, dropped on the next open
                    try:
                        event = json.loads(line)
                        if not isinstance(event, dict):
                            raise ValueError("not a JSON object")
                    except ValueError as exc:
                        yield None, f"unreadable line in {path.name}: {exc}"
                        continue
                    yield None, event


def _skip_to(f, after: int) -> None:
    """Move ``f``, an open segment, to the first line with a seq above ``after``.

    Lines are in seq order, so a bisection over the file's bytes parses about
    log2(lines) of them, not every line before ``after``. If a probed line is not a
    readable event, ``f`` goes back to the start and the caller parses every line.
    """
    size = os.fstat(f.fileno()).st_size
    if after <= 0 or size == 0:
        return
    with mmap.mmap(f.fileno(), size, access=mmap.ACCESS_READ) as data:
        lo, hi = 0, size  # lo: a line start at or before the answer; hi: after it
        while lo < hi:
            start = data.rfind(b"\n", 0, (lo + hi) // 2) + 1  # the line holding the middle
            end = data.find(b"\n", start)
            if end < 0:  # a torn tail: never read
                hi = start
                continue
            event = _parse(data[start:end])
            if event is None:
                f.seek(0)
                return
            if event["seq"] <= after:
                lo = end + 1
            else:
                hi = start
    f.seek(lo)


def _parse(line: bytes) -> dict | None:
    """Return the event on a complete log line, or None if the line is not one."""
    try:
        event = json.loads(line)
    except ValueError:
        return None
    if (not isinstance(event, dict) or not isinstance(event.get("seq"), int)
            or not isinstance(event.get("hash"), str)):
        return None
    return event
