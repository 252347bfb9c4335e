"""The parcel and letter register (邮件、信函, R19): plain functions over the store, no Flask.

An arrival is logged for a recipient (by name, and the household found in the archive if
there is one) with the carrier, tracking number and shelf (``receive``: one
``parcel_received`` event). The service gives it a pickup code of six digits, unique
among the parcels waiting, which the recipient is told or handed on an 80 mm slip. At
pickup the desk records who collected it and how they were identified (``collect``, or
``collect_by_code`` from the code alone: one ``parcel_collected`` event). Registered
letters go the same way, with their tracking number required.

Every change carries the form's ``request_id``: sent again, it records nothing new.
"""
from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from common.messages import N_, Message
from common.validation import REQUIRED, ValidationError, clean_text
from sync.events import new as new_event

from .. import ids
from ..permissions import check_role
from ..store import Store
from ..tickets import rules
from ..tickets.service import normalise_phone

#: What the register holds, and how each is named.
KINDS = {"parcel": N_("Parcel"), "registered_letter": N_("Registered letter"),
         "letter": N_("Letter")}
#: How the person who collected a parcel was identified.
IDENTIFIED = {"code": N_("Pickup code"), "id_card": N_("ID card"),
              "known": N_("Staff knows them"), "other": N_("Other")}
#: The carriers offered as the desk types (any other may be typed).
CARRIERS = ("顺丰", "中通", "圆通", "韵达", "申通", "京东", "EMS", "邮政")
CODE_DIGITS = 6
MAX_NAME, MAX_PHONE, MAX_CARRIER, MAX_TRACKING, MAX_SHELF = 40, 20, 20, 40, 20
#: How many collected parcels a household's page lists, and for how long the register's.
RECENT, RECENT_DAYS = 5, 2
_HOUSEHOLD = re.compile(r"h[0-9a-f]{12}")

WRONG_CODE = Message(N_("No parcel waiting has this code. Please check the digits."))
BAD_PHONE = Message(N_("Please enter an 11-digit mobile number or a landline number with its "
                       "area code."))
BAD_HOUSEHOLD = Message(N_("Please choose the household again from the search."))
BAD_CHOICE = Message(N_("Please choose one from the list."))
TRACKING_REQUIRED = Message(N_("A registered letter needs its tracking number."))
ALREADY = "this parcel was collected already"


class UnknownParcel(LookupError):
    """No parcel has this id."""


def pick_household(store: Store, raw: object) -> tuple[dict | None, Message | None]:
    """Return the household of the archive a form picked (None if none), or the error."""
    hid = raw.strip() if isinstance(raw, str) else ""
    if not hid:
        return None, None
    household = store.household(hid) if _HOUSEHOLD.fullmatch(hid) else None
    return (household, None) if household else (None, BAD_HOUSEHOLD)


def clean_phone(raw: object) -> tuple[str, Message | None]:
    text, error = clean_text(raw, max_len=MAX_PHONE)
    if error or not text:
        return text, error
    phone = normalise_phone(text)
    return (phone, None) if phone else (text, BAD_PHONE)


def _check_arrival(store: Store, form: dict) -> dict:
    """Return the fields of an arrival as they are stored, or raise ValidationError."""
    errors, clean = {}, {}
    kind = form.get("kind") or "parcel"
    if kind not in KINDS:
        errors["kind"] = BAD_CHOICE
    household, errors["household"] = pick_household(store, form.get("household"))
    clean["household"] = household["id"] if household else None
    clean["recipient"], errors["recipient"] = clean_text(form.get("recipient"),
                                                         max_len=MAX_NAME, required=True)
    clean["phone"], errors["phone"] = clean_phone(form.get("phone"))
    for field, limit in (("carrier", MAX_CARRIER), ("tracking", MAX_TRACKING),
                         ("shelf", MAX_SHELF)):
        clean[field], errors[field] = clean_text(form.get(field), max_len=limit)
    if kind == "registered_letter" and not clean["tracking"] and not errors["tracking"]:
        errors["tracking"] = TRACKING_REQUIRED
    errors = {k: v for k, v in errors.items() if v}
    if errors:
        raise ValidationError(errors)
    return {"kind": kind, **clean, "phone": clean["phone"] or None}


def _new_code(store: Store) -> str:
    """Return a pickup code no parcel waiting has (call under the lock)."""
    taken = {p["code"] for p in store.parcels_waiting()}
    while True:
        code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
        if code not in taken:
            return code


def receive(store: Store, form: dict, *, actor: dict, now: datetime,
            request_id: str | None = None) -> dict:
    """Log the arrival of a parcel or letter (``form``: kind, household, recipient,
    phone, carrier, tracking, shelf) with a new pickup code; return it as stored. Sent
    again with the same ``request_id``, return the one logged then and record nothing.

    :raises Forbidden: ``actor`` may not log parcels.
    :raises ValidationError: a field is missing or wrong (keyed by field).
    """
    check_role(actor, "log_parcels")
    fields = _check_arrival(store, form)
    with store.lock:
        done = store.parcel_by_request(request_id) if request_id else None
        if done:
            return done
        pid = ids.new_ticket_id(now)  # a ULID: sortable and unique, like a ticket's
        store.append([new_event(None, "parcel_received", actor, now, {
            "id": pid, **fields, "code": _new_code(store), "request_id": request_id})])
        return store.parcel(pid)


