"""The customer archive (R17, R21): plain functions over the store, no Flask.

A household is saved whole, as one ``household_saved`` event carrying its full state
(building, unit, area, people, note), signed by a manager: edited one at a time
(``save``) or imported from a CSV file (``import_csv``), one row per person, the rows of
one building and unit forming one household, every household of the file in ONE append
(one fsync): all of them or, if any row is wrong, none. Every change carries the form's
``request_id``: sent again, it records nothing new.

Who sees what (docs/requirements.md, R17): the desk (``read_households``) finds a
household and sees its people with their phone numbers, its tickets and parcels; a
manager (``manage_households``) also sees its area and note and the arrears details, and
edits and imports.
"""
from __future__ import annotations

import re
from datetime import datetime

from common import csvfile
from common.csvfile import BAD_CELL, BadCSV, problem
from common.messages import N_, Message
from common.validation import REQUIRED, ValidationError, clean_text
from sync.events import new as new_event

from . import household_id
from ..permissions import check_role, may
from ..store import Store
from ..tickets.service import BAD_PHONE, MAX_PHONE, normalise_phone

MAX_BUILDING, MAX_UNIT, MAX_NAME, MAX_NOTE = 40, 40, 40, 500
MAX_PEOPLE = 30
#: The most people an archive file may hold, and its size in bytes.
MAX_ROWS, MAX_UPLOAD = 100_000, 8 * 1024 * 1024
#: How many households a lookup lists (the picker, the search page).
FIND_LIMIT = 8

RELATIONS = {
    "owner": N_("Owner"), "tenant": N_("Tenant"), "resident": N_("Resident"),
    "student": N_("Student"), "teacher": N_("Teacher"), "other": N_("Other"),
}
#: The Chinese words an archive file may use for a relation.
RELATION_WORDS = {"业主": "owner", "租户": "tenant", "住户": "resident", "学生": "student",
                  "教师": "teacher", "老师": "teacher", "其他": "other"}
HEADER = ("building", "unit", "area", "name", "phone", "relation")
HEADER_ZH = ("楼栋", "房号", "面积", "姓名", "电话", "身份")
_AREA = re.compile(r"\d{1,5}(\.\d{1,2})?")

BAD_AREA = Message(N_("Please enter the area in square metres, e.g. 89.5."))
BAD_RELATION = Message(N_("Please choose a relation from the list."))
TOO_MANY = Message(N_("A household holds at most %(n)s people."), {"n": MAX_PEOPLE})
EXISTS = Message(N_("The archive holds this unit already. Open it from the search to edit it."))
NO_PEOPLE = Message(N_("Please enter at least one person."))
# CSV problems, besides those of common.csvfile
BAD_CSV_PHONE = N_("phone %(phone)s is not a mobile or landline number")
BAD_CSV_AREA = N_("area %(area)s is not a number of square metres")
BAD_CSV_RELATION = N_("relation %(relation)s is not one of 业主, 租户, 住户, 学生, 教师, 其他")
OTHER_AREA = N_("area %(area)s differs from %(first)s on line %(line)s for the same unit")
CROWDED = N_("more than %(n)s people in %(unit)s")
NO_ROWS = N_("no people in the file")
TOO_BIG = N_("more than %(n)s people in one file")


class UnknownHousehold(LookupError):
    """No household has this id."""


def relation_code(raw: str) -> str | None:
    """Return the relation code of ``raw`` (a code or its Chinese word); empty is "other"."""
    raw = raw.strip()
    if not raw:
        return "other"
    return raw.lower() if raw.lower() in RELATIONS else RELATION_WORDS.get(raw)


def _area(raw: object) -> tuple[str, bool]:
    """Return an optional area as typed (square metres) and whether it is well-formed."""
    text = clean_text(raw, max_len=12)[0]
    return text, not text or bool(_AREA.fullmatch(text))


