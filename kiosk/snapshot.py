"""The site's data as its files hold it now, for the shell's reading commands.

A ``Snapshot`` opens a data folder without the data-folder lock, so it works while the
server runs (and when it is stopped), and writes nothing: no lock file, no projection,
no checkpoint, and no repair of a torn log tail. It folds the event log, the truth,
into projections kept in memory (the server's own ``Locations``, whose storage writes
only when flushed, which a snapshot never does, given a folder no file can be made in),
so it sees every event the server wrote, checkpointed or not. A last line without its
newline is an append the server is making right now: not written yet, so not read
(``EventLog.read`` stops there). Staff accounts are local settings, not events: they
are read from ``staff.json``, which the server replaces whole (never half written).
"""
from __future__ import annotations

import os
from pathlib import Path

from sync.events import ChainProblem
from sync.state import load_state

from .eventlog import EventLog
from .jsonstorage import AtomicJSONStorage, CorruptFile
from .projections.locations import Locations

#: Where a snapshot's projections "live": a path under a file, so nothing can ever be
#: read from or written to it.
NOWHERE = Path(os.devnull) / "snapshot"


class Unreadable(Exception):
    """The folder holds no kiosk data, or its event log cannot be folded (see verify)."""


class Snapshot:
    """The site's places, staff and log as they are now, read once without the lock."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        if not (self.folder / "log").is_dir():
            raise Unreadable(f"no kiosk data in {self.folder} (no event log)")
        self.log = EventLog(self.folder / "log", None, read_only=True)
        self._locations: Locations | None = None

    def _folded(self) -> Locations:
        """Fold the log into the projections, once, at the first question that needs it."""
        if self._locations is None:
            locations = Locations(NOWHERE)
            try:
                for event in self.log.read():
                    locations.apply(event)
            except (ValueError, KeyError, TypeError) as exc:
                raise Unreadable(f"the event log in {self.folder} has an unreadable line "
                                 f"({exc}): run python run.py verify") from None
            self._locations = locations
        return self._locations

    def locations(self, active_only: bool = True) -> list[dict]:
        """Return the places (active only, or all), sorted by building then code."""
        return self._folded().all(active_only)

    def staff(self) -> list[dict]:
        """Return every staff account (name, role, active), sorted by name."""
        try:
            data = AtomicJSONStorage(self.folder / "staff.json", deferred=True).read() or {}
        except CorruptFile as exc:
            raise Unreadable(f"the staff accounts cannot be read: {exc}") from None
        accounts = [{"name": d["name"], "role": d["role"], "active": d["active"]}
                    for d in data.get("staff", {}).values()]
        return sorted(accounts, key=lambda d: d["name"].strip().casefold())

    def verify(self) -> tuple[int, list[ChainProblem]]:
        """Return ``(events checked, problems)``: the log's hash chain, which must reach
        at least what HQ confirmed (``data/sync.json``)."""
        count = sum(1 for path in self.log.segments()
                    for _ in path.read_bytes().split(b"\n")[:-1])
        return count, self.log.verify(load_state(self.folder)[0].acked_through)
