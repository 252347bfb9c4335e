"""The kiosk's live staff sessions (``common.sessions``), kept beside ``staff.json``.

Which sessions are live is in ``<data>/sessions.json`` (mode 0600): the digest of each
session id, whose it is, when it was last used and how long it may go unused
(``idle``, chosen by the account's role when it starts: ``Lifetimes``). Each session is
judged by its own limit, so a technician's session on their own phone outlives the
tablet's sign-ins, and theirs never sweep it away; a session stored without a limit
(from before each had one) keeps the tablet's. The file is replaced atomically
(``common.files.atomic_write``) only when a session starts or ends, never on a mere use:
last use is tracked in memory and written along with the next change. So after a
restart a session counts as last used no later than it really was: a restart may sign
people out, but never brings back a session that was ended or had gone idle.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from common import sessions
from common.files import atomic_write


@dataclass(frozen=True)
class Lifetimes:
    """How long a session may go unused, in seconds, by the role of whose it is: the
    shared tablet's ``tablet``, unless ``own_phone`` gives the role its own (a technician
    keeps their phone signed in for the shift)."""

    tablet: float
    own_phone: Mapping[str, float] = field(default_factory=dict)

    def of(self, role: str) -> float:
        """Return how long a session of ``role`` may go unused."""
        return float(self.own_phone.get(role, self.tablet))


class StaffSessions:
    """Live sessions: digest -> ``{"staff_id", "seen", "idle"}`` (``seen`` in epoch
    seconds; ``idle``, in seconds, None in a session stored before sessions had one)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._live: dict[str, dict] = self._read()

    def _read(self) -> dict[str, dict]:
        """Return the sessions in the file; an unreadable file ends them all."""
        try:
            stored = json.loads(self.path.read_bytes())["sessions"]
            return {key: {"staff_id": str(s["staff_id"]), "seen": float(s["seen"]),
                          "idle": None if s.get("idle") is None else float(s["idle"])}
                    for key, s in stored.items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return {}

    def _write(self) -> None:
        atomic_write(self.path, json.dumps({"sessions": self._live}, sort_keys=True).encode())

    @staticmethod
    def _gone_idle(found: dict, at: float, default_idle: float) -> bool:
        idle = default_idle if found["idle"] is None else found["idle"]
        return at - found["seen"] > idle

    def start(self, staff_id: str, now: datetime, idle: float, default_idle: float) -> str:
        """Start a session of ``staff_id`` that ends once unused for longer than ``idle``
        seconds; return its id (for the cookie only).

        Sessions unused for longer than their own limit (``default_idle`` for one stored
        without) are forgotten on the way.
        """
        session_id, key = sessions.new_session()
        at = now.timestamp()
        with self._lock:
            self._live = {k: s for k, s in self._live.items()
                          if not self._gone_idle(s, at, default_idle)}
            self._live[key] = {"staff_id": staff_id, "seen": at, "idle": float(idle)}
            self._write()
        return session_id

    def staff_id(self, session_id: object, now: datetime, default_idle: float,
                 touch: bool = True) -> str | None:
        """Return whose live session ``session_id`` is, or None (unknown, ended, or unused
        for longer than its limit: ``default_idle`` for one stored without).

        ``touch`` counts this as a use (background polling does not).
        """
        key = sessions.digest(session_id)
        at = now.timestamp()
        with self._lock:
            found = self._live.get(key) if key else None
            if found is None:
                return None
            if self._gone_idle(found, at, default_idle):
                del self._live[key]  # still in the file, where its "seen" is older still
                return None
            if touch:
                found["seen"] = max(found["seen"], at)
            return found["staff_id"]

    def end(self, session_id: object) -> None:
        """End one session (signing out)."""
        key = sessions.digest(session_id)
        with self._lock:
            if key and self._live.pop(key, None) is not None:
                self._write()

    def end_all(self, staff_id: str) -> None:
        """End every session of ``staff_id`` (disabled, or a new PIN)."""
        with self._lock:
            kept = {k: s for k, s in self._live.items() if s["staff_id"] != staff_id}
            if len(kept) != len(self._live):
                self._live = kept
                self._write()
