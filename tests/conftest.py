"""Shared fixtures: an app on a fresh data folder, its client, CLI runner and store."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from kiosk import create_app


class Clock:
    """A clock tests can set and move; returns aware UTC datetimes."""

    def __init__(self, now: datetime | None = None):
        self.now = now or datetime(2026, 11, 28, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai

    def __call__(self) -> datetime:
        return self.now


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


def csrf_token(client, path: str = "/") -> str:
    """Return the CSRF token a page of ``path`` carries for this client's session."""
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


class Visitor:
    """Walks the visitor flow through the test client, with a real CSRF token."""

    def __init__(self, client):
        self.client = client
        self.token = csrf_token(client)

    def post(self, path: str, data: dict | None = None, **kwargs):
        return self.client.post(path, data={"csrf_token": self.token, **(data or {})}, **kwargs)

    def report(self, category="repair", location="DEMO-LIB", description="The light is broken",
               phone="13812345678", name="", preferred_at=""):
        """Go through every step and send; return the final response (the redirect)."""
        self.post("/report", {"category": category})
        if location is not None:
            self.post("/report/place", {"location": location} if location else {"skip": "1"})
        self.post("/report/details", {"description": description, "phone": phone, "name": name,
                                       "preferred_at": preferred_at})
        return self.post("/report/review")


@pytest.fixture
def visitor(client):
    return Visitor(client)
