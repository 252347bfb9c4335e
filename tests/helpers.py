"""Test helpers shared by the test modules (importable, unlike ``conftest``)."""
from __future__ import annotations

import re
from datetime import datetime, timezone


class Clock:
    """A clock tests can set and move; returns aware UTC datetimes."""

    def __init__(self, now: datetime | None = None):
        self.now = now or datetime(2026, 11, 28, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai

    def __call__(self) -> datetime:
        return self.now


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


def sign_in(app, client, name: str = "Li Na", role: str = "receptionist", pin: str = "2468") -> dict:
    """Create a staff member (if needed) and sign ``client`` in; return the member."""
    directory = app.extensions["staff_directory"]
    staff = directory.by_name(name) or directory.add(
        name, role, pin, actor={"role": "system", "id": "test", "name": "test"},
        now=app.config["CLOCK"]() if app.config.get("CLOCK") else datetime.now(timezone.utc))
    response = client.post("/staff/login", data={"csrf_token": csrf_token(client, "/staff/login"),
                                                 "name": name, "pin": pin})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return staff
