"""The site's departments and its emergency escalation chain (R9, R10, R12), folded from
their events into a TinyDB file."""
from __future__ import annotations

import copy
from pathlib import Path

from tinydb import Query
from tinydb.table import Document

from .small import SmallProjection, copied

#: The codes of the departments every site starts with (``kiosk.departments.service``
#: seeds them), listed first and in this order; the others follow by code.
SEED_ORDER = ("maintenance", "cleaning", "security", "greening", "energy", "customer_service")


def _rank(department: dict) -> tuple[int, str]:
    code = department["code"]
    return (SEED_ORDER.index(code) if code in SEED_ORDER else len(SEED_ORDER), code)


class Directory(SmallProjection):
    """Who to call: the departments by stable code, and the escalation chain in order."""

    EVENT_TYPES = frozenset({"department_saved", "escalation_saved"})
    FILE = "directory.json"

    def __init__(self, folder: Path):
        super().__init__(folder)
        self.table = self.db.table("departments")
        self._chain = self.db.table("escalation")

    def _apply(self, event: dict) -> None:
        data = copy.deepcopy(event["data"])  # the projection shares no list with the event
        if event["type"] == "department_saved":  # added, changed, retired or restored: whole
            self.table.upsert(data, Query().code == data["code"])
        elif event["type"] == "escalation_saved":  # the whole chain, in order
            self._chain.upsert(Document({"levels": data["levels"]}, doc_id=1))

    def all(self, active_only: bool = True) -> list[dict]:
        """Return the departments, the seeded ones first in their order, then by code."""
        rows = self.table.search(Query().active == True) if active_only else self.table.all()  # noqa: E712
        return sorted((copy.deepcopy(dict(r)) for r in rows), key=_rank)

    def get(self, code: str) -> dict | None:
        """Return the department with ``code``, in use or not."""
        doc = self.table.get(Query().code == code)
        return copied(doc)

    def chain(self) -> list[dict]:
        """Return the escalation chain's levels in order; empty before one is saved."""
        doc = self._chain.get(doc_id=1)
        return copy.deepcopy(doc["levels"]) if doc else []
