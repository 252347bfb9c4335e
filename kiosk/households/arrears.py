"""Households in arrears and the desk's contacts with them (欠费, R22): plain functions
over the store, no Flask. Contact, not collection: nothing here takes a payment.

A manager imports the list from a CSV (``import_csv``: header
``building,unit,name,since,amount`` or ``楼栋,房号,姓名,欠费起始,金额``; amount optional),
all or nothing, as one ``arrears_listed`` event that replaces the current list. Desk staff
record each contact (``contact``: ``arrears_contacted``): how, what was said, the day
promised. The amount is for managers only: every reader here takes the reader's role
and leaves the amount out unless that role may import the list (``import_arrears``).
"""
from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from common import csvfile
from common.csvfile import BAD_CELL, BadCSV
from common.messages import N_, Message
from common.validation import BAD_DATE, ValidationError, clean_text
from sync.events import new as new_event

from ..permissions import check_role, may
from ..store import Store
from . import household_id

HEADERS = (["building", "unit", "name", "since", "amount"], ["楼栋", "房号", "姓名", "欠费起始", "金额"])
HOWS = {"phone": N_("Phone call"), "visit": N_("Visit"), "letter": N_("Letter"),
        "sms": N_("Text message"), "other": N_("Other")}
AMOUNT = re.compile(r"\d{1,9}(\.\d{1,2})?")
SINCE = re.compile(r"\d{4}-\d{2}(-\d{2})?")
MAX_CELL = 40
MAX_SAID = 500

BAD_HOW = Message(N_("Please choose how you made contact."))
# CSV problems, besides those of common.csvfile
BAD_SINCE = N_("since must be a month or a day: YYYY-MM or YYYY-MM-DD")
BAD_AMOUNT = N_("amount must be a number with up to 2 decimals, or empty")
SAME_HOUSEHOLD = N_("this household is already on line %(line)s")
NO_ROWS = N_("no households in the file")


class NotListed(LookupError):
    """The household is not on the current arrears list."""


def _since(text: str) -> str | None:
    if not SINCE.fullmatch(text):
        return None
    try:
        date.fromisoformat(text if len(text) == 10 else text + "-01")
    except ValueError:
        return None
    return text


def _row(cells: list[str], line: int, seen: dict) -> tuple[dict, list[tuple[int, Message]]]:
    building, unit, name, since, amount = cells
    problems = []
    for column, value, required in (("building", building, True), ("unit", unit, True),
                                    ("name", name, False)):
        if clean_text(value, max_len=MAX_CELL, required=required)[1]:
            problems.append((line, Message(BAD_CELL, {"column": column})))
    if _since(since) is None:
        problems.append((line, Message(BAD_SINCE)))
    if amount and not AMOUNT.fullmatch(amount):
        problems.append((line, Message(BAD_AMOUNT)))
    hid = household_id(building, unit)
    if building and unit and hid in seen:
        problems.append((line, Message(SAME_HOUSEHOLD, {"line": seen[hid]})))
    seen.setdefault(hid, line)
    return {"household": hid, "building": building, "unit": unit, "name": name, "since": since,
            "amount": str(Decimal(amount)) if amount and not problems else None}, problems


def parse_csv(text: str) -> list[dict]:
    """Parse and check an arrears CSV; return its rows.

    :raises BadCSV: listing every bad row by line number; nothing is imported.
    """
    lines, problems = csvfile.read(text, HEADERS, optional=1)  # the amount column may be left off
    rows, seen = [], {}
    for line, cells in lines:
        row, bad = _row(cells, line, seen)
        rows.append(row)
        problems += bad
    if problems:
        raise BadCSV(problems)
    if not rows:
        raise BadCSV([(1, Message(NO_ROWS))])
    return rows


