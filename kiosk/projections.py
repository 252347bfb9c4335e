"""Projections: TinyDB views of the event log, kept in memory, checkpointed to disk.

``Tickets`` keeps open tickets in one small hot file and moves closed ones to a
file per month of report, each with an in-memory index, so a submit costs the same
whatever the history. ``Locations`` keeps the site's places (R17). Every projection
records the last seq it applied and every ``apply`` is idempotent: after a crash the
store replays the log since the last checkpoint, and a lost or corrupt file is
rebuilt from the log.
"""
from __future__ import annotations

import copy
import logging
import os
import time
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Iterable, Iterator

from tinydb import Query, TinyDB
from tinydb.table import Document

from . import ids
from .jsonstorage import AtomicJSONStorage, CorruptFile
from .tickets import model

log = logging.getLogger(__name__)
_META = "_meta"


def _open(path: Path) -> TinyDB:
    return TinyDB(path, storage=AtomicJSONStorage, deferred=True)


class Projection:
    """A TinyDB file that remembers the last seq it applied; written at checkpoints."""

    def __init__(self, path: Path):
        self.db = _open(path)
        self._meta = self.db.table(_META)
        if not isinstance(self.seq, int) or isinstance(self.seq, bool):
            raise CorruptFile(f"{path.name}: the last applied seq is not a number")

    @property
    def storage(self) -> AtomicJSONStorage:
        return self.db.storage

    @property
    def seq(self) -> int:
        doc = self._meta.get(doc_id=1)
        return doc["seq"] if doc else 0

    def apply(self, event: dict) -> None:
        """Apply ``event`` unless already applied, then record its seq."""
        if event["seq"] <= self.seq:
            return
        self._apply(event)
        self._meta.upsert(Document({"seq": event["seq"]}, doc_id=1))

    def _apply(self, event: dict) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def flush(self) -> None:
        """Write what changed since the last checkpoint."""
        self.storage.flush()

    def reload(self) -> None:
        """Forget what changed since the last checkpoint."""
        self.storage.reload()
        self.db.clear_cache()

    def close(self) -> None:
        self.db.close()


class Archive:
    """The closed tickets reported in one month, indexed by id and by status token."""

    def __init__(self, path: Path):
        self.db = _open(path)
        self.table = self.db.table("tickets")
        self._ids: dict[str, int] = {}
        self._tokens: dict[str, int] = {}
        for doc in self.table.all():
            self._index(doc, doc.doc_id)

    def _index(self, ticket: dict, doc_id: int) -> None:
        self._ids[ticket["id"]], self._tokens[ticket["token"]] = doc_id, doc_id

    def get(self, tid: str) -> dict | None:
        doc_id = self._ids.get(tid)
        return self.table.get(doc_id=doc_id) if doc_id else None

    def by_token(self, token: str) -> dict | None:
        doc_id = self._tokens.get(token)
        return self.table.get(doc_id=doc_id) if doc_id else None

    def put(self, ticket: dict) -> None:
        """Insert or replace a closed ticket."""
        doc_id = self._ids.get(ticket["id"])
        if doc_id:
            self.table.upsert(Document(ticket, doc_id=doc_id))
        else:
            self._index(ticket, self.table.insert(ticket))

    def remove(self, tid: str) -> None:
        """Take a ticket out (it was reopened)."""
        doc_id = self._ids.pop(tid)
        self._tokens.pop(self.table.get(doc_id=doc_id)["token"], None)
        self.table.remove(doc_ids=[doc_id])

    def put_many(self, tickets: list[dict]) -> None:
        """Insert many new tickets at once (a rebuild)."""
        for ticket, doc_id in zip(tickets, self.table.insert_multiple(tickets)):
            self._index(ticket, doc_id)


