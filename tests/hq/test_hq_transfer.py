"""Moving a company's HQ to another database: ``run.py hq export`` / ``import`` / ``copy``.

The source is always an HQ on SQLite filled by real kiosks over the signed API; the
target is the ``backend`` fixture's (SQLite, then PostgreSQL where a server can run).
"""
from __future__ import annotations

import hashlib
import json
import stat
from datetime import datetime, timezone
from pathlib import Path

import pytest
from helpers import CHEAP_PINS, Clock
from hq_helpers import PIN, Kiosk, add_site, push

from common.pins import PinHasher
from hq import chain, create_hq_app, transfer
from hq.accounts import add_account
from hq.database import open_store
from hq.transfer import TransferError


@pytest.fixture
def source(tmp_path):
    """An HQ on SQLite with two sites that pushed real chained events: tickets in several
    states, a site event, an event HQ rejects and a refused conflict (two alarms), and a
    dashboard account. Its app is closed before the test reads it again."""
    clock = Clock()
    app = create_hq_app({"TESTING": True, "DATA_DIR": str(tmp_path / "source"), "CLOCK": clock,
                         "PIN_HASH_METHOD": CHEAP_PINS})
    store, client = app.extensions["hq_store"], app.test_client()
    keys = {"site-a": add_site(store, "site-a", "Campus A"),
            "site-b": add_site(store, "site-b", "Campus B")}
    kiosks = {site: Kiosk(tmp_path / f"kiosk-{site}", site, clock) for site in keys}
    a, b = kiosks["site-a"], kiosks["site-b"]
    a.report("t-1")
    a.act("t-1", "confirmed")
    a.act("t-1", "dispatched", {"team": "maintenance"})
    a.report("t-2", category="complaint")
    a.act("t-2", "closed", {"reason": "duplicate"})
    a.act(None, "parcel_received", {"id": "p1", "kind": "parcel", "recipient": "张三",
                                    "code": "1234"})
    a.act(None, "meter_moved", {"why": "a newer kiosk's event type"})  # stored, rejected
    b.report("b-1", category="inquiry")
    b.act("b-1", "closed", {"reason": "withdrawn"})
    for site, kiosk in kiosks.items():
        for start in range(0, len(kiosk.events), 3):  # several batches each
            response, _ = push(client, keys[site], kiosk.events[start:start + 3])
            assert response.status_code == 200, response.get_data(as_text=True)
    other = {**b.events[0], "hash": "f" * 64}  # HQ holds another event at seq 1: an alarm
    assert push(client, keys["site-b"], [other])[0].status_code == 409
    add_account(store, PinHasher(CHEAP_PINS), "Zhao Min", PIN, datetime.now(timezone.utc))
    store.revoke_site("site-b")  # a revoked key stays revoked
    assert len(store.alarms()) == 2
    store.close()
    return {"data": tmp_path / "source", "keys": keys, "kiosks": kiosks, "clock": clock}


def _snapshot(store) -> dict:
    """What a move must keep: epoch, sites and keys, accounts, alarms, tickets, chains."""
    sites = store.sites()
    return {
        "epoch": store.epoch(),
        "sites": sites,
        "keys": [store.key(s["key_id"]) for s in sites],
        "admins": store.admin_rows(),
        "alarms": store.alarms(),
        "tickets": store.tickets(),
        "events": {t["id"]: [(e["seq"], e["hash"], e["applied"]) for e in
                             store.ticket_events(t["site_id"], t["id"])]
                   for t in store.tickets()},
        "chains": {s["site_id"]: store.chain(s["site_id"]) for s in sites},
        "summaries": store.site_summaries(datetime.now(timezone.utc)),
    }


def _source_snapshot(source) -> dict:
    store = open_store(source["data"])
    try:
        return _snapshot(store)
    finally:
        store.close()


def _exported(source, file: Path) -> Path:
    """Export the source HQ to ``file`` (as ``transfer.export`` writes it); return it."""
    store = open_store(source["data"])
    try:
        transfer.export(store, file)
    finally:
        store.close()
    return file


