"""The move-in hand-over (入伙手续, R24): plain functions over the store, no Flask.

A receptionist starts a move-in for a household of the archive and its new owner or
tenant (``start``: ``movein_started``), then takes the checklist's steps in order, each
one signed event (``do_step``: ``movein_step_done``), so a move-in can be paused and
resumed; the last step completes it in the same append (``movein_completed``). What a
step records depends on its kind (``kiosk.movein.STEP_KINDS``):

- confirm: a note (e.g. which identity document was checked);
- keys: each kind of key and how many, each recorded in the item register as handed
  out for good to the new person, with the household (``registers.items.lend``);
- readings: the water, electricity and gas meters of the unit at hand-over, each
  recorded as a reading of that meter (``meters.service.record``);
- contact: the new person's name, phone and relation; saved into the household of the
  archive when the signer may manage the archive (a manager), otherwise kept on the
  move-in, listed on the household's page for a manager to add;
- notices: the notices valid now for the household's building, each ticked as shown.

A manager edits the checklist (``save_steps``: ``movein_steps_saved``); a move-in keeps
the steps it started with. Every form carries its ``request_id``: sent again, it records
nothing new; the records a step makes elsewhere carry ids derived from it, so a step
cut off half-way and sent again finishes without doubling any.
"""
from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from common.messages import N_, Message
from common.validation import REQUIRED, ValidationError, clean_text
from sync.events import new as new_event

from . import STEP_KINDS
from .. import ids
from ..households import label
from ..households import service as households
from ..meters import service as meters
from ..notices import service as notices
from ..permissions import check_role, may
from ..registers import items
from ..registers.parcels import MAX_NAME, clean_phone, pick_household
from ..store import Store
from ..tickets import rules

MAX_NOTE, MAX_LABEL, MAX_STEPS, MAX_KEY_ITEM, MAX_KEYS = 200, 30, 12, 40, 99
#: Rows of the keys step, and what they suggest.
KEY_ROWS = 4
KEY_SUGGESTIONS = ("入户门钥匙", "单元门禁卡", "信报箱钥匙", "")
#: The meters read at hand-over.
READING_KINDS = ("water", "electricity", "gas")
#: What the move-in writes as the note of the records it makes elsewhere.
RECORD_NOTE = "入伙交付"
_KEY = re.compile(r"[a-z0-9_]{1,24}")

PICK = Message(N_("Please pick the household from the archive."))
NO_KEYS = Message(N_("Please enter at least one kind of key and how many."))
BAD_COUNT = Message(N_("Please enter a whole number from 1 to %(n)s."), {"n": MAX_KEYS})
NO_READING = Message(N_("Please enter at least one meter with its reading."))
NO_METER = Message(N_("Please type the meter's code."))
NOT_SHOWN = Message(N_("Please show every notice to the new occupant and tick it."))
NOT_ARCHIVED = Message(N_("The archive cannot take this person: %(problem)s"))
NO_STEPS = Message(N_("Please keep at least one step."))
TWICE = Message(N_("Only one step may be of this kind."))
BAD_KIND = Message(N_("Please choose what the step records."))
NOT_NEXT = "this step is not the next one of the move-in"
COMPLETED = "this move-in is completed"


class UnknownMoveIn(LookupError):
    """No move-in has this id."""


# -- reading ----------------------------------------------------------------------
def get(store: Store, mid: str) -> dict:
    """Return the move-in ``mid``.

    :raises UnknownMoveIn: no move-in has ``mid``.
    """
    movein = store.movein(mid)
    if movein is None:
        raise UnknownMoveIn(mid)
    return movein


def next_step(movein: dict) -> dict | None:
    """Return the first step of ``movein`` not done yet, or None when all are."""
    return next((s for s in movein["steps"] if s["key"] not in movein["done"]), None)


def contact(movein: dict) -> dict:
    """Return the new person as last recorded: the contact step's, else the start's."""
    for step in movein["steps"]:
        if step["kind"] == "contact" and step["key"] in movein["done"]:
            return movein["done"][step["key"]]["data"]
    return movein["person"]


