"""Sync state on disk, the `sync status` command and the staff console's sync page."""
from __future__ import annotations

import json
import stat
import threading
from datetime import datetime, timezone

import pytest
from helpers import csrf_token, sign_in
from waitress import create_server

from hq import create_hq_app
from kiosk import create_app
from sync.protocol import new_key
from kiosk.store import Store
from sync.state import (Mark, Settings, check_settings, effective_settings, load_saved_settings,
                        load_state, read_last_seq, save_settings, save_state)


KEY = "the-secret-key-0123456789-abcdefghijklmnopq"


def add_events(store, n=1):
    return store.append([{"ticket_id": None, "type": "locations_imported",
                          "at": "2026-11-28T02:00:00+00:00", "actor": {"role": "system"},
                          "data": {"rows": []}} for _ in range(n)])


# -- files ---------------------------------------------------------------------------
def test_settings_are_saved_atomically_and_readable_by_the_owner_only(tmp_path):
    save_settings(tmp_path, Settings("https://hq.example.com", "campus-a", "k-1", KEY))
    path = tmp_path / "sync-settings.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_saved_settings(tmp_path).key == KEY
    assert [p.name for p in tmp_path.iterdir()] == ["sync-settings.json"]  # no temp left


def test_the_mark_survives_and_a_lost_or_broken_file_means_resend_everything(tmp_path):
    assert load_state(tmp_path) == (Mark(), {})
    save_state(tmp_path, Mark("e1", 42), {"online": True})
    assert load_state(tmp_path) == (Mark("e1", 42), {"online": True})
    (tmp_path / "sync.json").write_text("{not json")
    assert load_state(tmp_path)[0] == Mark()


def test_start_options_win_field_by_field_over_the_saved_settings(tmp_path):
    save_settings(tmp_path, Settings("https://saved.example", "campus-a", "k-1", KEY))
    settings = effective_settings(tmp_path, {"HQ_URL": "http://10.0.0.5:8090", "HQ_KEY": None})
    assert settings == Settings("http://10.0.0.5:8090", "campus-a", "k-1", KEY)


def test_the_key_never_shows_in_a_repr_or_the_public_view():
    settings = Settings("https://hq.example", "campus-a", "k-1", KEY)
    assert KEY not in repr(settings) and KEY not in str(settings)
    assert settings.public() == {"hq_url": "https://hq.example", "site_id": "campus-a",
                                 "key_id": "k-1", "key_set": True}


@pytest.mark.parametrize("form, field", [
    ({"hq_url": "ftp://hq"}, "hq_url"), ({"hq_url": "https://u:p@hq"}, "hq_url"),
    ({"hq_url": "hq.example.com"}, "hq_url"), ({"site_id": "campus-b"}, "site_id"),
    ({"key_id": "k 1"}, "key_id"), ({"key": ""}, "key")])
def test_the_settings_form_is_checked(form, field):
    good = {"hq_url": "https://hq.example.com/", "site_id": "campus-a", "key_id": "k-1",
            "key": KEY}
    settings, errors = check_settings({**good, **form}, "campus-a", Settings())
    assert list(errors) == [field]
    settings, errors = check_settings(good, "campus-a", Settings())
    assert not errors and settings.hq_url == "https://hq.example.com"


def test_a_blank_key_keeps_the_saved_one():
    saved = Settings("https://hq", "campus-a", "k-1", KEY)
    form = {"hq_url": "https://hq2.example", "site_id": "campus-a", "key_id": "k-1", "key": ""}
    settings, errors = check_settings(form, "campus-a", saved)
    assert not errors and settings.key == KEY


def test_the_last_seq_is_read_without_the_store(tmp_path):
    store = Store(tmp_path / "data", site_id="campus-a")
    try:
        add_events(store, 3)
        with open(next((tmp_path / "data" / "log").glob("*.jsonl")), "ab") as f:
            f.write(b'{"seq": 4, "torn')  # a half-written line is not an event
        assert read_last_seq(tmp_path / "data") == 3
    finally:
        store.close()
    assert read_last_seq(tmp_path / "nothing") == 0


