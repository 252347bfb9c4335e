"""The PostgreSQL backend of ``HQStore``: psycopg 3 and a pool of connections.

The schema is versioned SQL in ``migrations/postgresql/NNNN_name.sql``: ``migrate``
applies what is pending in one transaction under an advisory lock, and a store applies
it when it opens, so a fresh database just works. Connections run in autocommit mode
with explicit transactions (``self._write()``); the session's time zone is UTC. Times
are stored as ``timestamptz`` and returned as ``utc_iso`` text, the SQLite backend's
shapes, so views and templates do not know which backend serves them. Dashboard reads
live in ``postgres_reads.py``; accounts and sessions in ``postgres_admins.py``.
"""
from __future__ import annotations

import json
import secrets
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from sync.events import GENESIS
from sync.failpoint import failpoint

from . import ingest, ticket_list
from .postgres_admins import AdminsMixin
from .postgres_reads import ALARM_COLUMNS, ReadsMixin, pg_text as _text
from .storage import SiteExists, UnknownSite, utc_iso

MIGRATIONS = Path(__file__).with_name("migrations") / "postgresql"
#: the advisory lock that serialises migrations of one database (any constant of HQ's own)
MIGRATION_LOCK = 0x48515F4D
#: how many connections a store keeps at most (the server passes its thread count)
POOL_SIZE = 8
_EVENT_COLUMNS = ("site_id", "seq", "event_id", "ticket_id", "type", "at", "hash",
                  "prev_hash", "body", "applied", "received_at")
_CONNECTION = {"autocommit": True, "row_factory": dict_row, "options": "-c timezone=UTC"}


def migrations() -> list[tuple[int, str, Path]]:
    """Return the schema's versions ``(number, name, file)`` in order."""
    return sorted((int(p.name[:4]), p.stem, p)
                  for p in MIGRATIONS.glob("[0-9][0-9][0-9][0-9]_*.sql"))


def apply_migrations(conn: psycopg.Connection) -> list[str]:
    """Apply the pending schema versions in one transaction; return their names.

    The transaction first takes an advisory lock, so two processes opening a fresh
    database at once apply each version once: the second waits, then finds it done.
    """
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, "
                     "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
        done = {r["version"] for r in conn.execute("SELECT version FROM schema_version")}
        applied = []
        for version, name, path in migrations():
            if version not in done:
                conn.execute(path.read_text(encoding="utf-8"))
                conn.execute("INSERT INTO schema_version (version, name) VALUES (%s, %s)",
                             (version, name))
                applied.append(name)
    return applied


def migrate(url: str) -> list[str]:
    """Apply the pending schema versions of the database at ``url``; return their names."""
    with psycopg.connect(url, **_CONNECTION) as conn:
        return apply_migrations(conn)


def _when(value) -> datetime | None:
    """Return a time (aware datetime or ISO text; naive read as UTC) to store, or None."""
    text = utc_iso(value)
    return datetime.fromisoformat(text) if text else None


