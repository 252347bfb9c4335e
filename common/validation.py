"""Input checks shared by every form: errors are translatable messages keyed by field.

Services raise ``ValidationError({field: Message})``; views render the same form again
with each message next to its field. Nothing here knows of Flask.
"""
from __future__ import annotations

import unicodedata
from datetime import date

from .messages import N_, Message


class ValidationError(ValueError):
    """Input that cannot be accepted, as {field: Message}."""

    def __init__(self, errors: dict[str, Message]):
        super().__init__(", ".join(f"{k}: {v.text}" for k, v in errors.items()))
        self.errors = errors


REQUIRED = Message(N_("Please fill this in."))
BAD_CHARACTERS = Message(N_("This contains characters that cannot be used."))
BAD_DATE = Message(N_("Please give the day as YYYY-MM-DD."))


def iso_day(value: object) -> date | None:
    """Return the day ``value`` gives as YYYY-MM-DD (spaces around it ignored), or None if
    it gives none."""
    text = value.strip() if isinstance(value, str) else ""
    try:
        return date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None


def clean_text(value: object, *, max_len: int, required: bool = False,
               multiline: bool = False) -> tuple[str, Message | None]:
    """Strip ``value`` and check it; return ``(text, error or None)``.

    Control characters are refused (newlines and tabs only where ``multiline``).
    """
    text = value.strip() if isinstance(value, str) else ""
    allowed = "\n\r\t" if multiline else ""
    if any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in text):
        return text, BAD_CHARACTERS
    if len(text) > max_len:
        return text, Message(N_("Please keep this to %(n)s characters or fewer."), {"n": max_len})
    if required and not text:
        return text, REQUIRED
    return text, None
