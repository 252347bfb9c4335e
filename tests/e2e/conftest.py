"""Browser tests: the real app under waitress on a loopback port, driven by Chromium."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from live import LiveApp

from kiosk import create_app

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TABLET = {"viewport": {"width": 1280, "height": 800}, "has_touch": True}
PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True,
         "device_scale_factor": 2}


def pytest_collection_modifyitems(items):
    for item in items:
        if "e2e" in item.path.parts:  # the hook sees the whole session's items
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": "/usr/bin/chromium",
            "args": CHROMIUM_ARGS}


class LiveServer:
    """A kiosk served by waitress on 127.0.0.1 in a daemon thread (``live.LiveApp``)."""

    def __init__(self, data_dir, **config):
        self.app = create_app({"DATA_DIR": str(data_dir), "SECRET_KEY": "e2e",
                               "RATE_LIMIT": 10_000, **config})
        self.live = LiveApp(self.app, threads=4)
        self.url = self.live.url

    @property
    def store(self):
        return self.app.extensions["kiosk_store"]

    def stop(self):
        """Stop the server's loop first, then close the store. (Closing waitress's sockets
        from here while its loop still selected on them let that loop, later, close file
        descriptors the numbers of which had gone to another test's server.)"""
        self.live.stop()
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


def _outside(urls):
    return [u for u in urls if urlsplit(u).hostname not in ("127.0.0.1",)
            and not u.startswith(("data:", "about:"))]


@pytest.fixture
def requests_seen(page):
    """Record every request the page makes, to check that none leaves the machine."""
    seen = []
    page.on("request", lambda request: seen.append(request.url))
    yield seen
    outside = _outside(seen)
    assert not outside, f"requests left 127.0.0.1: {outside}"


def _watch_errors(page, errors: list) -> None:
    """Collect script errors, console errors (a CSP violation is one) and failed loads of
    styles, scripts and images; a page answered with 404 or 422 on purpose is no error."""
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: errors.append(f"console: {msg.text}")
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and r.request.resource_type not in ("document", "xhr", "fetch")
            else None)
    page.on("requestfailed", lambda r: errors.append(f"failed: {r.url} {r.failure}")
            if r.resource_type not in ("document", "xhr", "fetch") else None)


@pytest.fixture
def page_errors(page):
    """Record script errors, CSP violations and failed subresources, to check for none."""
    errors = []
    _watch_errors(page, errors)
    yield errors
    assert not errors, f"the page reported errors: {errors}"


@pytest.fixture
def open_phone(browser):
    """Open pages in 390x844 touch phones, on any server; each checks when the test ends,
    like ``requests_seen`` and ``page_errors``, that nothing left 127.0.0.1 and no errors."""
    opened = []

    def open_page(base_url: str):
        context = browser.new_context(**PHONE, base_url=base_url)
        context.set_default_timeout(10_000)
        page = context.new_page()
        seen, errors = [], []
        page.on("request", lambda request: seen.append(request.url))
        _watch_errors(page, errors)
        opened.append((context, seen, errors))
        return page

    yield open_page
    for context, seen, errors in opened:
        context.close()
        assert not _outside(seen), f"requests left 127.0.0.1: {_outside(seen)}"
        assert not errors, f"the page reported errors: {errors}"


@pytest.fixture
def phone_page(open_phone, live_server):
    """A page in a 390x844 touch phone, on the session's kiosk (see ``open_phone``)."""
    return open_phone(live_server.url)


@pytest.fixture
def page(page):
    """pytest-playwright's page, with bounded waits: a step that hangs fails in 10 s, not 30."""
    page.set_default_timeout(10_000)
    return page