def unit_meters(store: Store, hid: str) -> dict[str, str]:
    """Return the code of each kind of meter read last for household ``hid``."""
    return {r["kind"]: r["meter"] for r in store.meter_readings() if r["household"] == hid}


def shown_notices(store: Store, household: dict, now: datetime) -> list[dict]:
    """Return the notices a new occupant of ``household`` is shown: those valid now for
    its building or every building."""
    return notices.current(store, now, building=household["building"])


# -- starting -----------------------------------------------------------------------
def _person(form: dict, errors: dict) -> dict:
    name, errors["name"] = clean_text(form.get("name"), max_len=MAX_NAME, required=True)
    phone, errors["phone"] = clean_phone(form.get("phone"))
    if not phone and not errors["phone"]:
        errors["phone"] = REQUIRED
    relation = form.get("relation") or ""
    if relation not in households.RELATIONS:
        errors["relation"] = households.BAD_RELATION
    return {"name": name, "phone": phone, "relation": relation}


def start(store: Store, form: dict, *, actor: dict, now: datetime,
          request_id: str | None = None) -> dict:
    """Start the move-in of a new person (``form``: household, name, phone, relation);
    return it as stored. Sent again with the same ``request_id``, return the one started
    then and record nothing.

    :raises Forbidden: ``actor`` may not hand over move-ins.
    :raises ValidationError: a field is missing or wrong (keyed by field).
    """
    check_role(actor, "move_in")
    errors: dict = {}
    household, errors["household"] = pick_household(store, form.get("household"))
    if household is None and not errors["household"]:
        errors["household"] = PICK
    person = _person(form, errors)
    errors = {k: v for k, v in errors.items() if v}
    if errors:
        raise ValidationError(errors)
    with store.lock:
        done = store.movein_by_request(request_id) if request_id else None
        if done:
            return store.movein(done["id"])
        mid = ids.new_ticket_id(now)
        store.append([new_event(None, "movein_started", actor, now, {
            "id": mid, "household": household["id"], "person": person,
            "request_id": request_id})])
        return store.movein(mid)


# -- the steps -------------------------------------------------------------------------
def _confirm(form: dict) -> dict:
    note, error = clean_text(form.get("note"), max_len=MAX_NOTE)
    if error:
        raise ValidationError({"note": error})
    return {"note": note}


def _keys(form: dict) -> list[dict]:
    errors, rows = {}, []
    for i in range(KEY_ROWS):
        item, error = clean_text(form.get(f"key_item_{i}"), max_len=MAX_KEY_ITEM)
        count = form.get(f"key_count_{i}") or ""
        count = count.strip() if isinstance(count, str) else ""
        if error:
            errors[f"key_item_{i}"] = error
        if not count:
            continue
        if not count.isdigit() or not 1 <= int(count) <= MAX_KEYS:
            errors[f"key_count_{i}"] = BAD_COUNT
        elif not item:
            errors[f"key_item_{i}"] = REQUIRED
        else:
            rows.append({"item": item, "quantity": int(count), "row": i})
    if not rows and not errors:
        errors["keys"] = NO_KEYS
    if errors:
        raise ValidationError(errors)
    return rows


def _readings(store: Store, form: dict, household: dict, now: datetime,
              tz: ZoneInfo) -> list[dict]:
    errors, rows = {}, []
    read_on = now.astimezone(tz).date()
    for kind in READING_KINDS:
        meter = form.get(f"meter_{kind}") or ""
        reading = form.get(f"reading_{kind}") or ""
        if not (isinstance(reading, str) and reading.strip()):
            continue
        fields = {"meter": meter, "kind": kind, "reading": reading,
                  "read_on": read_on.isoformat(), "household": household["id"],
                  "place": label(household)[:meters.MAX_PLACE], "note": RECORD_NOTE}
        try:
            rows.append(meters.clean(fields, read_on))
        except ValidationError as exc:
            for field, message in exc.errors.items():
                errors[f"{field}_{kind}"] = NO_METER if field == "meter" and \
                    message is REQUIRED else message
    if not rows and not errors:
        errors["readings"] = NO_READING
    if errors:
        raise ValidationError(errors)
    if form.get("confirm_lower") != "yes":
        for row in rows:
            last = meters.lower_than_previous(store, row)
            if last is not None:
                errors[f"reading_{row['kind']}"] = meters.LowerReading(last).errors["reading"]
        if errors:
            raise ValidationError(errors)
    return rows


