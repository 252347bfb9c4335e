"""The kiosk's live staff sessions (``common.sessions``), kept beside ``staff.json``.

Which sessions are live is in ``<data>/sessions.json`` (mode 0600): the digest of each
session id, whose it is and when it was last used. The file is replaced atomically
(``common.files.atomic_write``) only when a session starts or ends, never on a mere use:
last use is tracked in memory and written along with the next change. So after a
restart a session counts as last used no later than it really was: a restart may sign
people out, but never brings back a session that was ended or had gone idle.
"""
from __future__ import annotations

import json
import threading
from datetime import datetime
from pathlib import Path

from common import sessions
from common.files import atomic_write


class StaffSessions:
    """Live sessions: digest -> ``{"staff_id", "seen"}`` (``seen`` in epoch seconds)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._live: dict[str, dict] = self._read()

    def _read(self) -> dict[str, dict]:
        """Return the sessions in the file; an unreadable file ends them all."""
        try:
            stored = json.loads(self.path.read_bytes())["sessions"]
            return {key: {"staff_id": str(s["staff_id"]), "seen": float(s["seen"])}
                    for key, s in stored.items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return {}

    def _write(self) -> None:
        atomic_write(self.path, json.dumps({"sessions": self._live}, sort_keys=True).encode())

    def start(self, staff_id: str, now: datetime, idle: float) -> str:
        """Start a session of ``staff_id``; return its id (for the cookie only).

        Sessions idle for longer than ``idle`` seconds are forgotten on the way.
        """
        session_id, key = sessions.new_session()
        at = now.timestamp()
        with self._lock:
            self._live = {k: s for k, s in self._live.items() if at - s["seen"] <= idle}
            self._live[key] = {"staff_id": staff_id, "seen": at}
            self._write()
        return session_id

    def staff_id(self, session_id: object, now: datetime, idle: float,
                 touch: bool = True) -> str | None:
        """Return whose live session ``session_id`` is, or None (unknown, ended, idle).

        ``touch`` counts this as a use (background polling does not).
        """
        key = sessions.digest(session_id)
        at = now.timestamp()
        with self._lock:
            found = self._live.get(key) if key else None
            if found is None:
                return None
            if at - found["seen"] > idle:
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
