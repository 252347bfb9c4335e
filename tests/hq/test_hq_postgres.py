"""What only the PostgreSQL backend has: versioned migrations, the site row that
serialises a site's batches (and only that site's), and the events table partitioned by
site with (site_id, seq) still unique. The moving contract (``set_epoch``,
``admin_rows``/``restore_admin``) runs on both backends."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

import psycopg
import pytest
from click.testing import CliRunner
from hq_helpers import Kiosk, add_site

from hq.chain import verify_site_chain
from hq.cli import hq_cli
from hq.database import open_store
from hq.ingest import DUPLICATE, STORED
from hq.postgres import PostgresStore, migrations
from hq.storage import NameTaken

pytestmark = pytest.mark.postgresql
NOW = datetime(2026, 11, 28, 2, 0, tzinfo=timezone.utc)
WAIT = 10  # seconds a push that must not be blocked may take at most


@pytest.fixture
def pg_store(hq_databases):
    name, url = hq_databases.new()
    store = PostgresStore(url)
    yield store, url
    store.close()
    hq_databases.drop(name)


def _reports(tmp_path, clock, site_id: str, count: int) -> list[dict]:
    kiosk = Kiosk(tmp_path / f"kiosk-{site_id}", site_id, clock)
    for i in range(count):
        kiosk.report(f"{site_id}-t{i}")
    return kiosk.events


def _scalar(url: str, sql: str, args=()):
    with psycopg.connect(url) as db:
        return db.execute(sql, args).fetchone()[0]


def _waiting_on_locks(url: str, count: int) -> bool:
    """Return whether ``count`` sessions wait on a lock within WAIT seconds."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if _scalar(url, "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = "
                        "current_database() AND wait_event_type = 'Lock'") == count:
            return True
        time.sleep(0.05)
    return False


def test_migrate_applies_each_version_once(pg_cluster):
    url = pg_cluster.create_database("hq_migrate_twice")
    try:
        runner = CliRunner()
        first = runner.invoke(hq_cli, ["migrate", "--database", url])
        assert first.exit_code == 0, first.output
        names = [name for _, name, _ in migrations()]
        assert [f"applied {n}" for n in names] == first.output.splitlines()[:len(names)]
        again = runner.invoke(hq_cli, ["--database", url, "migrate"])
        assert again.exit_code == 0 and "applied " not in again.output
        assert "nothing to apply" in again.output
        open_store("/nonexistent", url).close()  # opening applies nothing either
        assert _scalar(url, "SELECT COUNT(*) FROM schema_version") == len(names)
    finally:
        pg_cluster.drop_database("hq_migrate_twice")


