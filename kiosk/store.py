"""The kiosk store: one per process, one lock, the event log and its projections.

The store is the only door to data: callers read through its methods (``ticket``,
``open_summaries``, ``locations``, ...), each under one ``threading.RLock`` and each
returning copies; services take ``store.lock`` around whole read-modify-write
sequences. Writing follows one path, ``append``: the rules decide every ticket event
against the ticket's state (a refusal writes nothing), the log appends (fsync), the
projections apply. An exclusive ``flock`` on ``<data>/.lock`` refuses a second server
on the same data folder. On open, a torn log tail is dropped, a missing or corrupt
projection is rebuilt from the log, and events written but not yet projected are
replayed.

The log is the only thing written before a request is answered (one fsync). The
projections live in memory, the open tickets indexed by id, status token and request
id, and are written to disk at checkpoints (every ``CHECKPOINT_EVENTS`` events or
``CHECKPOINT_SECONDS``, and on close): archives first, then the open tickets' journal,
which gets only what changed since the last checkpoint (``projections.tickets.Tickets``), so a
checkpoint costs the same however many tickets are open. A crash loses nothing, as
the events since the last checkpoint are replayed from the log on the next start.

Drafts, a visitor's entry in progress, are not records and never logged: one small
file each, bounded in size and number (``kiosk.drafts``).
"""
from __future__ import annotations

import fcntl
import itertools
import json
import logging
import os
import secrets
import shutil
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Callable, TypeVar

from common.files import atomic_write
from sync.events import iso

from .drafts import Drafts
from .eventlog import EventLog
from .jsonstorage import CorruptFile
from .projections.arrears import Arrears
from .projections.directory import Directory
from .projections.fees import FeeStandards
from .projections.handover import Handovers
from .projections.households import Households
from .projections.letters import Letters
from .projections.locations import Locations
from .projections.meters import Meters
from .projections.movein import MoveIns
from .projections.notices import Notices
from .projections.plan import Plan
from .projections.registers import Registers
from .projections.reports import Reports
from .projections.tickets import Tickets
from .tickets import model

log = logging.getLogger(__name__)

