"""Identifiers: sortable ticket ids and unguessable status tokens.

A ticket id is a ULID (48-bit millisecond time + 80 random bits, Crockford base32).
A status token is the id's 10-character time part followed by 128 random bits, so
the token alone tells which monthly archive holds a closed ticket.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timezone

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TIME_CHARS = 10


def _encode(value: int, length: int) -> str:
    out = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        out.append(_CROCKFORD[rem])
    return "".join(reversed(out))


def new_ticket_id(now: datetime) -> str:
    """Return a new ULID for a ticket reported at ``now``."""
    return _encode(int(now.timestamp() * 1000), TIME_CHARS) + _encode(secrets.randbits(80), 16)


def new_status_token(ticket_id: str) -> str:
    """Return a fresh status token for ``ticket_id`` (url-safe, 128 secret bits)."""
    return ticket_id[:TIME_CHARS] + secrets.token_urlsafe(16)


def month_of(id_or_token: str) -> str | None:
    """Return the UTC month ("YYYY-MM") encoded in an id or token, or None if malformed."""
    head = id_or_token[:TIME_CHARS]
    if len(head) < TIME_CHARS or any(ch not in _CROCKFORD for ch in head):
        return None
    ms = 0
    for ch in head:
        ms = ms * 32 + _CROCKFORD.index(ch)
    try:
        return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m")
    except (OverflowError, OSError, ValueError):
        return None
