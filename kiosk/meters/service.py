"""Meter readings (抄表): plain functions over the store, no Flask.

``record`` checks a reading and appends one ``meter_read`` event. A reading lower than
the meter's previous one (the reading of the latest earlier day) is refused with
``LowerReading`` unless the person confirms that the meter was replaced or rolled over;
a confirmed one is saved and stays marked "lower than last". A reading for a day after
today is refused. The same meter read again on the same day is a correction: the newer
reading counts, the history keeps both.

Every reading carries the form's ``request_id``: sent again, it records nothing new.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from common.messages import N_, Message
from common.validation import BAD_DATE, REQUIRED, ValidationError, clean_text, iso_day
from sync.events import new as new_event

from ..permissions import check_role
from ..store import Store

KINDS = ("water", "electricity", "gas", "heat", "other")
KIND_LABELS = {"water": N_("Water"), "electricity": N_("Electricity"), "gas": N_("Gas"),
               "heat": N_("Heat"), "other": N_("Other")}
METER = re.compile(r"[^\s].{0,31}")
READING = re.compile(r"\d{1,12}(\.\d{1,3})?")
MAX_PLACE = 40
MAX_NOTE = 200
#: How many readings of each meter the page lists.
RECENT = 5

BAD_METER = Message(N_("Please type the meter's code: up to 32 characters."))
BAD_KIND = Message(N_("Please choose what the meter measures."))
BAD_READING = Message(N_("Please type the reading as a number, with up to 3 decimals."))
FUTURE = Message(N_("This day has not come yet. Please give the day the meter was read."))


class LowerReading(ValidationError):
    """The reading is lower than the meter's previous one and nobody confirmed why;
    ``previous`` is that reading."""

    def __init__(self, previous: dict):
        super().__init__({"reading": Message(
            N_("Lower than the last reading (%(reading)s on %(day)s). If the meter was replaced "
               "or rolled over, tick the box below and save again."),
            {"reading": previous["reading"], "day": previous["read_on"]})})
        self.previous = previous


def _reading(text: str) -> str | None:
    text = unicodedata.normalize("NFKC", text).strip()
    return str(Decimal(text)) if READING.fullmatch(text) else None


def clean(fields: dict, today: date) -> dict:
    """Return the checked reading of ``fields`` (meter, kind, place, household, reading,
    read_on, note), or raise ValidationError keyed by field."""
    errors: dict[str, Message] = {}
    get = lambda k: fields.get(k) if isinstance(fields.get(k), str) else ""  # noqa: E731
    meter = unicodedata.normalize("NFKC", get("meter")).strip()
    if not meter:
        errors["meter"] = REQUIRED
    elif not METER.fullmatch(meter) or clean_text(meter, max_len=32)[1]:
        errors["meter"] = BAD_METER
    kind = get("kind").strip()
    if kind not in KINDS:
        errors["kind"] = BAD_KIND
    reading = _reading(get("reading"))
    if reading is None:
        errors["reading"] = BAD_READING if get("reading").strip() else REQUIRED
    read_on = iso_day(get("read_on"))
    if read_on is None:
        errors["read_on"] = BAD_DATE if get("read_on").strip() else REQUIRED
    else:
        if read_on > today:
            errors["read_on"] = FUTURE
    cleaned = {}
    for key, limit in (("place", MAX_PLACE), ("note", MAX_NOTE)):
        cleaned[key], error = clean_text(get(key), max_len=limit)
        if error:
            errors[key] = error
    if errors:
        raise ValidationError(errors)
    return {"meter": meter, "kind": kind, "reading": reading, "read_on": read_on.isoformat(),
            "household": get("household").strip()[:40], **cleaned}


def _effective(readings: list[dict]) -> list[dict]:
    """One reading per day, the newest of each (a correction supersedes), by day."""
    by_day: dict[str, dict] = {}
    for r in readings:  # in the order recorded: a later one of the same day wins
        if r["read_on"] in by_day:
            r = {**r, "corrects": by_day[r["read_on"]]["reading"]}
        by_day[r["read_on"]] = r
    return [by_day[d] for d in sorted(by_day)]


def previous(store: Store, meter: str, read_on: str) -> dict | None:
    """Return the reading of ``meter`` that counts on the latest day before ``read_on``."""
    earlier = [r for r in _effective([r for r in store.meter_readings() if r["meter"] == meter])
               if r["read_on"] < read_on]
    return earlier[-1] if earlier else None


def lower_than_previous(store: Store, reading: dict) -> dict | None:
    """Return the previous reading of ``reading``'s meter (``previous``) if ``reading`` is
    lower than it, else None."""
    last = previous(store, reading["meter"], reading["read_on"])
    lower = last is not None and Decimal(reading["reading"]) < Decimal(last["reading"])
    return last if lower else None


def record(store: Store, fields: dict, *, confirmed: bool, actor: dict, now: datetime,
           tz: ZoneInfo, request_id: str | None = None) -> dict:
    """Record a meter reading signed by ``actor``; return it as stored. Sent again with the
    same ``request_id``, return the one recorded then and record nothing.

    :raises Forbidden: ``actor`` may not read meters.
    :raises ValidationError: a field is missing or malformed, or the day is in the future.
    :raises LowerReading: lower than the previous reading and not ``confirmed``.
    """
    check_role(actor, "read_meters")
    reading = clean(fields, now.astimezone(tz).date())
    with store.lock:
        done = store.meter_reading_by_request(request_id) if request_id else None
        if done:
            return done
        last = lower_than_previous(store, reading)
        if last is not None and not confirmed:
            raise LowerReading(last)
        store.append([new_event(None, "meter_read", actor, now, {
            **reading, "confirmed": last is not None, "request_id": request_id})])
        return store.meter_readings()[-1]


def meters(store: Store) -> list[dict]:
    """Return each meter with its ``RECENT`` newest readings (one per day, the newest
    first, each marked ``lower`` if lower than the day before), the meter read most
    recently first: {meter, kind, place, last, readings}."""
    grouped: dict[str, list[dict]] = {}
    for r in store.meter_readings():
        grouped.setdefault(r["meter"], []).append(r)
    result = []
    for meter, rows in grouped.items():
        days = _effective(rows)
        for before, r in zip([None, *days], days):
            r["lower"] = before is not None and Decimal(r["reading"]) < Decimal(before["reading"])
        last = days[-1]
        result.append({"meter": meter, "kind": last["kind"], "place": last["place"],
                       "last": last, "readings": days[::-1][:RECENT]})
    return sorted(result, key=lambda m: (m["last"]["read_on"], m["last"]["seq"]), reverse=True)
