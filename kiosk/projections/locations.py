"""The site's places (R17), folded from their events into a TinyDB file."""
from __future__ import annotations

from pathlib import Path

from tinydb import Query

from .small import SmallProjection


class Locations(SmallProjection):
    """The site's places, by stable code (R17)."""

    EVENT_TYPES = frozenset({"locations_imported", "location_saved"})
    FILE = "meta.json"

    def __init__(self, folder: Path):
        super().__init__(folder)
        self.table = self.db.table("locations")

    def _apply(self, event: dict) -> None:
        if event["type"] == "locations_imported":
            if event["data"].get("replace_demo"):
                self.table.update({"active": False}, Query().demo == True)  # noqa: E712
            for row in event["data"]["rows"]:
                self.table.upsert({"active": True, "demo": False, **row},
                                  Query().code == row["code"])
        elif event["type"] == "location_saved":  # added, renamed, retired or restored
            data, where = event["data"], Query().code == event["data"]["code"]
            if self.table.contains(where):
                self.table.update(data, where)  # a demo place stays marked as one
            else:
                self.table.insert({"demo": False, **data})

    def all(self, active_only: bool = True) -> list[dict]:
        """Return the locations, sorted by building then code."""
        rows = self.table.search(Query().active == True) if active_only else self.table.all()  # noqa: E712
        return sorted((dict(r) for r in rows), key=lambda r: (r.get("building") or "", r["code"]))

    def get(self, code: str) -> dict | None:
        """Return the location with ``code``, active or retired."""
        doc = self.table.get(Query().code == code)
        return dict(doc) if doc else None
