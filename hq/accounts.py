"""HQ's dashboard accounts, without Flask: checking and adding them, new PINs, sessions.

HQ is reached from every site's network, so its PINs are 6-12 digits. The PIN mechanism
(hashing, the lock after five wrong PINs, the throttle per client) is ``common.pins``,
as on the kiosk; sessions are ``common.sessions`` ids whose digests the store keeps.
Messages are English msgids (``common.messages``): the page translates them, the shell
prints them in English.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from common import pins, sessions
from common.messages import N_, Message

from .storage import HQStore, NameTaken, UnknownAdmin

MAX_NAME = 40
PIN_LENGTHS = (6, 12)

BAD_NAME = Message(N_("Please give a name of 1 to %(max)s characters."), {"max": MAX_NAME})
BAD_PIN = Message(N_("The PIN must be 6 to 12 digits."))
NAME_TAKEN = Message(N_("An account with this name exists."))
UNKNOWN_NAME = Message(N_("No account has this name."))
PINS_DIFFER = Message(N_("The two PINs are not the same."))
PIN_NOT_REPEATED = Message(N_("Please type the PIN a second time."))


class AccountError(ValueError):
    """An account's fields are not right: ``errors`` maps each field to a ``Message``."""

    def __init__(self, errors: dict[str, Message]):
        super().__init__("; ".join(f"{k}: {v.english()}" for k, v in errors.items()))
        self.errors = errors


class Admins:
    """HQ's dashboard accounts as ``common.pins`` asks for them."""

    def __init__(self, store: HQStore):
        self.store = store

    def pin_record(self, name: str) -> dict | None:
        account = self.store.admin(name)
        if account is None:
            return None
        until = account["locked_until"]
        return {**account, "locked_until": datetime.fromisoformat(until) if until else None}

    def pin_failed(self, name: str, now: datetime) -> datetime | None:
        until = self.store.admin_failed(name, pins.MAX_FAILURES, now + pins.LOCK_DURATION)
        return datetime.fromisoformat(until) if until else None

    def pin_succeeded(self, name: str) -> None:
        self.store.admin_succeeded(name)


def check_account(name: object, pin: object) -> tuple[str, dict[str, Message]]:
    """Check a new account's fields; return ``(clean name, errors)``."""
    clean = " ".join(name.split()) if isinstance(name, str) else ""
    errors = {}
    if not clean or len(clean) > MAX_NAME or not clean.isprintable():
        errors["name"] = BAD_NAME
    if not pins.check_format(pin, PIN_LENGTHS):
        errors["pin"] = BAD_PIN
    return clean, errors


def add_account(store: HQStore, hasher: pins.PinHasher, name: object, pin: object,
                now: datetime, first: bool = False) -> str:
    """Check and add a dashboard account; return its clean name.

    :raises AccountError: for a bad name or PIN, or a name in use (``first``: any account).
    """
    clean, errors = check_account(name, pin)
    if errors:
        raise AccountError(errors)
    try:
        store.add_admin(clean, hasher.hash(pin), now, first=first)
    except NameTaken:
        raise AccountError({"name": NAME_TAKEN}) from None
    return clean


def set_pin(store: HQStore, hasher: pins.PinHasher, name: str, pin: object) -> str:
    """Give the account ``name`` a new PIN, lift any lock and end all its sessions at once;
    return the account's name.

    :raises AccountError: for a bad PIN or a name no account has.
    """
    if not pins.check_format(pin, PIN_LENGTHS):
        raise AccountError({"pin": BAD_PIN})
    if store.admin(name) is None:
        raise AccountError({"name": UNKNOWN_NAME})
    try:
        return store.set_admin_pin(name, hasher.hash(pin))
    except UnknownAdmin:
        raise AccountError({"name": UNKNOWN_NAME}) from None


def start_session(store: HQStore, record: dict, now: datetime, idle: float) -> str:
    """Start a session of the account ``record`` (``name``, ``pin_hash``, as checked);
    return its id for the cookie.

    :raises BadSignIn: if the account got a new PIN while this one was being checked.
    """
    session_id, digest = sessions.new_session()
    if not store.add_admin_session(record["name"], digest, record["pin_hash"], now,
                                   now - timedelta(seconds=idle)):
        raise pins.BadSignIn()
    return session_id


def session_account(store: HQStore, session_id: object, now: datetime, idle: float,
                    touch_every: float) -> str | None:
    """Return the name of the account whose live session ``session_id`` is, or None.

    A session unused for longer than ``idle`` seconds ends here. A use is written at most
    every ``touch_every`` seconds (so an idle session may end that much early).
    """
    digest = sessions.digest(session_id)
    found = store.admin_session(digest) if digest else None
    if found is None:
        return None
    unused = (now - datetime.fromisoformat(found["seen_at"])).total_seconds()
    if unused > idle:
        store.end_admin_session(digest)
        return None
    if unused > touch_every:
        store.touch_admin_session(digest, now)
    return found["name"]


def end_session(store: HQStore, session_id: object) -> None:
    """End one session (signing out)."""
    digest = sessions.digest(session_id)
    if digest:
        store.end_admin_session(digest)