def _notices(form: dict, listed: list[dict]) -> list[dict]:
    ticked = set(form.get("shown") or ())
    if any(n["id"] not in ticked for n in listed):
        raise ValidationError({"shown": NOT_SHOWN})
    return [{"id": n["id"], "title": n["title"]} for n in listed]


def _archive(store: Store, household: dict, person: dict, *, actor: dict, now: datetime,
             request_id: str | None) -> None:
    """Save ``person`` into ``household``: in place of someone of the same phone or
    name, else added."""
    people = [p for p in household["people"]
              if p["phone"] != person["phone"] and p["name"] != person["name"]] + [person]
    fields = {k: household.get(k) or "" for k in ("building", "unit", "area", "note")}
    for i, p in enumerate(people):
        fields.update({f"{k}_{i}": p[k] for k in ("name", "phone", "relation")})
    try:
        households.save(store, fields, len(people), actor=actor, now=now,
                        request_id=request_id and f"{request_id}:archive")
    except ValidationError as exc:
        problem = next(iter(exc.errors.values()))
        raise ValidationError({"name": Message(NOT_ARCHIVED.text, {
            "problem": problem.text % problem.params if problem.params else problem.text})})


def do_step(store: Store, mid: str, key: str, form: dict, *, actor: dict, now: datetime,
            tz: ZoneInfo, request_id: str | None = None) -> dict:
    """Record step ``key`` of move-in ``mid`` from ``form`` (its fields by the step's
    kind, see the module); return the move-in. Sent again with the same ``request_id``,
    return it and record nothing. The last step completes the move-in.

    :raises Forbidden: ``actor`` may not hand over move-ins.
    :raises UnknownMoveIn: no move-in has ``mid``.
    :raises RuleError: the move-in is completed, or ``key`` is not its next step.
    :raises ValidationError: a field is missing or wrong (keyed by field); nothing is
        recorded.
    """
    check_role(actor, "move_in")
    with store.lock:
        if request_id and (done := store.movein_by_request(request_id)):
            return get(store, done["id"])
        movein = get(store, mid)
        step = next_step(movein)
        if step is None:
            raise rules.RuleError(COMPLETED)
        if step["key"] != key:
            raise rules.RuleError(NOT_NEXT)
        household = households.get(store, movein["household"])
        person = contact(movein)
        sub = (lambda tag: f"{request_id}:{tag}") if request_id else (lambda tag: None)
        if step["kind"] == "keys":
            data = {"keys": []}
            for row in _keys(form):
                item = items.lend(store, {
                    "item": row["item"], "quantity": str(row["quantity"]),
                    "to_name": person["name"], "household": household["id"],
                    "phone": person["phone"], "due_at": "", "note": RECORD_NOTE},
                    actor=actor, now=now, tz=tz, request_id=sub(f"k{row['row']}"))
                data["keys"].append({"item": item["item"], "quantity": item["quantity"],
                                     "item_id": item["id"]})
        elif step["kind"] == "readings":
            data = {"readings": []}
            for row in _readings(store, form, household, now, tz):
                meters.record(store, row, confirmed=True, actor=actor, now=now, tz=tz,
                              request_id=sub(row["kind"]))
                data["readings"].append({k: row[k] for k in ("meter", "kind", "reading",
                                                             "read_on")})
        elif step["kind"] == "contact":
            errors: dict = {}
            data = _person(form, errors)
            errors = {k: v for k, v in errors.items() if v}
            if errors:
                raise ValidationError(errors)
            data["archived"] = may(actor.get("role"), "manage_households")
            if data["archived"]:
                _archive(store, household, {k: data[k] for k in ("name", "phone", "relation")},
                         actor=actor, now=now, request_id=request_id)
        elif step["kind"] == "notices":
            data = {"notices": _notices(form, shown_notices(store, household, now))}
        else:
            data = _confirm(form)
        events = [new_event(None, "movein_step_done", actor, now, {
            "id": mid, "step": key, "data": data, "request_id": request_id})]
        if all(s["key"] in movein["done"] or s["key"] == key for s in movein["steps"]):
            events.append(new_event(None, "movein_completed", actor, now,
                                    {"id": mid, "request_id": request_id}))
        store.append(events)
        return store.movein(mid)


