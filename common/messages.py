"""Translatable messages without Flask: ``N_`` marks a msgid, ``Message`` carries one.

Domain code returns English msgids with their parameters; the page that shows them
translates (``_(msg.text, **msg.params)``), so rules never depend on a request.
"""
from __future__ import annotations

from dataclasses import dataclass, field


def N_(text: str) -> str:
    """Mark ``text`` for translation without translating it here."""
    return text


@dataclass(frozen=True)
class Message:
    """An English msgid and its parameters; the view translates it."""

    text: str
    params: dict = field(default_factory=dict)

    def english(self) -> str:
        """Return the message in English, for the shell and the logs."""
        return self.text % self.params if self.params else self.text