# -- `python run.py sync status` --------------------------------------------------
def test_sync_status_works_while_the_server_holds_the_data_folder(tmp_path, monkeypatch, runner):
    for var in ("KIOSK_HQ_URL", "KIOSK_SITE_ID", "KIOSK_HQ_KEY_ID", "KIOSK_HQ_KEY"):
        monkeypatch.delenv(var, raising=False)
    data = tmp_path / "data"
    store = Store(data, site_id="campus-a")  # the running server's lock
    try:
        add_events(store, 7)
        save_settings(data, Settings("https://hq.example", "campus-a", "k-1", KEY))
        save_state(data, Mark("e1", 4), {"online": False, "alarm": {
            "text": "HQ refused our key (%(status)s)", "params": {"status": 403}}})
        result = runner.invoke("sync", "status", "--data", str(data), "--lang", "en")
    finally:
        store.close()
    assert result.exit_code == 0, result.output
    assert "Site: campus-a" in result.output
    assert "Records waiting to be sent: 3 (HQ confirmed 4 of 7" in result.output
    assert "Connection: Offline" in result.output and "HQ refused our key (403)" in result.output
    assert KEY not in result.output and "Key id: k-1 (key set)" in result.output


def test_sync_status_without_settings_says_how_to_set_up(tmp_path, monkeypatch, runner):
    monkeypatch.delenv("KIOSK_HQ_URL", raising=False)
    Store(tmp_path / "data").close()
    result = runner.invoke("sync", "status", "--data", str(tmp_path / "data"), "--lang", "en")
    assert result.exit_code == 0 and "Connection: Not set up" in result.output


# -- the staff console ---------------------------------------------------------------
@pytest.fixture
def manager(app, client):
    sign_in(app, client, name="Wang Fang", role="manager")
    client.get("/lang/en")
    client.token = csrf_token(client, "/staff/sync")
    return client


def form(client, **fields):
    good = {"hq_url": "https://hq.example.com", "site_id": client.site_id, "key_id": "k-1",
            "key": KEY}
    return {"csrf_token": client.token, **good, **fields}


def test_a_manager_sets_the_connection_once_and_the_key_is_never_shown(app, manager, store):
    manager.site_id = store.site_id
    response = manager.post("/staff/sync/settings", data=form(manager))
    assert response.status_code == 303
    page = manager.get("/staff/sync").get_data(as_text=True)
    assert "Sync settings saved." in page and "https://hq.example.com" in page
    assert "k-1" in page and "A key is saved" in page and KEY not in page
    assert KEY[:8] not in page and KEY[-6:] not in page
    worker = app.extensions["sync_worker"]
    assert worker.settings.key == KEY and not worker.running  # TESTING: no autostart
    mode = stat.S_IMODE((store.folder / "sync-settings.json").stat().st_mode)
    assert mode == 0o600


