"""The households in arrears and the desk's contacts with them (欠费, R22), folded from
their site events into a TinyDB file."""
from __future__ import annotations

import copy
from pathlib import Path

from tinydb import Query

from .small import SmallProjection, copied, who


class Arrears(SmallProjection):
    """The current list (each ``arrears_listed`` replaces it whole) and every contact
    ever recorded, in order; contacts outlive the list they were made from."""

    EVENT_TYPES = frozenset({"arrears_listed", "arrears_contacted"})
    FILE = "arrears.json"

    def __init__(self, folder: Path):
        super().__init__(folder)
        self.listed = self.db.table("listed")
        self.contacts = self.db.table("contacts")
        self._meta_list = self.db.table("list_meta")

    def _apply(self, event: dict) -> None:
        data = copy.deepcopy(event["data"])  # the projection shares no list with the event
        if event["type"] == "arrears_listed":
            self.listed.truncate()
            self.listed.insert_multiple(data.get("list") or [])
            self._meta_list.truncate()
            self._meta_list.insert({"at": event["at"], "request_id": data.get("request_id"),
                                    "by": who(event["actor"])})
        else:
            self.contacts.insert({
                "household": data.get("household") or "", "how": data.get("how") or "",
                "said": data.get("said") or "", "promised_on": data.get("promised_on"),
                "request_id": data.get("request_id"), "at": event["at"], "seq": event["seq"],
                "by": who(event["actor"])})

    def current(self) -> list[dict]:
        """Return the rows of the current list, in the order imported."""
        return [copy.deepcopy(dict(r)) for r in self.listed.all()]

    def imported(self) -> dict | None:
        """Return when, by whom and with which request id the current list was imported."""
        docs = self._meta_list.all()
        return copy.deepcopy(dict(docs[0])) if docs else None

    def contacts_of(self, household: str | None = None) -> list[dict]:
        """Return the contacts (with one household, or all), in the order recorded."""
        rows = (self.contacts.search(Query().household == household) if household
                else self.contacts.all())
        return sorted((copy.deepcopy(dict(r)) for r in rows), key=lambda r: r["seq"])

    def contact_by_request(self, request_id: str) -> dict | None:
        """Return the contact recorded with ``request_id``, or None."""
        doc = self.contacts.get(Query().request_id == request_id)
        return copied(doc)
