"""The cross-site ticket list's rules: its filters and searches read from a query string,
the month and the days reported as a UTC range, keyset paging (a page of ``PAGE``, the
next page's cursor), the count, the columns a search reads, and the export's rows.

The list is ordered by ``storage.ticket_key`` descending; the cursor carries the key of a
page's last ticket, so a page costs the same however deep it is and a ticket reported
meanwhile never shifts the pages already open.

Searches: a ticket's number (exact, any case, alone or after its site's name or id:
``北区 · R-1202-010``), a phone number (whole, or its last 4 digits), the days reported
(from / to, inclusive, in HQ's zone); ``late=1`` (not closed, due before now) and
``unsigned=1`` (a complaint not closed and not signed off), the links of the sites page.
A value that cannot be searched for is named next to its field and left out; the rest
applies.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Callable

from common.messages import N_, Message
from common.phones import mask_phone
from common.spreadsheets import Sheet
from kiosk.tickets import rules

from .storage import ticket_key, utc_iso

PAGE = 50
#: the count stops here: "more than 10,000" (a count over an index, bounded)
COUNT_CAP = 10_000
#: the most tickets an export holds; more are left out, and the file says so
EXPORT_MAX = 50_000
MONTH = re.compile(r"(\d{4})-(\d{2})")
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
#: the years a day searched for may fall in (beyond them no ticket, and no calendar)
FIRST_YEAR, LAST_YEAR = 2000, 9998
#: a ticket's number as the kiosk makes it (``R-1202-010``), dashes optional when typed,
#: after its site's name or id and a middle dot or a space, if given
NUMBER = re.compile(r"(?:(?P<site>.+?)\s*[·\s]\s*)?(?P<letter>[A-Za-z])-?(?P<day>\d{4})-?"
                    r"(?P<n>\d{3,6})")
PHONE_NOISE = re.compile(r"[\s\-()（）+.]")
#: the filters of the list: query parameter -> the store's keyword
FILTERS = {"site": "site_id", "category": "category", "status": "status"}
#: the yes/no filters the sites page links to: query parameter -> the store's keyword
FLAGS = {"late": "late", "unsigned": "unsigned"}
#: the searches typed: query parameter (each has its field and its message)
SEARCHES = ("number", "phone", "from", "to")

BAD_NUMBER = N_("This is not a ticket number: type it as on the ticket, e.g. R-1202-010.")
UNKNOWN_SITE = N_("No site is called “%(site)s”: type the number alone, or after its "
                  "site's name.")
OTHER_SITE = N_("This number's site is not the site chosen.")
BAD_PHONE = N_("Type the whole phone number, or its last 4 digits.")
BAD_DAY = N_("Type a day as 2026-11-28, or pick one.")
REVERSED = N_("The last day cannot be before the first.")
CAPPED = N_("Only the first %(max)s tickets are in this file: narrow the filters for "
            "the rest.")


@dataclass
class Filters:
    """The filters understood (``store`` keywords), the month, the parameters ignored,
    the searches as typed (shown again) and what is wrong with any of them."""

    store: dict
    month: str | None
    ignored: list[str]
    typed: dict = field(default_factory=dict)
    errors: dict[str, Message] = field(default_factory=dict)
    days: tuple[date | None, date | None] = (None, None)

    def query(self) -> dict:
        """Return the filters as query parameters (for the next page's link, the export):
        those that apply, the searches as typed."""
        names = {v: k for k, v in FILTERS.items()}
        return {**{names[k]: v for k, v in self.store.items() if k in names and v},
                **({"month": self.month} if self.month else {}),
                **{k: "1" for k, keyword in FLAGS.items() if self.store.get(keyword)},
                **{k: v for k, v in self.typed.items() if v and k not in self.errors}}

    def reported(self, tz: tzinfo) -> tuple[datetime | None, datetime | None]:
        """Return the range of report times the month and the days allow, in zone ``tz``
        (the later start, the earlier end), ``(None, None)`` for any time."""
        starts, ends = [], []
        month = month_range(self.month, tz)
        if month:
            starts.append(month[0])
            ends.append(month[1])
        first, last = self.days
        if first:
            starts.append(datetime(first.year, first.month, first.day, tzinfo=tz))
        if last:
            end = last + timedelta(days=1)
            ends.append(datetime(end.year, end.month, end.day, tzinfo=tz))
        return max(starts, default=None), min(ends, default=None)


def read_filters(args, sites: list[dict]) -> Filters:
    """Read the list's filters and searches from ``args`` (``sites``: every site, for the
    site filter and a number's site); an unknown filter value is ignored (and named), a
    search that cannot be made is left out with a message for its field."""
    site_ids = [s["site_id"] for s in sites]
    allowed = {"site": site_ids, "category": rules.CATEGORIES,
               "status": ["not_closed", *rules.STATUSES]}
    store, ignored = {}, []
    for name, keyword in FILTERS.items():
        value = args.get(name) or None
        store[keyword] = value if value in allowed[name] else None
        if value and store[keyword] is None:
            ignored.append(name)
    for name, keyword in FLAGS.items():
        value = args.get(name) or None
        store[keyword] = value == "1"
        if value and value != "1":
            ignored.append(name)
    month = args.get("month") or None
    if month and month_range(month) is None:
        ignored.append("month")
        month = None
    typed = {k: (args.get(k) or "").strip()[:200] for k in SEARCHES}
    filters = Filters(store, month, ignored, typed)
    _read_number(filters, sites)
    _read_phone(filters)
    _read_days(filters)
    return filters


def _read_number(filters: Filters, sites: list[dict]) -> None:
    text = filters.typed["number"]
    if not text:
        return
    found = NUMBER.fullmatch(text)
    if not found:
        filters.errors["number"] = Message(BAD_NUMBER)
        return
    site = found.group("site")
    if site:
        wanted = site.strip(" ·").casefold()
        named = [s["site_id"] for s in sites
                 if wanted in (s["name"].strip().casefold(), s["site_id"].casefold())]
        if not named:
            filters.errors["number"] = Message(UNKNOWN_SITE, {"site": site.strip(" ·")})
            return
        if filters.store["site_id"] and filters.store["site_id"] not in named:
            filters.errors["number"] = Message(OTHER_SITE)
            return
        filters.store["site_id"] = filters.store["site_id"] or named[0]
    filters.store["number"] = number_key(
        f"{found.group('letter')}-{found.group('day')}-{found.group('n')}")


def _read_phone(filters: Filters) -> None:
    text = filters.typed["phone"]
    if not text:
        return
    digits = PHONE_NOISE.sub("", text)
    digits = re.sub(r"^(0086|86)(?=1\d{10}$)", "", digits)
    if not digits.isascii() or not digits.isdigit() or not (len(digits) == 4
                                                            or 7 <= len(digits) <= 20):
        filters.errors["phone"] = Message(BAD_PHONE)
    elif len(digits) == 4:
        filters.store["phone_last4"] = digits
    else:
        filters.store["phone"] = digits


def _read_days(filters: Filters) -> None:
    days = []
    for name in ("from", "to"):
        text = filters.typed[name]
        day = None
        if text:
            try:
                day = date.fromisoformat(text) if DAY.fullmatch(text) else None
            except ValueError:
                day = None
            if day and not FIRST_YEAR <= day.year <= LAST_YEAR:
                day = None
            if day is None:
                filters.errors[name] = Message(BAD_DAY)
        days.append(day)
    if days[0] and days[1] and days[0] > days[1]:
        filters.errors["to"] = Message(REVERSED)
        days[1] = None
    filters.days = (days[0], days[1])


def number_key(number: object) -> str | None:
    """Return a ticket number as the search compares it (upper case), or None."""
    return number.strip().upper() if isinstance(number, str) and number.strip() else None


def phone_digits(phone: object) -> str | None:
    """Return the digits (0-9) of a phone number as the search compares them, or None."""
    digits = "".join(ch for ch in phone if ch in "0123456789") if isinstance(phone, str) else ""
    return digits or None


def search_columns(ticket: dict) -> tuple[str | None, str | None, str | None]:
    """Return what the search reads of a folded ticket: ``(number_key, phone_digits,
    phone_last4)``, kept in the ticket table's columns of the same names."""
    digits = phone_digits(ticket.get("phone"))
    return (number_key(ticket.get("number")), digits,
            digits[-4:] if digits and len(digits) >= 4 else None)


def is_late(ticket: dict, now: datetime) -> bool:
    """Whether a ticket is late at ``now``: not closed and due before ``now`` (the sites
    page's late repairs, of any category)."""
    due = utc_iso(ticket.get("due_at"))
    return ticket.get("status") != "closed" and due is not None and due < utc_iso(now)


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


#: the list's order, newest first (``storage.ticket_key`` descending)
ORDER = " ORDER BY t.reported_at DESC, t.site_id DESC, t.ticket_id DESC"


def conditions(site_id=None, category=None, status=None, reported_from=None,
               reported_before=None, after=None, *, number=None, phone=None,
               phone_last4=None, late_at=None, unsigned=False, mark: str, cast: str = "",
               time=lambda value: value) -> tuple[list[str], list]:
    """Return the WHERE conditions and their arguments of a page of the list, in SQL both
    backends speak: ``mark`` is the driver's placeholder, ``cast`` what makes a cursor's
    text a time, ``time`` turns a month's edges (and ``late_at``, the time a late ticket
    was due before) into what the driver takes. The cursor's first condition bounds the
    range of every index, not only the first."""
    where, args = [], []
    for column, value in (("t.site_id", site_id), ("t.category", category),
                          ("t.status", None if status == "not_closed" else status),
                          ("t.number_key", number), ("t.phone_digits", phone),
                          ("t.phone_last4", phone_last4)):
        if value:
            where.append(f"{column} = {mark}")
            args.append(value)
    if status == "not_closed" or late_at or unsigned:
        where.append("t.status <> 'closed'")
    if late_at:
        where.append(f"t.due_at < {mark}")
        args.append(time(late_at))
    if unsigned:
        where.append(f"t.category = 'complaint' AND t.signed_off = {mark}")
        args.append(False)
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


#: the export's columns (English msgids), in order
EXPORT_HEADER = (N_("Site"), N_("Number"), N_("Category"), N_("Status"), N_("Late"),
                 N_("Reported at"), N_("Due"), N_("Closed at"), N_("Place"),
                 N_("Phone (masked)"))


def export_sheet(tickets: list[dict], now: datetime, tz: tzinfo,
                 gettext: Callable[..., str], place: Callable[[dict], str]) -> Sheet:
    """The export of the list's first ``EXPORT_MAX`` tickets (``tickets`` may hold one
    more: then a last row says the file stops there): labels in ``gettext``'s language,
    times in HQ's zone to the second, the phone masked, ``place`` naming a ticket's place."""
    _ = gettext

    def when(value) -> str:
        text = utc_iso(value)
        return datetime.fromisoformat(text).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") \
            if text else ""

    def label(table: dict, code) -> str:
        return _(table[code]) if code in table else code or ""

    rows = [[t["site_name"], t["number"],
             _(rules.CATEGORIES[t["category"]].label) if t.get("category") in rules.CATEGORIES
             else t.get("category") or "",
             label(rules.STATUSES, t.get("status")),
             _("Late") if is_late(t, now) else "", when(t.get("reported_at")),
             when(t.get("due_at")) if t.get("status") != "closed" else "",
             when(t.get("closed_at")), place(t), mask_phone(t.get("phone"))]
            for t in tickets[:EXPORT_MAX]]
    if len(tickets) > EXPORT_MAX:
        rows.append([_(CAPPED, max="{:,}".format(EXPORT_MAX))])
    return Sheet(_("Tickets"), [_(h) for h in EXPORT_HEADER], rows)


def place_name(ticket: dict, language: str) -> str:
    """Return a ticket's place in ``language`` ("en", else Chinese): its name as the site
    last named it, the other language's name, or its code; "" for none."""
    names = (ticket.get("place_en"), ticket.get("place_zh"))
    for name in names if language == "en" else reversed(names):
        if name:
            return name
    return ticket.get("location") or ""