T = TypeVar("T")

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
            self._log = EventLog(self.folder / "log", self.site_id)
            self._drafts = Drafts(self.folder / "drafts", legacy=self.folder / "drafts.json")
            self._open_projections()
        except BaseException:
            if getattr(self, "_log", None) is not None:
                self._log.close()
            self._lockfile.close()
            raise

    # -- opening and recovery ----------------------------------------------------
    def _acquire_lockfile(self):
        f = open(self.folder / ".lock", "a+")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.readline().strip() or "unknown"
            f.close()
            raise StoreLocked(f"another FrontDesk process (pid {holder}) is already using the "
                              f"data folder {self.folder}; stop it first") from None
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        return f

    def announce(self, address: str) -> None:
        """Write, after the pid in the lock file, the address this process serves the
        console at, so a shell command run meanwhile can send the user there
        (``kiosk.shell``)."""
        self._lockfile.seek(0)
        self._lockfile.truncate()
        self._lockfile.write(f"{os.getpid()}\n{address}\n")
        self._lockfile.flush()

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
        atomic_write(path, json.dumps({"site_id": site_id}).encode())
        return site_id

    def _projection_folder(self) -> Path:
        folder = self.folder / "projections"
        folder.mkdir(exist_ok=True)
        return folder

    def _new_projections(self) -> None:
        """Open every projection, the tickets first; ``_opened`` holds those opened, even if
        one then fails, and once all are open is what ``_projections`` returns."""
        folder, self._opened = self._projection_folder(), []

        def opened(projection):
            self._opened.append(projection)
            return projection

        self._tickets = opened(Tickets(folder, self._log.read))
        self._locations = opened(Locations(folder))
        self._directory = opened(Directory(folder))
        self._reports = opened(Reports(folder))
        self._handovers = opened(Handovers(folder))
        self._households = opened(Households(folder))
        self._meters = opened(Meters(folder))
        self._fees = opened(FeeStandards(folder))
        self._arrears = opened(Arrears(folder))
        self._notices = opened(Notices(folder))
        self._letters = opened(Letters(folder))
        self._plan = opened(Plan(folder))
        self._registers = opened(Registers(folder))
        self._moveins = opened(MoveIns(folder))

    def _open_projections(self) -> None:
        try:
            self._new_projections()
            self._tickets.check_archives()
        except CorruptFile as exc:
            log.warning("projection unreadable (%s): rebuilding every projection from the log", exc)
            self.rebuild()
            return
        if max(p.seq for p in self._projections()) > self._log.last_seq:
            log.warning("projections are ahead of the event log: rebuilding them from the log")
            self.rebuild()
            return
        start, count = min(p.seq for p in self._projections()), self._replay()
        if count:
            log.warning("replayed %d event(s) from the log into the projections (seq %d..%d): "
                        "written since the last checkpoint", count, start + 1, self._log.last_seq)
            self.checkpoint()

    def _projections(self):
        return tuple(self._opened)

    def _site_projections(self):
        """The small projections of a few site events each (places, departments, reports):
        every one opened after the tickets."""
        return tuple(self._opened[1:])

    def _replay(self) -> int:
        """Apply the events the projections have not seen yet; return how many."""
        start = min(p.seq for p in self._projections())
        count = 0
        for event in self._log.read(after=start) if start < self._log.last_seq else ():
            for p in self._projections():
                p.apply(event)
            count += 1
        return count

    def rebuild(self) -> None:
        """Throw the projections away and build them again from the whole log."""
        with self.lock:
            for p in getattr(self, "_opened", ()):
                p.discard()  # never write what is thrown away
            stale = self.folder / f"projections.old-{int(time.time())}"
            if (self.folder / "projections").exists():
                os.replace(self.folder / "projections", stale)
            self._new_projections()
            # the few events of each small projection, set aside on the way
            small = [(p, []) for p in self._site_projections()]

            def events():  # one read of the log for every projection
                for event in self._log.read():
                    for p, own in small:
                        if p.wants(event):
                            own.append(event)
                    yield event

            self._tickets.load(events())
            for p, own in small:
                p.load(own, self._log.last_seq)
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
        """Decide, append (fsynced) and apply events built by ``sync.events.new``.

        The rules judge every ticket event against the ticket as the events before it
        in the batch leave it; if they refuse one, RuleError propagates and nothing is
        written. Return the events as written.
        """
        with self.lock:
            events = self._log.prepare(partials)
            self._decide(events)
            self._log.write(events)
            try:
                for event in events:
                    for p in self._projections():
                        p.apply(event)
            except BaseException:  # logged but not projected: rebuild what is in memory
                self._restore()
                raise
            self._tickets.trim()
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

    def _decide(self, events: list[dict]) -> None:
        """Raise RuleError if the rules refuse a ticket event of the batch; change nothing."""
        pending: dict[str, dict | None] = {}
        for event in events:
            tid = event.get("ticket_id")
            if not tid:
                continue  # a site event (staff, places): its service checked it
            ticket = pending[tid] if tid in pending else self._tickets.peek(tid)
            pending[tid] = model.apply(ticket, event)

    def _restore(self) -> None:
        """Drop half-applied changes: back to the last checkpoint, then replay the log."""
        for p in self._projections():
            p.reload()
        self._replay()

    # -- reading: copies, under the lock -------------------------------------------
    def ticket(self, tid: str) -> dict | None:
        """Return the ticket with id ``tid``, open or closed, or None."""
        with self.lock:
            return self._tickets.get(tid)

    def ticket_by_token(self, token: str) -> dict | None:
        """Return the ticket whose status token is ``token``, or None."""
        with self.lock:
            return self._tickets.by_token(token)

    def ticket_by_request(self, request_id: str) -> dict | None:
        """Return the ticket reported with ``request_id`` (a draft's or a form's id), or None.

        Open tickets are always found; closed ones if reported in the two newest months
        of the archives (a resend comes within a day).
        """
        if not isinstance(request_id, str) or not request_id:
            return None
        with self.lock:
            return self._tickets.by_request(request_id)

    def open_tickets(self) -> list[dict]:
        """Return every open ticket, with its timeline."""
        with self.lock:
            return self._tickets.all_open()

    def over_reported(self, start: datetime, end: datetime, compute: Callable[[list], T]) -> T:
        """Return ``compute(tickets)`` over every ticket reported in [start, end), open or
        closed: run under the lock on the tickets themselves, not copies (a report reads a
        month or two of them at once), so ``compute`` must never change one."""
        with self.lock:  # the archives read stay open until the next append trims them
            return compute(list(self._tickets.reported_between(start, end)))

    def closed_tickets(self, keep: Callable[[dict], bool], months: int = 2) -> list[dict]:
        """Return the closed tickets reported in the ``months`` newest months of the
        archives that ``keep(ticket)`` accepts (a list such as the emergencies' record)."""
        with self.lock:
            return self._tickets.closed_where(keep, months)

    def open_summaries(self) -> list[dict]:
        """Return every open ticket without its timeline (what the queue lists)."""
        with self.lock:
            return self._tickets.open_summaries()

    def last_number(self, day: str) -> int:
        """Return the highest daily ticket counter used on a site-local ``day``."""
        with self.lock:
            return self._tickets.last_number(day)

    def locations(self, active_only: bool = True) -> list[dict]:
        """Return the places (active only, or all), sorted by building then code."""
        with self.lock:
            return self._locations.all(active_only)

    def location(self, code: str) -> dict | None:
        """Return the place with ``code``, active or retired, or None."""
        with self.lock:
            return self._locations.get(code)

    def departments(self, active_only: bool = True) -> list[dict]:
        """Return the departments (in use only, or all): the seeded ones first, in their
        order, then by code."""
        with self.lock:
            return self._directory.all(active_only)

    def department(self, code: str) -> dict | None:
        """Return the department with ``code``, in use or not, or None."""
        with self.lock:
            return self._directory.get(code)

    def escalation_chain(self) -> list[dict]:
        """Return the emergency escalation chain's levels in order (R12); empty before one
        is saved."""
        with self.lock:
            return self._directory.chain()

    def issued_reports(self) -> list[dict]:
        """Return the customer feedback reports issued to HQ, the last issued first (R13)."""
        with self.lock:
            return self._reports.all()

    def issued_report(self, key: str) -> dict | None:
        """Return the report issued for the period ``key`` (``Period.key``), or None."""
        with self.lock:
            return self._reports.get(key)

    def handovers(self, limit: int = 20) -> list[dict]:
        """Return the ``limit`` newest shift handovers, the newest first (R20)."""
        with self.lock:
            return self._handovers.latest(limit)

    def handover(self, hid: str) -> dict | None:
        """Return the shift handover ``hid``, or None."""
        with self.lock:
            return self._handovers.get(hid)

    def handover_by_request(self, request_id: str) -> dict | None:
        """Return the handover signed or acknowledged with ``request_id``, or None."""
        with self.lock:
            return self._handovers.by_request(request_id)

    def diary(self, start: datetime, end: datetime) -> list[dict]:
        """Return the work diary's entries noted in [start, end), in order (R20)."""
        with self.lock:
            return self._handovers.diary(start, end)

    def diary_by_request(self, request_id: str) -> dict | None:
        """Return the diary entry noted with ``request_id``, or None."""
        with self.lock:
            return self._handovers.diary_by_request(request_id)

    def parcel(self, pid: str) -> dict | None:
        """Return the parcel or letter ``pid`` of the register, or None (R19)."""
        with self.lock:
            return self._registers.parcel(pid)

    def parcel_by_request(self, request_id: str) -> dict | None:
        """Return the parcel received or collected with ``request_id``, or None."""
        with self.lock:
            return self._registers.parcel_by_request(request_id)

    def parcels_waiting(self) -> list[dict]:
        """Return the parcels and letters not collected yet, the longest waiting first."""
        with self.lock:
            return self._registers.parcels_waiting()

    def parcels_of(self, hid: str) -> list[dict]:
        """Return the parcels and letters of household ``hid``, the newest first."""
        with self.lock:
            return self._registers.parcels_of(hid)

    def parcels_collected(self, since: datetime) -> list[dict]:
        """Return the parcels collected since ``since``, the latest first."""
        with self.lock:
            return self._registers.parcels_collected(since)

    def item(self, iid: str) -> dict | None:
        """Return the item record ``iid`` of the register, or None (R19)."""
        with self.lock:
            return self._registers.item(iid)

    def item_by_request(self, request_id: str) -> dict | None:
        """Return the item record lent or returned with ``request_id``, or None."""
        with self.lock:
            return self._registers.item_by_request(request_id)

    def items_out(self) -> list[dict]:
        """Return the items lent and not returned yet, in the order they were lent."""
        with self.lock:
            return self._registers.items_out()

    def items_lent(self, since: datetime) -> list[dict]:
        """Return the items lent or handed out since ``since``, the latest first."""
        with self.lock:
            return self._registers.items_lent(since)

    def movein(self, mid: str) -> dict | None:
        """Return the move-in hand-over ``mid``, or None (R24)."""
        with self.lock:
            return self._moveins.get(mid)

    def movein_by_request(self, request_id: str) -> dict | None:
        """Return {request_id, id} if a move-in form with ``request_id`` was stored."""
        with self.lock:
            return self._moveins.by_request(request_id)

    def moveins_open(self) -> list[dict]:
        """Return the move-ins in progress, the earliest started first."""
        with self.lock:
            return self._moveins.open()

    def household_moveins(self, hid: str) -> list[dict]:
        """Return the move-ins of household ``hid``, the latest first."""
        with self.lock:
            return self._moveins.of_household(hid)

    def movein_steps(self) -> list[dict]:
        """Return the move-in checklist a move-in started now gets."""
        with self.lock:
            return self._moveins.steps()

    def meter_readings(self) -> list[dict]:
        """Return every meter reading, corrections too, in the order recorded (抄表)."""
        with self.lock:
            return self._meters.all()

    def meter_reading_by_request(self, request_id: str) -> dict | None:
        """Return the meter reading recorded with ``request_id``, or None."""
        with self.lock:
            return self._meters.by_request(request_id)

    def fee_standards(self) -> list[dict]:
        """Return every version of every fee standard, in the order saved (R25)."""
        with self.lock:
            return self._fees.all()

    def fee_standard_by_request(self, request_id: str) -> dict | None:
        """Return the fee standard version saved with ``request_id``, or None."""
        with self.lock:
            return self._fees.by_request(request_id)

    def arrears(self) -> tuple[list[dict], dict | None]:
        """Return the current list of households in arrears and when it was imported
        (None before the first import) (R22)."""
        with self.lock:
            return self._arrears.current(), self._arrears.imported()

    def arrears_contacts(self, household: str | None = None) -> list[dict]:
        """Return the arrears contacts (with one household, or all), in order (R22)."""
        with self.lock:
            return self._arrears.contacts_of(household)

    def arrears_contact_by_request(self, request_id: str) -> dict | None:
        """Return the arrears contact recorded with ``request_id``, or None."""
        with self.lock:
            return self._arrears.contact_by_request(request_id)

    def notices(self) -> list[dict]:
        """Return every notice as last published, withdrawn or not, the newest first (R18)."""
        with self.lock:
            return self._notices.all()

    def current_notices(self, at: str) -> list[dict]:
        """Return the notices valid at the UTC ISO time ``at``, not withdrawn, the newest
        first."""
        with self.lock:
            return self._notices.valid_at(at)

    @property
    def notices_changed(self) -> int:
        """A number that grows whenever a notice is published or withdrawn: read without
        the lock (the start screen asks on every request)."""
        return self._notices.changes

    def notices_valid_until(self, now: datetime) -> datetime:
        """Return when the notices valid at ``now`` next begin or end by themselves (an
        aware UTC time; far ahead when none will)."""
        with self.lock:
            until = self._notices.valid_until(iso(now))
        return datetime.fromisoformat(until) if until != "9999" else datetime.max.replace(
            tzinfo=now.tzinfo)

    def notice(self, notice_id: str) -> dict | None:
        """Return the notice ``notice_id`` as last published, or None."""
        with self.lock:
            return self._notices.get(notice_id)

    def notice_by_request(self, request_id: str) -> dict | None:
        """Return the notice a form with ``request_id`` published, or None."""
        with self.lock:
            return self._notices.by_request(request_id)

    def letter_templates(self) -> list[dict]:
        """Return the letter templates managers saved, by code (R27)."""
        with self.lock:
            return self._letters.all_templates()

    def letter_template_by_request(self, request_id: str) -> str | None:
        """Return the code of the template saved with ``request_id``, or None."""
        with self.lock:
            return self._letters.by_request(request_id, "letter_template_saved")

    def letters(self, household: str | None = None) -> list[dict]:
        """Return the letters issued (to ``household``, or all), the newest first (R27)."""
        with self.lock:
            return self._letters.letters(household)

    def letter(self, lid: str) -> dict | None:
        """Return the letter issued as ``lid``, or None."""
        with self.lock:
            return self._letters.get(lid)

    def letter_by_request(self, request_id: str) -> dict | None:
        """Return the letter issued with ``request_id``, or None."""
        with self.lock:
            lid = self._letters.by_request(request_id, "letter_issued")
            return self._letters.get(lid) if lid else None

    def plan_tasks(self) -> list[dict]:
        """Return every task of the work plan, dropped or not, in the order first saved (R26)."""
        with self.lock:
            return self._plan.all()

    def plan_task(self, task_id: str) -> dict | None:
        """Return the work plan's task ``task_id`` with its occurrences' states, or None."""
        with self.lock:
            return self._plan.get(task_id)

    def plan_by_request(self, request_id: str) -> dict | None:
        """Return the task of the work plan a form with ``request_id`` changed, or None."""
        with self.lock:
            return self._plan.by_request(request_id)

    def household(self, hid: str) -> dict | None:
        """Return the household ``hid`` of the customer archive, or None (R17)."""
        with self.lock:
            return self._households.get(hid)

    def household_tickets(self, hid: str) -> list[dict]:
        """Return the tickets reported for household ``hid``, as reported (id, number,
        category, description, reported_at), the first reported first."""
        with self.lock:
            return self._households.tickets(hid)

    def find_households(self, query: str, limit: int) -> tuple[list[dict], bool]:
        """Return up to ``limit`` households found by phone digits or unit text, and
        whether there are more (``projections.households.Households.find``)."""
        with self.lock:
            return self._households.find(query, limit)

    def household_count(self) -> int:
        """Return how many households the customer archive holds."""
        with self.lock:
            return self._households.count()

    def household_saved_with(self, request_id: str) -> bool:
        """Tell whether a household was saved with ``request_id`` (a resent form)."""
        with self.lock:
            return self._households.saved_with(request_id)

    @property
    def last_seq(self) -> int:
        """The seq of the last event written."""
        with self.lock:
            return self._log.last_seq

    def events_after(self, seq: int, limit: int | None = None) -> list[dict]:
        """Return the events after ``seq`` in order (at most ``limit``), as logged."""
        with self.lock:
            reader = self._log.read(after=seq)
            try:
                return list(reader if limit is None else itertools.islice(reader, limit))
            finally:
                reader.close()

    # -- drafts: a visitor's entry in progress, never logged (kiosk.drafts) ----------
    def save_draft(self, draft_id: str, fields: dict) -> None:
        """Store the fields of an unfinished entry, cut to the drafts' limits (one file).

        Forgets drafts untouched for a day, and the least recently saved beyond
        ``kiosk.drafts.MAX_DRAFTS``.
        """
        now = time.time()
        with self.lock:
            self._drafts.save(draft_id, fields, now)

    def get_draft(self, draft_id: str) -> dict:
        """Return the fields of a draft, empty if there is none."""
        with self.lock:
            return self._drafts.get(draft_id)

    def all_drafts(self) -> list[dict]:
        """Return every unfinished entry (id, fields, touched), newest first."""
        with self.lock:
            return self._drafts.all()

    def discard_draft(self, draft_id: str) -> None:
        """Forget a draft (submitted, or cleared for the next visitor)."""
        with self.lock:
            self._drafts.discard(draft_id)

    def verify(self) -> list:
        """Check the log's hash chain; return the problems found (none: intact)."""
        with self.lock:
            return self._log.verify()

    # -- health ------------------------------------------------------------------
    def status(self) -> dict:
        """Return a small health summary."""
        with self.lock:
            return {"site_id": self.site_id, "last_seq": self._log.last_seq,
                    "open_tickets": len(self._tickets.open)}

    def close(self) -> None:
        """Flush and release everything, including the data-folder lock."""
        with self.lock:
            self.checkpoint()
            for p in self._projections():
                p.close()
            self._log.close()
            self._lockfile.close()
