"""The kiosk's notices (R18), folded from their events into a TinyDB file."""
from __future__ import annotations

import copy
from pathlib import Path

from tinydb import Query

from .small import SmallProjection, copied


class Notices(SmallProjection):
    """Each notice by id as last published (publishing again replaces it whole), with when
    and by whom, whether it was withdrawn, and the request ids already stored (a form
    sent twice stores one event)."""

    EVENT_TYPES = frozenset({"notice_published", "notice_withdrawn"})
    FILE = "notices.json"

    def __init__(self, folder: Path):
        super().__init__(folder)
        self.table = self.db.table("notices")
        self._requests = self.db.table("requests")
        #: what ``valid_at`` found last: (changes seen, valid until, notices); the start
        #: screen asks on every request, the answer changes only at a notice's edges
        self._changes = 0
        self._valid: tuple[int, str, str, list[dict]] | None = None

    def reload(self) -> None:
        super().reload()
        self._changes += 1

    def _apply(self, event: dict) -> None:
        self._changes += 1
        data = copy.deepcopy(event["data"])  # the projection shares no list with the event
        where = Query().id == data["id"]
        if event["type"] == "notice_published":
            old = self.table.get(where)
            self.table.upsert({**data, "withdrawn": False, "published_at": event["at"],
                               "first_published_at": old["first_published_at"] if old
                               else event["at"],
                               "published_by": copy.deepcopy(event["actor"]),
                               "seq": event["seq"]}, where)
            if data.get("request_id"):
                self._requests.insert({"request_id": data["request_id"], "id": data["id"]})
        elif event["type"] == "notice_withdrawn":
            self.table.update({"withdrawn": True, "withdrawn_at": event["at"],
                               "seq": event["seq"]}, where)

    def all(self) -> list[dict]:
        """Return every notice ever published, withdrawn or not, the newest first."""
        return sorted((copy.deepcopy(dict(r)) for r in self.table.all()),
                      key=lambda r: r["first_published_at"], reverse=True)

    def _fresh(self, at: str) -> tuple[int, str, str, list[dict]]:
        """The notices valid at ``at`` with how long that answer holds: kept until a
        notice changes, or one begins or ends."""
        cached = self._valid
        if cached is None or cached[0] != self._changes or not cached[1] <= at < cached[2]:
            live = [dict(r) for r in self.table.all() if not r["withdrawn"]]
            shown = sorted((n for n in live if n["valid_from"] <= at < n["valid_to"]),
                           key=lambda n: n["first_published_at"], reverse=True)
            edges = [e for n in live for e in (n["valid_from"], n["valid_to"])]
            cached = self._valid = (self._changes, max((e for e in edges if e <= at), default=""),
                                    min((e for e in edges if e > at), default="9999"), shown)
        return cached

    def valid_at(self, at: str) -> list[dict]:
        """Return copies of the notices valid at the UTC ISO time ``at`` (from <= at < to,
        not withdrawn), the newest first."""
        return copy.deepcopy(self._fresh(at)[3])

    @property
    def changes(self) -> int:
        """How many times the notices changed since the process started (any event)."""
        return self._changes

    def valid_until(self, at: str) -> str:
        """Return the UTC ISO time at which the notices valid at ``at`` next change by
        themselves (one begins or ends), or "9999" if none will."""
        return self._fresh(at)[2]

    def get(self, notice_id: str) -> dict | None:
        """Return the notice ``notice_id`` as last published, or None."""
        doc = self.table.get(Query().id == notice_id)
        return copied(doc)

    def by_request(self, request_id: str) -> dict | None:
        """Return the notice a form with ``request_id`` published, or None."""
        doc = self._requests.get(Query().request_id == request_id)
        return self.get(doc["id"]) if doc else None
