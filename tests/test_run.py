"""``python run.py``: serves on the given port and data folder, refuses a second server on
the same data, and stops cleanly on SIGTERM and Ctrl-C (SIGINT), saving its projections;
says which address phones use, and puts it in the QR codes."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from helpers import free_port

from common.netaddr import lan_ipv4
from kiosk.qr import qr_svg

ROOT = Path(__file__).resolve().parent.parent


def start(data: Path, port: int, *options: str, env: dict | None = None) -> subprocess.Popen:
    environ = {k: v for k, v in os.environ.items() if k != "KIOSK_PUBLIC_BASE_URL"}
    return subprocess.Popen([sys.executable, str(ROOT / "run.py"), "--port", str(port),
                             "--data", str(data), *options], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env={**environ, **(env or {})})


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited: {proc.stdout.read()}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                return json.load(response)
        except OSError:
            time.sleep(0.1)
    pytest.fail("server did not answer /healthz")


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_the_server_starts_refuses_a_second_one_and_stops_cleanly(tmp_path, stop):
    data, port = tmp_path / "data", free_port()
    proc = start(data, port)
    try:
        health = wait_healthy(f"http://127.0.0.1:{port}", proc)
        assert health["ok"] is True and (data / "secret_key").exists()
        second = subprocess.run([sys.executable, str(ROOT / "run.py"), "--port", str(free_port()),
                                 "--data", str(data)], cwd=ROOT, capture_output=True, text=True,
                                timeout=30)
        assert second.returncode != 0
        assert "already using the data folder" in second.stdout + second.stderr
        proc.send_signal(stop)
        out, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, out
    assert "stopped" in out
    assert "WARNING: listening on 127.0.0.1 only: phones cannot reach the kiosk" in out
    saved = json.loads((data / "projections" / "meta.json").read_text())
    assert saved["_meta"]["1"]["seq"] == health["store"]["last_seq"]  # checkpointed on the way out


def test_help_documents_the_lan_options():
    result = subprocess.run([sys.executable, str(ROOT / "run.py"), "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    assert "--public-url URL" in result.stdout and "KIOSK_PUBLIC_BASE_URL" in result.stdout
    assert "0.0.0.0" in result.stdout


DETECTED = "detected"


@pytest.mark.parametrize("options, env, expected", [
    ((), {}, DETECTED),
    ((), {"KIOSK_PUBLIC_BASE_URL": "http://desk.example:9000"}, "http://desk.example:9000"),
    (("--public-url", "http://10.1.2.3:8080"), {"KIOSK_PUBLIC_BASE_URL": "http://desk.example"},
     "http://10.1.2.3:8080"),
], ids=["detected", "environment", "option over environment"])
def test_on_every_interface_phones_get_the_lan_or_the_given_address(tmp_path, options, env,
                                                                    expected):
    if expected == DETECTED:
        address = lan_ipv4()
        if address is None:
            pytest.skip("this machine has no LAN address to detect")
    port = free_port()
    expected = f"http://{address}:{port}" if expected == DETECTED else expected
    proc = start(tmp_path / "data", port, "--host", "0.0.0.0", *options, env=env)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            home = response.read().decode()
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert f"Phones and QR codes use {expected}/" in out and "WARNING" not in out
    qr = re.search(r'<svg class="qr".*?</svg>', home, re.S).group(0)
    assert qr == str(qr_svg(f"{expected}/?via=phone"))  # the page was asked on 127.0.0.1


def test_a_public_url_that_is_not_an_address_is_refused(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "run.py"), "--data", str(tmp_path),
                             "--public-url", "192.168.1.20"], cwd=ROOT, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 2 and "--public-url" in result.stderr
    assert "http://192.168.1.20:8080" in result.stderr  # what to give instead
