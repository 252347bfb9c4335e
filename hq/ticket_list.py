"""The cross-site ticket list's rules: its filters read from a query string, the month
filter as a UTC range, and keyset paging (a page of ``PAGE``, the next page's cursor).

The list is ordered by ``storage.ticket_key`` descending; the cursor carries the key of a
page's last ticket, so a page costs the same however deep it is and a ticket reported
meanwhile never shifts the pages already open.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import datetime, tzinfo

from kiosk.tickets import rules

from .storage import ticket_key, utc_iso

PAGE = 50
MONTH = re.compile(r"(\d{4})-(\d{2})")
#: the filters of the list: query parameter -> the store's keyword
FILTERS = {"site": "site_id", "category": "category", "status": "status"}


@dataclass
class Filters:
    """The filters understood (``store`` keywords), the month and the parameters ignored."""

    store: dict
    month: str | None
    ignored: list[str]

    def query(self) -> dict:
        """Return the filters as query parameters (for the next page's link)."""
        names = {v: k for k, v in FILTERS.items()}
        return {**{names[k]: v for k, v in self.store.items() if v},
                **({"month": self.month} if self.month else {})}


def read_filters(args, site_ids: list[str]) -> Filters:
    """Read the list's filters from ``args``; an unknown value is ignored (and named)."""
    allowed = {"site": site_ids, "category": rules.CATEGORIES,
               "status": ["not_closed", *rules.STATUSES]}
    store, ignored = {}, []
    for name, keyword in FILTERS.items():
        value = args.get(name) or None
        store[keyword] = value if value in allowed[name] else None
        if value and store[keyword] is None:
            ignored.append(name)
    month = args.get("month") or None
    if month and month_range(month) is None:
        ignored.append("month")
        month = None
    return Filters(store, month, ignored)


def month_range(month: str | None, tz: tzinfo | None = None) -> tuple[datetime, datetime] | None:
    """Return the start of ``month`` ("YYYY-MM") and of the next one in zone ``tz``, or
    None if it is not a month."""
    found = MONTH.fullmatch(month or "")
    if not found:
        return None
    year, number = int(found.group(1)), int(found.group(2))
    if not (1 <= year <= 9998 and 1 <= number <= 12):
        return None
    nxt = (year + 1, 1) if number == 12 else (year, number + 1)
    return datetime(year, number, 1, tzinfo=tz), datetime(*nxt, 1, tzinfo=tz)


def encode_cursor(key: tuple[str, str, str]) -> str:
    """Return a ticket key as an opaque, URL-safe cursor."""
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def decode_cursor(text: str | None) -> tuple[str, str, str] | None:
    """Return the key a cursor carries, or None for none.

    :raises ValueError: if ``text`` is not a cursor this list made.
    """
    if not text:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError("not a cursor") from exc
    if not (isinstance(key, list) and len(key) == 3 and all(isinstance(k, str) for k in key)):
        raise ValueError("not a cursor")
    reported_at = utc_iso(key[0])
    if reported_at is None:
        raise ValueError("not a time")
    return reported_at, key[1], key[2]


@dataclass
class Page:
    """A page of the list, from the store's answer to ``limit=PAGE + 1``."""

    tickets: list[dict]
    next_cursor: str | None
    first: bool

    @classmethod
    def of(cls, found: list[dict], after) -> Page:
        more = len(found) > PAGE
        tickets = found[:PAGE]
        return cls(tickets, encode_cursor(ticket_key(tickets[-1])) if more else None,
                   after is None)

    @property
    def count(self) -> str | None:
        """The number of tickets matching, when known without counting: the whole list
        fits on the first page ("12"), or "50+"; None on a later page."""
        if not self.first:
            return None
        return f"{PAGE}+" if self.next_cursor else str(len(self.tickets))


#: the list's order, newest first (``storage.ticket_key`` descending)
ORDER = " ORDER BY t.reported_at DESC, t.site_id DESC, t.ticket_id DESC"


def conditions(site_id=None, category=None, status=None, reported_from=None,
               reported_before=None, after=None, *, mark: str, cast: str = "",
               time=lambda value: value) -> tuple[list[str], list]:
    """Return the WHERE conditions and their arguments of a page of the list, in SQL both
    backends speak: ``mark`` is the driver's placeholder, ``cast`` what makes a cursor's
    text a time, ``time`` turns a month's edges into what the driver takes. The cursor's
    first condition bounds the range of every index, not only the first."""
    where, args = [], []
    for column, value in (("t.site_id", site_id), ("t.category", category),
                          ("t.status", None if status == "not_closed" else status)):
        if value:
            where.append(f"{column} = {mark}")
            args.append(value)
    if status == "not_closed":
        where.append("t.status <> 'closed'")
    for condition, value in (("t.reported_at >= ", reported_from),
                             ("t.reported_at < ", reported_before)):
        if value:
            where.append(condition + mark)
            args.append(time(value))
    if after:
        where.append(f"t.reported_at <= {mark}{cast} AND (t.reported_at, t.site_id, "
                     f"t.ticket_id) < ({mark}{cast}, {mark}, {mark})")
        args.extend((after[0], *after))
    return where, args