# -- the checklist ---------------------------------------------------------------------
def save_steps(store: Store, form: dict, rows: int, *, actor: dict, now: datetime,
               request_id: str | None = None) -> list[dict]:
    """Save the checklist a manager edited (``form``: ``key_<i>``, ``label_zh_<i>``,
    ``label_en_<i>``, ``kind_<i>`` for ``rows`` rows, in order; a row without labels is
    dropped; a new row gets a key); return it. The kinds other than "confirm" appear at
    most once. Sent again with the same ``request_id``, record nothing.

    :raises Forbidden: ``actor`` may not edit the checklist.
    :raises ValidationError: a field is missing or wrong (keyed by field).
    """
    check_role(actor, "edit_movein_steps")
    errors, steps, kinds = {}, [], set()
    for i in range(min(rows, MAX_STEPS + KEY_ROWS)):
        zh, zh_err = clean_text(form.get(f"label_zh_{i}"), max_len=MAX_LABEL)
        en, en_err = clean_text(form.get(f"label_en_{i}"), max_len=MAX_LABEL)
        if not zh and not en and not zh_err and not en_err:
            continue
        kind = form.get(f"kind_{i}") or ""
        if zh_err or not zh:
            errors[f"label_zh_{i}"] = zh_err or REQUIRED
        if en_err:
            errors[f"label_en_{i}"] = en_err
        if kind not in STEP_KINDS:
            errors[f"kind_{i}"] = BAD_KIND
        elif kind != "confirm" and kind in kinds:
            errors[f"kind_{i}"] = TWICE
        kinds.add(kind)
        key = form.get(f"key_{i}") or ""
        steps.append({"key": key if isinstance(key, str) and _KEY.fullmatch(key) else "",
                      "label_zh": zh, "label_en": en, "kind": kind})
    if not steps:
        errors["steps"] = NO_STEPS
    elif len(steps) > MAX_STEPS:
        errors["steps"] = Message(N_("At most %(n)s steps."), {"n": MAX_STEPS})
    if errors:
        raise ValidationError(errors)
    used = {s["key"] for s in steps}
    for s in steps:
        if not s["key"] or sum(t["key"] == s["key"] for t in steps) > 1:
            s["key"] = next(k for k in (f"step{n}" for n in range(1, 99)) if k not in used)
            used.add(s["key"])
    with store.lock:
        if request_id and store.movein_by_request(request_id):
            return store.movein_steps()
        store.append([new_event(None, "movein_steps_saved", actor, now,
                                {"steps": steps, "request_id": request_id})])
        return store.movein_steps()


def for_household(store: Store, hid: str) -> list[dict]:
    """Return the move-ins of household ``hid``, the latest first, each with ``contact``
    (the new person as last recorded) and ``archived`` (in the archive's people)."""
    household = store.household(hid)
    phones = {p["phone"] for p in household["people"]} if household else set()
    return [{**m, "contact": contact(m), "archived": contact(m)["phone"] in phones}
            for m in store.household_moveins(hid)]
