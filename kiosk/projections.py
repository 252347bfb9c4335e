"""Projections: TinyDB views of the event log, rebuilt from it when lost.

``Tickets`` keeps open tickets in one small hot file and moves closed ones to a
file per month of report, so a write costs the same whatever the history.
``Locations`` keeps the site's places (R17). Each projection records the last seq
it applied; every ``apply`` is idempotent, so replaying the log is always safe.
"""
from __future__ import annotations

import copy
from collections import OrderedDict
from contextlib import ExitStack, contextmanager
from pathlib import Path

from tinydb import Query, TinyDB
from tinydb.table import Document

from . import ids
from .jsonstorage import AtomicJSONStorage, CorruptFile
from .tickets import model

_META = "_meta"


class Projection:
    """A TinyDB file that remembers the last seq it applied."""

    def __init__(self, path: Path):
        self.db = TinyDB(path, storage=AtomicJSONStorage)
        self._meta = self.db.table(_META)

    @property
    def storage(self) -> AtomicJSONStorage:
        return self.db.storage

    @property
    def seq(self) -> int:
        doc = self._meta.get(doc_id=1)
        return doc["seq"] if doc else 0

    def _set_seq(self, seq: int) -> None:
        self._meta.upsert(Document({"seq": seq}, doc_id=1))

    @contextmanager
    def held(self):
        """Gather this projection's writes into one atomic write."""
        with self.storage.held():
            yield

    def apply(self, event: dict) -> None:
        """Apply ``event`` unless already applied, then record its seq."""
        if event["seq"] <= self.seq:
            return
        self._apply(event)
        self._set_seq(event["seq"])

    def _apply(self, event: dict) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:
        self.db.close()


class Tickets(Projection):
    """Open tickets in ``open.json``; closed ones in ``archive-YYYY-MM.json``."""

    ARCHIVES_KEPT = 2

    def __init__(self, folder: Path):
        super().__init__(folder / "open.json")
        self.folder = folder
        self.open = self.db.table("tickets")
        self.counters = self.db.table("counters")
        self.months = self.db.table("archive_months")
        self._archives: OrderedDict[str, TinyDB] = OrderedDict()
        self._held: ExitStack | None = None
        self._by_token = {t["token"]: t["id"] for t in self.open.all()}

    # -- writing -----------------------------------------------------------------
    @contextmanager
    def held(self):
        """Hold the hot file and every archive touched; archives are written first."""
        try:
            with self.storage.held(), ExitStack() as stack:
                for db in self._archives.values():
                    stack.enter_context(db.storage.held())
                self._held = stack
                yield
        except BaseException:
            self._by_token = {t["token"]: t["id"] for t in self.open.all()}
            raise
        finally:
            self._held = None

    def check_archives(self) -> None:
        """Raise CorruptFile if an archive this projection wrote is missing or unreadable."""
        for doc in self.months.all():
            path = self.folder / f"archive-{doc['month']}.json"
            if not path.exists():
                raise CorruptFile(f"{path.name} is missing")
            AtomicJSONStorage(path)  # parses the file, or raises CorruptFile

    def _archive(self, month: str) -> TinyDB:
        db = self._archives.pop(month, None)
        if db is None:
            if not self.months.contains(Query().month == month):
                self.months.insert({"month": month})
            db = TinyDB(self.folder / f"archive-{month}.json", storage=AtomicJSONStorage)
            if self._held is not None:
                self._held.enter_context(db.storage.held())
        self._archives[month] = db
        while len(self._archives) > self.ARCHIVES_KEPT and self._held is None:
            self._archives.popitem(last=False)[1].close()
        return db

    def _apply(self, event: dict) -> None:
        if not event.get("ticket_id"):
            return
        tid = event["ticket_id"]
        where, doc = self._find(tid)
        ticket = model.apply(doc, event)
        if ticket is doc:
            return
        if ticket["status"] == "closed":
            self._archive(ids.month_of(tid)).table("tickets").upsert(ticket, Query().id == tid)
            if where == "open":
                self.open.remove(Query().id == tid)
                self._by_token.pop(ticket["token"], None)
        elif where == "archive":
            raise model.rules.RuleError("a closed ticket cannot change")
        else:
            self.open.upsert(ticket, Query().id == tid)
            self._by_token[ticket["token"]] = tid
        if event["type"] == "reported":
            self._count(event["data"]["day"], int(event["data"]["number"].rsplit("-", 1)[1]))

    def _count(self, day: str, n: int) -> None:
        """Remember the highest daily counter used on a site-local ``day``; keep a week."""
        doc = self.counters.get(Query().day == day)
        if not doc or doc["n"] < n:
            self.counters.upsert({"day": day, "n": n}, Query().day == day)
            if len(self.counters) > 7:
                oldest = min(d["day"] for d in self.counters.all())
                self.counters.remove(Query().day == oldest)

    # -- reading -----------------------------------------------------------------
    def _find(self, tid: str) -> tuple[str | None, dict | None]:
        doc = self.open.get(Query().id == tid)
        if doc is not None:
            return "open", doc
        month = ids.month_of(tid)
        if month and (self.folder / f"archive-{month}.json").exists():
            doc = self._archive(month).table("tickets").get(Query().id == tid)
            if doc is not None:
                return "archive", doc
        return None, None

    def get(self, tid: str) -> dict | None:
        """Return a copy of the ticket with id ``tid``, open or archived."""
        return copy.deepcopy(self._find(tid)[1])

    def by_token(self, token: str) -> dict | None:
        """Return a copy of the ticket whose status token is ``token``."""
        tid = self._by_token.get(token)
        if tid:
            return self.get(tid)
        month = ids.month_of(token)
        if not month or not (self.folder / f"archive-{month}.json").exists():
            return None
        return copy.deepcopy(self._archive(month).table("tickets").get(Query().token == token))

    def all_open(self) -> list[dict]:
        """Return copies of every open ticket."""
        return copy.deepcopy(self.open.all())

    def last_number(self, day: str) -> int:
        """Return the highest daily counter used on a site-local ``day`` (YYYY-MM-DD)."""
        doc = self.counters.get(Query().day == day)
        return doc["n"] if doc else 0

    def close(self) -> None:
        for db in self._archives.values():
            db.close()
        super().close()


class Locations(Projection):
    """The site's places, by stable code (R17). Drafts share the file: they are small."""

    def __init__(self, folder: Path):
        super().__init__(folder / "meta.json")
        self.table = self.db.table("locations")

    def _apply(self, event: dict) -> None:
        if event["type"] == "locations_imported":
            if event["data"].get("replace_demo"):
                self.table.update({"active": False}, Query().demo == True)  # noqa: E712
            for row in event["data"]["rows"]:
                self.table.upsert({"active": True, "demo": False, **row},
                                  Query().code == row["code"])

    def all(self, active_only: bool = True) -> list[dict]:
        """Return the locations, sorted by building then code."""
        rows = self.table.search(Query().active == True) if active_only else self.table.all()  # noqa: E712
        return sorted((dict(r) for r in rows), key=lambda r: (r.get("building") or "", r["code"]))

    def get(self, code: str) -> dict | None:
        """Return the location with ``code``, active or retired."""
        doc = self.table.get(Query().code == code)
        return dict(doc) if doc else None
