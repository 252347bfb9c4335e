"""Sign-in with a name and a PIN, the same for the kiosk's staff and HQ's accounts.

PINs are stored only as slow hashes (scrypt). After ``MAX_FAILURES`` wrong PINs in a row
an account refuses every PIN for ``LOCK_DURATION``. An unknown name costs as long as a
wrong PIN and reads the same, so the answer tells nothing of who exists. Where the
accounts are kept is the caller's: it passes an object with the three methods of
``PinAccounts``; the time always comes from the caller.
"""
from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from typing import Protocol

from werkzeug.security import check_password_hash, generate_password_hash

from .messages import N_, Message

MAX_FAILURES = 5
LOCK_DURATION = timedelta(minutes=5)
#: The hash every deployment uses. Tests may ask for a cheap one, and only tests:
#: ``method_for(config)`` ignores the setting unless the app runs under TESTING.
PRODUCTION_METHOD = "scrypt"


WRONG_SIGN_IN = Message(N_("The name or the PIN is not right."))


class BadSignIn(Exception):
    """The name and PIN do not sign anyone in; ``message`` says so, for the screen."""

    def __init__(self, message: Message = WRONG_SIGN_IN):
        super().__init__(message.text)
        self.message = message


class LockedOut(Exception):
    """Too many wrong PINs: the account refuses every PIN until ``until`` (aware UTC)."""

    def __init__(self, until: datetime):
        super().__init__(f"locked until {until.isoformat()}")
        self.until = until


class PinAccounts(Protocol):
    """What ``sign_in`` needs of an account store; each call is atomic on its own."""

    def pin_record(self, name: str) -> dict | None:
        """Return ``{pin_hash, locked_until (aware datetime or None), ...}`` of ``name``."""

    def pin_failed(self, name: str, now: datetime) -> datetime | None:
        """Count a wrong PIN; at ``MAX_FAILURES`` in a row lock the account.

        Return the end of the lock if this failure locked it, else None.
        """

    def pin_succeeded(self, name: str) -> None:
        """Clear the count of wrong PINs and any lock."""


def method_for(config) -> str:
    """Return the hash method an app's ``config`` asks for (``PIN_HASH_METHOD``, tests only)."""
    if config.get("TESTING"):
        return config.get("PIN_HASH_METHOD") or PRODUCTION_METHOD
    return PRODUCTION_METHOD


def check_format(pin: object, lengths: tuple[int, int]) -> bool:
    """Tell whether ``pin`` is all digits, of a length within ``lengths``."""
    low, high = lengths
    return isinstance(pin, str) and re.fullmatch(rf"[0-9]{{{low},{high}}}", pin) is not None


class PinHasher:
    """Hashes and checks PINs with one method; an unknown name is checked against a decoy."""

    def __init__(self, method: str = PRODUCTION_METHOD):
        self.method = method
        self._decoy: str | None = None

    def hash(self, pin: str) -> str:
        return generate_password_hash(pin, method=self.method)

    def check(self, pin_hash: str, pin: str) -> bool:
        return check_password_hash(pin_hash, pin)

    def waste(self, pin: str) -> None:
        """Take as long as checking a real PIN (for a name nobody has)."""
        if self._decoy is None:
            self._decoy = self.hash(secrets.token_hex(8))
        self.check(self._decoy, pin)


def sign_in(accounts: PinAccounts, hasher: PinHasher, name: str, pin: object,
            now: datetime) -> dict:
    """Return the record of the account ``name`` if ``pin`` signs in to it at ``now``.

    :raises LockedOut: while the account is locked (the PIN is not even checked), or when
        this wrong PIN locks it.
    :raises BadSignIn: for an unknown name or a wrong PIN alike.
    """
    pin = pin if isinstance(pin, str) else ""
    record = accounts.pin_record(name) if name else None
    if record is None:
        hasher.waste(pin)
        raise BadSignIn()
    until = record.get("locked_until")
    if until and until > now:
        raise LockedOut(until)
    if not hasher.check(record["pin_hash"], pin):
        locked = accounts.pin_failed(name, now)
        if locked:
            raise LockedOut(locked)
        raise BadSignIn()
    if record.get("failures") or until:
        accounts.pin_succeeded(name)
    return record