# -- reading ----------------------------------------------------------------------
def get(store: Store, hid: str) -> dict:
    """Return the household ``hid``.

    :raises UnknownHousehold: no household has ``hid``.
    """
    household = store.household(hid)
    if household is None:
        raise UnknownHousehold(hid)
    return household


def find(store: Store, query: str) -> tuple[list[dict], bool]:
    """Return up to ``FIND_LIMIT`` households for ``query`` (4 or more digits of a phone
    number, or part of a building and unit) and whether there are more."""
    return store.find_households(query.strip()[:40], FIND_LIMIT)


def tickets(store: Store, hid: str) -> list[dict]:
    """Return every ticket reported for household ``hid``, the newest first: an open one
    as it is now, a closed one as reported, with the status "closed"."""
    with store.lock:
        linked = store.household_tickets(hid)
        still_open = {t["id"]: t for t in store.open_summaries() if t.get("household") == hid}
    return [still_open.get(t["id"]) or {**t, "status": "closed"} for t in reversed(linked)]


# -- saving one household -----------------------------------------------------------
def _clean_person(fields: dict, i: int, errors: dict) -> dict | None:
    """Return person ``i`` of a form (``name_<i>``, ``phone_<i>``, ``relation_<i>``), None
    for an empty row; put its problems into ``errors``."""
    name, err = clean_text(fields.get(f"name_{i}"), max_len=MAX_NAME)
    phone_text, phone_err = clean_text(fields.get(f"phone_{i}"), max_len=MAX_PHONE)
    if not name and not phone_text:
        return None
    if err or not name:
        errors[f"name_{i}"] = err or REQUIRED
    phone = normalise_phone(phone_text) if phone_text else ""
    if phone_err or phone is None:
        errors[f"phone_{i}"] = phone_err or BAD_PHONE
    relation = fields.get(f"relation_{i}", "")
    if relation not in RELATIONS:
        errors[f"relation_{i}"] = BAD_RELATION
    return {"name": name, "phone": phone or phone_text, "relation": relation}


def clean(fields: dict, rows: int) -> dict:
    """Return the checked household of an edit form with ``rows`` people rows.

    :raises ValidationError: a bad field, keyed as the form names it.
    """
    errors: dict[str, Message] = {}
    household = {}
    for name, limit in (("building", MAX_BUILDING), ("unit", MAX_UNIT)):
        household[name], err = clean_text(fields.get(name), max_len=limit, required=True)
        if err:
            errors[name] = err
    household["area"], ok = _area(fields.get("area"))
    if not ok:
        errors["area"] = BAD_AREA
    household["note"], err = clean_text(fields.get("note"), max_len=MAX_NOTE, multiline=True)
    if err:
        errors["note"] = err
    people = [p for p in (_clean_person(fields, i, errors) for i in range(rows)) if p]
    if not people:
        errors["people"] = NO_PEOPLE
    elif len(people) > MAX_PEOPLE:
        errors["people"] = TOO_MANY
    if errors:
        raise ValidationError(errors)
    return {**household, "people": people}


def save(store: Store, fields: dict, rows: int, *, actor: dict, now: datetime,
         new: bool = False, request_id: str | None = None) -> dict:
    """Save one household as a manager typed it (``clean``); return it as stored. Its id
    comes from its building and unit. Sent again with the same ``request_id``, return it
    and record nothing.

    :raises Forbidden: ``actor`` may not manage the archive.
    :raises ValidationError: a bad field, or a ``new`` household of a unit the archive
        holds already (``unit``).
    """
    check_role(actor, "manage_households")
    household = clean(fields, rows)
    hid = household_id(household["building"], household["unit"])
    with store.lock:
        if request_id and store.household_saved_with(request_id):
            return store.household(hid) or household
        if new and store.household(hid):
            raise ValidationError({"unit": EXISTS})
        store.append([new_event(None, "household_saved", actor, now,
                                {"id": hid, **household, "request_id": request_id})])
        return store.household(hid)


