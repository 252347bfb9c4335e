"""The meter readings (抄表), folded from their site events into a TinyDB file."""
from __future__ import annotations

import copy
from pathlib import Path

from tinydb import Query

from .small import SmallProjection, copied, who


class Meters(SmallProjection):
    """Every reading ever recorded, in the order recorded: a correction (the same meter
    and day again) is one more row; which row counts is the reader's choice."""

    EVENT_TYPES = frozenset({"meter_read"})
    FILE = "meters.json"

    def __init__(self, folder: Path):
        super().__init__(folder)
        self.table = self.db.table("readings")

    def _apply(self, event: dict) -> None:
        data = event["data"]
        self.table.insert({
            **{k: data.get(k) or "" for k in ("meter", "kind", "place", "household",
                                              "reading", "read_on", "note")},
            "confirmed": bool(data.get("confirmed")), "request_id": data.get("request_id"),
            "at": event["at"], "by": who(event["actor"]),
            "seq": event["seq"]})

    def all(self) -> list[dict]:
        """Return every reading, in the order recorded."""
        return sorted((copy.deepcopy(dict(r)) for r in self.table.all()), key=lambda r: r["seq"])

    def by_request(self, request_id: str) -> dict | None:
        """Return the reading recorded with ``request_id``, or None."""
        doc = self.table.get(Query().request_id == request_id)
        return copied(doc)
