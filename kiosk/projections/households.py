"""The customer archive (R17, R21): households and their people, folded from
``household_saved`` events into a TinyDB file, with an index in memory for the lookup.

An archive holds tens of thousands of households, saved thousands at a time by an import:
the households are kept in the stored document directly (by household id), not through
TinyDB's table API, which copies the whole table on every insert. The index is built when
the file is opened (or read again) and kept up to date by each event applied, never per
request: every 4-digit run of every person's phone number names its households, so a few
digits typed at the desk find them without reading every phone.

The tickets reported for a household (a desk record that picked it) are listed under its
id as reported (number, matter, details, when), so its page never reads the archives of
closed tickets: whether one is still open, the open tickets tell.
"""
from __future__ import annotations

import copy
import heapq
import re
import unicodedata
from pathlib import Path

from .small import SmallProjection

TABLE = "households"
#: household id -> the tickets reported for it, in order
TICKETS = "tickets"
#: The request ids the households were saved with (a resent form saves nothing new).
REQUESTS = "requests"
#: How many digits of a phone number the index keys on (the fewest a lookup takes).
GRAM = 4
_NOT_DIGIT = re.compile(r"\D")
_PHONE_QUERY = re.compile(r"[\d\s\-()（）+]+")


def _key(text: str) -> str:
    """Text as a lookup compares it: NFKC, case-folded, without spaces."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def _digits(phone: str | None) -> str:
    return _NOT_DIGIT.sub("", phone or "")


class Households(SmallProjection):
    """Each household by id ({id, building, unit, area, people, note, updated_at}), and
    the lookup by phone digits or by unit text."""

    EVENT_TYPES = frozenset({"household_saved", "reported"})
    FILE = "households.json"

    def wants(self, event: dict) -> bool:
        """The households saved, and the tickets reported for one (not every ticket)."""
        return event["type"] == "household_saved" or (
            event["type"] == "reported" and bool(event["data"].get("household")))

    def __init__(self, folder: Path):
        super().__init__(folder)
        self._index()

    # -- the stored households and the index ---------------------------------------
    def _docs(self) -> dict:
        """The stored households by id (the storage's own dict: change it, then write)."""
        data = self.storage.read()
        if data is None:
            data = {}
            self.storage.write(data)
        return data.setdefault(TABLE, {})

    def _index(self) -> None:
        """Build the lookup index from the stored households."""
        self._grams: dict[str, set[str]] = {}
        self._units: dict[str, str] = {}
        self._phones: dict[str, tuple[str, ...]] = {}
        for hid, doc in (self.storage.read() or {}).get(TABLE, {}).items():
            self._add(hid, doc)

    def _add(self, hid: str, doc: dict) -> None:
        phones = tuple(d for d in (_digits(p.get("phone")) for p in doc["people"]) if d)
        self._phones[hid] = phones
        self._units[hid] = _key(f"{doc['building']}{doc['unit']}") + "\x1f" + _key(doc["unit"])
        for digits in phones:
            for i in range(len(digits) - GRAM + 1):
                self._grams.setdefault(digits[i:i + GRAM], set()).add(hid)

    def _drop(self, hid: str) -> None:
        for digits in self._phones.pop(hid, ()):
            for i in range(len(digits) - GRAM + 1):
                found = self._grams.get(digits[i:i + GRAM])
                if found is not None:
                    found.discard(hid)
                    if not found:
                        del self._grams[digits[i:i + GRAM]]
        self._units.pop(hid, None)

    def _apply(self, event: dict) -> None:
        if event["type"] == "reported":
            self._link(event)
            return
        data, docs = event["data"], self._docs()
        hid = data["id"]
        self._drop(hid)
        docs[hid] = {"id": hid, "building": data["building"], "unit": data["unit"],
                     "area": data.get("area") or "", "note": data.get("note") or "",
                     "people": [{k: p.get(k) or "" for k in ("name", "phone", "relation")}
                                for p in data.get("people") or []],
                     "updated_at": event["at"]}
        self._add(hid, docs[hid])
        if data.get("request_id"):
            self.storage.read().setdefault(REQUESTS, {})[data["request_id"]] = {
                "seq": event["seq"]}
        self.storage.write(self.storage.read())

    def _link(self, event: dict) -> None:
        """List a ticket reported for a household under the household's id."""
        data = event["data"]
        stored = self.storage.read()
        stored.setdefault(TICKETS, {}).setdefault(data["household"], []).append({
            "id": event["ticket_id"], "number": data["number"], "category": data["category"],
            "description": data.get("description") or "", "reported_at": event["at"]})
        self.storage.write(stored)

    def reload(self) -> None:
        super().reload()
        self._index()

    # -- reading ----------------------------------------------------------------------
    def get(self, hid: str) -> dict | None:
        """Return the household ``hid``, or None."""
        doc = (self.storage.read() or {}).get(TABLE, {}).get(hid)
        return copy.deepcopy(doc) if doc else None

    def tickets(self, hid: str) -> list[dict]:
        """Return the tickets reported for household ``hid`` as reported, in order."""
        return copy.deepcopy((self.storage.read() or {}).get(TICKETS, {}).get(hid, []))

    def saved_with(self, request_id: str) -> bool:
        """Tell whether a household was saved with ``request_id``."""
        return request_id in (self.storage.read() or {}).get(REQUESTS, {})

    def count(self) -> int:
        """Return how many households the archive holds."""
        return len(self._units)

    def find(self, query: str, limit: int) -> tuple[list[dict], bool]:
        """Return up to ``limit`` households for ``query`` and whether there were more:
        ``GRAM`` or more digits find the households with a phone number holding them
        (first), any text those whose building and unit, or unit, hold it; sorted by
        building and unit within each."""
        q = _key(query)
        if not q:
            return [], False
        by_phone: list[str] = []
        digits = _digits(query)
        if len(digits) >= GRAM and _PHONE_QUERY.fullmatch(query.strip()):
            by_phone = [hid for hid in self._grams.get(digits[:GRAM], ())
                        if any(digits in phone for phone in self._phones[hid])]
        by_unit = [hid for hid, key in self._units.items() if q in key]
        docs = (self.storage.read() or {}).get(TABLE, {})
        found: list[str] = []
        for hids in (by_phone, by_unit):
            found += [h for h in heapq.nsmallest(
                limit + 1, set(hids) - set(found),
                key=lambda h: (docs[h]["building"], docs[h]["unit"]))]
        return [copy.deepcopy(docs[h]) for h in found[:limit]], len(found) > limit