# -- importing a file -----------------------------------------------------------------
def parse_csv(text: str) -> list[dict]:
    """Parse and check an archive file: one row per person; return the households it
    forms (building and unit as first written, area, people in the file's order).

    :raises BadCSV: listing every bad row by line number; nothing is imported.
    """
    rows, problems = csvfile.read(text, [HEADER, HEADER_ZH], max_rows=MAX_ROWS,
                                  too_many=TOO_BIG)
    households: dict[str, dict] = {}
    areas: dict[str, int] = {}  # household id -> the line its area came from
    for line, (building, unit, area, name, phone, relation) in rows:
        bad = len(problems)
        for column, value, limit in (("building", building, MAX_BUILDING),
                                     ("unit", unit, MAX_UNIT), ("name", name, MAX_NAME)):
            if clean_text(value, max_len=limit, required=True)[1]:
                problems.append((line, problem(BAD_CELL, column=column)))
        number = normalise_phone(phone) if phone else ""
        if number is None:
            problems.append((line, problem(BAD_CSV_PHONE, phone=repr(phone))))
        area_ok = _area(area)[1]
        if not area_ok:
            problems.append((line, problem(BAD_CSV_AREA, area=repr(area))))
        code = relation_code(relation)
        if code is None:
            problems.append((line, problem(BAD_CSV_RELATION, relation=repr(relation))))
        if len(problems) > bad:
            continue
        hid = household_id(building, unit)
        household = households.setdefault(hid, {"id": hid, "building": building, "unit": unit,
                                                "area": "", "people": []})
        if area and household["area"] and area != household["area"]:
            problems.append((line, problem(OTHER_AREA, area=repr(area),
                                           first=household["area"], line=areas[hid])))
            continue
        if area and not household["area"]:
            household["area"], areas[hid] = area, line
        if len(household["people"]) == MAX_PEOPLE:
            problems.append((line, problem(CROWDED, n=MAX_PEOPLE, unit=f"{building} {unit}")))
            continue
        household["people"].append({"name": name, "phone": number, "relation": code})
    if problems:
        raise BadCSV(problems)
    if not households:
        raise BadCSV([(1, problem(NO_ROWS))])
    return list(households.values())


def import_households(store: Store, households: list[dict], *, actor: dict, now: datetime,
                      request_id: str | None = None) -> int:
    """Save every household of a checked file in ONE append (one fsync): all or nothing.
    A household already in the archive gets the file's people (and area, if the file
    gives one) and keeps its note. Return how many households were saved; sent again
    with the same ``request_id``, save nothing and return 0."""
    check_role(actor, "manage_households")
    with store.lock:
        if request_id and store.household_saved_with(request_id):
            return 0
        events = []
        for household in households:
            old = store.household(household["id"]) or {}
            events.append(new_event(None, "household_saved", actor, now, {
                **household, "area": household["area"] or old.get("area") or "",
                "note": old.get("note") or "", "request_id": request_id}))
        store.append(events)
    return len(events)


def import_csv(store: Store, data: bytes, filename: str, *, actor: dict, now: datetime,
               request_id: str | None = None) -> int:
    """Check an uploaded archive file (UTF-8, with or without a BOM) and import it as
    ``import_households`` does; return how many households were saved.

    :raises Forbidden: ``actor`` may not manage the archive.
    :raises BadCSV: the file is missing, not UTF-8, or has bad rows; nothing is stored.
    """
    check_role(actor, "manage_households")
    try:
        households = parse_csv(csvfile.decode(data))
    except BadCSV as exc:
        exc.filename = filename
        raise
    return import_households(store, households, actor=actor, now=now, request_id=request_id)


def may_manage(role: str | None) -> bool:
    """Whether ``role`` sees a household's area, note and arrears details and edits it."""
    return may(role, "manage_households")