class Tickets(Projection):
    """Open tickets in ``open.json``; closed ones in ``archive-YYYY-MM.json``."""

    ARCHIVES_KEPT = 2

    def __init__(self, folder: Path, read_log: Callable[[], Iterator[dict]]):
        super().__init__(folder / "open.json")
        self.folder = folder
        self._read_log = read_log
        self.open = self.db.table("tickets")
        self.counters = self.db.table("counters")
        self.months = self.db.table("archive_months")
        self._archives: OrderedDict[str, Archive] = OrderedDict()
        self._by_token = {t["token"]: t["id"] for t in self.open.all()}

    # -- archives ------------------------------------------------------------------
    def _path(self, month: str) -> Path:
        return self.folder / f"archive-{month}.json"

    def check_archives(self) -> None:
        """Raise CorruptFile if an archive this projection wrote is missing.

        Archives are parsed when first used; an unreadable one is rebuilt then.
        """
        for doc in self.months.all():
            if not self._path(doc["month"]).exists():
                raise CorruptFile(f"{self._path(doc['month']).name} is missing")

    def _has_archive(self, month: str | None) -> bool:
        return bool(month) and (month in self._archives or self._path(month).exists())

    def _archive(self, month: str) -> Archive:
        if not self.months.contains(Query().month == month):
            self.months.insert({"month": month})
        archive = self._archives.pop(month, None)
        if archive is None:
            try:
                archive = Archive(self._path(month))
            except CorruptFile as exc:
                archive = self._repair(month, exc)
        self._archives[month] = archive
        return archive

    def trim(self) -> None:
        """Write and close the least recently used archives beyond ARCHIVES_KEPT.

        Called between appends only, so a refused batch never reaches a file.
        """
        while len(self._archives) > self.ARCHIVES_KEPT:
            self._archives.popitem(last=False)[1].db.close()  # close() writes it first

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
    def _apply(self, event: dict) -> None:
        if not event.get("ticket_id"):
            return
        tid = event["ticket_id"]
        where, doc = self._find(tid)
        ticket = model.fold(doc, event)
        if event["type"] == "reported":
            # counted even when the ticket is already projected (a replay over an archive
            # or an older hot file), so a daily number is never handed out twice
            self._count(event["data"]["day"], int(event["data"]["number"].rsplit("-", 1)[1]))
        if ticket is doc or ticket is None:
            return
        if ticket["status"] == "closed":
            self._archive(ids.month_of(tid)).put(ticket)
            if where == "open":
                self.open.remove(Query().id == tid)
                self._by_token.pop(ticket["token"], None)
            return
        if where == "archive":  # reopened
            self._archive(ids.month_of(tid)).remove(tid)
        self.open.upsert(ticket, Query().id == tid)
        self._by_token[ticket["token"]] = tid

    def _count(self, day: str, n: int) -> None:
        """Remember the highest daily counter used on a site-local ``day``; keep a week."""
        doc = self.counters.get(Query().day == day)
        if not doc or doc["n"] < n:
            self.counters.upsert({"day": day, "n": n}, Query().day == day)
            if len(self.counters) > 7:
                oldest = min(d["day"] for d in self.counters.all())
                self.counters.remove(Query().day == oldest)

    def load(self, events: Iterable[dict]) -> None:
        """Fold a whole log into this empty projection at once (a rebuild)."""
        tickets: dict[str, dict] = {}
        counters: dict[str, int] = {}  # day -> highest number, all days: a week is kept below
        last = 0
        for event in events:
            last = event["seq"]
            tid = event.get("ticket_id")
            if tid:
                tickets[tid] = model.fold(tickets.get(tid), event)
                if event["type"] == "reported":
                    day, n = event["data"]["day"], int(event["data"]["number"].rsplit("-", 1)[1])
                    if n > counters.get(day, 0):
                        counters[day] = n
        for day in sorted(counters)[-7:]:  # what counting event by event would have kept
            self._count(day, counters[day])
        closed: dict[str, list[dict]] = {}
        tickets = {tid: t for tid, t in tickets.items() if t is not None}
        for ticket in tickets.values():
            if ticket["status"] == "closed":
                closed.setdefault(ids.month_of(ticket["id"]), []).append(ticket)
        self.open.insert_multiple(t for t in tickets.values() if t["status"] != "closed")
        self._by_token = {t["token"]: t["id"] for t in self.open.all()}
        for month, batch in sorted(closed.items()):
            self._archive(month).put_many(batch)
        if last:
            self._meta.upsert(Document({"seq": last}, doc_id=1))

    def flush(self) -> None:
        """Write the archives first, then the hot file that records the seq."""
        for archive in self._archives.values():
            archive.db.storage.flush()
        super().flush()

    def reload(self) -> None:
        for archive in self._archives.values():
            archive.db.storage.reload()
            archive.db.close()
        self._archives.clear()
        super().reload()
        self._by_token = {t["token"]: t["id"] for t in self.open.all()}

    # -- reading -----------------------------------------------------------------
    def _find(self, tid: str) -> tuple[str | None, dict | None]:
        doc = self.open.get(Query().id == tid)
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
            return self.get(tid)
        month = ids.month_of(token)
        if not self._has_archive(month):
            return None
        return copy.deepcopy(self._archive(month).by_token(token))

    def all_open(self) -> list[dict]:
        """Return copies of every open ticket."""
        return copy.deepcopy(self.open.all())

    def open_summaries(self) -> list[dict]:
        """Return copies of every open ticket without its timeline (``events``).

        What the queue lists on every render, without deep-copying each timeline: every
        other field holds a plain value, so a shallow copy is a whole one.
        """
        return [{k: v for k, v in doc.items() if k != "events"} for doc in self.open]

    def last_number(self, day: str) -> int:
        """Return the highest daily counter used on a site-local ``day`` (YYYY-MM-DD)."""
        doc = self.counters.get(Query().day == day)
        return doc["n"] if doc else 0

    def close(self) -> None:
        self.flush()
        for archive in self._archives.values():
            archive.db.close()
        super().close()


class Locations(Projection):
    """The site's places, by stable code (R17)."""

    #: the only events this projection folds
    EVENT_TYPES = frozenset({"locations_imported", "location_saved"})

    def __init__(self, folder: Path):
        super().__init__(folder / "meta.json")
        self.table = self.db.table("locations")

    def load(self, events: Iterable[dict], last_seq: int) -> None:
        """Fold events into this empty projection at once (a rebuild); record ``last_seq``.

        ``events`` may hold only the events of ``EVENT_TYPES``: the others change nothing.
        """
        for event in events:
            self._apply(event)
        if last_seq:
            self._meta.upsert(Document({"seq": last_seq}, doc_id=1))

    def _apply(self, event: dict) -> None:
        if event["type"] == "locations_imported":
            if event["data"].get("replace_demo"):
                self.table.update({"active": False}, Query().demo == True)  # noqa: E712
            for row in event["data"]["rows"]:
                self.table.upsert({"active": True, "demo": False, **row},
                                  Query().code == row["code"])
        elif event["type"] == "location_saved":  # added, renamed, retired or restored
            data, where = event["data"], Query().code == event["data"]["code"]
            if self.table.contains(where):
                self.table.update(data, where)  # a demo place stays marked as one
            else:
                self.table.insert({"demo": False, **data})

    def all(self, active_only: bool = True) -> list[dict]:
        """Return the locations, sorted by building then code."""
        rows = self.table.search(Query().active == True) if active_only else self.table.all()  # noqa: E712
        return sorted((dict(r) for r in rows), key=lambda r: (r.get("building") or "", r["code"]))

    def get(self, code: str) -> dict | None:
        """Return the location with ``code``, active or retired."""
        doc = self.table.get(Query().code == code)
        return dict(doc) if doc else None
