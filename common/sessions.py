"""Revocable sign-in sessions, the same for the kiosk and HQ.

The signed session cookie holds only a random session id; the server keeps the digest of
each live id (never the id itself) with whose it is and when it was last used. Signing
out, disabling an account and changing its PIN delete digests, so a copied cookie dies
with its session. Where the digests are kept is each app's (a file, a table).
"""
from __future__ import annotations

import hashlib
import secrets

#: Longer "ids" are not ours: refused without hashing.
MAX_ID_LENGTH = 100


def new_session() -> tuple[str, str]:
    """Return a new random session id (for the cookie) and its digest (for the server)."""
    session_id = secrets.token_urlsafe(32)
    return session_id, digest(session_id)


def digest(session_id: object) -> str | None:
    """Return the digest the server keeps of ``session_id``, or None if it is no id."""
    if not isinstance(session_id, str) or not 0 < len(session_id) <= MAX_ID_LENGTH:
        return None
    return hashlib.sha256(session_id.encode()).hexdigest()
