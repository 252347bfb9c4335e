"""Staff accounts: names, roles and hashed PINs in ``<data>/staff.json`` (no Flask here).

Credentials are local configuration: they are not event-sourced and never enter the
event log. Each change of an account (added, disabled, PIN changed) is also appended to
the log as an audit event without a ticket (``ticket_id`` None) that carries the id,
name and role, never the PIN or its hash (R8). Every read and change of the accounts
runs under the store's lock; PINs are hashed outside it, so a sign-in never holds up
the rest of the kiosk.

PINs are 4-8 digits; hashing, the lock after five wrong PINs and the throttle per client
are ``common.pins``'s. A disabled account signs in like a name nobody has. Sessions are
``sessions.StaffSessions``'s, in ``sessions.json`` beside ``staff.json``: disabling an
account or changing its PIN ends all its sessions.
"""
from __future__ import annotations

import secrets
from datetime import datetime
from pathlib import Path

from tinydb import Query, TinyDB

from common import pins
from common.messages import N_, Message
from common.validation import ValidationError, clean_text
from sync.events import iso
from sync.events import new as new_event

from ..jsonstorage import AtomicJSONStorage
from ..permissions import ROLES
from ..store import Store
from .sessions import Lifetimes, StaffSessions

MAX_NAME = 40
PIN_LENGTHS = (4, 8)

BAD_PIN = Message(N_("The PIN must be 4 to 8 digits."))
NAME_TAKEN = Message(N_("This name is already taken."))
BAD_ROLE = Message(N_("Please choose a role."))
UNKNOWN_NAME = Message(N_("No staff member has this name."))


def _key(name: str) -> str:
    """Return the form of a name that uniqueness and look-up compare."""
    return name.strip().casefold()


def _public(doc: dict) -> dict:
    """Return what the rest of the app may see of an account: never the hash or counters."""
    return {"id": doc["id"], "name": doc["name"], "role": doc["role"], "active": doc["active"]}


def check_new_account(name: object, role: object, pin: object) -> tuple[str, dict[str, Message]]:
    """Check the fields of a new account; return ``(clean name, errors)``."""
    errors: dict[str, Message] = {}
    clean, err = clean_text(name, max_len=MAX_NAME, required=True)
    if err:
        errors["name"] = err
    if role not in ROLES:
        errors["role"] = BAD_ROLE
    if not pins.check_format(pin, PIN_LENGTHS):
        errors["pin"] = BAD_PIN
    return clean, errors


