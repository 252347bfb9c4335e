"""The move-in hand-overs (入伙手续, R24) and the site's checklist, folded from their
site events into a TinyDB file."""
from __future__ import annotations

import copy
from pathlib import Path

from tinydb import Query
from tinydb.table import Document

from ..movein import DEFAULT_STEPS
from .small import SmallProjection, copied, who


class MoveIns(SmallProjection):
    """Each move-in by id: the household, the new person, the checklist's steps as they
    were when it started, each step done (its data, when, by whom), and when it was
    completed; the checklist a new move-in gets (the last saved, else the default); and
    the request ids already stored (a form sent twice stores one event)."""

    EVENT_TYPES = frozenset({"movein_started", "movein_step_done", "movein_completed",
                             "movein_steps_saved"})
    FILE = "movein.json"

    def __init__(self, folder: Path):
        super().__init__(folder)
        self.table = self.db.table("moveins")
        self._checklist = self.db.table("checklist")
        self._requests = self.db.table("requests")

    def _apply(self, event: dict) -> None:
        data, kind, q = copy.deepcopy(event["data"]), event["type"], Query()
        if data.get("request_id"):
            self._requests.insert({"request_id": data["request_id"], "id": data.get("id")})
        if kind == "movein_steps_saved":
            self._checklist.upsert(Document({"steps": data["steps"], "at": event["at"],
                                             "by": who(event["actor"])}, doc_id=1))
        elif kind == "movein_started" and not self.table.contains(q.id == data["id"]):
            self.table.insert({"id": data["id"], "household": data["household"],
                               "person": data["person"], "steps": self.steps(), "done": {},
                               "started_at": event["at"], "started_by": who(event["actor"]),
                               "completed_at": None, "completed_by": None, "seq": event["seq"]})
        elif kind == "movein_step_done":
            doc = self.table.get(q.id == data["id"])
            if doc is None or data["step"] in doc["done"]:
                return  # the first record of a step stands
            done = {**doc["done"], data["step"]: {"data": data.get("data") or {},
                                                  "at": event["at"],
                                                  "by": who(event["actor"])}}
            self.table.update({"done": done}, q.id == data["id"])
        elif kind == "movein_completed":
            doc = self.table.get(q.id == data["id"])
            if doc is None or doc["completed_at"]:
                return
            self.table.update({"completed_at": event["at"],
                               "completed_by": who(event["actor"])}, q.id == data["id"])

    def steps(self) -> list[dict]:
        """Return the checklist a move-in started now gets."""
        doc = self._checklist.get(doc_id=1)
        return copy.deepcopy(doc["steps"] if doc else list(DEFAULT_STEPS))

    def get(self, mid: str) -> dict | None:
        """Return the move-in ``mid``, or None."""
        return copied(self.table.get(Query().id == mid))

    def by_request(self, request_id: str) -> dict | None:
        """Return {request_id, id} if a form with ``request_id`` was stored, or None."""
        return copied(self._requests.get(Query().request_id == request_id))

    def open(self) -> list[dict]:
        """Return the move-ins not completed, the earliest started first."""
        return sorted((copy.deepcopy(dict(d)) for d in self.table.search(
            Query().completed_at == None)), key=lambda d: d["seq"])  # noqa: E711

    def of_household(self, hid: str) -> list[dict]:
        """Return the move-ins of household ``hid``, the latest first."""
        return sorted((copy.deepcopy(dict(d)) for d in self.table.search(
            Query().household == hid)), key=lambda d: d["seq"], reverse=True)
