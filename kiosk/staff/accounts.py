"""Staff accounts: names, roles and hashed PINs in ``<data>/staff.json`` (no Flask here).

Credentials are local configuration: they are not event-sourced and never enter the
event log. Each change of an account (added, disabled) is also appended to the log as
an audit event without a ticket (``ticket_id`` None) that carries the id, name and
role, never the PIN hash (R8). Every operation runs under the store's lock.

PINs are 4-8 digits; hashing and the lock after five wrong PINs are ``common.pins``'s.
"""
from __future__ import annotations

import secrets
from datetime import datetime
from pathlib import Path

from tinydb import Query, TinyDB

from common import pins
from common.messages import N_, Message
from common.pins import WRONG_SIGN_IN, BadSignIn, LockedOut  # noqa: F401 (the callers' names)
from common.validation import ValidationError, clean_text
from sync.events import iso
from sync.events import new as new_event

from ..jsonstorage import AtomicJSONStorage
from ..store import Store
from ..tickets.rules import ROLES

MAX_NAME = 40
PIN_LENGTHS = (4, 8)

BAD_PIN = Message(N_("The PIN must be 4 to 8 digits."))
NAME_TAKEN = Message(N_("This name is already taken."))
BAD_ROLE = Message(N_("Please choose a role."))
UNKNOWN_NAME = Message(N_("No staff member has this name."))
DISABLED = Message(N_("This account is disabled. Please ask the customer-service manager."))


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

    def __init__(self, path: str | Path, store: Store,
                 hasher: pins.PinHasher | None = None):
        self.path = Path(path)
        self.store = store
        self.hasher = hasher or pins.PinHasher()
        with store.lock:
            self.db = TinyDB(self.path, storage=AtomicJSONStorage)
            self.table = self.db.table("staff")

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
        with self.store.lock:
            if first and len(self.table):
                raise SetupClosed()
            if "name" not in errors and self._find(clean) is not None:
                errors["name"] = NAME_TAKEN
            if errors:
                raise ValidationError(errors)
            doc = {"id": f"st-{secrets.token_hex(4)}", "name": clean, "role": role,
                   "active": True, "pin_hash": self.hasher.hash(pin),
                   "failures": 0, "locked_until": None, "created_at": iso(now)}
            signer = actor or {"role": role, "id": doc["id"], "name": clean}
            with self.db.storage.held():  # the file is written after the event, or not at all
                self.table.insert(doc)
                self._audit("staff_added", doc, signer, now)
            return _public(doc)

    def disable(self, name: str, *, actor: dict, now: datetime) -> dict:
        """Disable the account named ``name`` and record ``staff_disabled``; return it."""
        with self.store.lock:
            doc = self._find(name)
            if doc is None:
                raise ValidationError({"name": UNKNOWN_NAME})
            if not doc["active"]:
                return _public(doc)
            with self.db.storage.held():
                self.table.update({"active": False}, Query().id == doc["id"])
                self._audit("staff_disabled", doc, actor, now)
            return {**_public(doc), "active": False}

    def authenticate(self, name: str, pin: str, now: datetime) -> dict:
        """Return the account ``name`` signs in to with ``pin`` at ``now``.

        Raise ``LockedOut`` while the account is locked (the PIN is not even checked),
        or ``BadSignIn``: the same message for an unknown name and a wrong PIN.
        """
        with self.store.lock:
            doc = pins.sign_in(self, self.hasher, name, pin, now)
            if not doc["active"]:
                raise BadSignIn(DISABLED)
            return _public(doc)

    # -- what common.pins asks of an account store (under the store's lock) ----------
    def pin_record(self, name: str) -> dict | None:
        with self.store.lock:
            doc = self._find(name)
            if doc is None:
                return None
            until = doc.get("locked_until")
            return {**doc, "locked_until": datetime.fromisoformat(until) if until else None}

    def pin_failed(self, name: str, now: datetime) -> datetime | None:
        with self.store.lock:
            doc = self._find(name)
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
            self.table.update({"failures": 0, "locked_until": None},
                              Query().id == self._find(name)["id"])

    def close(self) -> None:
        """Flush and close the file."""
        with self.store.lock:
            self.db.close()


class SetupClosed(Exception):
    """The first-run setup was asked for, but an account already exists."""
