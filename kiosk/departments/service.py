"""The site's departments and its emergency escalation chain (R9-R12): who a matter goes
to, and whom the desk tells, in order, when something serious happens.

Plain functions over the store. Every change is an event signed by its actor (R8):
``department_saved`` for one department (all its fields), ``escalation_saved`` for the
whole chain. A department is never deleted: taking it out of use keeps its row, and old
tickets' references, with ``active`` False. Saving what is already there records nothing,
so a form sent twice stores one event.
"""
from __future__ import annotations

import copy
from datetime import datetime
from typing import Iterable

from common.messages import N_, Message
from common.validation import REQUIRED, ValidationError, clean_text
from sync.events import new as new_event

from ..locations.service import CODE, SYSTEM
from ..store import Store
from ..tickets.service import BAD_PHONE, normalise_phone

MAX_NAME = 40
MAX_PHONE = 20
MAX_LEVELS = 6
#: The fields of one level of the escalation chain, as stored.
LEVEL_FIELDS = ("title_zh", "title_en", "name", "phone")
#: Codes the pages' own addresses use (/staff/departments/new, .../escalation).
RESERVED_CODES = frozenset({"new", "escalation"})

BAD_CODE = Message(N_("Use 1 to 32 letters, digits, - or _ (no spaces)."))
CODE_TAKEN = Message(N_("This code is taken. Please choose another one."))
BAD_MEMBERS = Message(N_("Please choose members from the list of staff accounts."))
NO_LEVELS = Message(N_("Please fill in at least one level."))
TOO_MANY_LEVELS = N_("Please keep the chain to %(n)s levels or fewer.")

#: Every site starts with these (``ensure_defaults``); the store lists them first, in this
#: order (``projections.directory.SEED_ORDER``). The manager adds phones and members.
DEFAULT_DEPARTMENTS = [
    {"code": code, "name_zh": name_zh, "name_en": name_en, "phone": "", "members": [],
     "active": True}
    for code, name_zh, name_en in (
        ("maintenance", "维修部", "Maintenance"),
        ("cleaning", "保洁", "Cleaning"),
        ("security", "保安", "Security"),
        ("greening", "绿化", "Greening"),
        ("energy", "能源中心", "Energy centre"),
        ("customer_service", "客户服务部", "Customer service"),
    )]
#: Whom the desk tells about an emergency, in order (R12); the site fills in the names and
#: phones.
DEFAULT_CHAIN = [
    {"title_zh": title_zh, "title_en": title_en, "name": "", "phone": ""}
    for title_zh, title_en in (
        ("客户服务部经理", "Customer-service manager"),
        ("物管中心主任", "Property-centre director"),
        ("能源中心主任", "Energy-centre director"),
        ("后勤总公司领导", "Company leaders"),
    )]


class UnknownDepartment(LookupError):
    """No department, in use or not, has this code."""


def _phone(value: object) -> tuple[str, Message | None]:
    """Return an optional phone number normalised, or the error to show."""
    text, error = clean_text(value, max_len=MAX_PHONE)
    if error or not text:
        return text, error
    phone = normalise_phone(text)
    return (phone, None) if phone else (text, BAD_PHONE)


def _clean_department(fields: dict, staff_ids: Iterable[str]) -> tuple[dict, dict]:
    """Return the checked names, phone and members of a department, and the errors."""
    clean, errors = {}, {}
    for name, required in (("name_zh", True), ("name_en", False)):
        clean[name], error = clean_text(fields.get(name), max_len=MAX_NAME, required=required)
        if error:
            errors[name] = error
    clean["phone"], error = _phone(fields.get("phone"))
    if error:
        errors["phone"] = error
    members = fields.get("members") or []
    members = [members] if isinstance(members, str) else list(members)
    if not all(isinstance(m, str) for m in members) or not set(members) <= set(staff_ids):
        errors["members"] = BAD_MEMBERS
    clean["members"] = sorted({m for m in members if isinstance(m, str)})
    return clean, errors


