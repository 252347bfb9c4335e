"""A crash-safe TinyDB storage: atomic whole-file replace, with explicit batching.

Stock ``JSONStorage`` rewrites its file in place (a crash tears it) and re-reads it
on every operation. This storage keeps the document in memory (one writer per
process, under the store's lock), and writes a temp file in the same folder,
flushes, fsyncs, ``os.replace``-s it and fsyncs the folder. Inside ``held()``
writes are gathered and made once when the outermost block ends.
"""
from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path

from tinydb.storages import Storage

from .eventlog import fsync_dir


class CorruptFile(Exception):
    """A projection file exists but cannot be read."""


class AtomicJSONStorage(Storage):
    """TinyDB storage with atomic replace and in-memory reads."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._data: dict | None = None
        self._dirty = False
        self._holds = 0
        if self.path.exists():
            try:
                self._data = json.loads(self.path.read_bytes() or b"{}")
            except ValueError as exc:
                raise CorruptFile(f"{self.path.name}: {exc}") from exc
            if not isinstance(self._data, dict):
                raise CorruptFile(f"{self.path.name}: not a JSON object")

    def read(self) -> dict | None:
        return self._data

    def write(self, data: dict) -> None:
        self._data = data
        self._dirty = True
        if not self._holds:
            self.flush()

    @contextmanager
    def held(self):
        """Gather the writes made inside the block into one file write at its end."""
        self._holds += 1
        try:
            yield
        except BaseException:
            self._holds -= 1
            if not self._holds and self._dirty:
                self.reload()  # drop half-applied changes: the file still holds the truth
            raise
        self._holds -= 1
        if not self._holds:
            self.flush()

    def reload(self) -> None:
        """Forget unwritten changes and read the file again."""
        self._dirty = False
        self._data = json.loads(self.path.read_bytes()) if self.path.exists() else None

    def flush(self) -> None:
        """Write the document atomically if it changed."""
        if not self._dirty:
            return
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        try:
            payload = json.dumps(self._data, ensure_ascii=False, separators=(",", ":")).encode()
            with open(tmp, "wb") as f:
                f.write(payload)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
            fsync_dir(self.path.parent)
        except BaseException:
            self.reload()  # memory must never run ahead of the file
            raise
        self._dirty = False

    def close(self) -> None:
        self.flush()
