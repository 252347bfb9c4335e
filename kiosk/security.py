"""The security headers (``common.headers``), the per-client submission rate limit
(``common.ratelimit``) and the signed session cookie."""
from __future__ import annotations

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface

from common.headers import set_headers
from common.ratelimit import RateLimiter


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed cookie sessions, with the signer made once per key, not twice per
    request: building one costs a sixth of a first visit to the start screen."""

    def __init__(self):
        self._serializers: dict = {}

    def get_signing_serializer(self, app: Flask):
        keys = (app.secret_key, *(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        serializer = self._serializers.get(keys)
        if serializer is None:
            serializer = self._serializers[keys] = super().get_signing_serializer(app)
        return serializer


def init_security(app: Flask) -> None:
    """Install the headers, the session cookies and the rate limiters on ``app``."""
    app.session_interface = SessionCookies()
    app.after_request(set_headers)
    limit, window = int(app.config["RATE_LIMIT"]), float(app.config["RATE_WINDOW_SECONDS"])
    app.extensions["rate_limiter"] = RateLimiter(limit, window)  # entries sent
    # draft saves: 20 steps for every entry a client may send, far more than anyone types
    app.extensions["draft_limiter"] = RateLimiter(20 * limit, window)


def client_address() -> str:
    """Return the address the rate limit counts by (the kiosk serves its LAN directly)."""
    return request.remote_addr or "unknown"
