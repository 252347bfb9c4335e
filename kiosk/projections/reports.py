"""The customer feedback reports the manager issued (R13), by period, folded from their
``report_issued`` events into a TinyDB file."""
from __future__ import annotations

import copy
from pathlib import Path

from tinydb import Query

from .small import SmallProjection, copied


class Reports(SmallProjection):
    """Each issued report by its period's key: the period, the figures as issued, the
    remarks, who issued it and when. A period's first report stands."""

    EVENT_TYPES = frozenset({"report_issued"})
    FILE = "reports.json"

    def __init__(self, folder: Path):
        super().__init__(folder)
        self.table = self.db.table("issued")

    def _apply(self, event: dict) -> None:
        data = copy.deepcopy(event["data"])  # the projection shares no list with the event
        key = data["period"]["key"]
        if self.table.contains(Query().key == key):
            return  # the service never issues a period twice: should a log, the first stands
        self.table.insert({"key": key, "period": data["period"], "figures": data["figures"],
                           "remarks": data.get("remarks") or "",
                           "request_id": data.get("request_id"), "issued_at": event["at"],
                           "issued_by": copy.deepcopy(event["actor"]), "seq": event["seq"]})

    def all(self) -> list[dict]:
        """Return the issued reports, the last issued first."""
        return sorted((copy.deepcopy(dict(r)) for r in self.table.all()),
                      key=lambda r: r["seq"], reverse=True)

    def get(self, key: str) -> dict | None:
        """Return the report issued for the period ``key``, or None."""
        doc = self.table.get(Query().key == key)
        return copied(doc)
