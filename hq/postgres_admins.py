"""The dashboard's accounts and sessions in the PostgreSQL backend (a mixin of
``PostgresStore``), with the SQLite backend's guarantees (``sqlite_admins.py``): each
change is one transaction committed before it returns, a new PIN ends the account's
sessions in the same transaction, and a session starts only if the PIN it was checked
against is still the account's. Sessions are kept by the digest of their id.
"""
from __future__ import annotations

import psycopg

from sync.events import iso

from .postgres_reads import pg_text
from .sqlite_admins import ADMIN_FIELDS
from .storage import NameTaken, UnknownAdmin


def _key(name: str) -> str:
    """Return the key an account's name is found by (in any case; see ``pg_text``)."""
    return pg_text(name.casefold())


class AdminsMixin:
    """``HQStore``'s dashboard accounts and sessions; ``self._rows()`` reads and
    ``self._write()`` gives a write transaction."""

    # -- accounts ------------------------------------------------------------------
    def admin_count(self) -> int:
        return self._rows("SELECT COUNT(*) AS n FROM admins")[0]["n"]

    def add_admin(self, name, pin_hash, now, first=False) -> None:
        try:
            with self._write() as db:
                if first:
                    db.execute("LOCK TABLE admins IN SHARE ROW EXCLUSIVE MODE")
                    if db.execute("SELECT 1 FROM admins LIMIT 1").fetchone():
                        raise NameTaken("setup is closed: an account exists")
                db.execute("INSERT INTO admins (name_key, name, pin_hash, created_at) "
                           "VALUES (%s, %s, %s, %s)", (_key(name), name, pin_hash, now))
        except psycopg.errors.UniqueViolation:
            raise NameTaken(name) from None

    def admin(self, name) -> dict | None:
        rows = self._rows("SELECT name, pin_hash, failures, locked_until FROM admins "
                          "WHERE name_key = %s", (_key(name),))
        return rows[0] if rows else None

    def admin_failed(self, name, max_failures, lock_until) -> str | None:
        with self._write() as db:
            row = db.execute("UPDATE admins SET failures = failures + 1 WHERE name_key = %s "
                             "RETURNING failures", (_key(name),)).fetchone()
            if row is None or row["failures"] < max_failures:
                return None
            db.execute("UPDATE admins SET failures = 0, locked_until = %s WHERE name_key = %s",
                       (lock_until, _key(name)))
            return iso(lock_until)

    def admin_succeeded(self, name) -> None:
        if not self._rows("SELECT 1 FROM admins WHERE name_key = %s AND "
                          "(failures <> 0 OR locked_until IS NOT NULL)", (_key(name),)):
            return
        with self._write() as db:
            db.execute("UPDATE admins SET failures = 0, locked_until = NULL WHERE name_key = %s",
                       (_key(name),))

    def set_admin_pin(self, name, pin_hash) -> str:
        with self._write() as db:
            row = db.execute("UPDATE admins SET pin_hash = %s, failures = 0, locked_until = NULL "
                             "WHERE name_key = %s RETURNING name",
                             (pin_hash, _key(name))).fetchone()
            if row is None:
                raise UnknownAdmin(name)
            db.execute("DELETE FROM admin_sessions WHERE name_key = %s", (_key(name),))
            return row["name"]

    def admin_rows(self) -> list[dict]:
        return self._rows(f"SELECT {', '.join(ADMIN_FIELDS)} FROM admins ORDER BY name_key")

    def restore_admin(self, row) -> None:
        try:
            with self._write() as db:
                db.execute(f"INSERT INTO admins (name_key, {', '.join(ADMIN_FIELDS)}) "
                           "VALUES (%s, %s, %s, %s, %s, %s)",
                           (_key(row["name"]), *(row[f] for f in ADMIN_FIELDS)))
        except psycopg.errors.UniqueViolation:
            raise NameTaken(row["name"]) from None

    # -- sessions ------------------------------------------------------------------
    def add_admin_session(self, name, digest, pin_hash, now, idle_before) -> bool:
        with self._write() as db:
            db.execute("DELETE FROM admin_sessions WHERE seen_at < %s", (idle_before,))
            return db.execute(
                "INSERT INTO admin_sessions (digest, name_key, created_at, seen_at) "
                "SELECT %s, name_key, %s, %s FROM admins WHERE name_key = %s AND pin_hash = %s",
                (digest, now, now, _key(name), pin_hash)).rowcount == 1

    def admin_session(self, digest) -> dict | None:
        rows = self._rows("SELECT a.name, s.seen_at FROM admin_sessions s "
                          "JOIN admins a ON a.name_key = s.name_key WHERE s.digest = %s",
                          (digest,))
        return rows[0] if rows else None

    def touch_admin_session(self, digest, now) -> None:
        with self._write() as db:
            db.execute("UPDATE admin_sessions SET seen_at = %s WHERE digest = %s "
                       "AND seen_at < %s", (now, digest, now))

    def end_admin_session(self, digest) -> None:
        with self._write() as db:
            db.execute("DELETE FROM admin_sessions WHERE digest = %s", (digest,))