def _check_pickup(collected_by: object, identified_by: object) -> tuple[str, str]:
    errors = {}
    name, errors["collected_by"] = clean_text(collected_by, max_len=MAX_NAME, required=True)
    how = identified_by if identified_by in IDENTIFIED else ""
    errors["identified_by"] = None if how else (BAD_CHOICE if identified_by else REQUIRED)
    errors = {k: v for k, v in errors.items() if v}
    if errors:
        raise ValidationError(errors)
    return name, how


def _collect(store: Store, parcel: dict, name: str, how: str, actor: dict, now: datetime,
             request_id: str | None) -> dict:
    if parcel["collected_at"]:
        raise rules.RuleError(ALREADY)
    store.append([new_event(None, "parcel_collected", actor, now, {
        "id": parcel["id"], "collected_by": name, "identified_by": how,
        "request_id": request_id})])
    return store.parcel(parcel["id"])


def collect(store: Store, pid: str, collected_by: object, identified_by: object, *,
            actor: dict, now: datetime, request_id: str | None = None) -> dict:
    """Record that ``collected_by`` (a name, required) collected the parcel ``pid``,
    identified as ``identified_by`` (a key of ``IDENTIFIED``); return it. Sent again
    with the same ``request_id``, return it and record nothing.

    :raises Forbidden: ``actor`` may not log parcels.
    :raises UnknownParcel: no parcel has ``pid``.
    :raises ValidationError: no name, or no way of identifying from the list.
    :raises RuleError: it was collected already.
    """
    check_role(actor, "log_parcels")
    with store.lock:
        parcel = store.parcel(pid)
        if parcel is None:
            raise UnknownParcel(pid)
        if request_id and parcel["collect_request_id"] == request_id:
            return parcel
        name, how = _check_pickup(collected_by, identified_by)
        return _collect(store, parcel, name, how, actor, now, request_id)


def collect_by_code(store: Store, code: object, collected_by: object, identified_by: object,
                    *, actor: dict, now: datetime, request_id: str | None = None) -> dict:
    """Record the pickup of the parcel waiting with the pickup ``code``, as ``collect``;
    return it. Sent again with the same ``request_id``, return it and record nothing.

    :raises Forbidden: ``actor`` may not log parcels.
    :raises ValidationError: no parcel waiting has ``code`` (``code``), no name, or no
        way of identifying from the list.
    """
    check_role(actor, "log_parcels")
    code = "".join(ch for ch in code if ch.isdigit()) if isinstance(code, str) else ""
    with store.lock:
        done = store.parcel_by_request(request_id) if request_id else None
        if done and done["collect_request_id"] == request_id:
            return done
        parcel = next((p for p in store.parcels_waiting() if p["code"] == code), None)
        errors = {} if parcel else {"code": REQUIRED if not code else WRONG_CODE}
        try:
            name, how = _check_pickup(collected_by, identified_by)
        except ValidationError as exc:
            errors.update(exc.errors)
        if errors:
            raise ValidationError(errors)
        return _collect(store, parcel, name, how, actor, now, request_id)


def _waited(parcel: dict, now: datetime) -> dict:
    """``parcel`` with ``waited``: the minutes since it arrived, until now or its pickup."""
    end = datetime.fromisoformat(parcel["collected_at"]) if parcel["collected_at"] else now
    start = datetime.fromisoformat(parcel["received_at"])
    return {**parcel, "waited": max(0, int((end - start).total_seconds() // 60))}


def waiting(store: Store, now: datetime) -> list[dict]:
    """Return the parcels and letters waiting at ``now``, the longest waiting first, each
    with ``waited`` (minutes)."""
    return [_waited(p, now) for p in store.parcels_waiting()]


def recent(store: Store, now: datetime) -> list[dict]:
    """Return the parcels collected in the last ``RECENT_DAYS`` days, the latest first."""
    return [_waited(p, now) for p in store.parcels_collected(now - timedelta(days=RECENT_DAYS))]


def search(parcels: list[dict], query: str, labels: dict[str, str]) -> list[dict]:
    """Return the ``parcels`` whose pickup code, recipient, phone, tracking number or
    household (its label in ``labels``, by id: building and unit) contains ``query``."""
    q = query.strip().casefold()
    if not q:
        return parcels
    return [p for p in parcels
            if any(q in (text or "").casefold() for text in (
                p["code"], p["recipient"], p["phone"], p["tracking"],
                labels.get(p["household"] or "")))]


def for_household(store: Store, hid: str, now: datetime) -> dict:
    """Return the parcels of household ``hid`` for its page: ``waiting`` (the longest
    waiting first) and the ``RECENT`` latest ``collected``."""
    parcels = [_waited(p, now) for p in store.parcels_of(hid)]
    return {"waiting": [p for p in reversed(parcels) if not p["collected_at"]],
            "collected": [p for p in parcels if p["collected_at"]][:RECENT]}