def save_department(store: Store, code: str, fields: dict, *, actor: dict, now: datetime,
                    staff_ids: Iterable[str], new: bool = False) -> dict:
    """Add the department ``code`` or change it; return it as saved.

    ``fields``: ``name_zh`` (required), ``name_en``, ``phone`` (a mobile or a landline,
    stored as digits), ``members`` (staff account ids, each one of ``staff_ids``) and
    ``active`` (kept as it was when left out; a new department is in use). A department
    not yet known needs a code of 1-32 letters, digits, - or _ that no other has.
    Nothing is recorded when nothing changed.
    :raises ValidationError: a bad field, or ``new`` with the code of a department.
    """
    code = clean_text(code, max_len=64)[0]
    clean, errors = _clean_department(fields, staff_ids)
    with store.lock:
        old = store.department(code)
        if old is None or new:
            if not CODE.fullmatch(code):
                errors["code"] = BAD_CODE if code else REQUIRED
            elif old is not None or code.casefold() in RESERVED_CODES:
                errors["code"] = CODE_TAKEN
        if errors:
            raise ValidationError(errors)
        active = fields.get("active", True if old is None else old["active"])
        department = {"code": code, **clean, "active": bool(active)}
        if old == department:
            return old  # nothing changed (a second tap): nothing to record
        store.append([new_event(None, "department_saved", actor, now, department)])
        return store.department(code)


def get_department(store: Store, code: str) -> dict:
    """Return the department with ``code``, in use or not.

    :raises UnknownDepartment: no department has ``code``.
    """
    department = store.department(code)
    if department is None:
        raise UnknownDepartment(code)
    return department


def level_field(i: int, name: str) -> str:
    """Return the form field (and error key) of field ``name`` of the chain's row ``i``."""
    return f"levels-{i}-{name}"


def _blank(fields: dict) -> bool:
    return not any(isinstance(fields.get(name), str) and fields[name].strip()
                   for name in LEVEL_FIELDS)


def _clean_level(i: int, fields: dict, errors: dict) -> dict:
    level = {}
    for name in ("title_zh", "title_en", "name"):
        level[name], error = clean_text(fields.get(name), max_len=MAX_NAME,
                                        required=name == "title_zh")
        if error:
            errors[level_field(i, name)] = error
    level["phone"], error = _phone(fields.get("phone"))
    if error:
        errors[level_field(i, "phone")] = error
    return level


def save_chain(store: Store, levels: list[dict], *, actor: dict, now: datetime) -> list[dict]:
    """Set the whole escalation chain, in order; return it as saved.

    Each level: ``title_zh`` (required), ``title_en``, ``name``, ``phone`` (optional, a
    mobile or a landline). A row with every field empty is left out; 1 to ``MAX_LEVELS``
    levels remain. Errors are keyed by ``level_field(row, field)``, or ``levels``.
    Nothing is recorded when nothing changed.
    :raises ValidationError: a bad field, no level, or too many.
    """
    errors: dict[str, Message] = {}
    chain = [_clean_level(i, fields, errors) for i, fields in enumerate(levels)
             if not _blank(fields)]
    if not chain:
        errors["levels"] = NO_LEVELS
    elif len(chain) > MAX_LEVELS:
        errors["levels"] = Message(TOO_MANY_LEVELS, {"n": MAX_LEVELS})
    if errors:
        raise ValidationError(errors)
    with store.lock:
        if store.escalation_chain() == chain:
            return chain  # nothing changed: nothing to record
        store.append([new_event(None, "escalation_saved", actor, now, {"levels": chain})])
        return store.escalation_chain()


def ensure_defaults(store: Store, now: datetime) -> None:
    """On a first start, add the usual departments and escalation chain, once: a site
    that has any department (or a chain) keeps its own."""
    with store.lock:
        events = []
        if not store.departments(active_only=False):
            events += [new_event(None, "department_saved", SYSTEM, now, copy.deepcopy(d))
                       for d in DEFAULT_DEPARTMENTS]
        if not store.escalation_chain():
            events.append(new_event(None, "escalation_saved", SYSTEM, now,
                                    {"levels": copy.deepcopy(DEFAULT_CHAIN)}))
        if events:
            store.append(events)


def department_name(department: dict, lang: str) -> str:
    """Return a department's name in ``lang`` ("zh" or "en"; English falls back to Chinese)."""
    return (department["name_zh"] if lang == "zh"
            else department.get("name_en") or department["name_zh"])


def level_title(level: dict, lang: str) -> str:
    """Return the title of a level of the chain in ``lang`` (English falls back to Chinese)."""
    return level["title_zh"] if lang == "zh" else level.get("title_en") or level["title_zh"]
