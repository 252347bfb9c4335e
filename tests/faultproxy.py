"""A fault-injecting HTTP/TCP proxy between a kiosk's sync worker and HQ (stdlib only).

``FaultProxy(target_port)`` listens on 127.0.0.1 (``proxy.port``) and forwards each
HTTP/1.1 request to HQ. ``proxy.set(mode)`` switches what the *next* request meets, while
the test runs:

=================  ==================================================================
``pass``           forwarded both ways unchanged
``latency``        forwarded, ``latency`` seconds added before the request and the answer
``hang``           the request is read, then nothing: no answer until the client gives up
``reset_request``  part of the request is read, then the connection is reset (RST)
``reset_response`` forwarded, HQ answers (and has committed), the client gets part of the
                   answer, then a reset: the kiosk never learns what HQ did
``truncate``       forwarded, the client gets the first half of the answer's bytes, then a
                   clean close
``500``, ``503``,  fake answers made here, without contacting HQ (503 and 429 carry
``429``            ``Retry-After: retry_after``)
``portal``         a fake 200 with a captive portal's HTML sign-in page
``unsigned``       a fake 200 JSON that looks like HQ's answer (every event "stored", an
                   ``acked_through`` far ahead) but carries no signature
``forged``         the same, with a body hash that matches and a signature that does not
=================  ==================================================================

Every request is recorded in ``proxy.exchanges`` (mode, request head, seqs sent, status,
HQ's results when HQ answered), and ``proxy.hits[mode]`` counts the requests a fault was applied to.
If HQ cannot be reached, the client's connection is reset (as a refused connection
would be). Bounded: daemon threads, socket timeouts, a hang gives up after
``max_hang`` seconds; ``close()`` stops everything.
"""
from __future__ import annotations

import hashlib
import json
import socket
import struct
import threading
import time
from collections import Counter

HOST = "127.0.0.1"
IO_TIMEOUT = 20.0           # any single socket operation
MAX_HEAD = 64 * 1024
FAKE_STATUS = {"500": (500, "Internal Server Error"), "503": (503, "Service Unavailable"),
               "429": (429, "Too Many Requests")}
PORTAL_PAGE = (b"<!DOCTYPE html><html><head><title>Hotel Wi-Fi</title></head><body>"
               b"<h1>Welcome!</h1><p>Please accept the terms to use the Internet.</p>"
               b"<form method=post><button>Accept</button></form></body></html>")
MODES = ("pass", "latency", "hang", "reset_request", "reset_response", "truncate",
         *FAKE_STATUS, "portal", "unsigned", "forged")


class Closed(Exception):
    """The peer closed the connection before a whole message came."""


def _recv_message(sock: socket.socket, response: bool = False) -> tuple[bytes, bytes]:
    """Read one HTTP message: return ``(head incl. blank line, body)``.

    :raises Closed: when the peer closes before the whole head or body came.
    """
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise Closed(f"closed after {len(buf)} bytes of the head")
        buf += chunk
        if len(buf) > MAX_HEAD:
            raise Closed("head too long")
    head, _, body = buf.partition(b"\r\n\r\n")
    length = None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length is None and response:  # no length: the body runs to the close
        while chunk := sock.recv(65536):
            body += chunk
        return head + b"\r\n\r\n", body
    length = length or 0
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise Closed(f"closed after {len(body)} of {length} body bytes")
        body += chunk
    return head + b"\r\n\r\n", body[:length]


