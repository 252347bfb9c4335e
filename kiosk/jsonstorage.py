"""Crash-safe projection files: a TinyDB storage replaced whole, and an append-only journal.

Stock ``JSONStorage`` rewrites its file in place (a crash tears it) and re-reads it
on every operation. ``AtomicJSONStorage`` keeps the document in memory (one writer per
process, under the store's lock), and replaces the file atomically
(``common.files.atomic_write``). A ``deferred`` storage
writes only when ``flush()`` is called: the store does that at its checkpoints, as the
event log already holds every change durably.

``Journal`` is for a projection too large to rewrite at every checkpoint: it appends
only the records that changed, in committed batches, and is rewritten whole (compacted)
rarely.
"""
from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path

from tinydb import TinyDB
from tinydb.storages import Storage

from common.files import atomic_write, fsync_dir


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


def open_tinydb(path: Path) -> TinyDB:
    """Open a projection's TinyDB file: atomic writes, deferred to the next flush."""
    return TinyDB(path, storage=AtomicJSONStorage, deferred=True)


def _is_tinydb_document(data: object) -> bool:
    """Whether ``data`` has TinyDB's shape: {table: {doc_id: {field: value}}}."""
    return isinstance(data, dict) and all(
        isinstance(table, dict) and all(isinstance(doc, dict) for doc in table.values())
        for table in data.values())


class Journal:
    """JSON-lines records in committed batches: appended, fsynced, and compacted by rewrite.

    A batch is its records followed by a commit line ``{"seq": n}``, written with one
    write and one fsync. What follows the last commit (a batch torn by a crash) is not
    read, and is cut off before the next append; an unreadable line before a commit is
    CorruptFile. ``rewrite`` replaces the file atomically with one batch (a snapshot).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.seq = 0  # the seq of the last commit
        self.size = 0  # bytes of the committed batches
        self.records = 0  # records in the committed batches

    def read(self) -> list[dict]:
        """Return the records of the committed batches, in order."""
        self.seq = self.size = self.records = 0
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        committed: list[dict] = []
        batch: list[dict] = []
        pos, bad = 0, None
        for line in data.split(b"\n")[:-1]:  # complete lines only
            pos += len(line) + 1
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if not isinstance(record, dict):
                bad = bad or f"line at byte {pos - len(line) - 1} is not a JSON object"
                continue
            if set(record) != {"seq"}:
                batch.append(record)
                continue
            if bad or not isinstance(record["seq"], int) or isinstance(record["seq"], bool):
                raise CorruptFile(f"{self.path.name}: {bad or 'a commit seq is not a number'}")
            committed += batch
            batch = []
            self.seq, self.size = record["seq"], pos
        self.records = len(committed)
        return committed

    def append(self, records: list[dict], seq: int) -> None:
        """Write ``records`` and a commit of ``seq`` after the last commit; fsync."""
        blob = _lines(records, seq)
        new = not self.path.exists()
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.ftruncate(fd, self.size)  # a torn batch goes; on failure memory keeps all
            os.lseek(fd, self.size, os.SEEK_SET)
            view = memoryview(blob)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        if new:
            fsync_dir(self.path.parent)
        self.seq, self.size, self.records = seq, self.size + len(blob), self.records + len(records)

    def rewrite(self, records: list[dict], seq: int) -> None:
        """Replace the whole journal atomically with ``records`` and a commit of ``seq``."""
        blob = _lines(records, seq)
        atomic_write(self.path, blob)
        self.seq, self.size, self.records = seq, len(blob), len(records)


def _lines(records: list[dict], seq: int) -> bytes:
    out = [json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in records]
    out.append(json.dumps({"seq": seq}))
    return ("\n".join(out) + "\n").encode()
