"""Helpers of the HQ tests: kiosks that write real hash-chained events, signed requests,
table dumps, and the two backends HQ's tests run on (the fixtures are in this folder's
conftest.py)."""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
from helpers import CHEAP_PINS, Clock, csrf_token, post_sign_in  # noqa: F401 (csrf_token)
from psycopg.rows import dict_row

from common.pins import PinHasher
from hq.accounts import add_account
from hq.database import DB_NAME, open_store
from kiosk.eventlog import EventLog
from sync import protocol

TABLES = ("meta", "sites", "events", "tickets", "alarms", "admins")
PIN = "246810"


class Backend:
    """Where a test's HQ databases live: ``sqlite`` files in the test's folder, or
    ``postgresql`` databases on the session's cluster (``tests/pg_cluster.py``).

    A database is named (``"hq"`` unless a test needs more): the first use makes it empty,
    later uses reopen it, ``wipe`` loses it (the next use makes a new one: a new epoch).
    """

    def __init__(self, name: str, folder: Path, databases=None):
        self.name, self.folder, self.databases = name, folder, databases
        self._pg: dict[str, tuple[str, str]] = {}  # database -> (PostgreSQL name, url)

    def url(self, db: str = "hq") -> str | None:
        """The ``DATABASE_URL`` of database ``db`` (None on SQLite)."""
        if self.databases is None:
            return None
        if db not in self._pg:
            self._pg[db] = self.databases.new()
        return self._pg[db][1]

    def config(self, db: str = "hq") -> dict:
        """The HQ app settings that open database ``db``."""
        url = self.url(db)
        return {"DATA_DIR": str(self.folder / db), **({"DATABASE_URL": url} if url else {})}

    def args(self, db: str = "hq") -> list[str]:
        """The ``run.py hq`` group options that open database ``db`` (before a subcommand)."""
        url = self.url(db)
        return ["--data", str(self.folder / db), *(["--database", url] if url else [])]

    def store(self, db: str = "hq"):
        """Open database ``db``'s store (the caller closes it)."""
        return open_store(self.folder / db, self.url(db))

    def wipe(self, db: str = "hq") -> None:
        """HQ's database is lost: remove it (its stores must be closed on SQLite)."""
        if self.databases is None:
            (self.folder / db / DB_NAME).unlink()
        elif db in self._pg:
            self.databases.drop(self._pg.pop(db)[0])

    def close(self) -> None:
        """Drop this test's PostgreSQL databases."""
        for db in list(self._pg):
            self.wipe(db)


def raw_sql(app, sql: str, params: tuple = ()) -> list[dict]:
    """Run one statement on ``app``'s database behind its store's back (tests tamper with
    stored rows, or read them, this way), committed; return its rows as dicts.

    Written with ``?`` placeholders, in SQL both backends speak; on PostgreSQL with
    triggers off (``session_replication_role``), as an attacker with the disk would be.
    """
    url = app.config.get("DATABASE_URL")
    if url:
        with psycopg.connect(url, autocommit=True, row_factory=dict_row) as db:
            db.execute("SET session_replication_role = replica")
            cursor = db.execute(sql.replace("?", "%s"), params)
            return cursor.fetchall() if cursor.description else []
    db = sqlite3.connect(Path(app.config["DATA_DIR"]) / DB_NAME)
    db.row_factory = sqlite3.Row
    try:
        with db:
            return [dict(r) for r in db.execute(sql, params)]
    finally:
        db.close()


def iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).isoformat()


