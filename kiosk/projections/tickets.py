"""The ticket projection: open tickets journalled, closed ones in monthly archives."""
from __future__ import annotations

import copy
import logging
import os
import time
from collections import OrderedDict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator

from .. import ids
from ..jsonstorage import CorruptFile, Journal
from ..tickets import model
from .archive import Archive

log = logging.getLogger("kiosk.projections")  # one logger for the projections
#: What ``open_summaries`` leaves out: the lists that only a ticket's own page shows.
SUMMARY_LEFT_OUT = frozenset({"events", "escalations"})


class Tickets:
    """Open tickets in memory, journalled to ``open.jsonl``; closed ones in archives.

    The open tickets are a dict by id, indexed by status token and by request id. A
    checkpoint appends to the journal only what changed since the last one (tickets put
    or dropped, daily counters, archive months) as one committed batch, so its cost
    follows the changes, not the number of open tickets; when the journal holds more
    than twice the live records (and ``COMPACT_RECORDS``), it is rewritten as a snapshot.
    """

    ARCHIVES_KEPT = 2
    REQUEST_MONTHS = 2
    COMPACT_RECORDS = 5000
    COUNTER_DAYS = 7

    def __init__(self, folder: Path, read_log: Callable[[], Iterator[dict]]):
        self.folder = folder
        self._read_log = read_log
        self.journal = Journal(folder / "open.jsonl")
        self._archives: OrderedDict[str, Archive] = OrderedDict()
        self._read_journal()

    def _read_journal(self) -> None:
        """Set the state to what the journal's committed batches hold."""
        self.open: dict[str, dict] = {}
        self.counters: dict[str, int] = {}  # site-local day -> highest daily number
        self.months: set[str] = set()  # months that have an archive
        self._changed_days: set[str] = set()
        for record in self.journal.read():
            self._restore_record(record)
        self.seq = self.journal.seq
        self._changed: set[str] = set()  # ticket ids put or dropped since the checkpoint
        self._changed_days = set()
        self._new_months: set[str] = set()
        self._rewrite = not self.journal.seq  # a new journal starts with a snapshot
        self._index_open()

    def _restore_record(self, record: dict) -> None:
        if isinstance(record.get("put"), dict) and {"id", "token"} <= set(record["put"]):
            self.open[record["put"]["id"]] = record["put"]
        elif isinstance(record.get("drop"), str):
            self.open.pop(record["drop"], None)
        elif isinstance(record.get("day"), str) and type(record.get("n")) is int:
            self._count(record["day"], record["n"])
        elif isinstance(record.get("month"), str):
            self.months.add(record["month"])
        else:
            raise CorruptFile(f"{self.journal.path.name}: unknown record {str(record)[:80]}")

    def _index_open(self) -> None:
        self._by_token = {t["token"]: tid for tid, t in self.open.items()}
        self._by_request = {t["request_id"]: tid for tid, t in self.open.items()
                            if t.get("request_id")}

    # -- archives ------------------------------------------------------------------
    def _path(self, month: str) -> Path:
        return self.folder / f"archive-{month}.json"

    def check_archives(self) -> None:
        """Raise CorruptFile if an archive this projection wrote is missing.

        Archives are parsed when first used; an unreadable one is rebuilt then.
        """
        for month in sorted(self.months):
            if not self._path(month).exists():
                raise CorruptFile(f"{self._path(month).name} is missing")

    def _has_archive(self, month: str | None) -> bool:
        return bool(month) and (month in self._archives or self._path(month).exists())

    def _archive(self, month: str) -> Archive:
        if month not in self.months:
            self.months.add(month)
            self._new_months.add(month)
        archive = self._archives.pop(month, None)
        if archive is None:
            try:
                archive = Archive(self._path(month))
            except CorruptFile as exc:
                archive = self._repair(month, exc)
        self._archives[month] = archive
        return archive

    def trim(self) -> None:
        """Write and close the archives beyond ARCHIVES_KEPT, the least recently used
        first, those of the REQUEST_MONTHS newest months last (every submit looks there).

        Called between appends only, so a refused batch never reaches a file.
        """
        newest = sorted(self.months)[-self.REQUEST_MONTHS:]
        order = sorted(self._archives, key=lambda month: month in newest)  # stable: LRU first
        for month in order[:max(0, len(self._archives) - self.ARCHIVES_KEPT)]:
            self._archives.pop(month).db.close()  # close() writes it first

    def _repair(self, month: str, problem: Exception) -> Archive:
        """Rebuild one month's archive from the log after finding it unreadable."""
        log.error("archive unreadable (%s): rebuilding %s from the event log", problem, month)
        path, aside = self._path(month), self.folder.parent / "corrupt"
        aside.mkdir(exist_ok=True)
        os.replace(path, aside / f"{path.name}.{int(time.time())}")  # kept for a person to see
        tickets: dict[str, dict] = {}
        for event in self._read_log():
            tid = event.get("ticket_id")
            if tid and ids.month_of(tid) == month:
                tickets[tid] = model.fold(tickets.get(tid), event)
        archive = Archive(path)
        archive.put_many([t for t in tickets.values() if t and t["status"] == "closed"])
        archive.db.storage.flush()
        return archive

    # -- writing -----------------------------------------------------------------
    def apply(self, event: dict) -> None:
        """Apply ``event`` unless already applied, then record its seq."""
        if event["seq"] <= self.seq:
            return
        if event.get("ticket_id"):
            self._apply(event)
        self.seq = event["seq"]

    def _apply(self, event: dict) -> None:
        tid = event["ticket_id"]
        where, doc = self._find(tid)
        ticket = model.fold(doc, event)
        if event["type"] == "reported":
            # counted even when the ticket is already projected (a replay over an archive
            # or an older journal), so a daily number is never handed out twice
            self._count(event["data"]["day"], int(event["data"]["number"].rsplit("-", 1)[1]))
        if ticket is doc or ticket is None:
            return
        if ticket["status"] == "closed":
            self._archive(ids.month_of(tid)).put(ticket)
            if where == "open":
                del self.open[tid]
                self._by_token.pop(ticket["token"], None)
                self._by_request.pop(ticket.get("request_id"), None)
                self._changed.add(tid)
            return
        if where == "archive":  # reopened
            self._archive(ids.month_of(tid)).remove(tid)
        self.open[tid] = ticket
        self._by_token[ticket["token"]] = tid
        if ticket.get("request_id"):
            self._by_request[ticket["request_id"]] = tid
        self._changed.add(tid)

    def _count(self, day: str, n: int) -> None:
        """Remember the highest daily counter used on a site-local ``day``; keep a week."""
        if n > self.counters.get(day, 0):
            self.counters[day] = n
            self._changed_days.add(day)
            while len(self.counters) > self.COUNTER_DAYS:
                del self.counters[min(self.counters)]

    def load(self, events: Iterable[dict]) -> None:
        """Fold a whole log into this empty projection at once (a rebuild)."""
        tickets: dict[str, dict] = {}
        last = 0
        for event in events:
            last = event["seq"]
            tid = event.get("ticket_id")
            if tid:
                tickets[tid] = model.fold(tickets.get(tid), event)
                if event["type"] == "reported":
                    self._count(event["data"]["day"],
                                int(event["data"]["number"].rsplit("-", 1)[1]))
        closed: dict[str, list[dict]] = {}
        for tid, ticket in tickets.items():
            if ticket is None:
                continue
            if ticket["status"] == "closed":
                closed.setdefault(ids.month_of(tid), []).append(ticket)
            else:
                self.open[tid] = ticket
        self._index_open()
        for month, batch in sorted(closed.items()):
            self._archive(month).put_many(batch)
        self.seq = max(self.seq, last)
        self._rewrite = True

    def flush(self) -> None:
        """Write the archives first, then what changed to the journal (one fsync)."""
        for archive in self._archives.values():
            archive.db.storage.flush()
        live = len(self.open) + len(self.counters) + len(self.months)
        if self._rewrite or self.journal.records > 2 * live + self.COMPACT_RECORDS:
            (self.folder / "open.json").unlink(missing_ok=True)  # the format before the journal
            self.journal.rewrite(
                [*({"month": m} for m in sorted(self.months)),
                 *({"day": d, "n": n} for d, n in sorted(self.counters.items())),
                 *({"put": t} for t in self.open.values())], self.seq)
        elif self.seq != self.journal.seq or self._changed:
            self.journal.append(
                [*({"month": m} for m in sorted(self._new_months)),
                 *({"day": d, "n": self.counters[d]} for d in sorted(self._changed_days)
                   if d in self.counters),
                 *({"put": self.open[tid]} if tid in self.open else {"drop": tid}
                   for tid in sorted(self._changed))], self.seq)
        self._changed, self._changed_days, self._new_months = set(), set(), set()
        self._rewrite = False

    def reload(self) -> None:
        """Forget what changed since the last checkpoint."""
        self._drop_archives()
        self._read_journal()

    def _drop_archives(self) -> None:
        for archive in self._archives.values():
            archive.db.storage.reload()
            archive.db.close()
        self._archives.clear()

    def discard(self) -> None:
        """Close without writing what changed since the last checkpoint."""
        self._drop_archives()

    # -- reading -----------------------------------------------------------------
    def _find(self, tid: str) -> tuple[str | None, dict | None]:
        doc = self.open.get(tid)
        if doc is not None:
            return "open", doc
        month = ids.month_of(tid)
        if self._has_archive(month):
            doc = self._archive(month).get(tid)
            if doc is not None:
                return "archive", doc
        return None, None

    def peek(self, tid: str) -> dict | None:
        """Return the ticket with id ``tid`` itself, not a copy: never change it."""
        return self._find(tid)[1]

    def get(self, tid: str) -> dict | None:
        """Return a copy of the ticket with id ``tid``, open or archived."""
        return copy.deepcopy(self._find(tid)[1])

    def by_token(self, token: str) -> dict | None:
        """Return a copy of the ticket whose status token is ``token``."""
        tid = self._by_token.get(token)
        if tid:
            return copy.deepcopy(self.open[tid])
        month = ids.month_of(token)
        if not self._has_archive(month):
            return None
        return copy.deepcopy(self._archive(month).by_token(token))

    def by_request(self, request_id: str) -> dict | None:
        """Return a copy of the ticket reported with ``request_id``.

        Open tickets are all indexed; closed ones are looked up in the archives of the
        ``REQUEST_MONTHS`` newest months, which hold every ticket reported in the last
        day (a draft's lifetime, the longest a resend can lag).
        """
        tid = self._by_request.get(request_id)
        if tid:
            return copy.deepcopy(self.open[tid])
        for month in sorted(self.months, reverse=True)[:self.REQUEST_MONTHS]:
            if self._has_archive(month):
                doc = self._archive(month).by_request(request_id)
                if doc is not None:
                    return copy.deepcopy(doc)
        return None

    def reported_between(self, start: datetime, end: datetime) -> Iterator[dict]:
        """Yield the tickets themselves, open and closed, reported in [start, end) (their
        archive months by the UTC month of their id): never change them."""
        for ticket in self.open.values():
            if start <= datetime.fromisoformat(ticket["reported_at"]) < end:
                yield ticket
        month, last = start.astimezone(timezone.utc).replace(day=1), end.astimezone(timezone.utc)
        while month < last:
            key = f"{month:%Y-%m}"
            if key in self.months and self._has_archive(key):
                for ticket in self._archive(key).tickets():
                    if start <= datetime.fromisoformat(ticket["reported_at"]) < end:
                        yield ticket
            month = (month + timedelta(days=32)).replace(day=1)

    def closed_where(self, keep: Callable[[dict], bool], months: int) -> list[dict]:
        """Return copies of the closed tickets reported in the ``months`` newest archive
        months for which ``keep(ticket)`` is true."""
        found = []
        for month in sorted(self.months, reverse=True)[:months]:
            if self._has_archive(month):
                found += [copy.deepcopy(t) for t in self._archive(month).tickets() if keep(t)]
        return found

    def all_open(self) -> list[dict]:
        """Return copies of every open ticket."""
        return copy.deepcopy(list(self.open.values()))

    def open_summaries(self) -> list[dict]:
        """Return copies of every open ticket without its timeline (``events``).

        What the queue lists on every render, without deep-copying each timeline: the
        other fields hold plain values but the technician (a small dict, copied) and the
        escalation list (left out with the timeline; ``get`` has both).
        """
        return [{**{k: v for k, v in doc.items() if k not in SUMMARY_LEFT_OUT},
                 "technician": dict(doc["technician"]) if doc.get("technician") else None}
                for doc in self.open.values()]

    def last_number(self, day: str) -> int:
        """Return the highest daily counter used on a site-local ``day`` (YYYY-MM-DD)."""
        return self.counters.get(day, 0)

    def close(self) -> None:
        self.flush()
        for archive in self._archives.values():
            archive.db.close()
