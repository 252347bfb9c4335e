"""Test helpers shared by the test modules (importable, unlike ``conftest``)."""
from __future__ import annotations

import random
import re
import socket
from datetime import datetime, timezone
from pathlib import Path


#: A PIN hash that costs nothing, for tests only (the apps honour it only under TESTING).
CHEAP_PINS = "pbkdf2:sha256:1"


class Clock:
    """A clock tests can set and move; returns aware UTC datetimes."""

    def __init__(self, now: datetime | None = None):
        self.now = now or datetime(2026, 11, 28, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai

    def __call__(self) -> datetime:
        return self.now


#: An escalation chain with a name and phone at every level (``departments.save_chain``).
CHAIN = [{"title_zh": title_zh, "title_en": title_en, "name": name, "phone": f"1380000000{i}"}
         for i, (title_zh, title_en, name) in enumerate((
             ("客户服务部经理", "Customer-service manager", "周敏"),
             ("物管中心主任", "Property-centre director", "钱军"),
             ("能源中心主任", "Energy-centre director", "孙力"),
             ("后勤总公司领导", "Company leaders", "吴总")), start=1)]


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


def post_sign_in(client, path: str, name: str, pin: str, next: str | None = None):
    """Send the sign-in form of ``path`` (the kiosk's ``/staff/login``, HQ's ``/login``) as
    a person would, with the page's CSRF token; return the response."""
    data = {"csrf_token": csrf_token(client, path), "name": name, "pin": pin}
    if next is not None:
        data["next"] = next
    return client.post(path, data=data)


def sign_in(app, client, name: str = "Li Na", role: str = "receptionist", pin: str = "2468") -> dict:
    """Create a staff member (if needed) and sign ``client`` in; return the member."""
    directory = app.extensions["staff_directory"]
    staff = directory.by_name(name) or directory.add(
        name, role, pin, actor={"role": "system", "id": "test", "name": "test"},
        now=app.config["CLOCK"]() if app.config.get("CLOCK") else datetime.now(timezone.utc))
    response = post_sign_in(client, "/staff/login", name, pin)
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return staff


def free_port(rng: random.Random | None = None, host: str = "127.0.0.1") -> int:
    """Return a free port outside the kernel's ephemeral range.

    While a server is down, client connection attempts take ephemeral local ports; if
    one took the server's port, a restart could not bind it (or a client would connect
    to itself). So the port is chosen where the kernel never hands out client ports.
    """
    try:
        low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999
    candidates = [p for p in (*range(20000, min(low, 30000)), *range(high + 1, 65536))
                  if not low <= p <= high]
    for port in (rng or random).sample(candidates, min(200, len(candidates))):
        with socket.socket() as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port outside the ephemeral range")
