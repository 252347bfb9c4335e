"""Visitors' entries in progress (R3): bounded, in memory, and one small file each on disk.

Drafts are not records and are never logged, but an entry in progress survives a
restart. Each draft is its own file in ``<data>/drafts/``, replaced atomically
(``common.files.atomic_write``), so a save writes one draft whatever the number kept.
Everything is bounded: a typed value is kept up to ``DRAFT_FIELD_CHARS`` characters
(more than any field accepts, so the visitor sees what was typed next to the field's
error), a draft up to ``MAX_DRAFT_BYTES``, and at most ``MAX_DRAFTS`` are kept: a new
one beyond that pushes out the least recently saved. Drafts untouched for
``DRAFT_TTL_SECONDS`` are forgotten. Not thread-safe: the store locks.
"""
from __future__ import annotations

import hashlib
import json
import logging
from collections import OrderedDict
from pathlib import Path

from common.files import atomic_write

log = logging.getLogger(__name__)

DRAFT_TTL_SECONDS = 24 * 3600
MAX_DRAFTS = 500
MAX_DRAFT_BYTES = 16 * 1024
DRAFT_FIELD_CHARS = 2500
DRAFT_FIELDS = 16  # fields of one draft (the visitor's pages fill six)


class Drafts:
    """The drafts of a data folder, least recently saved first."""

    def __init__(self, folder: Path, legacy: Path | None = None):
        self.folder = Path(folder)
        self.folder.mkdir(exist_ok=True)
        self._drafts: OrderedDict[str, dict] = OrderedDict()
        found = []
        for path in self.folder.glob("*.json"):
            try:
                doc = json.loads(path.read_bytes())
                found.append((float(doc["touched"]), str(doc["id"]), dict(doc["fields"])))
            except (OSError, ValueError, KeyError, TypeError) as exc:  # a draft is no record
                log.warning("draft %s unreadable (%s): forgotten", path.name, exc)
                path.unlink(missing_ok=True)
        for touched, draft_id, fields in sorted(found):
            self._drafts[draft_id] = {"id": draft_id, "fields": fields, "touched": touched}
        if legacy is not None and legacy.exists():
            self._migrate(legacy)
        self._make_room(MAX_DRAFTS)

    def _migrate(self, legacy: Path) -> None:
        """Take the drafts of the single ``drafts.json`` kept before, then remove it."""
        try:
            docs = json.loads(legacy.read_bytes()).get("drafts", {}).values()
            for doc in sorted(docs, key=lambda d: d["touched"]):
                self.save(str(doc["id"]), dict(doc["fields"]), float(doc["touched"]))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("%s unreadable (%s): its drafts are forgotten", legacy.name, exc)
        legacy.unlink()

    def _path(self, draft_id: str) -> Path:
        return self.folder / f"{hashlib.sha256(draft_id.encode()).hexdigest()[:32]}.json"

    def _forget(self, draft_id: str) -> None:
        self._drafts.pop(draft_id, None)
        self._path(draft_id).unlink(missing_ok=True)

    def _make_room(self, room_for: int) -> None:
        while len(self._drafts) > room_for:
            self._forget(next(iter(self._drafts)))

    def expire(self, now: float) -> None:
        """Forget the drafts untouched for ``DRAFT_TTL_SECONDS``."""
        while self._drafts:
            oldest = next(iter(self._drafts.values()))
            if oldest["touched"] >= now - DRAFT_TTL_SECONDS:
                break
            self._forget(oldest["id"])

    def save(self, draft_id: str, fields: dict, now: float) -> None:
        """Keep ``fields`` (cut to the limits) as the draft ``draft_id``, written to its file."""
        self.expire(now)
        doc = {"id": draft_id, "fields": bounded(draft_id, fields, now), "touched": now}
        if draft_id not in self._drafts:
            self._make_room(MAX_DRAFTS - 1)
        self._drafts[draft_id] = doc
        self._drafts.move_to_end(draft_id)
        try:
            atomic_write(self._path(draft_id), _encode(doc))
        except OSError as exc:  # kept in memory: lost only if the server stops too
            log.warning("draft not written to disk (%s): kept in memory", exc)

    def get(self, draft_id: str) -> dict:
        """Return a copy of a draft's fields, empty if there is none."""
        doc = self._drafts.get(draft_id)
        return dict(doc["fields"]) if doc else {}

    def all(self) -> list[dict]:
        """Return every draft (id, fields, touched), newest first."""
        return [{**d, "fields": dict(d["fields"])} for d in reversed(self._drafts.values())]

    def discard(self, draft_id: str) -> None:
        """Forget a draft."""
        if draft_id in self._drafts:
            self._forget(draft_id)


def bounded(draft_id: str, fields: dict, now: float) -> dict:
    """Return ``fields`` within the limits: at most ``DRAFT_FIELDS`` fields, each text at
    most ``DRAFT_FIELD_CHARS`` characters, the draft's file at most ``MAX_DRAFT_BYTES``
    (the longest text halved until it fits)."""
    out = {str(k)[:40]: (v[:DRAFT_FIELD_CHARS] if isinstance(v, str) else v)
           for k, v in list(fields.items())[:DRAFT_FIELDS]}
    for _ in range(64):  # each round halves the longest text: bounded
        if len(_encode({"id": draft_id, "fields": out, "touched": now})) <= MAX_DRAFT_BYTES:
            return out
        texts = [k for k, v in out.items() if isinstance(v, str) and v]
        if not texts:
            break
        longest = max(texts, key=lambda k: len(out[k]))
        out[longest] = out[longest][:len(out[longest]) // 2]
    return {k: v for k, v in out.items() if isinstance(v, str)}


def _encode(doc: dict) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
