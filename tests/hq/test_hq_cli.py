"""``python run.py hq``: site keys, dashboard accounts, and serving over real HTTP."""
from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from helpers import Clock
from hq_helpers import Kiosk, batch, headers_for, raw_sql, verify_answer

from hq import cli as hq_cli_module
from sync import protocol

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def hq(runner, backend):
    """Run ``run.py hq ...`` on this test's HQ database (SQLite or PostgreSQL)."""
    return lambda *args, input=None: runner.invoke("hq", *backend.args(), *args, input=input)


def _key(output: str) -> dict:
    return {"key_id": re.search(r"^key_id: (\S+)$", output, re.M).group(1),
            "secret": re.search(r"^secret: (\S+)$", output, re.M).group(1)}


def test_site_add_prints_a_new_key_once_and_list_never_shows_secrets(hq, backend):
    result = hq("site", "add", "campus-a", "--name", "Campus  A")
    assert result.exit_code == 0, result.output
    key = _key(result.output)
    assert key["key_id"].startswith("k-") and len(key["secret"]) >= 43
    listing = hq("site", "list")
    assert listing.exit_code == 0
    assert "campus-a\tCampus A\t" + key["key_id"] + "\tactive\tnever\t0 events" in listing.output
    assert key["secret"] not in listing.output
    store = backend.store()
    assert store.key(key["key_id"])["secret"] == key["secret"]
    store.close()


def test_site_add_refuses_a_taken_or_malformed_id(hq):
    assert hq("site", "add", "campus-a", "--name", "A").exit_code == 0
    again = hq("site", "add", "campus-a", "--name", "A")
    assert again.exit_code == 1 and "exists" in again.output
    for bad in ("a/b", "-x", "a b", "x" * 65):
        assert hq("site", "add", bad, "--name", "A").exit_code == 2


def test_revoke_then_rekey_swaps_the_working_key(hq, backend):
    old = _key(hq("site", "add", "campus-a", "--name", "A").output)
    result = hq("site", "revoke", "campus-a")
    assert result.exit_code == 0 and "revoked" in hq("site", "list").output
    new = _key(hq("site", "rekey", "campus-a").output)
    store = backend.store()
    assert store.key(old["key_id"]) is None
    assert store.key(new["key_id"])["revoked"] == 0
    store.close()
    assert hq("site", "revoke", "nowhere").exit_code == 1


def test_verify_checks_every_sites_chain_and_fails_on_a_changed_event(hq, backend, tmp_path):
    assert hq("site", "add", "campus-a", "--name", "A").exit_code == 0
    kiosk = Kiosk(tmp_path / "kiosk", "campus-a", Clock())
    kiosk.report("t-1")
    kiosk.act("t-1", "confirmed")
    store = backend.store()
    store.ingest_batch("campus-a", kiosk.events, Clock()())
    store.close()
    result = hq("verify")
    assert result.exit_code == 0 and "campus-a\tverified" in result.output, result.output
    app = type("App", (), {"config": backend.config()})
    raw_sql(app, "UPDATE events SET body = replace(body, '\"x\"', '\"y\"') WHERE seq = 1")
    result = hq("verify")
    assert result.exit_code == 1 and "campus-a\tBROKEN at seq 1" in result.output


def test_the_group_data_option_reaches_subcommands(tmp_path, runner):  # SQLite: --data holds it
    data = str(tmp_path / "elsewhere")
    added = runner.invoke("hq", "--data", data, "site", "add", "s1", "--name", "S")
    assert added.exit_code == 0
    assert "s1\tS" in runner.invoke("hq", "--data", data, "site", "list").output


def test_admin_add_hashes_the_pin_and_refuses_bad_ones(hq, backend):
    assert hq("admin", "add", "Zhao Min", "--pin", "246810").exit_code == 0
    prompted = hq("admin", "add", "Qian Li", input="135790\n135790\n")
    assert prompted.exit_code == 0 and "135790" not in prompted.output  # asked for, hidden
    assert hq("admin", "add", "zhao min", "--pin", "246810").exit_code == 1
    assert "6 to 12 digits" in hq("admin", "add", "Sun", "--pin", "12").output
    store = backend.store()
    assert store.admin("ZHAO MIN")["pin_hash"].startswith("scrypt:") and store.admin_count() == 2
    store.close()


def _serve(tmp_path, backend, *args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "hq", "--port", "0",
                             *backend.args(), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=tmp_path, env=env)
    deadline, line = time.monotonic() + 30, ""
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        match = re.search(r"on (http://[\d.]+:\d+)/", line)
        if match:
            return proc, match.group(1)
    proc.kill()
    pytest.fail(f"HQ did not start: {line}")


def _post(url: str, body: bytes, headers: dict):
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), response.headers
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers


