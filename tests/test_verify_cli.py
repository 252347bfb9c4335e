"""``python run.py verify``: the site's own hash chain, checked read-only."""
from __future__ import annotations

import json

import pytest

from kiosk.store import Store



@pytest.fixture
def data(tmp_path):
    store = Store(tmp_path / "data", site_id="campus-a")
    store.append([{"ticket_id": None, "type": "locations_imported",
                   "at": f"2026-11-28T02:0{i}:00+00:00", "actor": {"role": "system"},
                   "data": {"rows": [], "n": i}} for i in range(5)])
    store.close()
    return tmp_path / "data"


def segment(data):
    return next((data / "log").glob("events-*.jsonl"))


@pytest.fixture
def verify(runner):
    """Run ``run.py verify`` on a data folder."""
    return lambda data: runner.invoke("verify", "--data", str(data))


def test_an_intact_log_passes(data, verify):
    result = verify(data)
    assert result.exit_code == 0, result.output
    assert "ok: 5 event(s)" in result.output


def test_a_flipped_byte_is_reported_with_its_seq(data, verify):
    lines = segment(data).read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b'"n":2', b'"n":3')  # seq 3's content changed
    segment(data).write_bytes(b"\n".join(lines))
    result = verify(data)
    assert result.exit_code == 1
    assert "seq 3: content changed" in result.output and "seq 4" not in result.output


def test_a_byte_that_breaks_the_json_is_reported_too(data, verify):
    raw = bytearray(segment(data).read_bytes())
    start = raw.index(b'{"actor"', raw.index(b"\n") + 1)  # the second line
    raw[start] = ord("[")
    segment(data).write_bytes(bytes(raw))
    result = verify(data)
    assert result.exit_code == 1 and "seq 2: unreadable line" in result.output


def test_a_deleted_line_is_reported_with_its_seq(data, verify):
    lines = segment(data).read_bytes().split(b"\n")
    del lines[2]
    segment(data).write_bytes(b"\n".join(lines))
    result = verify(data)
    assert result.exit_code == 1 and "seq 3: missing" in result.output


def test_a_log_shorter_than_what_hq_confirmed_is_reported(data, verify):
    (data / "sync.json").write_text(json.dumps({"hq_epoch": "e1", "acked_through": 7}))
    result = verify(data)
    assert result.exit_code == 1 and "seq 6: missing" in result.output


def test_verify_runs_beside_the_server_and_changes_nothing(data, verify):
    store = Store(data)  # the running server holds the data folder's lock
    try:
        with open(segment(data), "ab") as f:
            f.write(b'{"seq": 6, "torn')  # a torn tail stays as found
        before = segment(data).read_bytes()
        result = verify(data)
        assert result.exit_code == 0, result.output
        assert segment(data).read_bytes() == before
    finally:
        store.close()


def test_verify_without_a_log_says_so(tmp_path, verify):
    result = verify(tmp_path)
    assert result.exit_code == 1 and "no event log" in result.output
