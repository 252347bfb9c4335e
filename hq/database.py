"""Open HQ's database: the one place that picks a backend for ``HQStore``."""
from __future__ import annotations

from pathlib import Path

from .sqlite import SQLiteStore
from .storage import HQStore

DB_NAME = "hq.sqlite3"


def open_store(data_dir: str | Path) -> HQStore:
    """Open (creating on first use) the HQ database in ``data_dir``."""
    folder = Path(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return SQLiteStore(folder / DB_NAME)
