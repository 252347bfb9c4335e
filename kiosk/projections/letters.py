"""Letters from templates (函件, R27), folded from their site events into a TinyDB file."""
from __future__ import annotations

import copy
from pathlib import Path

from tinydb import Query

from .small import SmallProjection, copied, who


class Letters(SmallProjection):
    """The templates managers saved, each by code as last saved; every letter issued, by
    id; and the request ids already stored (a form sent twice stores one event)."""

    EVENT_TYPES = frozenset({"letter_template_saved", "letter_issued"})
    FILE = "letters.json"

    def __init__(self, folder: Path):
        super().__init__(folder)
        self.templates = self.db.table("templates")
        self.issued = self.db.table("letters")
        self._requests = self.db.table("requests")

    def _apply(self, event: dict) -> None:
        data = copy.deepcopy(event["data"])  # the projection shares nothing with the event
        by = who(event["actor"])
        if event["type"] == "letter_template_saved":
            self.templates.upsert({**data, "saved_at": event["at"], "saved_by": by},
                                  Query().code == data["code"])
            key = data["code"]
        else:
            self.issued.insert({**data, "issued_at": event["at"], "issued_by": by,
                                "seq": event["seq"]})
            key = data["id"]
        if data.get("request_id"):
            self._requests.insert({"request_id": data["request_id"], "type": event["type"],
                                   "key": key})

    def all_templates(self) -> list[dict]:
        """Return every template saved, by code."""
        return sorted((copy.deepcopy(dict(r)) for r in self.templates.all()),
                      key=lambda r: r["code"])

    def letters(self, household: str | None = None) -> list[dict]:
        """Return the letters issued (to ``household``, or all), the newest first."""
        rows = self.issued.all() if household is None else self.issued.search(
            Query().household == household)
        return sorted((copy.deepcopy(dict(r)) for r in rows), key=lambda r: r["seq"],
                      reverse=True)

    def get(self, lid: str) -> dict | None:
        """Return the letter ``lid``, or None."""
        doc = self.issued.get(Query().id == lid)
        return copied(doc)

    def by_request(self, request_id: str, kind: str) -> str | None:
        """Return the key (a template's code, a letter's id) an event of ``kind`` stored
        with ``request_id``, or None."""
        doc = self._requests.get((Query().request_id == request_id) & (Query().type == kind))
        return doc["key"] if doc else None
