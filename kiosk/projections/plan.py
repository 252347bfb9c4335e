"""The desk's work plan (R26), folded from its events into a TinyDB file."""
from __future__ import annotations

import copy
from pathlib import Path

from tinydb import Query

from .small import SmallProjection, copied


class Plan(SmallProjection):
    """Each task by id as last saved (saving again replaces its fields), when it was first
    saved and dropped, and what became of its occurrences: ``occurrences`` maps the day an
    occurrence was due ("YYYY-MM-DD") to ``{"done": {at, by} | None, "carried": [{to,
    reason, at, by}]}``. The request ids already stored answer a form sent twice."""

    EVENT_TYPES = frozenset({"plan_task_saved", "plan_task_done", "plan_task_carried",
                             "plan_task_dropped"})
    FILE = "plan.json"

    def __init__(self, folder: Path):
        super().__init__(folder)
        self.table = self.db.table("tasks")
        self._requests = self.db.table("requests")

    def _apply(self, event: dict) -> None:
        data = copy.deepcopy(event["data"])  # the projection shares no list with the event
        where, kind = Query().id == data["id"], event["type"]
        task = self.table.get(where)
        by = {"id": event["actor"].get("id"), "name": event["actor"].get("name")}
        if kind == "plan_task_saved":
            fields = {k: data.get(k) for k in ("id", "title", "kind", "assignee", "due", "repeat",
                                               "note")}
            self.table.upsert({**fields, "saved_at": event["at"], "saved_by": by,
                               "first_saved_at": task["first_saved_at"] if task else event["at"],
                               "dropped_at": task["dropped_at"] if task else None,
                               "occurrences": task["occurrences"] if task else {}}, where)
        elif task is None:
            return  # an occurrence of a task this kiosk never saw: nothing to show
        elif kind == "plan_task_dropped":
            self.table.update({"dropped_at": event["at"]}, where)
        else:
            occurrences = task["occurrences"]
            one = occurrences.setdefault(data["occurrence"], {"done": None, "carried": []})
            if kind == "plan_task_done":
                one["done"] = {"at": event["at"], "by": by}
            else:
                one["carried"].append({"to": data["to"], "reason": data["reason"],
                                       "at": event["at"], "by": by})
            self.table.update({"occurrences": occurrences}, where)
        if data.get("request_id"):
            self._requests.insert({"request_id": data["request_id"], "id": data["id"]})

    def all(self) -> list[dict]:
        """Return every task ever saved, dropped or not, in the order first saved."""
        return sorted((copy.deepcopy(dict(r)) for r in self.table.all()),
                      key=lambda r: r["first_saved_at"])

    def get(self, task_id: str) -> dict | None:
        """Return the task ``task_id``, or None."""
        doc = self.table.get(Query().id == task_id)
        return copied(doc)

    def by_request(self, request_id: str) -> dict | None:
        """Return the task a form with ``request_id`` changed, or None."""
        doc = self._requests.get(Query().request_id == request_id)
        return self.get(doc["id"]) if doc else None
