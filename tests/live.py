"""A real HTTP server for tests, and a small stdlib client that keeps its own cookies.

``LiveApp`` serves any WSGI app (the kiosk's or HQ's) with waitress on 127.0.0.1 in a
daemon thread. ``Browser`` talks to it with ``http.client``: each browser has its own
cookie jar, which a test can copy to another browser (a stolen cookie), and ``burst``
sends many requests at the same moment from threads.
"""
from __future__ import annotations

import http.client
import re
import threading
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

from waitress import create_server


class LiveApp:
    """A WSGI app served by waitress on a free loopback port until ``stop``."""

    def __init__(self, app, threads: int = 12, port: int = 0):
        self.app = app
        self.map: dict = {}  # the server's sockets, which its loop watches
        self.server = create_server(app, self.map, host="127.0.0.1", port=port,
                                    threads=threads)
        self.port = self.server.effective_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()

    def browser(self, **kwargs) -> "Browser":
        return Browser(self.port, **kwargs)

    def stop(self) -> None:
        """Stop the server: its loop closes its sockets (none is closed under a running
        select) and ends; then the worker threads and the loop's wake-up pipe go."""
        if self.thread.is_alive():
            self.server.trigger.pull_trigger(self._close_sockets)
            self.thread.join(10)
        self.server.task_dispatcher.shutdown()
        self.server.trigger.close()

    def _close_sockets(self) -> None:
        """In the loop: close every socket but the wake-up pipe (still being written to
        by whoever woke the loop); an empty map ends the loop."""
        for dispatcher in list(self.map.values()):
            if dispatcher is not self.server.trigger:
                dispatcher.close()
        self.map.clear()


@dataclass
class Reply:
    status: int
    headers: dict
    text: str
    seconds: float = 0.0

    @property
    def location(self) -> str:
        return urlsplit(self.headers.get("location", "")).path


@dataclass
class Browser:
    """One browser: stdlib requests to 127.0.0.1:``port`` with its own cookie jar."""

    port: int
    cookies: dict = field(default_factory=dict)
    source: str = "127.0.0.1"  # another loopback address is another client
    set_cookies: list = field(default_factory=list)  # every Set-Cookie header seen

    def copy(self) -> "Browser":
        """Return another browser holding a copy of this one's cookies."""
        return Browser(self.port, dict(self.cookies), self.source)

    def request(self, method: str, path: str, form: dict | None = None,
                headers: dict | None = None) -> Reply:
        body = urlencode(form).encode() if form is not None else None
        sent = dict(headers or {})
        if body is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60,
                                          source_address=(self.source, 0))
        started = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            seconds = time.perf_counter() - started
            cookie_headers = [v for k, v in response.getheaders() if k.lower() == "set-cookie"]
            reply = Reply(response.status, {k.lower(): v for k, v in response.getheaders()},
                          text, seconds)
        finally:
            conn.close()
        for header in cookie_headers:
            self.set_cookies.append(header)
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0" or "1970" in morsel["expires"]:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return reply

    def get(self, path: str, **headers) -> Reply:
        return self.request("GET", path, headers=headers)

    def post(self, path: str, form: dict | None = None, **headers) -> Reply:
        return self.request("POST", path, form or {}, headers)

    def csrf(self, path: str) -> str:
        """Open ``path`` and return the CSRF token of its form."""
        html = self.get(path).text
        return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)

    def sign_in(self, path: str, name: str, pin: str) -> Reply:
        """Send the sign-in form of ``path`` with a fresh CSRF token."""
        return self.post(path, {"csrf_token": self.csrf(path), "name": name, "pin": pin})


class Counted:
    """Count the calls of the method ``obj.name`` (e.g. how many PINs a server judged);
    with ``delay``, each call first waits that long (a slow PIN hash on a busy machine:
    the attempts of a burst then surely overlap)."""

    def __init__(self, obj, name: str, delay: float = 0.0):
        self.calls, self._lock, original = 0, threading.Lock(), getattr(obj, name)

        def counted(*args, **kwargs):
            with self._lock:
                self.calls += 1
            time.sleep(delay)
            return original(*args, **kwargs)

        setattr(obj, name, counted)


def burst(calls) -> list:
    """Run every callable of ``calls`` in its own thread, released at the same moment;
    return their results in order (an exception is re-raised)."""
    calls = list(calls)
    gate = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        gate.wait()
        try:
            results[i] = call()
        except BaseException as exc:  # handed to the test below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results
