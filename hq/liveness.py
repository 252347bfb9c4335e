"""Is a site's desk alive? What HQ can tell from the last time a kiosk reached it.

Every request a kiosk sends (a batch, or the empty probe it sends every minute while idle)
carries a small report: its log's highest seq, its version, its clock and how often it
probes (PROTOCOL.md, "status"). HQ keeps the last one with the site. From it a site is:

- ``live``: it reached HQ within two of its probe intervals (and half a minute to spare);
- ``silent``: not since then, for ``minutes``;
- ``offline``: silent for longer than HQ's threshold (``SILENT_MINUTES``): flagged;
- ``never``: it never reached HQ.

``waiting`` is how many of its events HQ did not hold at that last contact (its reported
seq less HQ's), so an offline site shows the backlog it had. Plain Python: no Flask.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

LIVE, SILENT, OFFLINE, NEVER = "live", "silent", "offline", "never"
#: the probe interval assumed for a kiosk that did not report one (an older kiosk)
DEFAULT_HEARTBEAT_SECONDS = 60
#: slack for a round trip and a kiosk's jitter, on top of two probe intervals
SLACK = timedelta(seconds=30)


@dataclass(frozen=True)
class Liveness:
    """How a site's desk stands, as the sites page shows it."""

    state: str                  # LIVE, SILENT, OFFLINE or NEVER
    minutes: int | None         # whole minutes since its last contact (None: never)
    waiting: int | None         # its events HQ did not hold then (None: it never said)
    version: str | None         # the kiosk's version, as last reported
    clock_offset: int | None    # seconds the kiosk's clock was ahead of HQ's (None: unknown)

    @property
    def flagged(self) -> bool:
        """Whether the site needs looking at: offline, or never heard from."""
        return self.state in (OFFLINE, NEVER)


def _when(value) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def describe(site: dict, now: datetime, silent_after: timedelta) -> Liveness:
    """Return the liveness of ``site`` (a site summary: ``last_contact``, ``last_seq`` and
    the last report's ``kiosk_last_seq``, ``kiosk_version``, ``kiosk_clock``,
    ``heartbeat_seconds``) at ``now``; beyond ``silent_after`` of silence it is offline."""
    contact = _when(site.get("last_contact"))
    reported = site.get("kiosk_last_seq")
    waiting = max(0, reported - (site.get("last_seq") or 0)) if reported is not None else None
    clock = _when(site.get("kiosk_clock"))
    offset = round((clock - contact).total_seconds()) if clock and contact else None
    version = site.get("kiosk_version")
    if contact is None:
        return Liveness(NEVER, None, waiting, version, offset)
    silence = max(timedelta(0), now - contact)
    beat = timedelta(seconds=site.get("heartbeat_seconds") or DEFAULT_HEARTBEAT_SECONDS)
    minutes = int(silence.total_seconds() // 60)
    if silence <= 2 * beat + SLACK:
        state = LIVE
    elif silence > silent_after:
        state = OFFLINE
    else:
        state = SILENT
    return Liveness(state, minutes, waiting, version, offset)