def _reset(sock: socket.socket) -> None:
    """Close with a RST instead of a FIN (SO_LINGER 0)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def _http(status: int, reason: str, body: bytes, headers: dict | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}", "Connection: close",
             *(f"{k}: {v}" for k, v in (headers or {}).items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _batch_of(body: bytes) -> tuple[str | None, list[int]]:
    try:
        payload = json.loads(body)
        return payload.get("site_id"), [e["seq"] for e in payload.get("events", [])]
    except (ValueError, TypeError, KeyError, AttributeError):
        return None, []


class FaultProxy:
    """A proxy on 127.0.0.1 whose behaviour the test switches at run time (see module doc)."""

    def __init__(self, target_port: int, target_host: str = HOST, port: int = 0,
                 latency: float = 0.3, retry_after: int = 1, max_hang: float = 60.0):
        self.target = (target_host, target_port)
        self.latency, self.retry_after, self.max_hang = latency, retry_after, max_hang
        self.mode = "pass"
        self.hits: Counter = Counter()
        self.exchanges: list[dict] = []
        self.hang_gave_up: list[float] = []  # seconds a client waited in ``hang`` before closing
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._socks: set[socket.socket] = set()
        self._busy = 0  # client connections being served
        self._threads: list[threading.Thread] = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((HOST, port))
        self._listener.listen(64)
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://{HOST}:{self.port}"
        self._spawn(self._accept_loop, "faultproxy-accept")

    # -- control ----------------------------------------------------------------------
    def set(self, mode: str, **params) -> None:
        """Apply ``mode`` (and e.g. ``latency=``, ``retry_after=``) to the next requests."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        for name, value in params.items():
            if name not in ("latency", "retry_after", "max_hang"):
                raise TypeError(name)
            setattr(self, name, value)
        self.mode = mode

    def wait_hits(self, mode: str, count: int = 1, timeout: float = 10.0) -> bool:
        """Wait (bounded) until ``count`` requests met ``mode``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.hits[mode] >= count:
                return True
            time.sleep(0.01)
        return False

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait (bounded) until no client connection is being served."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._busy:
                    return True
            time.sleep(0.01)
        return False

    def results(self, mode: str | None = None) -> Counter:
        """HQ's results (stored, duplicate, ...) in the answers seen, for one mode or all."""
        total: Counter = Counter()
        with self._lock:
            for x in self.exchanges:
                if mode is None or x["mode"] == mode:
                    total.update(x["results"])
        return total

    def close(self) -> None:
        """Stop accepting, reset every open connection, join the threads (bounded)."""
        self._stop.set()
        self._listener.close()
        with self._lock:
            socks = list(self._socks)
        for sock in socks:
            _reset(sock)
        for thread in self._threads:
            thread.join(2.0)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- plumbing -----------------------------------------------------------------------
    def _spawn(self, target, name: str, *args) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _track(self, sock: socket.socket, on: bool) -> None:
        with self._lock:
            (self._socks.add if on else self._socks.discard)(sock)

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return  # closed
            client.settimeout(IO_TIMEOUT)
            self._track(client, True)
            with self._lock:
                self._busy += 1
            self._spawn(self._serve, "faultproxy-conn", client)

    def _record(self, mode: str, head: bytes, body: bytes, status=None, results=None,
                hit=False) -> None:
        site_id, seqs = _batch_of(body)
        with self._lock:
            self.exchanges.append({"t": time.monotonic(), "mode": mode, "head": head,
                                   "site_id": site_id, "seqs": seqs,
                                   "status": status, "results": Counter(results or ())})
            if hit:
                self.hits[mode] += 1

    def _serve(self, client: socket.socket) -> None:
        try:
            while not self._stop.is_set():  # one request after another (keep-alive)
                if not self._exchange(client, self.mode):
                    return
        except (OSError, Closed):
            pass
        finally:
            self._track(client, False)
            client.close()
            with self._lock:
                self._busy -= 1

    def _exchange(self, client: socket.socket, mode: str) -> bool:
        """Handle one request in ``mode``; return whether the connection stays open."""
        if mode == "reset_request":
            first = client.recv(512)  # part of it: the start of the head
            if not first:
                return False
            self._record(mode, first, b"", hit=True)
            _reset(client)
            return False
        try:
            head, body = _recv_message(client)
        except Closed:
            return False  # the client closed (the end of a keep-alive connection)
        if mode == "hang":
            self._record(mode, head, body, hit=True)
            self._hang(client)
            return False
        if mode in FAKE_STATUS or mode in ("portal", "unsigned", "forged"):
            client.sendall(self._fake(mode, body))
            self._record(mode, head, body, status=int(mode) if mode.isdigit() else 200, hit=True)
            return False
        if mode == "latency":
            self._pause()
        answer = self._forward(head + body)
        if answer is None:  # HQ down: refuse the client the way a closed port would
            self._record(mode, head, body, status="unreachable")
            _reset(client)
            return False
        status, results = self._judge(answer)
        self._record(mode, head, body, status, results, hit=mode != "pass")
        if mode == "latency":
            self._pause()
        if mode == "reset_response":
            client.sendall(answer[:len(answer) // 2])
            _reset(client)
            return False
        if mode == "truncate":
            client.sendall(answer[:len(answer) // 2])
            client.shutdown(socket.SHUT_WR)
            return False
        client.sendall(answer)
        return True

    def _pause(self) -> None:
        self._stop.wait(self.latency)

    def _hang(self, client: socket.socket) -> None:
        """Answer nothing until the client closes, the proxy stops or ``max_hang`` passes."""
        client.settimeout(0.2)
        started = time.monotonic()
        while not self._stop.is_set() and time.monotonic() < started + self.max_hang:
            try:
                if not client.recv(65536):  # the client gave up
                    with self._lock:
                        self.hang_gave_up.append(time.monotonic() - started)
                    return
            except socket.timeout:
                continue

    def _forward(self, request: bytes) -> bytes | None:
        """Send one request to HQ; return its whole raw answer, or None if HQ is down."""
        try:
            upstream = socket.create_connection(self.target, timeout=IO_TIMEOUT)
        except OSError:
            return None
        self._track(upstream, True)
        try:
            upstream.sendall(request)
            head, body = _recv_message(upstream, response=True)
            return head + body
        except (OSError, Closed):
            return None
        finally:
            self._track(upstream, False)
            upstream.close()

    @staticmethod
    def _judge(answer: bytes) -> tuple[int | None, list[str]]:
        head, _, body = answer.partition(b"\r\n\r\n")
        try:
            status = int(head.split(b" ", 2)[1])
        except (IndexError, ValueError):
            return None, []
        try:
            return status, [r["result"] for r in json.loads(body).get("results", [])]
        except (ValueError, TypeError, KeyError, AttributeError):
            return status, []

    def _fake(self, mode: str, body: bytes) -> bytes:
        if mode in FAKE_STATUS:
            status, reason = FAKE_STATUS[mode]
            headers = {"Content-Type": "application/json"}
            if mode != "500":
                headers["Retry-After"] = str(self.retry_after)
            return _http(status, reason, b'{"error": "try again later"}', headers)
        if mode == "portal":
            return _http(200, "OK", PORTAL_PAGE, {"Content-Type": "text/html; charset=utf-8"})
        site_id, seqs = _batch_of(body)
        answer = json.dumps({"hq_epoch": "f" * 32, "site_id": site_id,
                             "acked_through": (seqs[-1] if seqs else 0) + 1000,
                             "results": [{"seq": s, "result": "stored"} for s in seqs]},
                            separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json"}
        if mode == "forged":
            headers["X-FD-Content-SHA256"] = hashlib.sha256(answer).hexdigest()
            headers["X-FD-Signature"] = "0" * 64
        return _http(200, "OK", answer, headers)
