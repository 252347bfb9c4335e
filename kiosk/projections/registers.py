"""The parcel and letter register and the item register (R19), folded from their site
events into one TinyDB file."""
from __future__ import annotations

import copy
from datetime import datetime
from pathlib import Path

from tinydb import Query

from .small import SmallProjection, copied, who


class Registers(SmallProjection):
    """Each parcel or letter by id (as received, with its pickup code; who collected it,
    how they were identified, when) and each item lent or handed out by id (to whom,
    due back when, returned when)."""

    EVENT_TYPES = frozenset({"parcel_received", "parcel_collected", "item_lent",
                             "item_returned"})
    FILE = "registers.json"

    def __init__(self, folder: Path):
        super().__init__(folder)
        self.parcels = self.db.table("parcels")
        self.items = self.db.table("items")

    def _apply(self, event: dict) -> None:
        data, kind, q = copy.deepcopy(event["data"]), event["type"], Query()
        if kind == "parcel_received" and not self.parcels.contains(q.id == data["id"]):
            self.parcels.insert({
                **{f: data.get(f) for f in ("id", "kind", "household", "recipient", "phone",
                                            "carrier", "tracking", "shelf", "code",
                                            "request_id")},
                "received_at": event["at"], "received_by": who(event["actor"]),
                "seq": event["seq"], "collected_at": None, "collected_by": None,
                "identified_by": None, "handed_by": None, "collect_request_id": None})
        elif kind == "parcel_collected":
            doc = self.parcels.get(q.id == data["id"])
            if doc is None or doc["collected_at"]:
                return  # the first pickup stands
            self.parcels.update({"collected_at": event["at"],
                                 "collected_by": data.get("collected_by"),
                                 "identified_by": data.get("identified_by"),
                                 "handed_by": who(event["actor"]),
                                 "collect_request_id": data.get("request_id")},
                                q.id == data["id"])
        elif kind == "item_lent" and not self.items.contains(q.id == data["id"]):
            self.items.insert({
                **{f: data.get(f) for f in ("id", "item", "quantity", "to_name", "household",
                                            "phone", "due_at", "note", "request_id")},
                "lent_at": event["at"], "lent_by": who(event["actor"]), "seq": event["seq"],
                "returned_at": None, "returned_to": None, "return_request_id": None})
        elif kind == "item_returned":
            doc = self.items.get(q.id == data["id"])
            if doc is None or doc["returned_at"]:
                return  # the first return stands
            self.items.update({"returned_at": event["at"], "returned_to": who(event["actor"]),
                               "return_request_id": data.get("request_id")}, q.id == data["id"])

    def parcel(self, pid: str) -> dict | None:
        """Return the parcel ``pid``, or None."""
        return copied(self.parcels.get(Query().id == pid))

    def parcel_by_request(self, request_id: str) -> dict | None:
        """Return the parcel received or collected with ``request_id``, or None."""
        q = Query()
        return copied(self.parcels.get((q.request_id == request_id)
                                      | (q.collect_request_id == request_id)))

    def parcels_waiting(self) -> list[dict]:
        """Return the parcels not collected yet, the longest waiting first."""
        rows = self.parcels.search(Query().collected_at == None)  # noqa: E711 (a TinyDB query)
        return [copied(r) for r in sorted(rows, key=lambda r: r["seq"])]

    def parcels_of(self, hid: str) -> list[dict]:
        """Return the parcels of household ``hid``, the newest first."""
        rows = self.parcels.search(Query().household == hid)
        return [copied(r) for r in sorted(rows, key=lambda r: r["seq"], reverse=True)]

    def parcels_collected(self, since: datetime) -> list[dict]:
        """Return the parcels collected at or after ``since`` (aware), the latest first."""
        rows = [r for r in self.parcels.all()
                if r["collected_at"] and datetime.fromisoformat(r["collected_at"]) >= since]
        return [copied(r) for r in sorted(rows, key=lambda r: r["collected_at"], reverse=True)]

    def item(self, iid: str) -> dict | None:
        """Return the item record ``iid``, or None."""
        return copied(self.items.get(Query().id == iid))

    def item_by_request(self, request_id: str) -> dict | None:
        """Return the item record lent or returned with ``request_id``, or None."""
        q = Query()
        return copied(self.items.get((q.request_id == request_id)
                                    | (q.return_request_id == request_id)))

    def items_out(self) -> list[dict]:
        """Return the items lent to be returned and not returned yet, in the order they
        were lent (an item handed out for good is never out)."""
        q = Query()
        rows = self.items.search((q.returned_at == None) & (q.due_at != None))  # noqa: E711
        return [copied(r) for r in sorted(rows, key=lambda r: r["seq"])]

    def items_lent(self, since: datetime) -> list[dict]:
        """Return the items lent or handed out at or after ``since`` (aware), the latest
        first."""
        rows = [r for r in self.items.all() if datetime.fromisoformat(r["lent_at"]) >= since]
        return [copied(r) for r in sorted(rows, key=lambda r: r["seq"], reverse=True)]
