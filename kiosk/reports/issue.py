"""The customer feedback report prepared for the manager and issued to HQ (R13).

At the end of each period (``REPORT_MONTHS``: one month or two) the report of the period
just ended waits on the manager's console (``due``); the manager reads its figures, adds
remarks and issues it (``issue``): one site event ``report_issued`` carrying the period,
the figures (``kiosk.tickets.figures.report``) and the remarks, signed by the manager,
which the sync worker takes to HQ like every other event. A period is issued once: a
second issue (a resent form, another tablet) answers with the report already issued and
records nothing. Plain functions over the store, no Flask.
"""
from __future__ import annotations

import calendar
import json
import re
from datetime import date, datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from common.validation import ValidationError, clean_text
from sync.events import new as new_event

from ..store import Store
from ..tickets import figures, rules

MAX_REMARKS = 2000

_MONTH = r"(\d{4})-(\d{2})"
_DAY = r"(\d{4}-\d{2}-\d{2})"
_MONTHS_KEY = re.compile(rf"{_MONTH}(?:\.\.{_MONTH})?")
_DAYS_KEY = re.compile(rf"{_DAY}\.\.{_DAY}")


class UnknownPeriod(LookupError):
    """No report can be issued for this period: a malformed key, or it has not ended."""


class Issued(NamedTuple):
    """An issued report, and whether this call issued it (False: it was already)."""

    report: dict
    new: bool


def due(store: Store, today: date, tz: ZoneInfo, months: int) -> figures.Period | None:
    """Return the latest period ended by ``today`` (the site's date) if its report has
    not been issued yet, else None: what the manager's console offers to issue."""
    period = figures.period_ended(today, tz, months)
    return None if store.issued_report(period.key) else period


def period_of(key: str, today: date, tz: ZoneInfo) -> figures.Period:
    """Return the period named ``key`` (``Period.key``: ``2026-11``, ``2026-09..2026-10``,
    ``2026-11-01..2026-11-15``) if it has ended by ``today``.

    :raises UnknownPeriod: a malformed key, a period not yet ended, or too long.
    """
    key = key if isinstance(key, str) else ""
    try:
        if match := _MONTHS_KEY.fullmatch(key):
            y1, m1, y2, m2 = match.groups()
            y2, m2 = (y2, m2) if y2 else (y1, m1)
            first = date(int(y1), int(m1), 1)
            last = date(int(y2), int(m2), calendar.monthrange(int(y2), int(m2))[1])
        elif match := _DAYS_KEY.fullmatch(key):
            first, last = (date.fromisoformat(d) for d in match.groups())
        else:
            raise UnknownPeriod(key)
        period = figures.period("custom", today, tz, first, last)
    except ValueError:
        raise UnknownPeriod(key) from None
    if period.key != key or period.last >= today:
        raise UnknownPeriod(key)
    return period


def report_of(store: Store, period: figures.Period, policy: rules.Policy) -> dict:
    """Return the figures of the customer feedback report of ``period`` (JSON as stored:
    lists, no tuples), with the period before it for the change."""
    found = store.over_reported(period.previous().start, period.end,
                                lambda tickets: figures.report(tickets, period, policy))
    return json.loads(json.dumps(found))


def issue(store: Store, period: figures.Period, report: dict, remarks: object, *,
          actor: dict, now: datetime, request_id: str | None = None) -> Issued:
    """Issue the report of ``period`` with its figures ``report`` and the manager's
    ``remarks`` (optional, up to ``MAX_REMARKS`` characters, several lines; anything but
    text counts as none): append one ``report_issued`` event signed by ``actor``. If the
    period's report was issued already, record nothing and return that one.

    :raises ValidationError: remarks too long or with control characters (``remarks``).
    """
    text, error = clean_text(remarks, max_len=MAX_REMARKS, multiline=True)
    if error:
        raise ValidationError({"remarks": error})
    with store.lock:
        issued = store.issued_report(period.key)
        if issued:
            return Issued(issued, False)
        store.append([new_event(None, "report_issued", actor, now, {
            "period": period.as_dict(), "figures": json.loads(json.dumps(report)),
            "remarks": text, "request_id": request_id})])
        return Issued(store.issued_report(period.key), True)
