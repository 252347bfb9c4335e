"""The site's locations (R17): import, add, rename, retire, demo locations, search.

Plain functions over the store. Every change is an event signed by its actor (R8):
``locations_imported`` for a CSV, ``location_saved`` for one location. A location is
never deleted: retiring keeps its row (and old tickets' references) with ``active``
False. (Code and data say *location*; the pages, their addresses and the posters say
*place*, the word visitors read.)
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from common import csvfile
from common.csvfile import BAD_CELL, BadCSV, problem
from common.messages import N_, Message
from common.validation import REQUIRED, ValidationError, clean_text
from sync.events import new as new_event

from ..store import Store

HEADER = ["code", "name_zh", "name_en", "building"]
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
SYSTEM = {"role": "system", "id": "system", "name": "system"}
MAX_NAME = 80

BAD_CODE = Message(N_("Use 1 to 32 letters, digits, - or _ (no spaces)."))
CODE_EXISTS = Message(N_("A place with this code exists already. Rename it in the list instead."))
# CSV problems, besides those of common.csvfile
BAD_CSV_CODE = N_("code %(code)s must be 1-32 letters, digits, - or _")
SAME_CODE = N_("code %(code)s already on line %(line)s")
NO_ROWS = N_("no locations in the file")
#: QR posters printed per page: ten A4 sheets, a few hundred milliseconds to draw
POSTERS_PER_PAGE = 20

DEMO = [
    {"code": "DEMO-T1", "name_zh": "1号教学楼", "name_en": "Teaching Building 1", "building": "1号教学楼"},
    {"code": "DEMO-T1-201", "name_zh": "1号教学楼 201教室", "name_en": "Teaching Building 1, Room 201", "building": "1号教学楼"},
    {"code": "DEMO-D3", "name_zh": "3号学生公寓", "name_en": "Student Residence 3", "building": "3号学生公寓"},
    {"code": "DEMO-D3-LOBBY", "name_zh": "3号学生公寓 大堂", "name_en": "Student Residence 3, Lobby", "building": "3号学生公寓"},
    {"code": "DEMO-LIB", "name_zh": "图书馆", "name_en": "Library", "building": "图书馆"},
    {"code": "DEMO-CANTEEN", "name_zh": "第一食堂", "name_en": "Canteen 1", "building": "第一食堂"},
    {"code": "DEMO-GYM", "name_zh": "体育馆", "name_en": "Gymnasium", "building": "体育馆"},
    {"code": "DEMO-GATE-N", "name_zh": "北门", "name_en": "North Gate", "building": ""},
]


class UnknownLocation(LookupError):
    """No location, active or retired, has this code."""


def parse_csv(text: str) -> list[dict]:
    """Parse and check a locations CSV (header ``code,name_zh,name_en,building``).

    :raises BadCSV: listing every bad row by line number; nothing is imported.
    """
    lines, problems = csvfile.read(text, [HEADER])
    rows, seen = [], {}
    for line, (code, name_zh, name_en, building) in lines:
        if not CODE.fullmatch(code):
            problems.append((line, problem(BAD_CSV_CODE, code=repr(code))))
        elif code in seen:
            problems.append((line, problem(SAME_CODE, code=code, line=seen[code])))
        seen.setdefault(code, line)
        for label, value, required in (("name_zh", name_zh, True), ("name_en", name_en, False),
                                       ("building", building, False)):
            if clean_text(value, max_len=MAX_NAME, required=required)[1]:
                problems.append((line, problem(BAD_CELL, column=label)))
        rows.append({"code": code, "name_zh": name_zh, "name_en": name_en, "building": building})
    if problems:
        raise BadCSV(problems)
    if not rows:
        raise BadCSV([(1, problem(NO_ROWS))])
    return rows


def import_rows(store: Store, rows: list[dict], now: datetime, actor: dict = SYSTEM) -> int:
    """Record the rows as one event (all or nothing); replace demo locations. Return the count."""
    with store.lock:
        replace_demo = any(loc.get("demo") for loc in store.locations())
        store.append([new_event(None, "locations_imported", actor, now,
                                {"rows": rows, "replace_demo": replace_demo})])
    return len(rows)


def import_csv(store: Store, data: bytes, now: datetime, actor: dict) -> int:
    """Check an uploaded CSV file and import it as :func:`import_rows` does; return the count.

    :raises BadCSV: the file is missing, not UTF-8, or has bad rows; nothing is imported.
    """
    return import_rows(store, parse_csv(csvfile.decode(data)), now, actor)


def _clean(fields: dict) -> dict:
    """Return the checked fields of one location, or raise ValidationError."""
    code = clean_text(fields.get("code"), max_len=64)[0]
    clean, errors = {"code": code}, {}
    if not CODE.fullmatch(code):
        errors["code"] = BAD_CODE if code else REQUIRED
    for name, required in (("name_zh", True), ("name_en", False), ("building", False)):
        clean[name], error = clean_text(fields.get(name), max_len=MAX_NAME, required=required)
        if error:
            errors[name] = error
    if errors:
        raise ValidationError(errors)
    return clean


def _record(store: Store, location: dict, now: datetime, actor: dict) -> dict:
    store.append([new_event(None, "location_saved", actor, now, location)])
    return store.location(location["code"])


def save_location(store: Store, fields: dict, now: datetime, actor: dict, *,
                  new: bool = False) -> dict:
    """Add a location (``new``) or rename the one with that code; return it as saved.

    Adding the code of a retired location brings it back with the new names. A rename
    keeps it active or retired; the old names stay in the event log (R6).
    :raises ValidationError: a bad field, or ``new`` with the code of an active location.
    :raises UnknownLocation: a rename of a code that no location has.
    """
    location = _clean(fields)
    with store.lock:
        old = store.location(location["code"])
        if new and old and old["active"]:
            raise ValidationError({"code": CODE_EXISTS})
        if not new and old is None:
            raise UnknownLocation(location["code"])
        location["active"] = True if new else old["active"]
        if old and all(old.get(k) == v for k, v in location.items()):
            return old  # nothing changed (a second tap): nothing to record
        return _record(store, location, now, actor)


def _set_active(store: Store, code: str, active: bool, now: datetime, actor: dict) -> dict:
    with store.lock:
        old = store.location(code)
        if old is None:
            raise UnknownLocation(code)
        if old["active"] == active:
            return old
        location = {k: old.get(k) or "" for k in HEADER}
        return _record(store, {**location, "active": active}, now, actor)


def retire(store: Store, code: str, now: datetime, actor: dict) -> dict:
    """Retire a location: visitors no longer see it and its QR code says so; its row stays.

    :raises UnknownLocation: no location has ``code``.
    """
    return _set_active(store, code, False, now, actor)


def restore(store: Store, code: str, now: datetime, actor: dict) -> dict:
    """Bring a retired location back, with its names as they were.

    :raises UnknownLocation: no location has ``code``.
    """
    return _set_active(store, code, True, now, actor)


def get_location(store: Store, code: str) -> dict:
    """Return the location with ``code``, active or retired.

    :raises UnknownLocation: no location has ``code``.
    """
    location = store.location(code)
    if location is None:
        raise UnknownLocation(code)
    return location


@dataclass(frozen=True)
class PosterPage:
    """One page of QR posters: ``locations`` to print, page ``number`` of ``pages``."""

    locations: list[dict]
    number: int
    pages: int
    total: int
    buildings: list[str]


def poster_page(store: Store, *, code: str = "", building: str = "", page: int = 1,
                per_page: int = POSTERS_PER_PAGE) -> PosterPage:
    """Return the active locations to print QR posters for: one ``code``, or one page of
    ``per_page`` of them, of one ``building`` or of every building (empty). A page past
    the last is the last, so a request costs at most one page whatever the number of
    places.

    :raises UnknownLocation: ``code`` is given but is not an active location.
    """
    active = store.locations()
    buildings = sorted({loc["building"] for loc in active if loc.get("building")})
    if code:
        location = get_location(store, code)
        if not location["active"]:
            raise UnknownLocation(code)
        return PosterPage([location], 1, 1, 1, buildings)
    chosen = [loc for loc in active if not building or loc.get("building") == building]
    pages = max(1, -(-len(chosen) // per_page))
    number = min(max(page, 1), pages)
    start = (number - 1) * per_page
    return PosterPage(chosen[start:start + per_page], number, pages, len(chosen), buildings)


def ensure_demo(store: Store, now: datetime) -> None:
    """On a first start with no locations at all, add the clearly marked demo ones."""
    with store.lock:
        if store.locations(active_only=False):
            return
        store.append([new_event(None, "locations_imported", SYSTEM, now,
                                {"rows": [{**r, "demo": True} for r in DEMO],
                                 "replace_demo": False})])


def search(store: Store, query: str, limit: int = 60) -> list[dict]:
    """Return active locations whose code, names or building contain ``query``."""
    q = query.strip().casefold()[:40]
    locations = store.locations()
    if q:
        locations = [loc for loc in locations
                     if any(q in (loc.get(k) or "").casefold()
                            for k in ("code", "name_zh", "name_en", "building"))]
    return locations[:limit]


def location_name(location: dict, lang: str) -> str:
    """Return a location's name in ``lang`` ("zh" or "en"; English falls back to Chinese)."""
    return location["name_zh"] if lang == "zh" else location.get("name_en") or location["name_zh"]
