"""The closed tickets of one month of report: a TinyDB file with in-memory indexes."""
from __future__ import annotations

from pathlib import Path

from tinydb.table import Document

from ..jsonstorage import open_tinydb


class Archive:
    """The closed tickets reported in one month, indexed by id, status token and request id."""

    def __init__(self, path: Path):
        self.db = open_tinydb(path)
        self.table = self.db.table("tickets")
        self._ids: dict[str, int] = {}
        self._tokens: dict[str, int] = {}
        self._requests: dict[str, int] = {}
        for doc in self.table.all():
            self._index(doc, doc.doc_id)

    def _index(self, ticket: dict, doc_id: int) -> None:
        self._ids[ticket["id"]], self._tokens[ticket["token"]] = doc_id, doc_id
        if ticket.get("request_id"):
            self._requests[ticket["request_id"]] = doc_id

    def get(self, tid: str) -> dict | None:
        doc_id = self._ids.get(tid)
        return self.table.get(doc_id=doc_id) if doc_id else None

    def by_token(self, token: str) -> dict | None:
        doc_id = self._tokens.get(token)
        return self.table.get(doc_id=doc_id) if doc_id else None

    def by_request(self, request_id: str) -> dict | None:
        doc_id = self._requests.get(request_id)
        return self.table.get(doc_id=doc_id) if doc_id else None

    def tickets(self):
        """Yield the tickets as stored, without copying them (never change one)."""
        yield from ((self.db.storage.read() or {}).get("tickets") or {}).values()

    def put(self, ticket: dict) -> None:
        """Insert or replace a closed ticket."""
        doc_id = self._ids.get(ticket["id"])
        if doc_id:
            self.table.upsert(Document(ticket, doc_id=doc_id))
        else:
            self._index(ticket, self.table.insert(ticket))

    def remove(self, tid: str) -> None:
        """Take a ticket out (it was reopened)."""
        doc_id = self._ids.pop(tid)
        doc = self.table.get(doc_id=doc_id)
        self._tokens.pop(doc["token"], None)
        self._requests.pop(doc.get("request_id"), None)
        self.table.remove(doc_ids=[doc_id])

    def put_many(self, tickets: list[dict]) -> None:
        """Insert many new tickets at once (a rebuild)."""
        for ticket, doc_id in zip(tickets, self.table.insert_multiple(tickets)):
            self._index(ticket, doc_id)
