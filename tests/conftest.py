"""Shared fixtures: an app on a fresh data folder, its client, CLI runner and store."""
from __future__ import annotations

import pytest
from helpers import Clock, Visitor

from kiosk import create_app


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def app(tmp_path, clock):
    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "CLOCK": clock,
                      "SECRET_KEY": "test", "RATE_LIMIT": 1000})
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