@pytest.mark.slow
def test_hq_serves_signed_batches_over_http_and_stops_cleanly_on_sigterm(tmp_path, hq, backend):
    key = {"site_id": "site-a", **_key(hq("site", "add", "site-a", "--name", "A").output)}
    proc, base = _serve(tmp_path, backend)
    try:
        kiosk = Kiosk(tmp_path / "kiosk", "site-a", Clock())
        kiosk.report("t-1")
        kiosk.report("t-2")
        body = batch("site-a", kiosk.events)
        headers = headers_for(key, body)
        url = base + protocol.API_PATH.format(site_id="site-a")
        status, answer, answer_headers = _post(url, body, headers)
        assert status == 200 and b'"acked_through":2' in answer

        class Answer:  # what verify_answer reads
            def get_data(self):
                return answer
        Answer.headers = answer_headers
        assert verify_answer(Answer(), key, headers[protocol.H_SIGNATURE])
        big = b"x" * (protocol.MAX_BODY_BYTES + 10)
        assert _post(url, big, headers_for(key, big))[0] == 413
        with urllib.request.urlopen(base + "/login", timeout=10) as page:  # setup first
            assert page.url.endswith("/setup")
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "stopped" in out
    if backend.name == "sqlite":  # its database is a file in the data folder
        assert (tmp_path / "hq" / "hq.sqlite3").exists()


# -- restoring a kept key after HQ's database was lost ---------------------------------------
def test_a_site_is_restored_with_its_kept_key_read_from_stdin(hq, backend):
    kept = _key(hq("site", "add", "campus-a", "--name", "A").output)
    backend.wipe()  # HQ's database is lost
    result = hq("site", "add", "campus-a", "--name", "A", "--key-id", kept["key_id"],
                "--key-secret-stdin", input=kept["secret"] + "\n")
    assert result.exit_code == 0, result.output
    assert kept["secret"] not in result.output and kept["key_id"] in result.output
    store = backend.store()
    try:
        assert store.key(kept["key_id"]) == {"site_id": "campus-a", "key_id": kept["key_id"],
                                             "secret": kept["secret"], "revoked": 0}
    finally:
        store.close()
    # both halves needed; a short secret or another site's key id is refused
    assert hq("site", "add", "b", "--name", "B", "--key-id", "k-1").exit_code == 2
    assert hq("site", "add", "b", "--name", "B", "--key-secret-stdin",
              input=kept["secret"] + "\n").exit_code == 2
    short = hq("site", "add", "b", "--name", "B", "--key-id", "k-2", "--key-secret-stdin",
               input="too-short\n")
    assert short.exit_code == 1 and "32-256 characters" in short.output
    taken = hq("site", "add", "b", "--name", "B", "--key-id", kept["key_id"],
               "--key-secret-stdin", input="y" * 43 + "\n")
    assert taken.exit_code == 1 and "campus-a's" in taken.output
    # rekey back to the kept key after a new one was made
    hq("site", "rekey", "campus-a")
    again = hq("site", "rekey", "campus-a", "--key-id", kept["key_id"], "--key-secret-stdin",
               input=kept["secret"] + "\n")
    assert again.exit_code == 0 and kept["secret"] not in again.output
    store = backend.store()
    try:
        assert store.key(kept["key_id"])["secret"] == kept["secret"]
    finally:
        store.close()


def test_exported_keys_are_private_and_restore_a_wiped_hq(tmp_path, hq, backend):
    a = _key(hq("site", "add", "campus-a", "--name", "Campus A").output)
    b = _key(hq("site", "add", "campus-b", "--name", "Campus B").output)
    hq("site", "revoke", "campus-b")
    backup = tmp_path / "keys.json"
    result = hq("site", "export-keys", str(backup))
    assert result.exit_code == 0 and "WARNING" in result.output and "secret" in result.output
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert a["secret"] not in result.output
    backend.wipe()
    restored = hq("site", "import-keys", str(backup))
    assert restored.exit_code == 0 and "restored 2 sites" in restored.output
    store = backend.store()
    try:
        assert store.key(a["key_id"])["secret"] == a["secret"]
        assert store.key(b["key_id"])["revoked"] == 1  # a revoked key stays revoked
        assert [s["name"] for s in store.sites()] == ["Campus A", "Campus B"]
    finally:
        store.close()
    again = hq("site", "import-keys", str(backup))  # safe to run twice
    assert "restored 0 sites" in again.output and "campus-a, campus-b" in again.output
    (tmp_path / "junk.json").write_text('{"sites": [{"site_id": 1}]}')
    assert hq("site", "import-keys", str(tmp_path / "junk.json")).exit_code == 1


@pytest.mark.parametrize(("given", "env", "used"), [
    ((), None, 15), (("--silent-minutes", "5"), None, 5), ((), "40", 40),
    (("--silent-minutes", "5"), "40", 5)])
def test_the_silent_threshold_comes_from_the_option_the_environment_or_the_default(
        runner, backend, monkeypatch, given, env, used):
    served = []
    monkeypatch.setattr(hq_cli_module, "serve", lambda app, *args: served.append(app))
    if env is None:
        monkeypatch.delenv("HQ_SILENT_MINUTES", raising=False)
    else:
        monkeypatch.setenv("HQ_SILENT_MINUTES", env)
    result = runner.invoke("hq", *backend.args(), *given)
    assert result.exit_code == 0, result.output
    [app] = served
    try:
        assert app.config["SILENT_MINUTES"] == used
    finally:
        app.extensions["hq_store"].close()


def test_a_silent_threshold_out_of_range_is_refused(runner, backend):
    result = runner.invoke("hq", *backend.args(), "--silent-minutes", "0")
    assert result.exit_code == 2 and "--silent-minutes" in result.output
