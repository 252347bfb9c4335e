"""The site's places (R17), folded from their events into a TinyDB file."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from tinydb import Query
from tinydb.table import Document

from ..jsonstorage import AtomicJSONStorage, CorruptFile, open_tinydb


class Locations:
    """The site's places, by stable code (R17)."""

    #: the only events this projection folds
    EVENT_TYPES = frozenset({"locations_imported", "location_saved"})

    def __init__(self, folder: Path):
        path = folder / "meta.json"
        self.db = open_tinydb(path)
        self._meta = self.db.table("_meta")
        if not isinstance(self.seq, int) or isinstance(self.seq, bool):
            raise CorruptFile(f"{path.name}: the last applied seq is not a number")
        self.table = self.db.table("locations")

    @property
    def storage(self) -> AtomicJSONStorage:
        return self.db.storage

    @property
    def seq(self) -> int:
        """The seq of the last event applied."""
        doc = self._meta.get(doc_id=1)
        return doc["seq"] if doc else 0

    def apply(self, event: dict) -> None:
        """Apply ``event`` unless already applied, then record its seq."""
        if event["seq"] <= self.seq:
            return
        self._apply(event)
        self._meta.upsert(Document({"seq": event["seq"]}, doc_id=1))

    def flush(self) -> None:
        """Write what changed since the last checkpoint."""
        self.storage.flush()

    def reload(self) -> None:
        """Forget what changed since the last checkpoint."""
        self.storage.reload()
        self.db.clear_cache()

    def discard(self) -> None:
        """Close without writing what changed since the last checkpoint."""
        self.storage.reload()
        self.db.close()

    def close(self) -> None:
        self.db.close()

    def load(self, events: Iterable[dict], last_seq: int) -> None:
        """Fold events into this empty projection at once (a rebuild); record ``last_seq``.

        ``events`` may hold only the events of ``EVENT_TYPES``: the others change nothing.
        """
        for event in events:
            self._apply(event)
        if last_seq:
            self._meta.upsert(Document({"seq": last_seq}, doc_id=1))

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
