"""What only the SQLite backend has: its schema versions after the first, applied from
``migrations/sqlite/`` when a store opens and counted in the file's ``user_version``."""
from __future__ import annotations

import sqlite3

from hq import sqlite as hq_sqlite
from hq.database import migrate
from hq.sqlite import SQLiteStore


def test_a_new_version_is_applied_once_to_an_old_database(tmp_path, monkeypatch):
    path = tmp_path / "hq.sqlite3"
    SQLiteStore(path).close()  # made by this code: at the newest version it knows
    before = sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0]
    versions = tmp_path / "migrations"
    versions.mkdir()
    for old in sorted(hq_sqlite.MIGRATIONS.glob("*.sql")):
        (versions / old.name).write_text(old.read_text(encoding="utf-8"), encoding="utf-8")
    number = before + 1
    (versions / f"{number:04d}_notes.sql").write_text(
        "-- a later version: a column and a table\n"
        "ALTER TABLE sites ADD COLUMN note TEXT;\n"
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL);\n", encoding="utf-8")
    monkeypatch.setattr(hq_sqlite, "MIGRATIONS", versions)

    assert migrate(tmp_path) == [f"{number:04d}_notes"]
    assert migrate(tmp_path) == []  # once
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == number
    assert "note" in {r[1] for r in db.execute("PRAGMA table_info(sites)")}
    store = SQLiteStore(path)
    assert store.upgraded == [] and store.sites() == []
    store.close()


def test_a_fresh_database_takes_every_version(tmp_path):
    store = SQLiteStore(tmp_path / "hq.sqlite3")
    store.close()
    names = [p.stem for p in sorted(hq_sqlite.MIGRATIONS.glob("[0-9][0-9][0-9][0-9]_*.sql"))]
    assert store.upgraded == names
    last = int(names[-1][:4]) if names else 0
    db = sqlite3.connect(tmp_path / "hq.sqlite3")
    assert db.execute("PRAGMA user_version").fetchone()[0] == last
