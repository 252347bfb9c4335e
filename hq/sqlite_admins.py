"""The dashboard's accounts and sessions in the SQLite backend (a mixin of ``SQLiteStore``).

Each change is one ``BEGIN IMMEDIATE`` transaction (``self._write()``), committed before
it returns: a new PIN ends the account's sessions in the same transaction, and a session
starts only if the PIN it was checked against is still the account's, so no session
outlives a PIN change, also across a restart. Sessions are kept by the digest of their
id (``common.sessions``), never the id itself.
"""
from __future__ import annotations

import sqlite3

from sync.events import iso

from .storage import NameTaken, UnknownAdmin, utc_iso

#: an account as ``admin_rows`` exports it and ``restore_admin`` takes it back
ADMIN_FIELDS = ("name", "pin_hash", "failures", "locked_until", "created_at")
SCHEMA = """
CREATE TABLE IF NOT EXISTS admin_sessions (
  digest TEXT PRIMARY KEY, name_key TEXT NOT NULL, created_at TEXT NOT NULL,
  seen_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS admin_sessions_by_name ON admin_sessions (name_key);
CREATE INDEX IF NOT EXISTS admin_sessions_by_seen ON admin_sessions (seen_at);
"""


class AdminsMixin:
    """``HQStore``'s dashboard accounts and sessions; ``self._db()`` and ``self._write()``
    give this thread's connection and a write transaction."""

    # -- accounts ------------------------------------------------------------------
    def admin_count(self) -> int:
        return self._db().execute("SELECT COUNT(*) FROM admins").fetchone()[0]

    def add_admin(self, name, pin_hash, now, first=False) -> None:
        try:
            with self._write() as db:
                if first and db.execute("SELECT COUNT(*) FROM admins").fetchone()[0]:
                    raise NameTaken("setup is closed: an account exists")
                db.execute("INSERT INTO admins (name_key, name, pin_hash, created_at) "
                           "VALUES (?, ?, ?, ?)", (name.casefold(), name, pin_hash, utc_iso(now)))
        except sqlite3.IntegrityError:
            raise NameTaken(name) from None

    def admin(self, name) -> dict | None:
        row = self._db().execute("SELECT name, pin_hash, failures, locked_until FROM admins "
                                 "WHERE name_key = ?", (name.casefold(),)).fetchone()
        return dict(row) if row else None

    def admin_failed(self, name, max_failures, lock_until) -> str | None:
        with self._write() as db:
            row = db.execute("UPDATE admins SET failures = failures + 1 WHERE name_key = ? "
                             "RETURNING failures", (name.casefold(),)).fetchone()
            if row is None or row[0] < max_failures:
                return None
            until = iso(lock_until)
            db.execute("UPDATE admins SET failures = 0, locked_until = ? WHERE name_key = ?",
                       (until, name.casefold()))
            return until

    def admin_succeeded(self, name) -> None:
        if not self._db().execute("SELECT 1 FROM admins WHERE name_key = ? AND "
                                  "(failures != 0 OR locked_until IS NOT NULL)",
                                  (name.casefold(),)).fetchone():
            return
        with self._write() as db:
            db.execute("UPDATE admins SET failures = 0, locked_until = NULL WHERE name_key = ?",
                       (name.casefold(),))

    def set_admin_pin(self, name, pin_hash) -> str:
        with self._write() as db:
            row = db.execute("UPDATE admins SET pin_hash = ?, failures = 0, locked_until = NULL "
                             "WHERE name_key = ? RETURNING name",
                             (pin_hash, name.casefold())).fetchone()
            if row is None:
                raise UnknownAdmin(name)
            db.execute("DELETE FROM admin_sessions WHERE name_key = ?", (name.casefold(),))
            return row[0]

    def admin_rows(self) -> list[dict]:
        return [dict(r) for r in self._db().execute(
            f"SELECT {', '.join(ADMIN_FIELDS)} FROM admins ORDER BY name_key")]

    def restore_admin(self, row) -> None:
        try:
            with self._write() as db:
                db.execute(f"INSERT INTO admins (name_key, {', '.join(ADMIN_FIELDS)}) "
                           "VALUES (?, ?, ?, ?, ?, ?)",
                           (row["name"].casefold(), *(row[f] for f in ADMIN_FIELDS)))
        except sqlite3.IntegrityError:
            raise NameTaken(row["name"]) from None

    # -- sessions ------------------------------------------------------------------
    def add_admin_session(self, name, digest, pin_hash, now, idle_before) -> bool:
        at = utc_iso(now)
        with self._write() as db:
            db.execute("DELETE FROM admin_sessions WHERE seen_at < ?", (utc_iso(idle_before),))
            return db.execute(
                "INSERT INTO admin_sessions (digest, name_key, created_at, seen_at) "
                "SELECT ?, name_key, ?, ? FROM admins WHERE name_key = ? AND pin_hash = ?",
                (digest, at, at, name.casefold(), pin_hash)).rowcount == 1

    def admin_session(self, digest) -> dict | None:
        row = self._db().execute(
            "SELECT a.name, s.seen_at FROM admin_sessions s "
            "JOIN admins a ON a.name_key = s.name_key WHERE s.digest = ?", (digest,)).fetchone()
        return dict(row) if row else None

    def touch_admin_session(self, digest, now) -> None:
        at = utc_iso(now)
        with self._write() as db:
            db.execute("UPDATE admin_sessions SET seen_at = ? WHERE digest = ? AND seen_at < ?",
                       (at, digest, at))

    def end_admin_session(self, digest) -> None:
        with self._write() as db:
            db.execute("DELETE FROM admin_sessions WHERE digest = ?", (digest,))
