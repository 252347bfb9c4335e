"""The fee standards (收费标准, R25), folded from their site events into a TinyDB file."""
from __future__ import annotations

import copy
from pathlib import Path

from tinydb import Query

from .small import SmallProjection, copied, who


class FeeStandards(SmallProjection):
    """Every version of every fee standard ever saved, in the order saved: a change is
    one more row, never an overwrite, so an old figure stays explainable."""

    EVENT_TYPES = frozenset({"fee_standard_saved"})
    FILE = "fees.json"

    def __init__(self, folder: Path):
        super().__init__(folder)
        self.table = self.db.table("versions")

    def _apply(self, event: dict) -> None:
        data = event["data"]
        self.table.insert({
            **{k: data.get(k) or "" for k in ("item_code", "name_zh", "name_en", "basis",
                                              "meter_kind", "rate", "valid_from")},
            "tiers": list(data.get("tiers") or []), "request_id": data.get("request_id"),
            "at": event["at"], "by": who(event["actor"]),
            "seq": event["seq"]})

    def all(self) -> list[dict]:
        """Return every version, in the order saved."""
        return sorted((copy.deepcopy(dict(r)) for r in self.table.all()), key=lambda r: r["seq"])

    def by_request(self, request_id: str) -> dict | None:
        """Return the version saved with ``request_id``, or None."""
        doc = self.table.get(Query().request_id == request_id)
        return copied(doc)
