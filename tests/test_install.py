"""The README's two commands, ``sh scripts/test.sh`` and ``sh scripts/start.sh``, on a
system Python as Debian ships it (``/usr/bin/python3``, whose pip refuses to install
outside a virtual environment): they create ``.venv``, install the project into it once
(again only when pyproject.toml changes), run the tests or serve the kiosk, and say
clearly what to install when Python or its venv module is missing."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from helpers import free_port

ROOT = Path(__file__).resolve().parent.parent
SYSTEM_PYTHON = Path("/usr/bin/python3")

PROBE = '''\
import sys
from pathlib import Path


def test_the_venv_runs_the_tests_with_the_test_extra():
    import flask, playwright, pytest_playwright, waitress  # noqa: F401  (installed into .venv)
    assert Path(sys.prefix) == Path(__file__).resolve().parent.parent / ".venv"
    assert Path(sys.base_prefix) == Path("/usr")
'''


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without anything that points at another Python: PATH
    finds the system's python3 first, as on a stock Debian or Ubuntu."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PYTEST", "PYENV", "VIRTUAL_ENV", "CONDA"))
           and key not in {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"}}
    env["PATH"] = "/usr/bin:/bin"
    env.update(extra)
    return env


def copy_repository(dest: Path) -> None:
    """The files a clone would hold (plus new ones not yet committed), nothing ignored."""
    listing = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    listed = subprocess.run(listing, cwd=ROOT, capture_output=True, check=True, timeout=30).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the working tree is skipped
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


def run(copy: Path, *command: str, timeout: float, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", *command], cwd=copy, env=clean_env(**env), capture_output=True,
                          text=True, timeout=timeout)


def system_python_skip_reason() -> str | None:
    if not SYSTEM_PYTHON.exists():
        return f"{SYSTEM_PYTHON} is absent: no system Python to install with"
    probe = subprocess.run([str(SYSTEM_PYTHON), "-c", "import ensurepip, venv"],
                           capture_output=True, timeout=30)
    if probe.returncode != 0:
        return f"{SYSTEM_PYTHON} has no venv module here (Debian's python3-venv is not installed)"
    return None


def system_python_is_new_enough() -> bool:
    check = "import sys; sys.exit(sys.version_info < (3, 11))"
    return subprocess.run([str(SYSTEM_PYTHON), "-c", check], capture_output=True,
                          timeout=30).returncode == 0


@pytest.mark.slow
def test_the_readme_commands_install_into_a_venv_then_test_and_start(tmp_path):
    reason = system_python_skip_reason()
    if reason:
        pytest.skip(reason)
    copy = tmp_path / "frontdesk"
    copy_repository(copy)
    readme = (copy / "README.md").read_text(encoding="utf-8")
    assert "sh scripts/start.sh" in readme and "sh scripts/test.sh" in readme
    if not system_python_is_new_enough():  # e.g. Ubuntu 22.04: the commands say what is wrong
        refused = run(copy, "scripts/start.sh", timeout=60)
        assert refused.returncode != 0 and "needs Python 3.11 or newer" in refused.stderr
        return

    # The test command: creates .venv, installs the project with the `test` extra, runs pytest.
    (copy / "tests" / "test_venv_probe.py").write_text(PROBE, encoding="utf-8")
    tested = run(copy, "scripts/test.sh", "tests/test_venv_probe.py", "tests/test_structure.py",
                 "-q", "-p", "no:cacheprovider", timeout=420)
    out = tested.stdout + tested.stderr
    assert tested.returncode == 0, out
    assert "Creating .venv" in out and "Installing .[test] into .venv" in out
    assert " passed" in tested.stdout and "failed" not in tested.stdout
    assert (copy / ".venv" / "frontdesk-installed").is_file()

    # The start command reuses .venv (nothing installed again) and serves the kiosk.
    data, port = tmp_path / "data", free_port()
    server = subprocess.Popen(["sh", "scripts/start.sh", "--port", str(port), "--data", str(data)],
                              cwd=copy, env=clean_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        health, deadline = None, time.monotonic() + 60
        for _ in range(600):
            if server.poll() is not None or time.monotonic() > deadline:
                break
            try:
                url = f"http://127.0.0.1:{port}/healthz"
                with urllib.request.urlopen(url, timeout=2) as response:
                    health = json.load(response)
                break
            except OSError:
                time.sleep(0.1)
        server.send_signal(signal.SIGTERM)  # the script exec'd Python: the signal reaches it
        out, _ = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    assert health is not None and health["ok"] is True, out
    assert server.returncode == 0 and "stopped" in out, out
    assert "Installing" not in out and "Creating .venv" not in out, out
    assert (data / "secret_key").exists()

    # A changed pyproject.toml is installed again, once; arguments still pass through.
    with open(copy / "pyproject.toml", "a", encoding="utf-8") as pyproject:
        pyproject.write("\n# changed\n")
    helped = run(copy, "scripts/start.sh", "--help", timeout=300)
    assert helped.returncode == 0, helped.stdout + helped.stderr
    assert "Installing . into .venv" in helped.stdout and "--port" in helped.stdout
    again = run(copy, "scripts/start.sh", "--help", timeout=60)
    assert again.returncode == 0 and "Installing" not in again.stdout, again.stdout + again.stderr


def copy_scripts(tmp_path: Path) -> Path:
    """Just the scripts and pyproject.toml: enough for the checks made before any install."""
    copy = tmp_path / "frontdesk"
    shutil.copytree(ROOT / "scripts", copy / "scripts")
    shutil.copy2(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


@pytest.mark.parametrize("script", ["start.sh", "test.sh"])
def test_a_missing_python_is_named(tmp_path, script):
    copy = copy_scripts(tmp_path)
    result = run(copy, f"scripts/{script}", timeout=30, PYTHON="python3-not-here")
    assert result.returncode != 0
    assert "needs Python 3.11 or newer, but 'python3-not-here' was not found" in result.stderr
    assert "apt-get install python3 python3-venv" in result.stderr
    assert not (copy / ".venv").exists()


def test_a_python_too_old_is_refused(tmp_path):
    copy = copy_scripts(tmp_path)
    old = tmp_path / "python3.9"  # answers like Debian 11's python3
    old.write_text("#!/bin/sh\n[ \"$1\" = -V ] && { echo 'Python 3.9.2'; exit 0; }\nexit 1\n")
    old.chmod(0o755)
    result = run(copy, "scripts/start.sh", timeout=30, PYTHON=str(old))
    assert result.returncode != 0
    assert "needs Python 3.11 or newer;" in result.stderr and "Python 3.9.2" in result.stderr
    assert not (copy / ".venv").exists()


def test_a_missing_venv_module_names_the_package(tmp_path):
    reason = system_python_skip_reason()
    if reason:
        pytest.skip(reason)
    copy = copy_scripts(tmp_path)
    # Debian without python3-venv: the system Python cannot import ensurepip.
    hidden = tmp_path / "without-venv"
    hidden.mkdir()
    (hidden / "ensurepip.py").write_text("raise ImportError('ensurepip is not installed')\n")
    result = run(copy, "scripts/test.sh", timeout=30, PYTHONPATH=str(hidden),
                 PYTHON=str(SYSTEM_PYTHON))
    assert result.returncode != 0
    assert "-m venv' is not available" in result.stderr
    assert "apt-get install python3-venv" in result.stderr
    assert not (copy / ".venv").exists()
