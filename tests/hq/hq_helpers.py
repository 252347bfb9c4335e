"""Helpers of the HQ tests: kiosks that write real hash-chained events, signed requests
and table dumps (the fixtures are in this folder's conftest.py)."""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

from helpers import CHEAP_PINS, Clock, csrf_token, post_sign_in  # noqa: F401 (csrf_token)

from common.pins import PinHasher
from hq.accounts import add_account
from hq.database import DB_NAME
from kiosk.eventlog import EventLog
from sync import protocol

TABLES = ("meta", "sites", "events", "tickets", "alarms", "admins")
PIN = "246810"


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
    db = sqlite3.connect(Path(app.config["DATA_DIR"]) / DB_NAME)
    try:
        return {t: sorted(map(repr, db.execute(f"SELECT * FROM {t}"))) for t in tables}
    finally:
        db.close()


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
    db = sqlite3.connect(Path(app.config["DATA_DIR"]) / DB_NAME)
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute("SELECT * FROM events WHERE site_id = ? ORDER BY seq",
                                            (site_id,))]
    finally:
        db.close()


def body_of(row: dict) -> dict:
    return json.loads(row["body"])