def test_export_then_import_moves_everything_and_the_sites_sync_on(tmp_path, runner, source,
                                                                  backend):
    before = _source_snapshot(source)
    file = tmp_path / "hq.jsonl"
    exported = runner.invoke("hq", "--data", str(source["data"]), "export", str(file))
    assert exported.exit_code == 0, exported.output
    assert "wrote 2 sites, 1 accounts, 2 alarms and 9 events" in exported.output
    assert "WARNING" in exported.output and "secret" in exported.output
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    lines = [json.loads(line) for line in file.read_text().splitlines()]
    assert lines[0]["frontdesk_hq_export"] == 1 and lines[0]["hq_epoch"] == before["epoch"]
    assert [next(iter(line)) for line in lines[1:]] == (
        ["site"] * 2 + ["admin"] + ["alarm"] * 2 + ["event"] * 9 + ["end"])

    imported = runner.invoke("hq", *backend.args("target"), "import", str(file))
    assert imported.exit_code == 0, imported.output
    assert "site-a\t7 events\tlast seq 7\tverified" in imported.output
    assert "site-b\t2 events\tlast seq 2\tverified" in imported.output  # the conflict: none
    target = backend.store("target")
    try:
        assert _snapshot(target) == before
        for site in ("site-a", "site-b"):
            assert chain.verify_site_chain(target, site) == []
    finally:
        target.close()

    # a kiosk pushes on with its old key: same epoch, acked through its last seq, no resend
    app = create_hq_app({"TESTING": True, **backend.config("target"), "CLOCK": source["clock"],
                         "PIN_HASH_METHOD": CHEAP_PINS})
    try:
        client, a = app.test_client(), source["kiosks"]["site-a"]
        response, answer = push(client, source["keys"]["site-a"], [])  # a probe
        assert response.status_code == 200
        assert answer["hq_epoch"] == before["epoch"] and answer["acked_through"] == 7
        a.act("t-1", "arrived", {"how": "verified"})
        response, answer = push(client, source["keys"]["site-a"], a.events[-1:])
        assert response.status_code == 200, answer
        assert answer["acked_through"] == 8 and answer["results"][0]["result"] == "stored"
        assert app.extensions["hq_store"].ticket("site-a", "t-1")["arrived_at"]
    finally:
        app.extensions["hq_store"].close()


def test_an_import_into_a_target_that_has_sites_or_accounts_is_refused(tmp_path, runner,
                                                                      source, backend):
    file = tmp_path / "hq.jsonl"
    assert runner.invoke("hq", "--data", str(source["data"]), "export", str(file)).exit_code == 0
    target = backend.store("target")
    try:
        add_site(target, "site-z", "Elsewhere")
        epoch = target.epoch()
    finally:
        target.close()
    refused = runner.invoke("hq", *backend.args("target"), "import", str(file))
    assert refused.exit_code == 1 and "not empty" in refused.output
    target = backend.store("target")
    try:
        assert target.epoch() == epoch and [s["site_id"] for s in target.sites()] == ["site-z"]
        with pytest.raises(TransferError, match="not empty"):
            transfer.import_file(target, file)
    finally:
        target.close()


def _reseal(file: Path, lines: list[str]) -> None:
    """Write ``lines`` with a true end line, as someone who changed the file would."""
    counts = dict.fromkeys(transfer.KINDS, 0)
    for line in lines[1:]:
        counts[next(iter(json.loads(line)))] += 1
    digest = hashlib.sha256("".join(line + "\n" for line in lines).encode()).hexdigest()
    file.write_text("".join(line + "\n" for line in lines)
                    + json.dumps({"end": {**counts, "sha256": digest}}) + "\n")