def test_two_processes_migrating_a_fresh_database_apply_it_once(pg_cluster):
    url = pg_cluster.create_database("hq_migrate_race")
    try:
        outputs, start = [], threading.Barrier(3)

        def run():
            start.wait()
            outputs.append(CliRunner().invoke(hq_cli, ["migrate", "--database", url]).output)

        threads = [threading.Thread(target=run) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(WAIT)
        assert sum("applied 0001_initial" in o for o in outputs) == 1, outputs
        assert _scalar(url, "SELECT COUNT(*) FROM schema_version") == len(migrations())
    finally:
        pg_cluster.drop_database("hq_migrate_race")


def test_a_held_site_row_holds_back_that_sites_pushes_only(pg_store, tmp_path, clock):
    store, url = pg_store
    add_site(store, "site-a")
    add_site(store, "site-b")
    events_a = _reports(tmp_path, clock, "site-a", 20)
    events_b = _reports(tmp_path, clock, "site-b", 20)
    answers: dict[str, list] = {"a": [], "b": []}

    def push(site_id, events, into):
        into.append(store.ingest_batch(site_id, events, NOW))

    with psycopg.connect(url) as holder:  # a push of site-a in progress: its row taken
        holder.execute("SELECT 1 FROM sites WHERE site_id = 'site-a' FOR UPDATE")
        same = [threading.Thread(target=push, args=("site-a", events_a, answers["a"]))
                for _ in range(2)]
        for t in same:
            t.start()
        other = threading.Thread(target=push, args=("site-b", events_b, answers["b"]))
        other.start()
        other.join(WAIT)
        assert not other.is_alive() and answers["b"][0][0] == 20  # site-b never waited
        assert _waiting_on_locks(url, 2) and not answers["a"]  # site-a's both wait
        holder.rollback()
    for t in same:
        t.join(WAIT)
    results = sorted("/".join(sorted({r["result"] for r in a[1]})) for a in answers["a"])
    assert results == [DUPLICATE, STORED]  # one applied, the other saw duplicates
    assert [a[0] for a in answers["a"]] == [20, 20]
    assert _scalar(url, "SELECT COUNT(*) FROM events WHERE site_id = 'site-a'") == 20
    assert {s["site_id"]: s["events_received"] for s in store.sites()} == {
        "site-a": 20, "site-b": 20}


def test_concurrent_pushes_of_one_site_apply_each_event_once(pg_store, tmp_path, clock):
    store, url = pg_store
    add_site(store, "site-a")
    events = _reports(tmp_path, clock, "site-a", 50)
    answers, start = [], threading.Barrier(4)

    def push(part):
        start.wait()
        answers.append(store.ingest_batch("site-a", part, NOW))

    parts = [events, events[:30], events[10:], events]
    threads = [threading.Thread(target=push, args=(p,)) for p in parts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    stored = sorted(r["seq"] for a in answers for r in a[1] if r["result"] == STORED)
    assert stored == list(range(1, 51))  # nothing lost, nothing doubled
    assert _scalar(url, "SELECT COUNT(*) FROM tickets WHERE site_id = 'site-a'") == 50
    assert store.sites()[0]["events_received"] == 50


def test_site_seq_stays_unique_across_the_event_partitions(pg_store, tmp_path, clock):
    store, url = pg_store
    sites = [f"site-{i}" for i in range(8)]
    for site_id in sites:
        add_site(store, site_id)
        store.ingest_batch(site_id, _reports(tmp_path, clock, site_id, 2), NOW)
    with psycopg.connect(url) as db:
        where = dict(db.execute("SELECT DISTINCT site_id, tableoid::regclass::text FROM events"))
        assert set(where) == set(sites) and len(set(where.values())) > 1  # spread out
        row = db.execute("SELECT * FROM events WHERE site_id = 'site-0' AND seq = 1").fetchone()
        insert = "INSERT INTO {} VALUES (" + ", ".join(["%s"] * len(row)) + ")"
        with pytest.raises(psycopg.errors.UniqueViolation):
            db.execute(insert.format("events"), row)
        db.rollback()
        elsewhere = next(p for p in set(where.values()) if p != where["site-0"])
        with pytest.raises(psycopg.errors.CheckViolation):  # no other partition takes it
            db.execute(insert.format(elsewhere), row)
        db.rollback()
        assert db.execute("SELECT COUNT(*) FROM events WHERE site_id = 'site-0' AND seq = 1"
                          ).fetchone()[0] == 1


def test_set_epoch_only_while_hq_has_no_site(backend):
    store = backend.store()
    try:
        store.set_epoch("e" * 32)
        assert store.epoch() == "e" * 32
        add_site(store)
        with pytest.raises(ValueError):
            store.set_epoch("f" * 32)
        assert store.epoch() == "e" * 32
    finally:
        store.close()
    again = backend.store()
    try:
        assert again.epoch() == "e" * 32
    finally:
        again.close()


def test_admin_rows_restore_as_they_were(backend):
    store = backend.store()
    try:
        store.add_admin("Zhao Min", "hash-1", NOW)
        store.admin_failed("Zhao Min", 1, NOW)
        rows = store.admin_rows()
        assert [r["name"] for r in rows] == ["Zhao Min"] and rows[0]["pin_hash"] == "hash-1"
        with pytest.raises(NameTaken):
            store.restore_admin({**rows[0], "name": "zhao min"})
    finally:
        store.close()
    other = backend.store("other")
    try:
        other.restore_admin(rows[0])
        assert other.admin_rows() == rows
        assert other.admin("ZHAO MIN")["locked_until"] is not None
    finally:
        other.close()


def test_a_nul_character_is_stored_and_found_not_a_server_error(pg_store, tmp_path, clock):
    store, _ = pg_store
    add_site(store, "site-a")
    kiosk = Kiosk(tmp_path / "kiosk-a", "site-a", clock)
    kiosk.report("t\x001", description="leak\x00under the sink")
    last, results = store.ingest_batch("site-a", kiosk.events, NOW)
    assert (last, [r["result"] for r in results]) == (1, [STORED])
    assert verify_site_chain(store, "site-a") == []  # the body keeps the exact JSON
    ticket = store.ticket("site-a", "t\x001")  # found as it was stored: U+0000 as U+FFFD
    assert ticket["description"] == "leak\ufffdunder the sink"
    assert [e["seq"] for e in store.ticket_events("site-a", "t\x001")] == [1]
    assert store.tickets(site_id="a\x00b") == [] and store.admin("Zhao\x00") is None
