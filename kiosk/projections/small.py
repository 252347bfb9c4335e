"""A small projection of site events (places, departments) in one TinyDB file.

It records the seq of the last event applied in the file's ``_meta`` table, so the store
knows what to replay; writes reach the disk only at a checkpoint (``flush``).
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Iterable

from tinydb.table import Document

from ..jsonstorage import AtomicJSONStorage, CorruptFile, open_tinydb


def who(actor: dict) -> dict:
    """Return who did an event as a projection keeps it: role, id and name."""
    return {k: actor.get(k) for k in ("role", "id", "name")}


def copied(doc) -> dict | None:
    """Return a deep copy of a stored document (a caller shares nothing with the
    projection), or None for no document."""
    return copy.deepcopy(dict(doc)) if doc else None


class SmallProjection:
    """The base of a projection folded from a few event types (``EVENT_TYPES``) into the
    TinyDB file ``FILE``; a subclass folds one event in ``_apply``."""

    #: the only events this projection folds
    EVENT_TYPES: frozenset[str] = frozenset()
    FILE = ""

    def __init__(self, folder: Path):
        path = folder / self.FILE
        self.db = open_tinydb(path)
        self._meta = self.db.table("_meta")
        if not isinstance(self.seq, int) or isinstance(self.seq, bool):
            raise CorruptFile(f"{path.name}: the last applied seq is not a number")

    @property
    def storage(self) -> AtomicJSONStorage:
        return self.db.storage

    @property
    def seq(self) -> int:
        """The seq of the last event applied."""
        doc = self._meta.get(doc_id=1)
        return doc["seq"] if doc else 0

    def wants(self, event: dict) -> bool:
        """Tell whether this projection folds ``event`` (a rebuild sets aside only those)."""
        return event["type"] in self.EVENT_TYPES

    def apply(self, event: dict) -> None:
        """Apply ``event`` unless already applied, then record its seq."""
        if event["seq"] <= self.seq:
            return
        if self.wants(event):
            self._apply(event)
        self._meta.upsert(Document({"seq": event["seq"]}, doc_id=1))

    def _apply(self, event: dict) -> None:
        raise NotImplementedError

    def load(self, events: Iterable[dict], last_seq: int) -> None:
        """Fold events into this empty projection at once (a rebuild); record ``last_seq``.

        ``events`` may hold only the events it ``wants``: the others change nothing.
        """
        for event in events:
            if self.wants(event):
                self._apply(event)
        if last_seq:
            self._meta.upsert(Document({"seq": last_seq}, doc_id=1))

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
