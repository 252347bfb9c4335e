"""The kiosk store: one per process, one lock, the event log and its projections.

Every operation, reads included, runs under one ``threading.RLock``; services take
``store.lock`` around whole read-modify-write sequences. An exclusive ``flock`` on
``<data>/.lock`` refuses a second server on the same data folder. On open, a torn
log tail is dropped, a missing or corrupt projection is rebuilt from the log, and
events written but not yet projected are replayed.

The log is the only thing written before a request is answered (one fsync). The
projections live in memory and are written to disk at checkpoints (every
``CHECKPOINT_EVENTS`` events or ``CHECKPOINT_SECONDS``, and on close), archives
before the hot file; a crash loses nothing, as the events since the last checkpoint
are replayed from the log on the next start.
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
from pathlib import Path
from typing import Callable

from .eventlog import EventLog, fsync_dir
from tinydb import TinyDB

from .jsonstorage import AtomicJSONStorage, CorruptFile
from .projections import Locations, Tickets

log = logging.getLogger(__name__)

DRAFT_TTL_SECONDS = 24 * 3600
CHECKPOINT_EVENTS = 500
CHECKPOINT_SECONDS = 10.0


class StoreLocked(RuntimeError):
    """Another process already serves this data folder."""


class Store:
    """The event log of a site and the TinyDB projections built from it."""

    def __init__(self, folder: str | Path, site_id: str | None = None):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        #: called with the last seq after each append (a caller may still hold the lock):
        #: a listener only signals, never blocks; its exceptions are logged, not raised
        self.listeners: list[Callable[[int], None]] = []
        self._unsaved_since: float | None = None  # monotonic time of the first unsaved event
        self._unsaved = 0
        self._lockfile = self._acquire_lockfile()
        try:
            self.site_id = self._site_id(site_id)
            self.log = EventLog(self.folder / "log", self.site_id)
            self._drafts = TinyDB(self.folder / "drafts.json", storage=AtomicJSONStorage).table(
                "drafts")
            self._open_projections()
        except BaseException:
            if getattr(self, "log", None) is not None:
                self.log.close()
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
        # written atomically: a crash on the first start must not leave an empty file
        # that no later start can read
        tmp = path.with_name(f".{path.name}.tmp")
        with open(tmp, "w") as f:
            f.write(json.dumps({"site_id": site_id}))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(self.folder)
        return site_id

    def _projection_folder(self) -> Path:
        folder = self.folder / "projections"
        folder.mkdir(exist_ok=True)
        return folder

    def _new_projections(self) -> None:
        self.tickets = Tickets(self._projection_folder(), self.log.read)
        self.locations = Locations(self._projection_folder())

    def _open_projections(self) -> None:
        try:
            self._new_projections()
            self.tickets.check_archives()
        except CorruptFile as exc:
            log.warning("projection unreadable (%s): rebuilding every projection from the log", exc)
            self.rebuild()
            return
        if max(p.seq for p in self._projections()) > self.log.last_seq:
            log.warning("projections are ahead of the event log: rebuilding them from the log")
            self.rebuild()
            return
        start, count = min(p.seq for p in self._projections()), self._replay()
        if count:
            log.warning("replayed %d event(s) from the log into the projections (seq %d..%d): "
                        "written since the last checkpoint", count, start + 1, self.log.last_seq)
            self.checkpoint()

    def _projections(self):
        return (self.tickets, self.locations)

    def _replay(self) -> int:
        """Apply the events the projections have not seen yet; return how many."""
        start = min(p.seq for p in self._projections())
        count = 0
        for event in self.log.read(after=start) if start < self.log.last_seq else ():
            for p in self._projections():
                p.apply(event)
            count += 1
        return count

    def rebuild(self) -> None:
        """Throw the projections away and build them again from the whole log."""
        with self.lock:
            for p in getattr(self, "tickets", None), getattr(self, "locations", None):
                if p is not None:
                    p.storage.reload()  # never write what is thrown away
                    p.close()
            stale = self.folder / f"projections.old-{int(time.time())}"
            if (self.folder / "projections").exists():
                os.replace(self.folder / "projections", stale)
            self._new_projections()
            places: list[dict] = []  # the few events of the places, set aside on the way

            def events():  # one read of the log for both projections
                for event in self.log.read():
                    if event["type"] in Locations.EVENT_TYPES:
                        places.append(event)
                    yield event

            self.tickets.load(events())
            self.locations.load(places, self.log.last_seq)
            self.checkpoint()
            shutil.rmtree(stale, ignore_errors=True)

    def checkpoint(self) -> None:
        """Write the projections to disk (archives first, then the hot files)."""
        with self.lock:
            for p in self._projections():
                p.flush()
            self._unsaved, self._unsaved_since = 0, None

    # -- writing -----------------------------------------------------------------
    def append(self, partials: list[dict]) -> list[dict]:
        """Append events to the log (fsynced) and apply them to every projection.

        The events are applied in memory first; if a rule refuses one, nothing is
        written anywhere, the projections are as before, and the RuleError propagates.
        """
        with self.lock:
            events = self.log.prepare(partials)
            try:
                for event in events:
                    for p in self._projections():
                        p.apply(event)
                self.log.write(events)
            except BaseException:
                self._restore()
                raise
            self.tickets.trim()
            self._unsaved += len(events)
            self._unsaved_since = self._unsaved_since or time.monotonic()
            if (self._unsaved >= CHECKPOINT_EVENTS
                    or time.monotonic() - self._unsaved_since >= CHECKPOINT_SECONDS):
                self.checkpoint()
        for listener in list(self.listeners) if events else ():
            try:
                listener(events[-1]["seq"])
            except Exception:  # a listener must never break an append
                log.exception("store listener failed")
        return events

    def _restore(self) -> None:
        """Drop half-applied changes: back to the last checkpoint, then replay the log."""
        for p in self._projections():
            p.reload()
        self._replay()

    # -- drafts: a visitor's entry in progress, never logged ------------------------
    def save_draft(self, draft_id: str, fields: dict) -> None:
        """Store the fields of an unfinished entry; forget drafts untouched for a day."""
        now = time.time()
        with self.lock:
            drafts = self._drafts
            drafts.remove(lambda d: d["touched"] < now - DRAFT_TTL_SECONDS)
            drafts.upsert({"id": draft_id, "fields": fields, "touched": now},
                          lambda d: d["id"] == draft_id)

    def get_draft(self, draft_id: str) -> dict:
        """Return the fields of a draft, empty if there is none."""
        with self.lock:
            doc = self._drafts.get(lambda d: d["id"] == draft_id)
            return dict(doc["fields"]) if doc else {}

    def all_drafts(self) -> list[dict]:
        """Return every unfinished entry (id, fields, touched), newest first."""
        with self.lock:
            docs = self._drafts.all()
            return sorted((dict(d) for d in docs), key=lambda d: -d["touched"])

    def discard_draft(self, draft_id: str) -> None:
        """Forget a draft (submitted, or cleared for the next visitor)."""
        with self.lock:
            self._drafts.remove(lambda d: d["id"] == draft_id)

    # -- health ------------------------------------------------------------------
    def status(self) -> dict:
        """Return a small health summary."""
        with self.lock:
            return {"site_id": self.site_id, "last_seq": self.log.last_seq,
                    "open_tickets": len(self.tickets.open)}

    def close(self) -> None:
        """Flush and release everything, including the data-folder lock."""
        with self.lock:
            self.checkpoint()
            for p in self._projections():
                p.close()
            self.log.close()
            self._lockfile.close()
