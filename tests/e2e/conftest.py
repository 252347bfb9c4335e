"""Browser tests: the real app under waitress on a loopback port, driven by Chromium."""
from __future__ import annotations

import threading
from urllib.parse import urlsplit

import pytest
from waitress import create_server

from kiosk import create_app

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TABLET = {"viewport": {"width": 1280, "height": 800}, "has_touch": True}
PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True,
         "device_scale_factor": 2}


def pytest_collection_modifyitems(items):
    for item in items:
        item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": "/usr/bin/chromium",
            "args": CHROMIUM_ARGS}


class LiveServer:
    """A kiosk served by waitress on 127.0.0.1 in a daemon thread."""

    def __init__(self, data_dir, **config):
        self.app = create_app({"DATA_DIR": str(data_dir), "SECRET_KEY": "e2e",
                               "RATE_LIMIT": 10_000, **config})
        self.server = create_server(self.app, host="127.0.0.1", port=0, threads=4)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()

    @property
    def store(self):
        return self.app.extensions["kiosk_store"]

    def stop(self):
        self.server.close()
        self.store.close()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("kiosk-data"))
    yield server
    server.stop()


@pytest.fixture
def make_server(tmp_path):
    """Start extra servers with their own settings (e.g. a short idle timeout)."""
    servers = []

    def make(**config):
        server = LiveServer(tmp_path / f"data{len(servers)}", **config)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def base_url(live_server):
    return live_server.url


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, **TABLET}


@pytest.fixture
def requests_seen(page):
    """Record every request the page makes, to check that none leaves the machine."""
    seen = []
    page.on("request", lambda request: seen.append(request.url))
    yield seen
    outside = [u for u in seen if urlsplit(u).hostname not in ("127.0.0.1",)
               and not u.startswith(("data:", "about:"))]
    assert not outside, f"requests left 127.0.0.1: {outside}"
