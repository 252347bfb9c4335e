"""The customer archive (客户档案, R17): buildings, units, households and their people.

A household is one unit of one building; its id is derived from both, so a list imported
later (arrears, meters) names the same household without looking it up first.
"""
from __future__ import annotations

import hashlib
import unicodedata


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


def household_id(building: str, unit: str) -> str:
    """Return the id of the household of ``unit`` in ``building``: the same for the same
    names however they are spaced, cased or typed in full-width characters."""
    key = f"{_norm(building)}\x1f{_norm(unit)}".encode()
    return "h" + hashlib.sha256(key).hexdigest()[:12]


def label(household: dict) -> str:
    """Return how a household is named on screen and on paper: building and unit."""
    return f"{household['building']} {household['unit']}"
