"""The security headers (``common.headers``) and the per-client submission rate limit."""
from __future__ import annotations

import threading
import time
from collections import defaultdict, deque

from flask import Flask, request

from common.headers import set_headers


class RateLimiter:
    """A sliding window of submissions per client address."""

    def __init__(self, limit: int, window: float):
        self.limit, self.window = limit, window
        self._hits: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def hit(self, client: str, now: float | None = None) -> float:
        """Count a submission; return 0 if allowed, else the seconds until the next one is."""
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits[client]
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return hits[0] + self.window - now
            hits.append(now)
            if len(self._hits) > 10_000:  # forget idle clients; bounded memory
                for key in [k for k, v in self._hits.items() if not v]:
                    del self._hits[key]
            return 0.0


def init_security(app: Flask) -> None:
    """Install the headers and the rate limiter on ``app``."""
    app.after_request(set_headers)
    app.extensions["rate_limiter"] = RateLimiter(int(app.config["RATE_LIMIT"]),
                                                 float(app.config["RATE_WINDOW_SECONDS"]))


def client_address() -> str:
    """Return the address the rate limit counts by (the kiosk serves its LAN directly)."""
    return request.remote_addr or "unknown"
