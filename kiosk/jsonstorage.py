"""A crash-safe TinyDB storage: atomic whole-file replace, written now or deferred.

Stock ``JSONStorage`` rewrites its file in place (a crash tears it) and re-reads it
on every operation. This storage keeps the document in memory (one writer per
process, under the store's lock), and replaces the file atomically
(``common.files.atomic_write``). A ``deferred`` storage
writes only when ``flush()`` is called: the store does that at its checkpoints, as the
event log already holds every change durably.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

from tinydb.storages import Storage

from common.files import atomic_write


class CorruptFile(Exception):
    """A projection file exists but cannot be read."""


class AtomicJSONStorage(Storage):
    """TinyDB storage with atomic replace and in-memory reads."""

    def __init__(self, path: str | Path, deferred: bool = False):
        self.path = Path(path)
        self.deferred = deferred
        self._data: dict | None = None
        self._dirty = False
        if self.path.exists():
            try:
                self._data = json.loads(self.path.read_bytes() or b"{}")
            except ValueError as exc:
                raise CorruptFile(f"{self.path.name}: {exc}") from exc
            if not _is_tinydb_document(self._data):
                raise CorruptFile(f"{self.path.name}: not a TinyDB document "
                                  f"(tables of documents)")

    def read(self) -> dict | None:
        return self._data

    def write(self, data: dict) -> None:
        self._data = data
        self._dirty = True
        if not self.deferred:
            self.flush()

    @contextmanager
    def held(self):
        """Gather the writes inside the block into one file write at its end.

        If the block fails, its changes are forgotten (the file still holds the truth).
        """
        deferred, self.deferred = self.deferred, True
        try:
            yield
        except BaseException:
            self.reload()
            raise
        finally:
            self.deferred = deferred
        if not deferred:
            self.flush()

    def reload(self) -> None:
        """Forget unwritten changes and read the file again."""
        self._dirty = False
        try:
            self._data = json.loads(self.path.read_bytes()) if self.path.exists() else None
        except ValueError as exc:
            raise CorruptFile(f"{self.path.name}: {exc}") from exc

    def flush(self) -> None:
        """Write the document atomically if it changed."""
        if not self._dirty:
            return
        # on failure memory keeps the changes: the next flush tries again
        atomic_write(self.path, json.dumps(self._data, ensure_ascii=False,
                                           separators=(",", ":")).encode())
        self._dirty = False

    def close(self) -> None:
        self.flush()


def _is_tinydb_document(data: object) -> bool:
    """Whether ``data`` has TinyDB's shape: {table: {doc_id: {field: value}}}."""
    return isinstance(data, dict) and all(
        isinstance(table, dict) and all(isinstance(doc, dict) for doc in table.values())
        for table in data.values())
