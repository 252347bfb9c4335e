"""The kiosk store: one per process, one lock, the event log and its projections.

Every operation, reads included, runs under one ``threading.RLock``; services take
``store.lock`` around whole read-modify-write sequences. An exclusive ``flock`` on
``<data>/.lock`` refuses a second server on the same data folder. On open, a torn
log tail is dropped, a missing or corrupt projection is rebuilt from the log, and
events written but not yet projected (a crash in between) are replayed.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets
import shutil
import threading
import time
from contextlib import ExitStack
from pathlib import Path

from .eventlog import EventLog
from .jsonstorage import CorruptFile
from .projections import Locations, Tickets

log = logging.getLogger(__name__)

DRAFT_TTL_SECONDS = 24 * 3600


class StoreLocked(RuntimeError):
    """Another process already serves this data folder."""


class Store:
    """The event log of a site and the TinyDB projections built from it."""

    def __init__(self, folder: str | Path, site_id: str | None = None):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self._lockfile = self._acquire_lockfile()
        try:
            self.site_id = self._site_id(site_id)
            self.log = EventLog(self.folder / "log", self.site_id)
            self._open_projections()
        except BaseException:
            self._lockfile.close()
            raise

    # -- opening and recovery ----------------------------------------------------
    def _acquire_lockfile(self):
        f = open(self.folder / ".lock", "a+")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "unknown"
            f.close()
            raise StoreLocked(f"another FrontDesk process (pid {holder}) is already using the "
                              f"data folder {self.folder}; stop it first") from None
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        return f

    def _site_id(self, wanted: str | None) -> str:
        path = self.folder / "site.json"
        if path.exists():
            site_id = json.loads(path.read_text())["site_id"]
            if wanted and wanted != site_id:
                raise ValueError(f"data folder {self.folder} belongs to site {site_id!r}, "
                                 f"not {wanted!r}")
            return site_id
        site_id = wanted or f"site-{secrets.token_hex(3)}"
        path.write_text(json.dumps({"site_id": site_id}))
        return site_id

    def _projection_folder(self) -> Path:
        folder = self.folder / "projections"
        folder.mkdir(exist_ok=True)
        return folder

    def _open_projections(self) -> None:
        try:
            self.tickets = Tickets(self._projection_folder())
            self.locations = Locations(self._projection_folder())
            self.tickets.check_archives()
        except CorruptFile as exc:
            log.warning("projection unreadable (%s): rebuilding every projection from the log", exc)
            self.rebuild()
            return
        if max(p.seq for p in self._projections()) > self.log.last_seq:
            log.warning("projections are ahead of the event log: rebuilding them from the log")
            self.rebuild()
            return
        self._replay()

    def _projections(self):
        return (self.tickets, self.locations)

    def _replay(self) -> int:
        """Apply the events the projections have not seen yet; return how many."""
        start = min(p.seq for p in self._projections())
        if start >= self.log.last_seq:
            return 0
        with self._held():
            count = 0
            for event in self.log.read(after=start):
                for p in self._projections():
                    p.apply(event)
                count += 1
        log.warning("replayed %d event(s) from the log into the projections (seq %d..%d)",
                    count, start + 1, self.log.last_seq)
        return count

    def rebuild(self) -> None:
        """Throw the projections away and build them again from the whole log."""
        with self.lock:
            for p in getattr(self, "tickets", None), getattr(self, "locations", None):
                if p is not None:
                    p.close()
            stale = self.folder / f"projections.old-{int(time.time())}"
            if (self.folder / "projections").exists():
                os.replace(self.folder / "projections", stale)
            self.tickets = Tickets(self._projection_folder())
            self.locations = Locations(self._projection_folder())
            self._replay()
            shutil.rmtree(stale, ignore_errors=True)

    def _held(self) -> ExitStack:
        stack = ExitStack()
        for p in self._projections():
            stack.enter_context(p.held())
        return stack

    # -- writing -----------------------------------------------------------------
    def append(self, partials: list[dict]) -> list[dict]:
        """Append events to the log (fsynced) and apply them to every projection.

        The events are applied in memory first; if a rule refuses one, nothing is
        written anywhere and the RuleError propagates.
        """
        with self.lock, self._held():
            events = self.log.prepare(partials)
            for event in events:
                for p in self._projections():
                    p.apply(event)
            self.log.write(events)
            return events

    # -- drafts: a visitor's entry in progress, never logged ------------------------
    def save_draft(self, draft_id: str, fields: dict) -> None:
        """Store the fields of an unfinished entry; forget drafts untouched for a day."""
        now = time.time()
        with self.lock:
            drafts = self.locations.db.table("drafts")
            drafts.remove(lambda d: d["touched"] < now - DRAFT_TTL_SECONDS)
            drafts.upsert({"id": draft_id, "fields": fields, "touched": now},
                          lambda d: d["id"] == draft_id)

    def get_draft(self, draft_id: str) -> dict:
        """Return the fields of a draft, empty if there is none."""
        with self.lock:
            doc = self.locations.db.table("drafts").get(lambda d: d["id"] == draft_id)
            return dict(doc["fields"]) if doc else {}

    def discard_draft(self, draft_id: str) -> None:
        """Forget a draft (submitted, or cleared for the next visitor)."""
        with self.lock:
            self.locations.db.table("drafts").remove(lambda d: d["id"] == draft_id)

    # -- health ------------------------------------------------------------------
    def status(self) -> dict:
        """Return a small health summary."""
        with self.lock:
            return {"site_id": self.site_id, "last_seq": self.log.last_seq,
                    "open_tickets": len(self.tickets.open)}

    def close(self) -> None:
        """Flush and release everything, including the data-folder lock."""
        with self.lock:
            for p in self._projections():
                p.close()
            self.log.close()
            self._lockfile.close()
