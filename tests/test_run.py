"""``python run.py``: serves on the given port and data folder, refuses a second server on
the same data, and stops cleanly on SIGTERM and Ctrl-C (SIGINT), saving its projections."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from helpers import free_port

ROOT = Path(__file__).resolve().parent.parent


def start(data: Path, port: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "run.py"), "--port", str(port),
                             "--data", str(data)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


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
    saved = json.loads((data / "projections" / "meta.json").read_text())
    assert saved["_meta"]["1"]["seq"] == health["store"]["last_seq"]  # checkpointed on the way out