def test_a_changed_event_is_refused_whole_naming_the_site_and_seq(tmp_path, runner, source,
                                                                  backend):
    """Decision: the whole file is checked before anything is written, so an export whose
    chain does not verify is refused whole and the target stays empty (same epoch, no
    site, no account): nothing is half moved."""
    file = tmp_path / "hq.jsonl"
    assert runner.invoke("hq", "--data", str(source["data"]), "export", str(file)).exit_code == 0
    lines = file.read_text().splitlines()[:-1]
    at = next(i for i, line in enumerate(lines)
              if '"event"' in line and '"site_id": "site-a"' in line and '"seq": 4' in line)
    line = json.loads(lines[at])
    line["event"]["body"] = line["event"]["body"].replace('"complaint"', '"repair"')
    assert line["event"]["body"] != json.loads(lines[at])["event"]["body"]
    lines[at] = json.dumps(line, ensure_ascii=False, sort_keys=True)
    _reseal(file, lines)
    target = backend.store("target")
    epoch = target.epoch()
    target.close()
    refused = runner.invoke("hq", *backend.args("target"), "import", str(file))
    assert refused.exit_code == 1
    assert "site site-a: seq 4: content changed" in refused.output
    assert "nothing was imported" in refused.output
    target = backend.store("target")
    try:
        assert target.epoch() == epoch and target.sites() == [] and target.admin_count() == 0
    finally:
        target.close()


def test_a_cut_or_edited_file_is_refused_by_its_end_line(tmp_path, source, backend):
    file = _exported(source, tmp_path / "hq.jsonl")
    lines = file.read_text().splitlines()
    cut = tmp_path / "cut.jsonl"
    cut.write_text("\n".join(lines[:-3]) + "\n")  # the last events and the end line lost
    edited = tmp_path / "edited.jsonl"  # a site's name changed, the end line kept
    edited.write_text("\n".join(lines).replace("Campus B", "Campus X") + "\n")
    dropped = tmp_path / "dropped.jsonl"  # the tail of site-b dropped, then resealed
    _reseal(dropped, [line for line in lines[:-1]
                      if not ('"site-b"' in line and '"seq": 2,' in line)])
    target = backend.store("target")
    try:
        with pytest.raises(TransferError, match="cut short"):
            transfer.import_file(target, cut)
        with pytest.raises(TransferError, match="checksum"):
            transfer.import_file(target, edited)
        with pytest.raises(TransferError, match="site site-b: seq 2: missing"):
            transfer.import_file(target, dropped)
        assert target.sites() == []
    finally:
        target.close()


def test_a_chunk_the_target_does_not_store_whole_stops_the_import(tmp_path, source, backend):
    file = _exported(source, tmp_path / "hq.jsonl")
    target = backend.store("target")
    try:
        pushed = target.ingest_batch

        def ingest_batch(site_id, events, now):  # site-b's first event damaged on the way
            if site_id == "site-b":
                events = [{**events[0], "hash": "e" * 64}, *events[1:]]
            return pushed(site_id, events, now)

        target.ingest_batch = ingest_batch
        with pytest.raises(TransferError, match="site site-b: seq 1: the target did not "
                                                "store it"):
            transfer.import_file(target, file, chunk=2)
    finally:
        target.close()


@pytest.mark.postgresql
def test_copy_moves_a_sqlite_hq_into_postgresql_in_one_command(runner, source, hq_databases):
    before = _source_snapshot(source)
    name, url = hq_databases.new()
    try:
        copied = runner.invoke("hq", "copy", "--from-data", str(source["data"]),
                               "--to-database", url)
        assert copied.exit_code == 0, copied.output
        assert "site-a\t7 events\tlast seq 7\tverified" in copied.output
        assert "every chain verified" in copied.output
        target = open_store(source["data"], url)
        try:
            assert _snapshot(target) == before
        finally:
            target.close()
        again = runner.invoke("hq", "copy", "--from-data", str(source["data"]),
                              "--to-database", url)
        assert again.exit_code == 1 and "not empty" in again.output
    finally:
        hq_databases.drop(name)
