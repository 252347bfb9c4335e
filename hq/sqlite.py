"""The SQLite backend of ``HQStore``: stdlib sqlite3, WAL, ``synchronous=FULL``.

One connection per thread (waitress serves from a pool of threads), in autocommit
mode with explicit transactions: writes take ``BEGIN IMMEDIATE`` so two batches of a
site never interleave. ``SCHEMA`` is the first version; later ones are the numbered SQL
files of ``migrations/sqlite/`` (as for PostgreSQL), applied when the store opens and
counted in the database's ``user_version``. The database file is created mode 0600: it
holds site secrets.
Dashboard reads live in ``sqlite_reads.py``; the dashboard's accounts and sessions in
``sqlite_admins.py``.
"""
from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path

from sync.events import GENESIS
from sync.failpoint import failpoint

from . import ingest, ticket_list
from .sqlite_admins import SCHEMA as ADMINS_SCHEMA
from .sqlite_admins import AdminsMixin
from .sqlite_reads import ALARM_COLUMNS, ReadsMixin
from .storage import SiteExists, UnknownSite, utc_iso

MIGRATIONS = Path(__file__).with_name("migrations") / "sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sites (
  site_id TEXT PRIMARY KEY, name TEXT NOT NULL, key_id TEXT NOT NULL UNIQUE,
  secret TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL,
  last_contact TEXT, events_received INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS events (
  site_id TEXT NOT NULL, seq INTEGER NOT NULL, event_id TEXT NOT NULL, ticket_id TEXT,
  type TEXT NOT NULL, at TEXT NOT NULL, hash TEXT NOT NULL, prev_hash TEXT NOT NULL,
  body TEXT NOT NULL, applied INTEGER NOT NULL, received_at TEXT NOT NULL,
  PRIMARY KEY (site_id, seq));
CREATE INDEX IF NOT EXISTS events_by_ticket ON events (site_id, ticket_id, seq);
CREATE INDEX IF NOT EXISTS events_reports ON events (at) WHERE type = 'report_issued';
CREATE TABLE IF NOT EXISTS tickets (
  site_id TEXT NOT NULL, ticket_id TEXT NOT NULL, state TEXT NOT NULL, status TEXT NOT NULL,
  category TEXT, due_at TEXT, reported_at TEXT, updated_seq INTEGER NOT NULL,
  PRIMARY KEY (site_id, ticket_id));
CREATE INDEX IF NOT EXISTS tickets_by_time ON tickets (reported_at);
CREATE TABLE IF NOT EXISTS desk_records (
  site_id TEXT NOT NULL, kind TEXT NOT NULL, record_id TEXT NOT NULL, opened_at TEXT NOT NULL,
  due_at TEXT, closed_at TEXT, PRIMARY KEY (site_id, kind, record_id));
CREATE INDEX IF NOT EXISTS desk_records_open ON desk_records (site_id, kind)
  WHERE closed_at IS NULL;
CREATE TABLE IF NOT EXISTS alarms (
  id INTEGER PRIMARY KEY, site_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,
  detail TEXT NOT NULL, at TEXT NOT NULL, UNIQUE (site_id, seq, kind));
CREATE TABLE IF NOT EXISTS admins (
  name_key TEXT PRIMARY KEY, name TEXT NOT NULL, pin_hash TEXT NOT NULL,
  failures INTEGER NOT NULL DEFAULT 0, locked_until TEXT, created_at TEXT NOT NULL);