class Kiosk:
    """A site's event log in a temp folder, writing real chained events."""

    def __init__(self, folder: Path, site_id: str, clock: Clock):
        self.log = EventLog(folder, site_id)
        self.site_id, self.clock, self.events, self.counter = site_id, clock, [], 0

    def write(self, partials: list[dict]) -> list[dict]:
        events = self.log.prepare(partials)
        self.log.write(events)
        self.events += events
        return events

    def report(self, ticket_id: str, category: str = "repair", at: datetime | None = None,
               due: datetime | None = None, description: str = "x") -> dict:
        at = at or self.clock()
        due = due or at + timedelta(minutes=30)
        self.counter += 1
        return self.write([{
            "ticket_id": ticket_id, "type": "reported", "at": iso(at), "actor": {"role": "visitor"},
            "data": {"number": f"{category[0].upper()}-1128-{self.counter:03d}",
                     "token": f"secret-token-{ticket_id}", "day": "2026-11-28",
                     "category": category, "channel": "kiosk", "location": "", "description":
                     description, "name": "", "phone": "", "preferred_at": None,
                     "due_at": iso(due)}}])[0]

    def act(self, ticket_id: str | None, kind: str, data: dict | None = None,
            actor: dict | None = None) -> dict:
        actor = actor or {"role": "receptionist", "id": "st-1", "name": "Li Na"}
        return self.write([{"ticket_id": ticket_id, "type": kind, "at": iso(self.clock()),
                            "actor": actor, "data": data or {}}])[0]


def add_site(store, site_id: str = "site-a", name: str = "Campus A") -> dict:
    key_id, secret = protocol.new_key()
    store.add_site(site_id, name, key_id, secret, datetime.now(timezone.utc))
    return {"site_id": site_id, "key_id": key_id, "secret": secret}


def batch(site_id: str, events: list[dict], epoch: str | None = None) -> bytes:
    return protocol.dumps({"site_id": site_id, "hq_epoch": epoch, "events": events})


def headers_for(key: dict, body: bytes, site_id: str | None = None,
                timestamp: str = "1764295200") -> dict:
    site_id = site_id or key["site_id"]
    body_hash = protocol.body_sha256(body)
    return {protocol.H_KEY_ID: key["key_id"], protocol.H_TIMESTAMP: timestamp,
            protocol.H_BODY_SHA256: body_hash,
            protocol.H_SIGNATURE: protocol.request_signature(
                key["secret"], "POST", protocol.API_PATH.format(site_id=site_id), site_id,
                timestamp, body_hash),
            "Content-Type": "application/json"}


def post(client, key: dict, body: bytes, site_id: str | None = None, headers=None):
    site_id = site_id or key["site_id"]
    return client.post(protocol.API_PATH.format(site_id=site_id), data=body,
                       headers=headers or headers_for(key, body, site_id))


def push(client, key: dict, events: list[dict]):
    """Send a signed batch; return (response, parsed answer)."""
    response = post(client, key, batch(key["site_id"], events))
    return response, response.get_json()


def verify_answer(response, key: dict, request_sig: str) -> bool:
    body = response.get_data()
    body_hash = protocol.body_sha256(body)
    return (response.headers.get(protocol.H_BODY_SHA256) == body_hash
            and protocol.same(response.headers.get(protocol.H_SIGNATURE, ""),
                              protocol.answer_signature(key["secret"], key["site_id"],
                                                        request_sig, body_hash)))


def dump(app, tables=TABLES) -> dict:
    """Every row of HQ's tables, for before/after comparisons."""
    return {t: sorted(map(repr, raw_sql(app, f"SELECT * FROM {t}"))) for t in tables}


def results(answer: dict) -> list[str]:
    return [r["result"] for r in answer["results"]]


def sign_in(client, store, name: str = "Zhao Min", pin: str = PIN):
    """Create the account if needed and sign ``client`` in."""
    if store.admin(name) is None:
        add_account(store, PinHasher(CHEAP_PINS), name, pin, datetime.now(timezone.utc))
    response = post_sign_in(client, "/login", name, pin)
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    return response


def events_rows(app, site_id: str = "site-a") -> list[dict]:
    return raw_sql(app, "SELECT * FROM events WHERE site_id = ? ORDER BY seq", (site_id,))


def body_of(row: dict) -> dict:
    return json.loads(row["body"])
