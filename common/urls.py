"""Addresses a request may send a person back to: only paths on this server."""
from __future__ import annotations

from urllib.parse import urlsplit


def safe_back(target: str | None, default: str = "/") -> str:
    """Return ``target`` if it is a path on this server (never another site), else ``default``."""
    if not target or not target.startswith("/") or target.startswith("//") \
            or "\\" in target or not target.isprintable():
        return default
    parts = urlsplit(target)
    return default if parts.scheme or parts.netloc else target
