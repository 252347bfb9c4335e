"""Staff accounts: names, roles and hashed PINs in ``<data>/staff.json`` (no Flask here).

Credentials are local configuration: they are not event-sourced and never enter the
event log. Each change of an account (added, disabled) is also appended to the log as
an audit event without a ticket (``ticket_id`` None) that carries the id, name and
role, never the PIN hash (R8). Every operation runs under the store's lock.

PINs are 4-8 digits, hashed with scrypt. After ``MAX_FAILURES`` wrong PINs in a row
an account is locked for ``LOCK_DURATION``; the time always comes from the caller.
"""
from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tinydb import Query, TinyDB
from werkzeug.security import check_password_hash, generate_password_hash

from ..jsonstorage import AtomicJSONStorage
from ..store import Store
from ..tickets.rules import N_
from ..validation import Message, ValidationError, clean_text
from . import ROLES

MAX_NAME = 40
MAX_FAILURES = 5
LOCK_DURATION = timedelta(minutes=5)
PIN_METHOD = "scrypt"
_PIN = re.compile(r"[0-9]{4,8}")

BAD_PIN = Message(N_("The PIN must be 4 to 8 digits."))
NAME_TAKEN = Message(N_("This name is already taken."))
BAD_ROLE = Message(N_("Please choose a role."))
UNKNOWN_NAME = Message(N_("No staff member has this name."))
WRONG_SIGN_IN = Message(N_("The name or the PIN is not right."))
DISABLED = Message(N_("This account is disabled. Please ask the customer-service manager."))

_DUMMY_HASH: str | None = None


class BadSignIn(Exception):
    """The name and PIN do not sign anyone in; ``message`` says why, for the screen."""

    def __init__(self, message: Message = WRONG_SIGN_IN):
        super().__init__(message.text)
        self.message = message


class LockedOut(Exception):
    """Too many wrong PINs: the account refuses every PIN until ``until`` (aware UTC)."""

    def __init__(self, until: datetime):
        super().__init__(f"locked until {until.isoformat()}")
        self.until = until


def _iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).isoformat()


def _key(name: str) -> str:
    """Return the form of a name that uniqueness and look-up compare."""
    return name.strip().casefold()


def _public(doc: dict) -> dict:
    """Return what the rest of the app may see of an account: never the hash or counters."""
    return {"id": doc["id"], "name": doc["name"], "role": doc["role"], "active": doc["active"]}


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = generate_password_hash(secrets.token_hex(8), method=PIN_METHOD)
    return _DUMMY_HASH


def check_new_account(name: object, role: object, pin: object) -> tuple[str, dict[str, Message]]:
    """Check the fields of a new account; return ``(clean name, errors)``."""
    errors: dict[str, Message] = {}
    clean, err = clean_text(name, max_len=MAX_NAME, required=True)
    if err:
        errors["name"] = err
    if role not in ROLES:
        errors["role"] = BAD_ROLE
    if not isinstance(pin, str) or not _PIN.fullmatch(pin):
        errors["pin"] = BAD_PIN
    return clean, errors


class StaffDirectory:
    """The site's staff accounts, kept in ``path`` beside the data of ``store``."""

    def __init__(self, path: str | Path, store: Store):
        self.path = Path(path)
        self.store = store
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
        self.store.append([{"ticket_id": None, "type": kind, "at": _iso(now), "actor": actor,
                            "data": {"id": doc["id"], "name": doc["name"], "role": doc["role"]}}])

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
                   "active": True, "pin_hash": generate_password_hash(pin, method=PIN_METHOD),
                   "failures": 0, "locked_until": None, "created_at": _iso(now)}
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
        pin = pin if isinstance(pin, str) else ""
        with self.store.lock:
            doc = self._find(name)
            if doc is None:
                check_password_hash(_dummy_hash(), pin)  # take as long as a known name
                raise BadSignIn()
            until = doc.get("locked_until")
            if until and datetime.fromisoformat(until) > now:
                raise LockedOut(datetime.fromisoformat(until))
            if not check_password_hash(doc["pin_hash"], pin):
                failures = doc.get("failures", 0) + 1
                if failures >= MAX_FAILURES:
                    locked = now + LOCK_DURATION
                    self.table.update({"failures": 0, "locked_until": _iso(locked)},
                                      Query().id == doc["id"])
                    raise LockedOut(locked)
                self.table.update({"failures": failures}, Query().id == doc["id"])
                raise BadSignIn()
            if doc.get("failures") or doc.get("locked_until"):
                self.table.update({"failures": 0, "locked_until": None}, Query().id == doc["id"])
            if not doc["active"]:
                raise BadSignIn(DISABLED)
            return _public(doc)

    def close(self) -> None:
        """Flush and close the file."""
        with self.store.lock:
            self.db.close()


class SetupClosed(Exception):
    """The first-run setup was asked for, but an account already exists."""
