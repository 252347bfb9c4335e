"""The shift handovers and the work diary (R20), folded from their site events into a
TinyDB file."""
from __future__ import annotations

import copy
from datetime import datetime
from pathlib import Path

from tinydb import Query

from .small import SmallProjection, copied, who


class Handovers(SmallProjection):
    """Each handover by id (the summary as prepared, the notes, whom it is for, who signed
    it and when, who acknowledged it and when), and the diary's entries in order."""

    EVENT_TYPES = frozenset({"handover_signed", "handover_acknowledged", "diary_noted"})
    FILE = "handover.json"

    def __init__(self, folder: Path):
        super().__init__(folder)
        self.table = self.db.table("handovers")
        self._diary = self.db.table("diary")

    def _apply(self, event: dict) -> None:
        data = copy.deepcopy(event["data"])  # the projection shares no list with the event
        if event["type"] == "handover_signed":
            if self.table.contains(Query().id == data["id"]):
                return  # the service never signs one id twice: should a log, the first stands
            self.table.insert({
                "id": data["id"], "prepared": data.get("prepared") or {},
                "notes": data.get("notes") or "", "to": data.get("to") or "",
                "request_id": data.get("request_id"), "signed_at": event["at"],
                "signed_by": who(event["actor"]), "seq": event["seq"],
                "acknowledged_at": None, "acknowledged_by": None, "ack_request_id": None})
        elif event["type"] == "handover_acknowledged":
            doc = self.table.get(Query().id == data["id"])
            if doc is None or doc["acknowledged_at"]:
                return  # the first acknowledgement stands
            self.table.update({"acknowledged_at": event["at"],
                               "acknowledged_by": who(event["actor"]),
                               "ack_request_id": data.get("request_id")},
                              Query().id == data["id"])
        elif event["type"] == "diary_noted":
            self._diary.insert({"text": data.get("text") or "", "at": event["at"],
                                "by": who(event["actor"]),
                                "request_id": data.get("request_id"), "seq": event["seq"]})

    def latest(self, limit: int) -> list[dict]:
        """Return the ``limit`` newest handovers, the newest first: by document id, the
        order they were signed in, read as stored (the queue asks on every page, and the
        handovers pile up two a day)."""
        stored = (self.db.storage.read() or {}).get("handovers") or {}
        newest = sorted(stored, key=int, reverse=True)[:limit]
        return [copy.deepcopy(stored[doc_id]) for doc_id in newest]

    def get(self, hid: str) -> dict | None:
        """Return the handover ``hid``, or None."""
        doc = self.table.get(Query().id == hid)
        return copied(doc)

    def by_request(self, request_id: str) -> dict | None:
        """Return the handover signed or acknowledged with ``request_id``, or None."""
        q = Query()
        doc = self.table.get((q.request_id == request_id) | (q.ack_request_id == request_id))
        return copied(doc)

    def diary(self, start: datetime, end: datetime) -> list[dict]:
        """Return the diary entries noted in [start, end) (aware times), in order."""
        rows = [r for r in self._diary.all() if start <= datetime.fromisoformat(r["at"]) < end]
        return [copy.deepcopy(dict(r)) for r in sorted(rows, key=lambda r: r["seq"])]

    def diary_by_request(self, request_id: str) -> dict | None:
        """Return the diary entry noted with ``request_id``, or None."""
        doc = self._diary.get(Query().request_id == request_id)
        return copied(doc)
