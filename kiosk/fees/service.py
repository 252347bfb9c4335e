"""Fee standards at the counter (收费标准, R25): plain functions over the store, no Flask.

A manager saves a version of a standard (``save``: one ``fee_standard_saved`` event signed
by them, carrying the form's ``request_id``: sent again, it records nothing). A change is a
new version valid from its day; old versions stay, so an old figure stays explainable.
The desk computes what a unit pays for an item over a period (``compute``) with the rules
of ``rules``: nothing is stored, nothing is paid.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal

from common.messages import N_, Message
from common.validation import BAD_DATE, REQUIRED, ValidationError, clean_text, iso_day
from sync.events import new as new_event

from ..permissions import check_role
from ..store import Store
from . import rules

BASIS_LABELS = {"area": N_("Per m² of the unit's area, per month"),
                "household": N_("Per household, per month"),
                "reading": N_("Per unit read on the meter")}
KIND_LABELS = {"water": N_("Water"), "electricity": N_("Electricity"), "gas": N_("Gas")}
#: The items a site usually keeps (篇2), offered as codes to pick.
SUGGESTED = {"management": "综合管理费", "repair": "公共设施日常维修费", "water": "水费",
             "electricity": "电费"}
#: How many tiers above the base rate a reading standard may have.
TIERS = 3
CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
RATE = re.compile(r"\d{1,6}(\.\d{1,4})?")
AMOUNT = re.compile(r"\d{1,9}(\.\d{1,3})?")
MONTH = re.compile(r"\d{4}-\d{2}")
MAX_NAME = 40
#: The longest period one computation covers, in days.
MAX_DAYS = 366

BAD_CODE = Message(N_("Please use lower-case letters, digits, - or _: up to 32 characters."))
BAD_BASIS = Message(N_("Please choose how the fee is charged."))
BAD_KIND = Message(N_("Please choose the meter the fee is read from."))
BAD_RATE = Message(N_("Please type the rate as a number with up to 4 decimals, e.g. 2.80."))
BAD_ABOVE = Message(N_("Please type the number of units above which this rate applies."))
TIERS_ORDER = Message(N_("Each tier must start above the one before."))
BAD_MONTH = Message(N_("Please pick a month."))
BAD_ITEM = Message(N_("Please choose an item from the list."))
BAD_HOUSEHOLD = Message(N_("Please pick the household."))
TO_BEFORE_FROM = Message(N_("The last day must not be before the first."))
TOO_LONG = Message(N_("A computation covers at most %(n)s days."), {"n": MAX_DAYS})


def _rate(text: str) -> str | None:
    """Return a rate as stored (at least 2 decimals, at most 4), or None if malformed."""
    text = unicodedata.normalize("NFKC", text).strip()
    if not RATE.fullmatch(text):
        return None
    value = Decimal(text)
    return str(value if -value.as_tuple().exponent >= 2 else value.quantize(Decimal("0.01")))


def clean(fields: dict) -> dict:
    """Return the checked version of a standard from its form, or raise ValidationError
    keyed by field (``tier_above_<i>``, ``tier_rate_<i>`` for the tiers)."""
    get = lambda k: fields.get(k) if isinstance(fields.get(k), str) else ""  # noqa: E731
    errors: dict[str, Message] = {}
    code = get("item_code").strip().lower()
    if not CODE.fullmatch(code):
        errors["item_code"] = BAD_CODE if code else REQUIRED
    names = {}
    for key, required in (("name_zh", True), ("name_en", False)):
        names[key], error = clean_text(get(key), max_len=MAX_NAME, required=required)
        if error:
            errors[key] = error
    basis = get("basis")
    if basis not in rules.BASES:
        errors["basis"] = BAD_BASIS
    kind = get("meter_kind") if basis == "reading" else ""
    if basis == "reading" and kind not in rules.READING_UNITS:
        errors["meter_kind"] = BAD_KIND
    rate = _rate(get("rate"))
    if rate is None:
        errors["rate"] = BAD_RATE if get("rate").strip() else REQUIRED
    tiers, floor = [], Decimal(0)
    for i in range(1, TIERS + 1) if basis == "reading" else ():
        above_text, rate_text = get(f"tier_above_{i}").strip(), get(f"tier_rate_{i}").strip()
        if not above_text and not rate_text:
            continue
        above, tier_rate = unicodedata.normalize("NFKC", above_text), _rate(rate_text)
        if not AMOUNT.fullmatch(above):
            errors[f"tier_above_{i}"] = BAD_ABOVE
        elif Decimal(above) <= floor:
            errors[f"tier_above_{i}"] = TIERS_ORDER
        else:
            floor = Decimal(above)
        if tier_rate is None:
            errors[f"tier_rate_{i}"] = BAD_RATE if rate_text else REQUIRED
        tiers.append({"above": str(Decimal(above)) if AMOUNT.fullmatch(above) else above,
                      "rate": tier_rate})
    valid_from = iso_day(get("valid_from"))
    if valid_from is None:
        errors["valid_from"] = BAD_DATE if get("valid_from").strip() else REQUIRED
    if errors:
        raise ValidationError(errors)
    return {"item_code": code, **names, "basis": basis, "meter_kind": kind, "rate": rate,
            "tiers": tiers, "valid_from": valid_from.isoformat()}


def save(store: Store, fields: dict, *, actor: dict, now: datetime,
         request_id: str | None = None) -> dict:
    """Save a new version of a fee standard signed by ``actor``; return it as stored.
    Sent again with the same ``request_id``, return the one saved then and save nothing.

    :raises Forbidden: ``actor`` may not manage the fee standards.
    :raises ValidationError: a field is missing or malformed.
    """
    check_role(actor, "manage_fees")
    version = clean(fields)
    with store.lock:
        done = store.fee_standard_by_request(request_id) if request_id else None
        if done:
            return done
        store.append([new_event(None, "fee_standard_saved", actor, now,
                                {**version, "request_id": request_id})])
        return store.fee_standards()[-1]


def items(store: Store, today: date) -> list[dict]:
    """Return each item with its versions, the newest saved first, and the one in force
    ``today`` (None if all start later): {item_code, name_zh, name_en, current, versions},
    by code."""
    grouped: dict[str, list[dict]] = {}
    for version in store.fee_standards():
        grouped.setdefault(version["item_code"], []).append(version)
    result = []
    for code, versions in sorted(grouped.items()):
        current = rules.in_force(versions, today)
        for v in versions:
            v["current"] = v is current
        latest = versions[-1]
        result.append({"item_code": code, "name_zh": latest["name_zh"],
                       "name_en": latest["name_en"], "current": current,
                       "versions": versions[::-1]})
    return result


def period(fields: dict) -> tuple[date, date]:
    """Return the first and last day of the period a computation form gives: a month
    (``month`` "YYYY-MM") or two days (``start``, ``end``), or raise ValidationError."""
    get = lambda k: fields.get(k) if isinstance(fields.get(k), str) else ""  # noqa: E731
    if get("by") != "days":
        month = get("month").strip()
        if not MONTH.fullmatch(month) or not 1 <= int(month[5:]) <= 12 or int(month[:4]) < 1:
            raise ValidationError({"month": BAD_MONTH if month else REQUIRED})
        return rules.month_period(int(month[:4]), int(month[5:]))
    errors, start, end = {}, iso_day(get("start")), iso_day(get("end"))
    for key, day in (("start", start), ("end", end)):
        if day is None:
            errors[key] = BAD_DATE if get(key).strip() else REQUIRED
    if not errors and end < start:
        errors["end"] = TO_BEFORE_FROM
    elif not errors and (end - start).days >= MAX_DAYS:
        errors["end"] = TOO_LONG
    if errors:
        raise ValidationError(errors)
    return start, end


def _meters(store: Store, household: str) -> dict[str, dict[str, dict[str, Decimal]]]:
    """The household's meters: {kind: {meter: {day: the reading that counts}}} (of two
    readings of one day, the later recorded: a correction)."""
    meters: dict[str, dict[str, dict[str, Decimal]]] = {}
    for r in store.meter_readings():  # in the order recorded
        if r["household"] == household:
            meters.setdefault(r["kind"], {}).setdefault(r["meter"], {})[r["read_on"]] = (
                Decimal(r["reading"]))
    return meters


def compute(store: Store, fields: dict, *, actor: dict) -> tuple[dict, rules.Computation]:
    """Compute what household ``fields["household"]`` pays for item ``fields["item"]`` over
    the form's ``period``; return the household and the computation. Nothing is stored.

    :raises Forbidden: ``actor`` may not compute fees.
    :raises ValidationError: a bad field, or the figure cannot be computed (no standard in
        force, no area, a missing reading: under ``result``).
    """
    check_role(actor, "compute_fees")
    errors: dict[str, Message] = {}
    household = store.household(fields.get("household") or "")
    if household is None:
        errors["household"] = BAD_HOUSEHOLD
    versions = [v for v in store.fee_standards() if v["item_code"] == fields.get("item")]
    if not versions:
        errors["item"] = BAD_ITEM
    try:
        start, end = period(fields)
    except ValidationError as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationError(errors)
    try:
        return household, rules.compute(versions, start, end, area=household.get("area") or "",
                                         meters=_meters(store, household["id"]))
    except rules.FeeError as exc:
        raise ValidationError({"result": exc.message}) from None
