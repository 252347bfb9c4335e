"""Fixtures of the HQ tests: an HQ app on a fresh data folder, its client and store, and a
kiosk log writing real events. They stand in for the kiosk fixtures of the same names."""
from __future__ import annotations

import pytest
from helpers import CHEAP_PINS, Clock
from hq_helpers import Kiosk

from hq import create_hq_app


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def hq(request, tmp_path, clock):
    pins = {} if request.node.get_closest_marker("production_pins") else {
        "PIN_HASH_METHOD": CHEAP_PINS}
    app = create_hq_app({"TESTING": True, "DATA_DIR": str(tmp_path / "hq"), "CLOCK": clock,
                         **pins})
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