"""


class SQLiteStore(ReadsMixin, AdminsMixin):
    """``HQStore`` over one SQLite file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.exists():
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        self._local = threading.local()
        self._open: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        self._db().executescript(SCHEMA + ADMINS_SCHEMA)
        #: the schema versions this opening applied (``hq migrate`` lists them)
        self.upgraded = self._upgrade()
        with self._write() as db:
            db.execute("INSERT OR IGNORE INTO meta VALUES ('hq_epoch', ?)",
                       (secrets.token_hex(16),))
        self._epoch = self._db().execute(
            "SELECT value FROM meta WHERE key = 'hq_epoch'").fetchone()[0]

    def _upgrade(self) -> list[str]:
        """Apply the schema versions after the first that this file lacks, each in one
        write transaction with its ``user_version``; return their names."""
        applied = []
        for path in sorted(MIGRATIONS.glob("[0-9][0-9][0-9][0-9]_*.sql")):
            version = int(path.name[:4])
            with self._write() as db:  # BEGIN IMMEDIATE: another process waits, then skips
                if db.execute("PRAGMA user_version").fetchone()[0] >= version:
                    continue
                for statement in path.read_text(encoding="utf-8").split(";\n"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {version}")
            applied.append(path.stem)
        return applied

    # -- connections ------------------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                 check_same_thread=False)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            self._local.db = db
            with self._guard:
                self._open.append(db)
        return db

    @contextmanager
    def _write(self):
        """Run a block in one write transaction: committed at its end, or rolled back."""
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def epoch(self) -> str:
        return self._epoch

    def set_epoch(self, epoch: str) -> None:
        with self._write() as db:
            if db.execute("SELECT 1 FROM sites LIMIT 1").fetchone():
                raise ValueError("the epoch can change only while HQ has no site")
            db.execute("UPDATE meta SET value = ? WHERE key = 'hq_epoch'", (epoch,))
        self._epoch = epoch

    def close(self) -> None:
        with self._guard:
            for db in self._open:
                db.close()
            self._open.clear()
        self._local = threading.local()

    # -- sites and keys -----------------------------------------------------------
    def add_site(self, site_id, name, key_id, secret, now) -> None:
        try:
            with self._write() as db:
                db.execute("INSERT INTO sites (site_id, name, key_id, secret, created_at) "
                           "VALUES (?, ?, ?, ?, ?)", (site_id, name, key_id, secret, utc_iso(now)))
        except sqlite3.IntegrityError:
            raise SiteExists(site_id) from None

    def rekey_site(self, site_id, key_id, secret) -> None:
        with self._write() as db:
            if not db.execute("UPDATE sites SET key_id = ?, secret = ?, revoked = 0 "
                              "WHERE site_id = ?", (key_id, secret, site_id)).rowcount:
                raise UnknownSite(site_id)

    def revoke_site(self, site_id) -> None:
        with self._write() as db:
            if not db.execute("UPDATE sites SET revoked = 1 WHERE site_id = ?",
                              (site_id,)).rowcount:
                raise UnknownSite(site_id)

    def sites(self) -> list[dict]:
        return [dict(r) for r in self._db().execute(
            "SELECT site_id, name, key_id, revoked, created_at, last_contact, events_received, "
            "kiosk_last_seq, kiosk_version, kiosk_clock, heartbeat_seconds "
            "FROM sites ORDER BY site_id")]

    def key(self, key_id) -> dict | None:
        row = self._db().execute("SELECT site_id, key_id, secret, revoked FROM sites "
                                 "WHERE key_id = ?", (key_id,)).fetchone()
        return dict(row) if row else None

    # -- ingesting ------------------------------------------------------------------
    def ingest_batch(self, site_id, events, now, report=None) -> tuple[int, list[dict]]:
        received = utc_iso(now)
        with self._write() as db:
            row = db.execute("SELECT seq, hash FROM events WHERE site_id = ? "
                             "ORDER BY seq DESC LIMIT 1", (site_id,)).fetchone()
            last, last_hash = (row["seq"], row["hash"]) if row else (0, GENESIS)
            old = [e["seq"] for e in events if e["seq"] <= last]
            held = {r["seq"]: r["hash"] for r in db.execute(
                "SELECT seq, hash FROM events WHERE site_id = ? AND seq BETWEEN ? AND ?",
                (site_id, min(old), max(old)))} if old else {}
            results, new = [], 0

            def apply(event: dict) -> str | None:
                problem = self._fold(db, site_id, event)
                self._count_desk_record(db, site_id, event)
                self._save_places(db, site_id, event)
                return problem

            judged = ingest.plan(events, last, last_hash, held)
            for event, result, detail in ingest.applied(judged, apply):
                if result in ingest.KEPT:
                    self._insert(db, event, result == ingest.STORED, received)
                    last, new = event["seq"], new + 1
                if result in ingest.ALARMED:
                    db.execute("INSERT OR IGNORE INTO alarms (site_id, seq, kind, detail, at) "
                               "VALUES (?, ?, ?, ?, ?)",
                               (site_id, event["seq"], result, detail, received))
                results.append({"seq": event["seq"], "result": result})
            db.execute("UPDATE sites SET last_contact = ?, events_received = events_received + ? "
                       "WHERE site_id = ?", (received, new, site_id))
            self._keep_report(db, site_id, report)
            failpoint("hq:before_commit")
        failpoint("hq:after_commit")
        return last, results

    def refuse_batch(self, site_id, seq, detail, now, report=None) -> int:
        received = utc_iso(now)
        with self._write() as db:
            db.execute("INSERT OR IGNORE INTO alarms (site_id, seq, kind, detail, at) "
                       "VALUES (?, ?, ?, ?, ?)",
                       (site_id, seq or 0, ingest.MALFORMED, detail, received))
            db.execute("UPDATE sites SET last_contact = ? WHERE site_id = ?",
                       (received, site_id))
            self._keep_report(db, site_id, report)
            row = db.execute("SELECT MAX(seq) FROM events WHERE site_id = ?",
                             (site_id,)).fetchone()
        return row[0] or 0

    def restore_alarm(self, alarm) -> None:
        with self._write() as db:
            db.execute("INSERT OR IGNORE INTO alarms (site_id, seq, kind, detail, at, acked_at, "
                       "acked_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (alarm["site_id"], alarm["seq"], alarm["kind"], alarm["detail"],
                        utc_iso(alarm["at"]), utc_iso(alarm.get("acked_at")),
                        alarm.get("acked_by")))

    def ack_alarm(self, site_id, alarm_id, name, now) -> dict | None:
        with self._write() as db:
            db.execute("UPDATE alarms SET acked_at = ?, acked_by = ? WHERE id = ? "
                       "AND site_id = ? AND acked_at IS NULL",
                       (utc_iso(now), name, alarm_id, site_id))
            row = db.execute(f"SELECT {ALARM_COLUMNS} FROM alarms WHERE id = ? AND site_id = ?",
                             (alarm_id, site_id)).fetchone()
        return dict(row) if row else None

    def last_ingest(self) -> str | None:
        return self._db().execute("SELECT MAX(last_contact) FROM sites").fetchone()[0]

    @staticmethod
    def _keep_report(db, site_id: str, report: dict | None) -> None:
        """Keep the kiosk's status report (``ingest.parse_status``) with its site, if any."""
        if report is not None:
            db.execute("UPDATE sites SET kiosk_last_seq = :kiosk_last_seq, kiosk_version = "
                       ":kiosk_version, kiosk_clock = :kiosk_clock, heartbeat_seconds = "
                       ":heartbeat_seconds WHERE site_id = :site_id",
                       {**report, "site_id": site_id})

    @staticmethod
    def _insert(db, event: dict, applied: bool, received: str) -> None:
        db.execute("INSERT INTO events (site_id, seq, event_id, ticket_id, type, at, hash, "
                   "prev_hash, body, applied, received_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                   (event["site_id"], event["seq"], event["event_id"], event.get("ticket_id"),
                    event["type"], event["at"], event["hash"], event["prev_hash"],
                    json.dumps(event, ensure_ascii=False, sort_keys=True), int(applied), received))

    @staticmethod
    def _count_desk_record(db, site_id: str, event: dict) -> None:
        """Open or close the desk record (parcel, item, handover) ``event`` names, if any."""
        record = ingest.desk_record(event)
        if record is None:
            return
        kind, record_id, opens, due = record
        if opens:
            db.execute("INSERT OR IGNORE INTO desk_records (site_id, kind, record_id, "
                       "opened_at, due_at) VALUES (?,?,?,?,?)",
                       (site_id, kind, record_id, utc_iso(event["at"]), utc_iso(due)))
        else:
            db.execute("UPDATE desk_records SET closed_at = ? WHERE site_id = ? AND kind = ? "
                       "AND record_id = ? AND closed_at IS NULL",
                       (utc_iso(event["at"]), site_id, kind, record_id))

    @staticmethod
    def _save_places(db, site_id: str, event: dict) -> None:
        """Record the names of the places ``event`` adds or renames, if any."""
        places = ingest.places(event)
        if not places:
            return
        db.executemany("INSERT INTO places (site_id, code, name_zh, name_en) VALUES (?,?,?,?) "
                       "ON CONFLICT (site_id, code) DO UPDATE SET name_zh = excluded.name_zh, "
                       "name_en = excluded.name_en",
                       [(site_id, *place) for place in places])

    @staticmethod
    def _fold(db, site_id: str, event: dict) -> str | None:
        """Fold a stored event into the ticket tables; return why it could not, or None."""
        row = db.execute("SELECT state FROM tickets WHERE site_id = ? AND ticket_id = ?",
                         (site_id, event.get("ticket_id"))).fetchone()
        ticket, problem = ingest.fold(json.loads(row["state"]) if row else None, event)
        if ticket is not None:
            db.execute(
                "INSERT INTO tickets (site_id, ticket_id, state, status, category, due_at, "
                "reported_at, updated_seq, signed_off, number_key, phone_digits, phone_last4) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT (site_id, ticket_id) DO UPDATE SET state = excluded.state, "
                "status = excluded.status, category = excluded.category, "
                "due_at = excluded.due_at, updated_seq = excluded.updated_seq, "
                "signed_off = excluded.signed_off, number_key = excluded.number_key, "
                "phone_digits = excluded.phone_digits, phone_last4 = excluded.phone_last4",
                (site_id, event["ticket_id"], json.dumps(ticket, ensure_ascii=False),
                 ticket.get("status"), ticket.get("category"), utc_iso(ticket.get("due_at")),
                 utc_iso(ticket.get("reported_at")), event["seq"],
                 int(bool(ticket.get("signed_off"))), *ticket_list.search_columns(ticket)))
        return problem
