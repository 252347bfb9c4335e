"""The kiosk's side of one sync exchange: build a signed batch, POST it, verify the answer.

Plain ``http.client`` (connect timeout 5 s, read timeout 15 s). Nothing here touches
the store or its lock: the worker reads the batch first, then calls ``send``.
"""
from __future__ import annotations

import http.client
import socket
import ssl
from dataclasses import dataclass, field
from importlib import metadata
from urllib.parse import urlsplit

from . import protocol as p
from .failpoint import failpoint
from .state import Settings

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 15.0
try:  # the version each request reports to HQ (PROTOCOL.md, "status")
    VERSION = metadata.version("frontdesk")
except metadata.PackageNotFoundError:  # run from a copy that was never installed
    VERSION = "unknown"


@dataclass(frozen=True)
class Request:
    """A signed batch, ready to send."""

    path: str
    body: bytes
    headers: dict
    signature: str
    first_seq: int
    last_seq: int


@dataclass
class Reply:
    """What came back: an HTTP status and body, or ``failure`` when nothing usable came."""

    status: int | None = None
    headers: dict = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    failure: str | None = None  # "timeout", "unreachable", "truncated"

    def retry_after(self) -> float | None:
        """Return the Retry-After header in seconds, if it is a number."""
        value = self.headers.get("retry-after", "").strip()
        return float(value) if value.isdigit() else None


def batch(events, max_events: int = p.MAX_BATCH_EVENTS,
          max_bytes: int = p.MAX_BATCH_BYTES) -> list[dict]:
    """Take events from the iterable ``events`` while the batch stays within both limits."""
    taken, size = [], 200  # room for the envelope
    for event in events:
        size += len(p.dumps(event)) + 1
        if taken and size > max_bytes:
            break
        taken.append(event)
        if len(taken) >= max_events:
            break
    return taken


def status_report(last_seq: int, clock: str, heartbeat: float) -> dict:
    """Return the report every request carries: the log's highest seq, this version, the
    kiosk's clock (UTC ISO) and its idle probe interval in whole seconds (PROTOCOL.md)."""
    return {"last_seq": last_seq, "version": VERSION, "clock": clock,
            "heartbeat": max(1, round(heartbeat))}


def build(settings: Settings, hq_epoch: str | None, events: list[dict],
          timestamp: str, report: dict | None = None) -> Request:
    """Return the signed request that carries ``events`` and the ``status`` report, if
    given (see PROTOCOL.md)."""
    base = urlsplit(settings.hq_url).path.rstrip("/")
    path = base + p.API_PATH.format(site_id=settings.site_id)
    payload = {"site_id": settings.site_id, "hq_epoch": hq_epoch, "events": events}
    body = p.dumps(payload if report is None else {**payload, "status": report})
    digest = p.body_sha256(body)
    signature = p.request_signature(settings.key, "POST", path, settings.site_id, timestamp,
                                    digest)
    headers = {"Content-Type": "application/json", p.H_KEY_ID: settings.key_id,
               p.H_TIMESTAMP: timestamp, p.H_BODY_SHA256: digest, p.H_SIGNATURE: signature}
    first, last = (events[0]["seq"], events[-1]["seq"]) if events else (0, 0)  # 0: a probe
    return Request(path, body, headers, signature, first, last)


def send(settings: Settings, request: Request, connect_timeout: float = CONNECT_TIMEOUT,
         read_timeout: float = READ_TIMEOUT) -> Reply:
    """POST ``request`` to HQ; never raises for network trouble (see ``Reply.failure``)."""
    url = urlsplit(settings.hq_url)
    if url.scheme == "https":
        conn = http.client.HTTPSConnection(url.hostname, url.port, timeout=connect_timeout,
                                           context=ssl.create_default_context())
    else:
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=connect_timeout)
    try:
        conn.connect()
        conn.sock.settimeout(read_timeout)
        conn.request("POST", request.path, body=request.body, headers=request.headers)
        failpoint("kiosk:request_sent")
        response = conn.getresponse()
        body = response.read(p.MAX_BODY_BYTES + 1)
        if response.length and len(body) <= p.MAX_BODY_BYTES:
            # closed before Content-Length was reached: read(amt) returns the part
            # without raising IncompleteRead
            return Reply(failure="truncated")
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, body)
    except (socket.timeout, TimeoutError):
        return Reply(failure="timeout")
    except http.client.IncompleteRead:
        return Reply(failure="truncated")
    except (OSError, http.client.HTTPException):
        return Reply(failure="unreachable")
    finally:
        conn.close()


def verified_answer(settings: Settings, request: Request, reply: Reply) -> dict | None:
    """Return HQ's answer if it is signed under the site key for *this* request, else None.

    A 200, a 409 (a conflict or a broken chain) and a 422 (a malformed event, with the
    ``error``) are signed; any other status is not an answer.

    A captive portal, a proxy's page, a truncated or replayed answer all give None.
    """
    if reply.status not in (200, 409, 422) or len(reply.body) > p.MAX_BODY_BYTES:
        return None
    digest = p.body_sha256(reply.body)
    claimed = reply.headers.get(p.H_BODY_SHA256.lower(), "")
    signature = reply.headers.get(p.H_SIGNATURE.lower(), "")
    if not signature or not p.same(claimed, digest):
        return None
    expected = p.answer_signature(settings.key, settings.site_id, request.signature, digest)
    if not p.same(signature, expected):
        return None
    try:
        answer = p.loads(reply.body)
    except p.BadBody:
        return None
    if not (isinstance(answer, dict) and isinstance(answer.get("hq_epoch"), str)
            and answer["hq_epoch"] and answer.get("site_id") == settings.site_id
            and type(answer.get("acked_through")) is int and answer["acked_through"] >= 0
            and isinstance(answer.get("results", []), list)):
        return None
    return answer