def test_a_refused_settings_form_never_echoes_the_key(manager, store):
    manager.site_id = store.site_id
    response = manager.post("/staff/sync/settings", data=form(manager, site_id="campus-zz"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and KEY not in html
    assert f"This kiosk is site {store.site_id}" in html
    assert not (store.folder / "sync-settings.json").exists()


def test_only_a_manager_may_change_the_settings(app, client, store):
    sign_in(app, client)  # a receptionist
    client.get("/lang/en")
    page = client.get("/staff/sync").get_data(as_text=True)
    assert "Records waiting to be sent" in page and 'name="key"' not in page
    assert "Only a manager can change" in page
    token = csrf_token(client, "/staff/sync")
    client.site_id = store.site_id
    client.token = token
    assert client.post("/staff/sync/settings", data=form(client)).status_code == 403
    assert not (store.folder / "sync-settings.json").exists()


def test_sync_now_wakes_the_worker_and_the_panel_refreshes_alone(app, manager, monkeypatch):
    woken = []
    monkeypatch.setattr(app.extensions["sync_worker"], "wake", lambda: woken.append(1))
    response = manager.post("/staff/sync/now", data={"csrf_token": manager.token})
    assert response.status_code == 303 and woken == [1]
    partial = manager.get("/staff/sync", headers={"HX-Request": "true",
                                                 "HX-Trigger": "sync-panel"})
    html = partial.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="sync-panel"') and "<nav" not in html
    assert "Not set up" in html


def test_the_staff_menu_leads_to_sync(app, client):
    sign_in(app, client)
    assert 'href="/staff/more"' in client.get("/staff/").get_data(as_text=True)
    assert 'href="/staff/sync"' in client.get("/staff/more").get_data(as_text=True)


def test_the_sync_panels_polling_does_not_keep_a_staff_session_alive():
    from kiosk.staff.auth import POLLING_TRIGGERS
    from kiosk.syncing.views import PANEL_ID

    assert PANEL_ID in POLLING_TRIGGERS


def test_the_worker_starts_with_the_app_only_when_configured_and_asked(tmp_path):
    config = {"DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "t", "SITE_ID": "campus-a",
              "HQ_URL": "http://127.0.0.1:9", "HQ_KEY_ID": "k-1", "HQ_KEY": KEY}
    app = create_app({"TESTING": True, **config})
    assert not app.extensions["sync_worker"].running
    app.extensions["kiosk_store"].close()
    app = create_app({"TESTING": True, "SYNC_AUTOSTART": True, **config})
    worker = app.extensions["sync_worker"]
    try:
        assert worker.running and worker.status()["site_id"] == "campus-a"
        assert json.dumps(worker.status()).count(KEY) == 0
    finally:
        worker.stop(timeout=5)
        app.extensions["kiosk_store"].close()
    assert not worker.running


def test_sync_status_shows_the_servers_start_options_it_cannot_see(tmp_path, monkeypatch, runner):
    monkeypatch.delenv("KIOSK_HQ_URL", raising=False)
    Store(tmp_path / "data", site_id="campus-a").close()
    used = Settings("http://10.0.0.5:8090", "campus-a", "k-9", KEY).public()
    save_state(tmp_path / "data", Mark("e1", 1), {"online": True, "settings": used})
    result = runner.invoke("sync", "status", "--data", str(tmp_path / "data"), "--lang", "en")
    assert "HQ address: http://10.0.0.5:8090" in result.output
    assert "Key id: k-9 (key set)" in result.output and "Connection: Online" in result.output


def test_sync_now_from_the_shell_says_what_is_missing(tmp_path, monkeypatch, runner):
    monkeypatch.delenv("KIOSK_HQ_URL", raising=False)
    store = Store(tmp_path / "data", site_id="campus-a")
    add_events(store, 2)
    store.close()
    result = runner.invoke("sync", "now", "--data", str(tmp_path / "data"), "--lang", "en")
    assert result.exit_code == 1 and "Connection: Not set up" in result.output
    assert "Records waiting to be sent: 2 " in result.output


def test_sync_status_reports_the_start_flags_when_only_the_key_is_in_the_environment(
        tmp_path, monkeypatch, runner):
    for var in ("KIOSK_HQ_URL", "KIOSK_SITE_ID", "KIOSK_HQ_KEY_ID"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("KIOSK_HQ_KEY", KEY)
    data = tmp_path / "data"
    # as `run.py --hq-url ... --hq-key-id ...` starts it: flags the shell cannot see
    app = create_app({"TESTING": True, "DATA_DIR": str(data), "SECRET_KEY": "t",
                      "SITE_ID": "campus-a", "HQ_URL": "http://127.0.0.1:9", "HQ_KEY_ID": "k-7"})
    try:
        worker = app.extensions["sync_worker"]
        assert worker.settings.configured
        worker.run_once()  # nobody listens on port 9: offline
        result = runner.invoke("sync", "status", "--data", str(data), "--lang", "en")
    finally:
        app.extensions["kiosk_store"].close()
    assert result.exit_code == 0, result.output
    assert "HQ address: http://127.0.0.1:9" in result.output, result.output
    assert "Key id: k-7 (key set)" in result.output
    assert "Connection: Offline" in result.output and "Not set up" not in result.output
    assert KEY not in result.output and KEY not in (data / "sync.json").read_text()


def test_a_malformed_record_is_an_alarm_in_plain_words_on_the_page_and_in_sync_status(
        app, client, store, runner):
    hq_app = create_hq_app({"TESTING": True, "DATA_DIR": str(store.folder.parent / "hq")})
    key_id, secret = new_key()
    hq_app.extensions["hq_store"].add_site(store.site_id, "A", key_id, secret,
                                           datetime.now(timezone.utc))
    server = create_server(hq_app, host="127.0.0.1", port=0, threads=2,
                           asyncore_loop_timeout=0.05)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        bad = store.append([{"ticket_id": None, "type": "locations_imported",
                             "at": "2026-11-28T02:00:00+00:00", "actor": {"role": 5},
                             "data": {"rows": []}}])[0]["seq"]
        worker = app.extensions["sync_worker"]
        worker.settings = Settings(f"http://127.0.0.1:{server.effective_port}",
                                   store.site_id, key_id, secret)
        delays = [worker.run_once() for _ in range(3)]
    finally:
        server.close()
        thread.join(5)
        hq_app.extensions["hq_store"].close()
    assert delays[-1] == worker.alarm_retry and worker.mark.acked_through == bad - 1
    sign_in(app, client, name="Wang Fang", role="manager")
    page = client.get("/staff/sync").get_data(as_text=True)
    assert f"总部因格式错误拒收第 {bad} 条记录（422：" in page and "actor.role" in page
    client.get("/lang/en")
    page = client.get("/staff/sync").get_data(as_text=True)
    assert f"HQ refuses record {bad} as malformed (422: event 0 (seq {bad})" in page
    result = runner.invoke("sync", "status", "--data", str(store.folder), "--lang", "en")
    assert f"Alarm: HQ refuses record {bad} as malformed" in result.output
