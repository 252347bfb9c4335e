"""The sync oracle: compare a kiosk's event log with what HQ stored, read-only.

``compare(kiosk_dir, hq_db)`` reads the kiosk's log segments (never opening them for
writing: an ``EventLog`` opened normally may cut a torn tail, and the kiosk may be
running) and HQ's tables over a read-only connection (``hq_db``: HQ's SQLite data folder,
or the ``postgresql://`` URL of its database), and counts:

- ``kiosk_events``, ``hq_events``: the site's events on each side;
- ``lost``: in the kiosk's log, not at HQ;
- ``duplicated``: stored twice at HQ — the same ``(site, seq)`` (impossible by the primary
  key, checked anyway), the same ``event_id`` or the same ``hash`` under two rows;
- ``mismatched``: HQ holds at a seq another event than the kiosk (hash, event id or body);
- ``extra``: HQ holds seqs the kiosk's log does not have;
- ``rejected``: stored at HQ but not applied (an unknown type, or refused by the rules);
- whether each side's seqs run 1..N without a hole, each side's hash chain verifies
  (``EventLog.verify``, ``hq.chain.verify_site_chain``), and the kiosk's acked mark
  (``data/sync.json``) equals HQ's last seq under HQ's epoch.

``SyncReport.assert_exact()`` asserts all of it: 0 lost, 0 duplicated, 0 mismatched.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from kiosk.eventlog import SEGMENT_BYTES, EventLog
from sync.events import GENESIS
from hq.chain import verify_site_chain
from hq.database import DB_NAME, is_postgres
from hq.storage import utc_iso
from sync.state import load_state


def readonly_log(kiosk_dir: Path, site_id: str) -> EventLog:
    """An ``EventLog`` over ``<kiosk_dir>/log`` for ``read``/``verify`` only.

    ``EventLog.__init__`` recovers the tail (it may truncate a torn line) and opens a
    segment for appending; this skips both, so a running kiosk is never touched.
    """
    log = EventLog.__new__(EventLog)
    log.folder, log.site_id, log.segment_bytes = Path(kiosk_dir) / "log", site_id, SEGMENT_BYTES
    log.last_seq, log.last_hash, log._file, log._size = 0, GENESIS, None, 0
    return log


class _ReadOnlyHQ:
    """Just enough of ``HQStore`` for ``verify_site_chain``, over a read-only connection."""

    def __init__(self, db):
        self.db = db

    def chain(self, site_id: str, after: int = 0, limit: int = 1000) -> list[tuple]:
        return [tuple(r) for r in self.db.execute(
            "SELECT seq, hash, body FROM events WHERE site_id = ? AND seq > ? "
            "ORDER BY seq LIMIT ?", (site_id, after, limit))]


class _Rows(list):
    """A query's rows, read like an ``sqlite3`` cursor's."""

    def fetchone(self):
        return self[0] if self else None

    def fetchall(self) -> list:
        return list(self)


class PostgresReader:
    """A read-only connection to HQ's PostgreSQL database that answers like ``sqlite3``
    on HQ's SQLite file: ``?`` placeholders, rows as tuples, times as ``utc_iso`` text and
    booleans as 0/1. Autocommit: each query sees what HQ committed."""

    def __init__(self, url: str):
        import psycopg  # only where HQ runs on PostgreSQL

        self.db = psycopg.connect(url, autocommit=True, connect_timeout=10,
                                  options="-c default_transaction_read_only=on")

    @staticmethod
    def _plain(value):
        if isinstance(value, bool):
            return int(value)
        return utc_iso(value) if isinstance(value, datetime) else value

    def execute(self, sql: str, params: tuple = ()) -> _Rows:
        cursor = self.db.execute(sql.replace("?", "%s"), params)
        return _Rows(tuple(map(self._plain, row)) for row in cursor) if cursor.description \
            else _Rows()

    def close(self) -> None:
        self.db.close()


def open_hq_readonly(hq_db: Path | str):
    """A read-only connection to HQ's database: the SQLite file in the data folder
    ``hq_db`` (WAL: sees what HQ committed), or PostgreSQL at a ``postgresql://`` URL
    (a ``PostgresReader``, which answers the same queries alike)."""
    if is_postgres(str(hq_db)):
        return PostgresReader(str(hq_db))
    path = Path(hq_db) / DB_NAME
    if not path.exists():
        raise FileNotFoundError(path)
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    db.execute("PRAGMA query_only = 1")
    return db


@dataclass
class SyncReport:
    """What the oracle found for one site (see the module doc)."""

    site_id: str
    kiosk_events: int = 0
    hq_events: int = 0
    lost: int = 0
    duplicated: int = 0
    mismatched: int = 0
    extra: int = 0
    rejected: int = 0
    kiosk_contiguous: bool = True
    hq_contiguous: bool = True
    kiosk_chain_problems: list = field(default_factory=list)
    hq_chain_problems: list = field(default_factory=list)
    acked_through: int | None = None
    mark_epoch: str | None = None
    hq_last_seq: int = 0
    hq_epoch: str | None = None

    def counts(self) -> dict:
        """The figures worth reporting, as a flat dict."""
        d = asdict(self)
        d["kiosk_chain_ok"] = not d.pop("kiosk_chain_problems")
        d["hq_chain_ok"] = not d.pop("hq_chain_problems")
        d["mark_is_hq_last"] = self.acked_through == self.hq_last_seq
        d["epoch_matches"] = self.mark_epoch == self.hq_epoch
        return d

    def line(self) -> str:
        c = self.counts()
        return (f"site {self.site_id}: kiosk {c['kiosk_events']} events, HQ {c['hq_events']}; "
                f"lost {c['lost']}, duplicated {c['duplicated']}, mismatched {c['mismatched']}, "
                f"extra {c['extra']}, rejected {c['rejected']}; seqs contiguous "
                f"kiosk={c['kiosk_contiguous']} HQ={c['hq_contiguous']}; chains verified "
                f"kiosk={c['kiosk_chain_ok']} HQ={c['hq_chain_ok']}; acked mark "
                f"{self.acked_through} vs HQ last {self.hq_last_seq}; epoch match "
                f"{c['epoch_matches']}")

    def assert_exact(self, check_mark: bool = True) -> None:
        """Everything arrived exactly once and both chains verify (the mark too)."""
        assert self.lost == 0, self.line()
        assert self.duplicated == 0, self.line()
        assert self.mismatched == 0 and self.extra == 0, self.line()
        assert self.kiosk_events == self.hq_events > 0, self.line()
        assert self.kiosk_contiguous and self.hq_contiguous, self.line()
        assert not self.kiosk_chain_problems, (self.line(), self.kiosk_chain_problems[:5])
        assert not self.hq_chain_problems, (self.line(), self.hq_chain_problems[:5])
        if check_mark:
            assert self.acked_through == self.hq_last_seq == self.kiosk_events, self.line()
            assert self.mark_epoch == self.hq_epoch, self.line()


def _site_id(kiosk_dir: Path) -> str:
    return json.loads((Path(kiosk_dir) / "site.json").read_text())["site_id"]


def compare(kiosk_dir: Path, hq_db: Path | str, site_id: str | None = None) -> SyncReport:
    """Compare the kiosk's log in ``kiosk_dir`` with HQ's database ``hq_db`` (its SQLite
    data folder or PostgreSQL URL)."""
    site_id = site_id or _site_id(kiosk_dir)
    report = SyncReport(site_id)
    log = readonly_log(kiosk_dir, site_id)
    kiosk = {}
    seqs = []
    for event in log.read():
        seqs.append(event["seq"])
        kiosk[event["seq"]] = event
    report.kiosk_events = len(seqs)
    report.kiosk_contiguous = seqs == list(range(1, len(seqs) + 1))
    report.kiosk_chain_problems = [(p.seq, p.problem) for p in log.verify()]
    mark, _ = load_state(Path(kiosk_dir))
    if (Path(kiosk_dir) / "sync.json").exists():
        report.acked_through, report.mark_epoch = mark.acked_through, mark.hq_epoch

    db = open_hq_readonly(hq_db)
    try:
        row = db.execute("SELECT value FROM meta WHERE key = 'hq_epoch'").fetchone()
        report.hq_epoch = row[0] if row else None
        rows = db.execute("SELECT seq, event_id, hash, body, applied FROM events "
                          "WHERE site_id = ? ORDER BY seq", (site_id,)).fetchall()
        report.hq_events = len(rows)
        report.hq_last_seq = rows[-1][0] if rows else 0
        hq_seqs = [r[0] for r in rows]
        report.hq_contiguous = hq_seqs == list(range(1, len(rows) + 1))
        report.rejected = sum(1 for r in rows if not r[4])
        report.duplicated = sum(n - 1 for (n,) in db.execute(
            "SELECT COUNT(*) FROM events WHERE site_id = ? GROUP BY seq HAVING COUNT(*) > 1 "
            "UNION ALL SELECT COUNT(*) FROM events WHERE site_id = ? GROUP BY event_id "
            "HAVING COUNT(*) > 1 UNION ALL SELECT COUNT(*) FROM events WHERE site_id = ? "
            "GROUP BY hash HAVING COUNT(*) > 1", (site_id, site_id, site_id)))
        held = set()
        for seq, event_id, stored_hash, body, _ in rows:
            held.add(seq)
            mine = kiosk.get(seq)
            if mine is None:
                report.extra += 1
            elif (stored_hash != mine["hash"] or event_id != mine["event_id"]
                  or json.loads(body) != mine):
                report.mismatched += 1
        report.lost = sum(1 for seq in kiosk if seq not in held)
        report.hq_chain_problems = verify_site_chain(_ReadOnlyHQ(db), site_id)
    finally:
        db.close()
    return report


def hq_sites(hq_db: Path | str) -> dict[str, list]:
    """Every site HQ holds events of, with its chain problems (none: intact)."""
    db = open_hq_readonly(hq_db)
    try:
        sites = [r[0] for r in db.execute("SELECT DISTINCT site_id FROM events")]
        return {s: verify_site_chain(_ReadOnlyHQ(db), s) for s in sites}
    finally:
        db.close()