def _clean(value):
    """Return a JSON value with ``_text`` applied to every string in it."""
    if isinstance(value, dict):
        return {_text(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return _text(value)


def _dumps(value) -> str:
    text = json.dumps(value)
    return text if "\\u0000" not in text else json.dumps(_clean(value))


def _state(ticket: dict) -> Jsonb:
    """Return a folded ticket as the ``state`` column stores it (see ``_text``)."""
    return Jsonb(ticket, dumps=_dumps)


def _body(event: dict) -> str:
    """Return an event as HQ stores it: the JSON ``verify_site_chain`` re-hashes."""
    return json.dumps(event, ensure_ascii=False, sort_keys=True)


class PostgresStore(ReadsMixin, AdminsMixin):
    """``HQStore`` over a PostgreSQL database."""

    def __init__(self, url: str, pool_size: int | None = None):
        self._pool = ConnectionPool(url, min_size=1, max_size=max(2, pool_size or POOL_SIZE),
                                    kwargs=_CONNECTION, name="hq", open=True, timeout=30)
        try:
            with self._pool.connection() as conn:
                apply_migrations(conn)
                conn.execute("INSERT INTO meta VALUES ('hq_epoch', %s) ON CONFLICT DO NOTHING",
                             (secrets.token_hex(16),))
                self._epoch = conn.execute(
                    "SELECT value FROM meta WHERE key = 'hq_epoch'").fetchone()["value"]
        except BaseException:
            self._pool.close()
            raise

    # -- connections ------------------------------------------------------------
    @contextmanager
    def _write(self):
        """Run a block in one transaction on a pooled connection: committed, or rolled back."""
        with self._pool.connection() as conn, conn.transaction():
            yield conn

    def _rows(self, sql: str, args=()) -> list[dict]:
        """Return the rows of a read, with every time as ``utc_iso`` text."""
        args = {k: _text(v) for k, v in args.items()} if isinstance(args, dict) else \
            [_text(a) for a in args]
        with self._pool.connection() as conn:
            return [{k: utc_iso(v) if isinstance(v, datetime) else v for k, v in r.items()}
                    for r in conn.execute(sql, args)]

    def epoch(self) -> str:
        return self._epoch

    def set_epoch(self, epoch: str) -> None:
        with self._write() as db:
            db.execute("LOCK TABLE sites IN SHARE ROW EXCLUSIVE MODE")
            if db.execute("SELECT 1 FROM sites LIMIT 1").fetchone():
                raise ValueError("the epoch can change only while HQ has no site")
            db.execute("UPDATE meta SET value = %s WHERE key = 'hq_epoch'", (epoch,))
        self._epoch = epoch

    def close(self) -> None:
        self._pool.close()

    # -- sites and keys -----------------------------------------------------------
    def add_site(self, site_id, name, key_id, secret, now) -> None:
        try:
            with self._write() as db:
                db.execute("INSERT INTO sites (site_id, name, key_id, secret, created_at) "
                           "VALUES (%s, %s, %s, %s, %s)", (site_id, name, key_id, secret, now))
        except psycopg.errors.UniqueViolation:
            raise SiteExists(site_id) from None

    def rekey_site(self, site_id, key_id, secret) -> None:
        with self._write() as db:
            if not db.execute("UPDATE sites SET key_id = %s, secret = %s, revoked = false "
                              "WHERE site_id = %s", (key_id, secret, site_id)).rowcount:
                raise UnknownSite(site_id)

    def revoke_site(self, site_id) -> None:
        with self._write() as db:
            if not db.execute("UPDATE sites SET revoked = true WHERE site_id = %s",
                              (site_id,)).rowcount:
                raise UnknownSite(site_id)

    def sites(self) -> list[dict]:
        return self._rows("SELECT site_id, name, key_id, revoked::int AS revoked, created_at, "
                          "last_contact, events_received, kiosk_last_seq, kiosk_version, "
                          "kiosk_clock, heartbeat_seconds FROM sites ORDER BY site_id")

    def key(self, key_id) -> dict | None:
        rows = self._rows("SELECT site_id, key_id, secret, revoked::int AS revoked FROM sites "
                          "WHERE key_id = %s", (key_id,))
        return rows[0] if rows else None

    # -- ingesting ------------------------------------------------------------------
    def ingest_batch(self, site_id, events, now, report=None) -> tuple[int, list[dict]]:
        """Judge and store a batch in one transaction that first takes the site's row.

        ``SELECT ... FOR UPDATE`` on the ``sites`` row serialises the batches of one site:
        a second push of the same site waits there until the first commits, then reads the
        ``last_seq`` the first wrote and finds its events duplicates, so the two can never
        both apply. Batches of other sites lock other rows and never wait for each other
        (the events they insert go to disjoint keys). The row also carries the site's
        ``last_seq``/``last_hash``, so judging a batch reads no index of ``events`` unless
        it resends old seqs. Ticket states of the batch are read in one query, folded in
        Python (``ingest.fold``), written once each at the end; events go in by ``COPY``.
        """
        received = _when(now)
        with self._write() as db:
            site = db.execute("SELECT last_seq, last_hash FROM sites WHERE site_id = %s "
                              "FOR UPDATE", (site_id,)).fetchone()
            if site is None:
                raise UnknownSite(site_id)
            last, last_hash = site["last_seq"], site["last_hash"] or GENESIS
            old = [e["seq"] for e in events if e["seq"] <= last]
            held = {r["seq"]: r["hash"] for r in db.execute(
                "SELECT seq, hash FROM events WHERE site_id = %s AND seq BETWEEN %s AND %s",
                (site_id, min(old), max(old)))} if old else {}
            states = self._states(db, site_id, [_text(e.get("ticket_id")) for e in events
                                                if e["seq"] > last and e.get("ticket_id")])
            results, rows, touched, alarms, desk, new = [], [], {}, [], [], 0
            places: list[tuple] = []

            def apply(event: dict) -> str | None:
                tid = _text(event.get("ticket_id"))
                ticket, problem = ingest.fold(states.get(tid), event)
                if ticket is not None:
                    states[tid] = ticket
                    touched[tid] = event["seq"]
                record = ingest.desk_record(event)
                if record is not None:
                    desk.append((record, event["at"]))
                places.extend(ingest.places(event))
                return problem

            judged = ingest.plan(events, last, last_hash, held)
            for event, result, detail in ingest.applied(judged, apply):
                if result in ingest.KEPT:
                    rows.append((site_id, event["seq"], _text(event["event_id"]),
                                 _text(event.get("ticket_id")), _text(event["type"]),
                                 _when(event["at"]), event["hash"], event["prev_hash"],
                                 _body(event), result == ingest.STORED, received))
                    last, last_hash, new = event["seq"], event["hash"], new + 1
                if result in ingest.ALARMED:
                    alarms.append((site_id, event["seq"], result, _text(detail), received))
                results.append({"seq": event["seq"], "result": result})
            self._store(db, rows, {t: (states[t], seq) for t, seq in touched.items()},
                        alarms, desk, site_id)
            if places:  # each place's names, in the batch's order (the newest win)
                db.cursor().executemany(
                    "INSERT INTO places (site_id, code, name_zh, name_en) VALUES (%s, %s, %s, "
                    "%s) ON CONFLICT (site_id, code) DO UPDATE SET name_zh = excluded.name_zh, "
                    "name_en = excluded.name_en",
                    [(site_id, *map(_text, place)) for place in places])
            db.execute("UPDATE sites SET last_contact = %s, events_received = events_received "
                       "+ %s, last_seq = %s, last_hash = %s WHERE site_id = %s",
                       (received, new, last, last_hash if last else None, site_id))
            self._keep_report(db, site_id, report)
            failpoint("hq:before_commit")
        failpoint("hq:after_commit")
        return last, results

    @staticmethod
    def _states(db, site_id: str, ticket_ids: list[str]) -> dict[str, dict]:
        """Return the stored state of the batch's tickets, in one query."""
        if not ticket_ids:
            return {}
        return {r["ticket_id"]: r["state"] for r in db.execute(
            "SELECT ticket_id, state FROM tickets WHERE site_id = %s AND ticket_id = ANY(%s)",
            (site_id, list(set(ticket_ids))))}

    @staticmethod
    def _store(db, rows: list[tuple], tickets: dict[str, tuple[dict, int]], alarms: list[tuple],
               desk: list[tuple], site_id: str) -> None:
        """Write a batch's events (one ``COPY``), its tickets (one upsert each), alarms and
        desk records (opened and closed in the batch's order), in the open transaction."""
        if rows:
            with db.cursor().copy(f"COPY events ({', '.join(_EVENT_COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        with db.pipeline():
            cur = db.cursor()
            if tickets:
                cur.executemany(
                    "INSERT INTO tickets (site_id, ticket_id, state, status, category, due_at, "
                    "reported_at, updated_seq, signed_off, number_key, phone_digits, "
                    "phone_last4) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (site_id, ticket_id) DO UPDATE SET state = excluded.state, "
                    "status = excluded.status, category = excluded.category, "
                    "due_at = excluded.due_at, updated_seq = excluded.updated_seq, "
                    "signed_off = excluded.signed_off, number_key = excluded.number_key, "
                    "phone_digits = excluded.phone_digits, phone_last4 = excluded.phone_last4",
                    [(site_id, tid, _state(ticket), _text(ticket.get("status")),
                      _text(ticket.get("category")), _when(ticket.get("due_at")),
                      _when(ticket.get("reported_at")), seq, bool(ticket.get("signed_off")),
                      *map(_text, ticket_list.search_columns(ticket)))
                     for tid, (ticket, seq) in tickets.items()])
            if alarms:
                cur.executemany("INSERT INTO alarms (site_id, seq, kind, detail, at) "
                                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING", alarms)
            for (kind, record_id, opens, due), at in desk:
                if opens:
                    cur.execute("INSERT INTO desk_records (site_id, kind, record_id, opened_at, "
                                "due_at) VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                                (site_id, kind, _text(record_id), _when(at), _when(due)))
                else:
                    cur.execute("UPDATE desk_records SET closed_at = %s WHERE site_id = %s "
                                "AND kind = %s AND record_id = %s AND closed_at IS NULL",
                                (_when(at), site_id, kind, _text(record_id)))

    def refuse_batch(self, site_id, seq, detail, now, report=None) -> int:
        with self._write() as db:
            db.execute("INSERT INTO alarms (site_id, seq, kind, detail, at) "
                       "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                       (site_id, seq or 0, ingest.MALFORMED, _text(detail), now))
            row = db.execute("UPDATE sites SET last_contact = %s WHERE site_id = %s "
                             "RETURNING last_seq", (now, site_id)).fetchone()
            self._keep_report(db, site_id, report)
        return row["last_seq"] if row else 0

    @staticmethod
    def _keep_report(db, site_id: str, report: dict | None) -> None:
        """Keep the kiosk's status report (``ingest.parse_status``) with its site, if any."""
        if report is not None:
            db.execute("UPDATE sites SET kiosk_last_seq = %s, kiosk_version = %s, "
                       "kiosk_clock = %s, heartbeat_seconds = %s WHERE site_id = %s",
                       (report["kiosk_last_seq"], _text(report["kiosk_version"]),
                        _when(report["kiosk_clock"]), report["heartbeat_seconds"], site_id))

    def restore_alarm(self, alarm) -> None:
        with self._write() as db:
            db.execute("INSERT INTO alarms (site_id, seq, kind, detail, at, acked_at, acked_by) "
                       "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                       (alarm["site_id"], alarm["seq"], alarm["kind"], _text(alarm["detail"]),
                        _when(alarm["at"]), _when(alarm.get("acked_at")),
                        _text(alarm.get("acked_by"))))

    def ack_alarm(self, site_id, alarm_id, name, now) -> dict | None:
        with self._write() as db:
            db.execute("UPDATE alarms SET acked_at = %s, acked_by = %s WHERE id = %s "
                       "AND site_id = %s AND acked_at IS NULL",
                       (now, _text(name), alarm_id, _text(site_id)))
        rows = self._rows(f"SELECT {ALARM_COLUMNS} FROM alarms WHERE id = %s AND site_id = %s",
                          (alarm_id, site_id))
        return rows[0] if rows else None

    def last_ingest(self) -> str | None:
        return self._rows("SELECT MAX(last_contact) AS at FROM sites")[0]["at"]
