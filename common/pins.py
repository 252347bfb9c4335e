"""Sign-in with a name and a PIN, the same for the kiosk's staff and HQ's accounts.

PINs are stored only as slow hashes (scrypt). After ``MAX_FAILURES`` wrong PINs in a row
an account refuses every PIN for ``LOCK_DURATION``. An unknown name costs as long as a
wrong PIN and reads the same, so the answer tells nothing of who exists. Where the
accounts are kept is the caller's: it passes an object with the three methods of
``PinAccounts``; the time always comes from the caller.

``PinSignIn`` judges the attempts. It never holds a lock while it hashes, and it reserves
each attempt before hashing: an account's wrong PINs so far plus the attempts being
judged never pass ``MAX_FAILURES``, so however many arrive at once, at most five PINs
are judged before the lock, and a right PIN is never judged after it. Each client (an
address) also gets at most ``client_limit`` attempts per ``client_window`` seconds; a
successful sign-in is not counted. Reservations live in this process: one server per
account store.
"""
from __future__ import annotations

import math
import re
import secrets
import threading
from collections import Counter
from datetime import datetime, timedelta
from typing import Protocol

from werkzeug.security import check_password_hash, generate_password_hash

from .messages import N_, Message
from .ratelimit import RateLimiter

MAX_FAILURES = 5
LOCK_DURATION = timedelta(minutes=5)
#: The hash every deployment uses. Tests may ask for a cheap one, and only tests:
#: ``method_for(config)`` ignores the setting unless the app runs under TESTING.
PRODUCTION_METHOD = "scrypt"


#: Seconds to wait when attempts at one account arrive faster than they can be judged.
BUSY_SECONDS = 2

WRONG_SIGN_IN = Message(N_("The name or the PIN is not right."))
#: Too many attempts at one account at the same moment (none of them judged yet).
BUSY = Message(N_("Too many sign-in attempts at once. Please try again in a moment."))
#: Too many attempts from one client; the page fills in ``time``, when it may try again.
CLIENT_THROTTLED = N_("Too many sign-in attempts from this device. "
                      "Please try again after %(time)s.")


class BadSignIn(Exception):
    """The name and PIN do not sign anyone in; ``message`` says so, for the screen."""

    def __init__(self, message: Message = WRONG_SIGN_IN):
        super().__init__(message.text)
        self.message = message


class TooManyAttempts(Exception):
    """Refused before the PIN was judged; try again after ``seconds`` (a whole number).

    ``client`` tells whether the client sent too many attempts (else: too many at once
    for one account).
    """

    def __init__(self, seconds: float, client: bool):
        self.seconds = max(1, math.ceil(seconds))
        self.client = client
        super().__init__(f"try again in {self.seconds} s")


class LockedOut(Exception):
    """Too many wrong PINs: the account refuses every PIN until ``until`` (aware UTC)."""

    def __init__(self, until: datetime):
        super().__init__(f"locked until {until.isoformat()}")
        self.until = until


class PinAccounts(Protocol):
    """What ``PinSignIn`` needs of an account store; each call is atomic on its own."""

    def pin_record(self, name: str) -> dict | None:
        """Return ``{pin_hash, failures, locked_until (aware datetime or None), ...}`` of
        ``name``, or None if no account may sign in with that name."""

    def pin_failed(self, name: str, now: datetime) -> datetime | None:
        """Count a wrong PIN; at ``MAX_FAILURES`` in a row lock the account.

        Return the end of the lock if this failure locked it, else None.
        """

    def pin_succeeded(self, name: str) -> None:
        """Clear the count of wrong PINs and any lock (writing nothing if there is none)."""


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


def _gate_key(name: str) -> str:
    """Return the key attempts at ``name`` are reserved under: at least as coarse as any
    store's own look-up (case and spaces ignored), so one account has one key."""
    return "".join(name.split()).casefold()


class PinSignIn:
    """Judges sign-in attempts against ``accounts`` (see the module's docstring)."""

    def __init__(self, accounts: PinAccounts, hasher: PinHasher, client_limit: int = 10,
                 client_window: float = 300.0):
        self.accounts, self.hasher = accounts, hasher
        self.clients = RateLimiter(client_limit, client_window)
        self._lock = threading.Lock()  # held for bookkeeping, never while hashing
        self._judging: Counter[str] = Counter()

    def __call__(self, name: str, pin: object, now: datetime, client: str = "") -> dict:
        """Return the record of the account ``name`` if ``pin`` signs in to it at ``now``.

        :raises TooManyAttempts: before any check, when ``client`` sent too many attempts
            or ``name`` has as many being judged as it has wrong PINs left.
        :raises LockedOut: while the account is locked (the PIN is not even checked), or
            when this wrong PIN locks it.
        :raises BadSignIn: for an unknown name or a wrong PIN alike.
        """
        wait = self.clients.hit(client, now.timestamp())
        if wait:
            raise TooManyAttempts(wait, client=True)
        record = self._judge(name if isinstance(name, str) else "",
                             pin if isinstance(pin, str) else "", now)
        self.clients.refund(client)
        return record

    def _judge(self, name: str, pin: str, now: datetime) -> dict:
        key = _gate_key(name)
        with self._lock:
            record = self.accounts.pin_record(name) if key else None
            until = record.get("locked_until") if record else None
            if until and until > now:
                raise LockedOut(until)
            failures = (record.get("failures") or 0) if record else 0
            if failures + self._judging[key] >= MAX_FAILURES:
                raise TooManyAttempts(BUSY_SECONDS, client=False)
            self._judging[key] += 1
        right = False
        try:
            if record is None:
                self.hasher.waste(pin)
            else:
                right = self.hasher.check(record["pin_hash"], pin)
        finally:  # the outcome is written in the same turn as the reservation ends
            with self._lock:
                self._judging[key] -= 1
                if not self._judging[key]:
                    del self._judging[key]
                locked = None
                if record is not None and right:
                    self.accounts.pin_succeeded(name)
                elif record is not None:
                    locked = self.accounts.pin_failed(name, now)
        if locked:
            raise LockedOut(locked)
        if not right:
            raise BadSignIn()
        return record
