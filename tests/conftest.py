"""Shared fixtures: an app on a fresh data folder, its client, CLI runner and store."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from helpers import CHEAP_PINS, Clock, Visitor
from pg_cluster import Cluster, HQDatabases, find_server

from frontdesk.cli import cli
from kiosk import create_app


def pytest_configure(config):
    config.addinivalue_line("markers", "production_pins: the app hashes PINs as in production")
    config.addinivalue_line("markers", "postgresql: runs against the session's PostgreSQL cluster")


#: Why the PostgreSQL tests were skipped (shown once at the end of the run), if they were.
PG_SKIPPED: list[str] = []


@pytest.fixture(scope="session")
def pg_cluster():
    """One throwaway PostgreSQL cluster for the whole run (``tests/pg_cluster.py``),
    started when a test first asks for it, stopped at the end; skips where it cannot run."""
    reason = find_server()
    if reason:
        PG_SKIPPED.append(reason)
        pytest.skip(f"not on PostgreSQL: {reason}")
    cluster = Cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def hq_databases(pg_cluster):
    """Fresh HQ databases on the session's cluster, copied from a migrated template."""
    return HQDatabases(pg_cluster)


def pytest_terminal_summary(terminalreporter):
    if PG_SKIPPED:
        terminalreporter.write_line(f"PostgreSQL tests skipped: {PG_SKIPPED[0]}", yellow=True)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def app(request, tmp_path, clock):
    pins = {} if request.node.get_closest_marker("production_pins") else {
        "PIN_HASH_METHOD": CHEAP_PINS}
    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "CLOCK": clock,
                      "SECRET_KEY": "test", "RATE_LIMIT": 1000, **pins})
    yield app
    app.extensions["kiosk_store"].close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def store(app):
    return app.extensions["kiosk_store"]


@pytest.fixture
def visitor(client):
    return Visitor(client)


class Runner:
    """Runs ``python run.py ...`` in this process: ``runner.invoke("staff", "list")``."""

    def __init__(self):
        self._runner = CliRunner()

    def invoke(self, *args: str, input: str | None = None):
        return self._runner.invoke(cli, list(args), input=input)


@pytest.fixture
def runner():
    return Runner()
