"""Fixtures of the HQ tests: an HQ app on a fresh database, its client and store, and a
kiosk log writing real events. They stand in for the kiosk fixtures of the same names.

Every test that asks for ``hq`` (or ``backend``) runs twice: on SQLite (a fresh data
folder) and on PostgreSQL (a fresh database on the session's cluster, ``pg_cluster``);
the PostgreSQL run is skipped, with the reason, where no server can run."""
from __future__ import annotations

import pytest
from helpers import CHEAP_PINS, Clock
from hq_helpers import Backend, Kiosk

from hq import create_hq_app


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def backend(request, tmp_path):
    """The backend this run of the test stores HQ's data on (``hq_helpers.Backend``)."""
    if request.param == "sqlite":
        yield Backend("sqlite", tmp_path)
        return
    backend = Backend("postgresql", tmp_path, request.getfixturevalue("hq_databases"))
    yield backend
    backend.close()


@pytest.fixture
def hq(request, backend, clock):
    pins = {} if request.node.get_closest_marker("production_pins") else {
        "PIN_HASH_METHOD": CHEAP_PINS}
    app = create_hq_app({"TESTING": True, **backend.config(), "CLOCK": clock, **pins})
    yield app
    app.extensions["hq_store"].close()


@pytest.fixture
def client(hq):
    return hq.test_client()


@pytest.fixture
def store(hq):
    return hq.extensions["hq_store"]


@pytest.fixture
def kiosk(tmp_path, clock):
    return Kiosk(tmp_path / "kiosk-a", "site-a", clock)
