"""Addresses a request may send a person back to: only paths on this server."""
from __future__ import annotations

from urllib.parse import urlsplit


def safe_back(target: str | None, default: str = "/", under: str = "/") -> str:
    """Return ``target`` if it is a path on this server (never another site) at or below
    ``under`` (``/staff/`` also admits ``/staff``), else ``default``."""
    if not target or not target.startswith("/") or target.startswith("//") \
            or "\\" in target or not target.isprintable():
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    inside = parts.path.startswith(under) or parts.path == under.rstrip("/")
    return target if inside else default
