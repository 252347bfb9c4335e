"""Open HQ's database: the one place that picks a backend for ``HQStore``."""
from __future__ import annotations

from pathlib import Path

from .postgres import PostgresStore
from .postgres import migrate as migrate_postgres
from .sqlite import SQLiteStore
from .storage import HQStore

DB_NAME = "hq.sqlite3"


def is_postgres(url: str | None) -> bool:
    """Return whether ``url`` names a PostgreSQL database (else HQ uses SQLite)."""
    return bool(url) and url.startswith(("postgresql://", "postgres://"))


def open_store(data_dir: str | Path, url: str | None = None,
               pool_size: int | None = None) -> HQStore:
    """Open (creating on first use) HQ's database: PostgreSQL at ``url`` if it is a
    ``postgresql://`` URL (a pool of up to ``pool_size`` connections), else the SQLite
    file in ``data_dir``."""
    if is_postgres(url):
        return PostgresStore(url, pool_size)
    folder = Path(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return SQLiteStore(folder / DB_NAME)


def migrate(data_dir: str | Path, url: str | None = None) -> list[str]:
    """Bring HQ's database up to the current schema; return the versions applied (SQLite
    does so whenever it opens, too)."""
    if is_postgres(url):
        return migrate_postgres(url)
    store = open_store(data_dir)
    store.close()
    return store.upgraded