class StaffDirectory:
    """The site's staff accounts, kept in ``path`` beside the data of ``store``."""

    def __init__(self, path: str | Path, store: Store, hasher: pins.PinHasher | None = None,
                 client_limit: int = 10, client_window: float = 300.0):
        self.path = Path(path)
        self.store = store
        self.hasher = hasher or pins.PinHasher()
        self.signer = pins.PinSignIn(self, self.hasher, client_limit, client_window)
        with store.lock:
            self.db = TinyDB(self.path, storage=AtomicJSONStorage)
            self.table = self.db.table("staff")
            self.sessions = StaffSessions(self.path.with_name("sessions.json"))

    # -- reading -----------------------------------------------------------------
    def _find(self, name: str) -> dict | None:
        key = _key(name) if isinstance(name, str) else None
        if not key:
            return None
        for doc in self.table.all():
            if _key(doc["name"]) == key:
                return doc
        return None

    def get(self, staff_id: str) -> dict | None:
        """Return the account with ``staff_id`` (id, name, role, active), or None."""
        with self.store.lock:
            doc = self.table.get(Query().id == staff_id)
            return _public(doc) if doc else None

    def by_name(self, name: str) -> dict | None:
        """Return the account named ``name`` (any case), or None."""
        with self.store.lock:
            doc = self._find(name)
            return _public(doc) if doc else None

    def all(self) -> list[dict]:
        """Return every account, active or disabled, sorted by name."""
        with self.store.lock:
            return sorted((_public(d) for d in self.table.all()), key=lambda d: _key(d["name"]))

    def is_empty(self) -> bool:
        """Tell whether no account exists at all (the first-run setup is open)."""
        with self.store.lock:
            return len(self.table) == 0

    # -- changing ----------------------------------------------------------------
    def _audit(self, kind: str, doc: dict, actor: dict, now: datetime) -> None:
        self.store.append([new_event(None, kind, actor, now, {
            "id": doc["id"], "name": doc["name"], "role": doc["role"]})])

    def add(self, name: str, role: str, pin: str, *, actor: dict | None, now: datetime,
            first: bool = False) -> dict:
        """Add an account and record ``staff_added``; return it (without the hash).

        ``actor`` None means the new account signs its own creation (first-run setup).
        With ``first``, refuse (``SetupClosed``) once any account exists.
        """
        clean, errors = check_new_account(name, role, pin)
        pin_hash = None if errors else self.hasher.hash(pin)  # slow: outside the lock
        with self.store.lock:
            if first and len(self.table):
                raise SetupClosed()
            if "name" not in errors and self._find(clean) is not None:
                errors["name"] = NAME_TAKEN
            if errors:
                raise ValidationError(errors)
            doc = {"id": f"st-{secrets.token_hex(4)}", "name": clean, "role": role,
                   "active": True, "pin_hash": pin_hash,
                   "failures": 0, "locked_until": None, "created_at": iso(now)}
            signer = actor or {"role": role, "id": doc["id"], "name": clean}
            with self.db.storage.held():  # the file is written after the event, or not at all
                self.table.insert(doc)
                self._audit("staff_added", doc, signer, now)
            return _public(doc)

    def disable(self, name: str, *, actor: dict, now: datetime) -> dict:
        """Disable the account named ``name``, record ``staff_disabled`` and end all its
        sessions; return it."""
        with self.store.lock:
            doc = self._find(name)
            if doc is None:
                raise ValidationError({"name": UNKNOWN_NAME})
            if doc["active"]:
                with self.db.storage.held():
                    self.table.update({"active": False}, Query().id == doc["id"])
                    self._audit("staff_disabled", doc, actor, now)
            self.sessions.end_all(doc["id"])
            return {**_public(doc), "active": False}

    def set_pin(self, name: str, pin: str, *, actor: dict, now: datetime) -> dict:
        """Give the account ``name`` a new PIN, record ``staff_pin_changed`` (without the
        PIN) and end all its sessions; a lock from wrong PINs is lifted. Return it."""
        errors = {} if pins.check_format(pin, PIN_LENGTHS) else {"pin": BAD_PIN}
        if self.by_name(name) is None:
            errors["name"] = UNKNOWN_NAME
        if errors:
            raise ValidationError(errors)
        pin_hash = self.hasher.hash(pin)  # slow: outside the lock
        with self.store.lock:
            doc = self._find(name)
            with self.db.storage.held():
                self.table.update({"pin_hash": pin_hash, "failures": 0, "locked_until": None},
                                  Query().id == doc["id"])
                self._audit("staff_pin_changed", doc, actor, now)
            self.sessions.end_all(doc["id"])
            return _public(doc)

    # -- signing in ----------------------------------------------------------------
    def authenticate(self, name: str, pin: str, now: datetime, client: str = "") -> dict:
        """Return the account ``name`` signs in to with ``pin`` at ``now``.

        :raises TooManyAttempts: ``client`` sent too many, or too many at once for ``name``.
        :raises LockedOut: while the account is locked (the PIN is not even checked).
        :raises BadSignIn: the same for an unknown name, a wrong PIN and a disabled account.
        """
        return _public(self.signer(name, pin, now, client))

    def sign_in(self, name: str, pin: str, now: datetime, idle: Lifetimes,
                client: str = "") -> tuple[dict, str]:
        """Authenticate (as ``authenticate``) and start a session; return the account and
        the session id for the cookie."""
        record = self.signer(name, pin, now, client)
        return _public(record), self.open_session(record["id"], now, idle, record["pin_hash"])

    def open_session(self, staff_id: str, now: datetime, idle: Lifetimes,
                     pin_hash: str | None = None) -> str:
        """Start a session of ``staff_id``, to last as long unused as ``idle`` allows
        the account's role, and return its id; refuse (``BadSignIn``) if the account was
        disabled, or given another PIN than ``pin_hash``, meanwhile."""
        with self.store.lock:
            doc = self.table.get(Query().id == staff_id)
            if doc is None or not doc["active"] or pin_hash not in (None, doc["pin_hash"]):
                raise pins.BadSignIn()
            return self.sessions.start(staff_id, now, idle.of(doc["role"]), idle.tablet)

    def session_staff(self, session_id: object, now: datetime, idle: Lifetimes,
                      touch: bool = True) -> dict | None:
        """Return the active account whose live session ``session_id`` is, or None (also
        once unused for longer than its own limit)."""
        staff_id = self.sessions.staff_id(session_id, now, idle.tablet, touch)
        staff = self.get(staff_id) if staff_id else None
        return staff if staff and staff["active"] else None

    def end_session(self, session_id: object) -> None:
        """End one session (signing out)."""
        self.sessions.end(session_id)

    # -- what common.pins asks of an account store (under the store's lock) ----------
    def pin_record(self, name: str) -> dict | None:
        with self.store.lock:
            doc = self._find(name)
            if doc is None or not doc["active"]:
                return None  # disabled: as if nobody had the name, whatever the PIN
            until = doc.get("locked_until")
            return {**doc, "locked_until": datetime.fromisoformat(until) if until else None}

    def pin_failed(self, name: str, now: datetime) -> datetime | None:
        with self.store.lock:
            doc = self._find(name)
            if doc is None:
                return None
            failures = doc.get("failures", 0) + 1
            if failures >= pins.MAX_FAILURES:
                locked = now + pins.LOCK_DURATION
                self.table.update({"failures": 0, "locked_until": iso(locked)},
                                  Query().id == doc["id"])
                return locked
            self.table.update({"failures": failures}, Query().id == doc["id"])
            return None

    def pin_succeeded(self, name: str) -> None:
        with self.store.lock:
            doc = self._find(name)
            if doc and (doc.get("failures") or doc.get("locked_until")):
                self.table.update({"failures": 0, "locked_until": None},
                                  Query().id == doc["id"])

    def close(self) -> None:
        """Flush and close the file."""
        with self.store.lock:
            self.db.close()


class SetupClosed(Exception):
    """The first-run setup was asked for, but an account already exists."""