def import_csv(store: Store, data: bytes, *, actor: dict, now: datetime,
               request_id: str | None = None) -> int:
    """Check an uploaded CSV and record it as the new list (one ``arrears_listed`` event,
    replacing the current one); return its number of households. Sent again with the
    same ``request_id``, record nothing.

    :raises Forbidden: ``actor`` may not import the list.
    :raises BadCSV: no file, not UTF-8, or bad rows; nothing is recorded.
    """
    check_role(actor, "import_arrears")
    rows = parse_csv(csvfile.decode(data))
    with store.lock:
        current, imported = store.arrears()
        if request_id and imported and imported["request_id"] == request_id:
            return len(current)
        store.append([new_event(None, "arrears_listed", actor, now,
                                {"list": rows, "request_id": request_id})])
    return len(rows)


def _for(role: str | None, row: dict) -> dict:
    """``row`` as ``role`` may see it: without the amount unless a manager."""
    return row if may(role, "import_arrears") else {k: v for k, v in row.items()
                                                          if k != "amount"}


def listing(store: Store, role: str | None, today: date) -> tuple[list[dict], dict | None]:
    """Return the current list as ``role`` may see it, each row with its ``last`` contact
    (or None) and ``overdue`` (the last contact's promised day has passed): the overdue
    first, then by promised day, then the longest in arrears; and when it was imported."""
    rows, imported = store.arrears()
    last: dict[str, dict] = {}
    for c in store.arrears_contacts():
        last[c["household"]] = c
    for row in rows:
        row["last"] = last.get(row["household"])
        promised = row["last"]["promised_on"] if row["last"] else None
        row["overdue"] = bool(promised) and promised < today.isoformat()
    rows.sort(key=lambda r: (not r["overdue"],
                             (r["last"] or {}).get("promised_on") or "9999", r["since"]))
    return [_for(role, r) for r in rows], imported


def for_household(store: Store, hid: str, role: str | None = None) -> dict | None:
    """Return household ``hid``'s row of the current list as ``role`` may see it (no role:
    no amount) with its ``contacts``, the newest first, or None if not on the list."""
    row = next((r for r in store.arrears()[0] if r["household"] == hid), None)
    if row is None:
        return None
    return {**_for(role, row), "contacts": store.arrears_contacts(hid)[::-1]}


def contact(store: Store, hid: str, fields: dict, *, actor: dict, now: datetime, tz: ZoneInfo,
            request_id: str | None = None) -> dict:
    """Record a contact with household ``hid`` about its arrears (how, what was said, the
    day promised, if any), signed by ``actor``; return it. Sent again with the same
    ``request_id``, return the one recorded then and record nothing.

    :raises Forbidden: ``actor`` may not contact households in arrears.
    :raises NotListed: ``hid`` is not on the current list.
    :raises ValidationError: how missing, said too long, promised day malformed or past.
    """
    check_role(actor, "contact_arrears")
    get = lambda k: fields.get(k) if isinstance(fields.get(k), str) else ""  # noqa: E731
    errors: dict[str, Message] = {}
    how = get("how").strip()
    if how not in HOWS:
        errors["how"] = BAD_HOW
    said, error = clean_text(get("said"), max_len=MAX_SAID, required=True, multiline=True)
    if error:
        errors["said"] = error
    promised = get("promised_on").strip() or None
    if promised:
        try:
            day = date.fromisoformat(promised)
        except ValueError:
            errors["promised_on"] = BAD_DATE
        else:
            if day < now.astimezone(tz).date():
                errors["promised_on"] = Message(N_("A promised day cannot be in the past."))
    with store.lock:
        done = store.arrears_contact_by_request(request_id) if request_id else None
        if done:
            return done
        if for_household(store, hid) is None:
            raise NotListed(hid)
        if errors:
            raise ValidationError(errors)
        store.append([new_event(None, "arrears_contacted", actor, now, {
            "household": hid, "how": how, "said": said, "promised_on": promised,
            "request_id": request_id})])
        return store.arrears_contacts(hid)[-1]
