"""The sync wire protocol, shared by the kiosk's worker and the HQ server (see PROTOCOL.md).

Requests and answers are signed with HMAC-SHA256 under the site's key. Plain Python:
no Flask, no network.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import secrets

API_PATH = "/api/v1/sites/{site_id}/events"
MAX_BATCH_EVENTS = 100
MAX_BATCH_BYTES = 256 * 1024          # what a kiosk sends at most
MAX_BODY_BYTES = 1024 * 1024          # what HQ accepts at most (413 above)
MAX_JSON_DEPTH = 16

_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")

H_KEY_ID = "X-FD-Key-Id"
H_TIMESTAMP = "X-FD-Timestamp"
H_BODY_SHA256 = "X-FD-Content-SHA256"
H_SIGNATURE = "X-FD-Signature"


def new_key() -> tuple[str, str]:
    """Return a fresh ``(key_id, secret)``; the secret is 256 bits, url-safe."""
    return "k-" + secrets.token_hex(6), secrets.token_urlsafe(32)


def body_sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _mac(secret: str, *parts: str) -> str:
    return hmac.new(secret.encode(), "\n".join(parts).encode(), hashlib.sha256).hexdigest()


def request_signature(secret: str, method: str, path: str, site_id: str, timestamp: str,
                      body_hash: str) -> str:
    """Return the signature of a request: HMAC over method, path, site, time and body hash."""
    return _mac(secret, method.upper(), path, site_id, timestamp, body_hash)


def answer_signature(secret: str, site_id: str, request_sig: str, body_hash: str) -> str:
    """Return the signature of HQ's answer, bound to the request it answers."""
    return _mac(secret, "answer", site_id, request_sig, body_hash)


def same(a: str, b: str) -> bool:
    """Compare two signatures in constant time."""
    return hmac.compare_digest(a.encode(), b.encode())


def dumps(obj) -> bytes:
    """Serialise a request or answer body (UTF-8 JSON, no NaN)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


class BadBody(ValueError):
    """A body that is not the JSON the protocol allows."""


def _no_constants(name: str):
    raise BadBody(f"{name} is not allowed")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # 1e400: a number JSON allows but no event can hold
        raise BadBody(f"{text} is out of range")
    return value


def loads(body: bytes):
    """Parse a body strictly: UTF-8 JSON, no NaN/Infinity (nor numbers that overflow to
    it), no lone surrogate escapes, nesting at most MAX_JSON_DEPTH."""
    try:
        obj = json.loads(body.decode("utf-8"), parse_constant=_no_constants,
                         parse_float=_finite)
    except RecursionError:  # the C parser stops far deeper nesting safely
        raise BadBody("nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadBody(str(exc)) from None
    if _depth(obj) > MAX_JSON_DEPTH:
        raise BadBody("nested too deeply")
    if _SURROGATE.search(body):  # "\ud800" parses to a str that cannot be encoded
        try:
            json.dumps(obj, ensure_ascii=False).encode()
        except UnicodeEncodeError:
            raise BadBody("a string holds a lone surrogate escape") from None
    return obj


def _depth(obj) -> int:
    """Return how deeply lists and objects nest in ``obj`` (``[]`` is 1, a scalar 0)."""
    deepest, stack = 0, [(obj, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            value = value.values()
        elif not isinstance(value, list):
            continue
        deepest = max(deepest, depth)
        stack.extend((v, depth + 1) for v in value if isinstance(v, (dict, list)))
    return deepest
