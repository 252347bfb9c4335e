"""A sliding window of attempts per client, in memory (kiosk submissions, sign-ins)."""
from __future__ import annotations

import threading
import time
from collections import defaultdict, deque


class RateLimiter:
    """At most ``limit`` attempts per client in any ``window`` seconds."""

    def __init__(self, limit: int, window: float):
        self.limit, self.window = limit, window
        self._hits: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def hit(self, client: str, now: float | None = None) -> float:
        """Count an attempt; return 0 if allowed, else the seconds until the next one is.

        ``now`` is in seconds on any clock that only moves forward (``time.monotonic``
        when left out); a refused attempt is not counted.
        """
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

    def refund(self, client: str) -> None:
        """Take back the client's latest attempt (it turned out to be no abuse)."""
        with self._lock:
            hits = self._hits.get(client)
            if hits:
                hits.pop()
