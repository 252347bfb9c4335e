"""How a visitor's phone number is shown where it need not be whole (plain Python)."""
from __future__ import annotations


def mask_phone(phone: str | None) -> str:
    """Return the digits of ``phone``, at most the last 4 shown and at least half hidden:
    ``*******5678``, ``****6789``, ``***456``, ``*``."""
    digits = "".join(ch for ch in phone or "" if ch.isdigit())
    shown = min(4, len(digits) // 2)
    return "*" * (len(digits) - shown) + digits[len(digits) - shown:]
