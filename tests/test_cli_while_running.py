"""The kiosk's shell commands while the kiosk runs (issue 15, point 6).

Reading commands (``locations list``, ``staff list``, ``sync status``, ``verify``) read
a snapshot of the files without the data-folder lock: they work beside a real running
server and leave every file of the data folder as it was (size and mtime). Commands
that change data (``staff add``, ``locations import``, ...) stop before asking for a PIN
and say, in Chinese, exactly where in the console the same change is made; once the
server stops they work. ``sync status`` words its times in the site's zone and its next
try honestly (in N s / due now / overdue / a stale status file / server stopped).
"""
from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from helpers import free_port
from sync_harness import Proc, base_env, submit, wait_until

from kiosk.shell import server_pid
from kiosk.store import Store
from kiosk.syncing.cli import status_lines
from sync.state import Mark, Settings, save_settings, save_state

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Shanghai")
KEY = "the-secret-key-0123456789-abcdefghijklmnopq"
NOW = datetime(2026, 11, 28, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai


def files(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` with its size and mtime (ns): what a write changes."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """``python run.py ARGS`` in its own process, as an operator types it (no PIN prompt:
    stdin is closed)."""
    return subprocess.run([sys.executable, "run.py", *args], cwd=ROOT, env=env or base_env(),
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


class Server(Proc):
    """``python run.py`` serving the kiosk on a loopback port."""

    def __init__(self, data: Path, log: Path, port: int):
        super().__init__("kiosk", port, log)
        self.data = data

    def start(self, **env: str) -> "Server":
        self._popen(["--host", "127.0.0.1", "--port", str(self.port), "--data", str(self.data)],
                    base_env(**env))
        self.wait_http("/healthz")
        return self


def test_reading_works_and_changing_says_where_while_the_kiosk_runs(tmp_path):
    data = tmp_path / "data"
    added = run("staff", "add", "王芳", "--role", "manager", "--pin", "2468", "--data", str(data))
    assert added.returncode == 0, added.stderr  # stopped: as before
    # settings for another site: the worker's first round raises an alarm and, with the
    # retry an hour away, writes nothing more while the test runs
    save_settings(data, Settings("http://127.0.0.1:9", "another-site", "k-1", KEY))
    server = Server(data, tmp_path / "server.log", free_port())
    server.start(KIOSK_SYNC_ALARM_RETRY="3600")
    try:
        submit(server.port, 3)  # three tickets, over HTTP, as visitors do
        saved = wait_until(lambda: json.loads((data / "sync.json").read_text())["status"]
                           if (data / "sync.json").exists() else None, 20)
        assert saved and saved["alarm"], server.tail()
        pid = str(server.proc.pid)
        before = files(data)

        places = run("locations", "list", "--data", str(data))
        assert places.returncode == 0, places.stderr
        assert "DEMO-LIB\t图书馆\tLibrary  (demo)" in places.stdout  # seeded by the server
        assert files(data) == before

        staff = run("staff", "list", "--data", str(data))
        assert staff.returncode == 0 and "王芳\tmanager\tactive" in staff.stdout
        assert files(data) == before

        checked = run("verify", "--data", str(data))
        last_seq = sum(len(p.read_bytes().splitlines()) for p in (data / "log").iterdir())
        assert checked.returncode == 0 and f"ok: {last_seq} event(s)" in checked.stdout
        assert files(data) == before

        status = run("sync", "status", "--data", str(data))
        assert status.returncode == 0, status.stderr
        tried = datetime.fromisoformat(saved["last_attempt"]).astimezone(TZ)
        due = datetime.fromisoformat(saved["next_attempt"]).astimezone(TZ)
        lines = status.stdout.splitlines()
        assert f"前台服务器：正在运行（进程 {pid}）" in lines
        assert "时区：Asia/Shanghai (UTC+08:00)" in lines
        assert f"上次尝试：{tried:%Y-%m-%d %H:%M:%S}" in lines  # local time, to the second
        assert any(line.startswith(f"下次尝试：{due:%Y-%m-%d %H:%M:%S}，") and
                   line.endswith("秒后") for line in lines), lines
        # the console's own message, in Chinese
        assert (f"警报：同步设置针对的是站点 another-site，但本机是站点 "
                f"{json.loads((data / 'site.json').read_text())['site_id']}：请更正设置。"
                in lines)
        assert files(data) == before

        refused = run("staff", "add", "李娜", "--role", "receptionist", "--data", str(data))
        assert refused.returncode == 1 and "Traceback" not in refused.stderr + refused.stdout
        assert refused.stderr.splitlines() == [
            f"前台正在运行（进程 {pid}），此项更改请在控制台完成。",
            "请在控制台添加员工：经理登录后，打开 更多 → 员工账号，填写“添加员工”。",
            f"网址：http://127.0.0.1:{server.port}/staff/team"]
        assert "PIN" not in refused.stdout  # stopped before asking for one
        csv = tmp_path / "places.csv"
        csv.write_text("code,name_zh,name_en,building\nN1,北区一号楼,North 1,北区\n")
        imported = run("locations", "import", str(csv), "--data", str(data))
        assert imported.returncode == 1 and imported.stderr.splitlines() == [
            f"前台正在运行（进程 {pid}），此项更改请在控制台完成。",
            "请在控制台导入该文件：前台人员登录后，打开 更多 → 地点，在“从 CSV 文件导入”处选择文件。",
            f"网址：http://127.0.0.1:{server.port}/staff/places"]
        assert files(data) == before  # nothing written by the refused commands either
    finally:
        server.stop()
    assert server.proc.returncode == 0, server.tail()

    added = run("staff", "add", "李娜", "--role", "receptionist", "--pin", "1357",
                "--data", str(data))
    assert added.returncode == 0 and "added 李娜 (receptionist)" in added.stdout
    before = files(data)
    stopped = run("sync", "status", "--data", str(data))
    assert "前台服务器：未运行" in stopped.stdout and "下次尝试：前台服务器已停止" in stopped.stdout
    assert "李娜\treceptionist\tactive" in run("staff", "list", "--data", str(data)).stdout
    assert "DEMO-LIB" in run("locations", "list", "--data", str(data)).stdout
    assert files(data) == before  # stopped: still nothing written by reading


# -- in this process: a Store holds the lock as the server's does -------------------------
@pytest.fixture
def served(tmp_path):
    """A data folder whose lock is held (a store open in this process), with places; a
    test may close it (the server stops): closing twice is harmless."""
    store = Store(tmp_path / "data", site_id="campus-a")
    store.append([{"ticket_id": None, "type": "locations_imported",
                   "at": "2026-11-28T02:00:00+00:00", "actor": {"role": "system"},
                   "data": {"rows": [{"code": "N1", "name_zh": "北区一号楼", "name_en": "North 1",
                                      "building": "北区"}], "replace_demo": False}}])
    yield store
    store.close()


def test_a_torn_last_line_is_not_read_and_stays_as_found(served, runner):
    segment = next((served.folder / "log").glob("events-*.jsonl"))
    with open(segment, "ab") as f:
        f.write(b'{"seq": 2, "type": "locations_imp')  # the server mid-append
    before = files(served.folder)
    result = runner.invoke("locations", "list", "--data", str(served.folder))
    assert result.exit_code == 0 and result.output == "N1\t北区一号楼\tNorth 1\n"
    assert runner.invoke("verify", "--data", str(served.folder)).exit_code == 0
    assert files(served.folder) == before  # the tail is the server's to finish, not ours


def test_the_lock_is_tested_without_being_taken(served, tmp_path):
    assert server_pid(served.folder) == str(os.getpid())
    with open(served.folder / ".lock", "rb") as f:  # still the holder's: it was released
        with pytest.raises(BlockingIOError):
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    assert server_pid(tmp_path / "nowhere") is None and not (tmp_path / "nowhere").exists()


def test_a_change_while_served_asks_no_pin_and_names_the_first_run_page(served, runner):
    result = runner.invoke("staff", "add", "Li", "--role", "manager", "--data",
                           str(served.folder))
    assert result.exit_code == 1 and "PIN" not in result.output
    assert "/staff/setup" not in result.output  # no address: this process is no server
    assert "目前还没有人可以登录" in result.output and "“员工”链接" in result.output
    assert not (served.folder / "staff.json").exists()


def test_after_the_server_stops_a_change_works_again(served, runner):
    served.close()
    csv = served.folder.parent / "p.csv"
    csv.write_text("code,name_zh,name_en,building\nS1,南区,South,南区\n")
    result = runner.invoke("locations", "import", str(csv), "--data", str(served.folder))
    assert result.exit_code == 0 and "imported 1 location(s)" in result.output
    assert runner.invoke("locations", "list", "--data", str(served.folder)).output == \
        "N1\t北区一号楼\tNorth 1\nS1\t南区\tSouth\n"


# -- sync status: times in the site's zone, the next try in honest words --------------------
def status_at(store: Store, now: datetime, next_attempt: datetime | None, lang="en", **info):
    save_settings(store.folder, Settings("https://hq.example", "campus-a", "k-1", KEY))
    save_state(store.folder, Mark("e1", 1), {
        "online": True, "last_success": "2026-11-28T01:59:30+00:00",
        "last_attempt": "2026-11-28T01:59:30+00:00",
        "next_attempt": next_attempt.isoformat() if next_attempt else None, **info})
    return status_lines(store.folder, now, lang)


def test_times_are_local_with_the_zone_named_and_labels_in_chinese(served):
    lines = status_at(served, NOW, NOW + timedelta(seconds=42), lang=None,
                      saved_at="2026-11-28T01:59:31+00:00")
    assert "时区：Asia/Shanghai (UTC+08:00)" in lines
    assert "上次发送：2026-11-28 09:59:30" in lines  # 01:59:30 UTC
    assert "状态保存于：2026-11-28 09:59:31" in lines
    assert "连接：在线" in lines and "下次尝试：2026-11-28 10:00:42，42 秒后" in lines


@pytest.mark.parametrize("offset, expected", [
    (42, "Next try: 2026-11-28 10:00:42, in 42 s"),
    (-3, "Next try: due now — the kiosk is trying"),
    (-30, "Next try: overdue since 2026-11-28 09:59:30 — the kiosk is still trying"),
    (-360, "Next try: unknown: the status file is stale (it says 2026-11-28 09:54:00, 6 min ago)"),
])
def test_the_next_try_while_the_server_runs(served, offset, expected):
    lines = status_at(served, NOW, NOW + timedelta(seconds=offset))
    assert any(line.startswith(expected) for line in lines), lines
    assert "Kiosk server: running (process" in "\n".join(lines)


def test_the_next_try_while_the_server_is_stopped_is_never_a_past_time(served):
    served.close()
    lines = status_at(served, NOW, NOW - timedelta(minutes=6))
    assert "Kiosk server: not running" in lines
    assert "Next try: none while the kiosk server is stopped: it tries as soon as it starts" \
        in lines


def test_the_alarm_is_the_consoles_message_translated(served):
    alarm = {"text": "HQ refused our key (403): ask HQ to check the site key and the site id.",
             "params": {}}
    zh = status_at(served, NOW, None, lang=None, alarm=alarm)
    en = status_at(served, NOW, None, alarm=alarm)
    assert "Alarm: " + alarm["text"] in en
    assert any(line.startswith("警报：总部拒绝") for line in zh), zh


def test_the_sites_language_is_the_default_and_lang_overrides_it(served, runner, monkeypatch):
    chinese = runner.invoke("sync", "status", "--data", str(served.folder))
    english = runner.invoke("sync", "status", "--data", str(served.folder), "--lang", "en")
    assert "连接：" in chinese.output and "Connection: " in english.output
    monkeypatch.setenv("KIOSK_BABEL_DEFAULT_LOCALE", "en")
    assert "Connection: " in runner.invoke("sync", "status", "--data",
                                           str(served.folder)).output
