"""The staff pages of the move-in hand-over (入伙手续, R24), under the guarded ``/staff``
blueprint: the move-ins in progress and the form to start one (/staff/movein), one
move-in's checklist (/staff/movein/<id>), its printed hand-over record, and the
checklist's steps a manager edits (/staff/movein/steps).

Views stay thin: parse, call one function of ``service``, render. Bad input re-renders
the page with 422, the message next to its field and everything typed kept; a step that
is not the next one (another tablet took it) is a 409.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext

from common.messages import N_
from common.validation import ValidationError

from .. import permissions, web
from ..errors import render_error
from ..extensions import get_store, htmx
from ..households import label
from ..households.service import RELATIONS
from ..meters.service import KIND_LABELS
from ..staff.auth import actor, current_staff, permission_required
from ..tickets import rules
from . import STEP_KINDS, service

bp = Blueprint("movein", __name__)

_START = ("household", "household_q", "name", "phone", "relation")
#: What a step's form may send, by the step's kind.
_STEP = {"confirm": ("note",), "contact": ("name", "phone", "relation"),
         "keys": tuple(f"key_{f}_{i}" for i in range(service.KEY_ROWS)
                       for f in ("item", "count")),
         "readings": tuple(f"{f}_{k}" for k in service.READING_KINDS
                           for f in ("meter", "reading")) + ("confirm_lower",),
         "notices": ()}
KIND_NAMES = {"confirm": N_("Confirmation with a note"), "keys": N_("Keys handed over"),
              "readings": N_("Meter readings"), "contact": N_("Contact details"),
              "notices": N_("Notices shown")}
TAKEN = (N_("Not the next step"),
         N_("This step was recorded already, or the move-in is completed. Please look at "
            "the page again."))


def step_label(step: dict) -> str:
    """A step's label in the page's language (the Chinese one when no English is given)."""
    english = get_locale().language == "en" and step.get("label_en")
    return step["label_en"] if english else step["label_zh"]


def _movein(mid: str) -> dict:
    try:
        return service.get(get_store(), mid[:40])
    except service.UnknownMoveIn:
        abort(404)


def _index_page(errors: dict | None = None, form: dict | None = None):
    store = get_store()
    hid = (form or {}).get("household", "").strip()
    moveins = store.moveins_open()
    households = {m["household"]: store.household(m["household"]) for m in moveins}
    return render_template(
        "movein/index.html", moveins=moveins, households=households, errors=errors or {},
        form=form or {"relation": "owner"}, picked=store.household(hid) if hid else None,
        relations=RELATIONS, next_step=service.next_step, step_label=step_label,
        may_edit=permissions.may(current_staff()["role"], "edit_movein_steps")
        ), 422 if errors else 200


@bp.route("/movein", methods=["GET", "POST"])
@permission_required("move_in")
def index():
    """The move-ins in progress, and the form to start one."""
    if request.method == "GET":
        return _index_page()
    form = web.form(_START)
    try:
        movein = service.start(get_store(), form, actor=actor(), now=web.now(),
                               request_id=web.request_id())
    except ValidationError as exc:
        return _index_page(exc.errors, form)
    return redirect(url_for(".movein", mid=movein["id"]), 303)


def _step_form(movein: dict, step: dict | None, household: dict) -> dict:
    """What the open step's form shows first."""
    if step is None:
        return {}
    if step["kind"] == "contact":
        return dict(service.contact(movein))
    if step["kind"] == "keys":
        return {f"key_item_{i}": s for i, s in enumerate(service.KEY_SUGGESTIONS)}
    if step["kind"] == "readings":
        return {f"meter_{k}": m for k, m in
                service.unit_meters(get_store(), household["id"]).items()}
    return {}


def _movein_page(movein: dict, errors: dict | None = None, form: dict | None = None):
    store, now = get_store(), web.now()
    household = store.household(movein["household"])
    step = service.next_step(movein)
    return render_template(
        "movein/movein.html", movein=movein, household=household, step=step,
        person=service.contact(movein), errors=errors or {},
        form=form if form is not None else _step_form(movein, step, household),
        notices=service.shown_notices(store, household, now)
        if step and step["kind"] == "notices" else [],
        relations=RELATIONS, kinds=KIND_LABELS, reading_kinds=service.READING_KINDS,
        key_rows=range(service.KEY_ROWS), step_label=step_label,
        may_archive=permissions.may(current_staff()["role"], "manage_households")
        ), 422 if errors else 200


@bp.get("/movein/<mid>")
@permission_required("move_in")
def movein(mid: str):
    """One move-in: the steps done with who and when, the next step open."""
    return _movein_page(_movein(mid))


@bp.post("/movein/<mid>/<key>")
@permission_required("move_in")
def step(mid: str, key: str):
    """Record the next step of a move-in."""
    found = _movein(mid)
    kind = next((s["kind"] for s in found["steps"] if s["key"] == key[:30]), "confirm")
    form = {**web.form(_STEP.get(kind, ())), "shown": request.form.getlist("shown")[:50]}
    try:
        done = service.do_step(get_store(), found["id"], key[:30], form, actor=actor(),
                               now=web.now(), tz=web.tz(), request_id=web.request_id())
    except ValidationError as exc:
        return _movein_page(found, exc.errors, form)
    except rules.RuleError:
        return render_error(409, *TAKEN)
    if done["completed_at"]:
        flash(gettext("The move-in is complete. Print the hand-over record for both "
                      "signatures."))
    return redirect(url_for(".movein", mid=done["id"], _anchor="checklist"), 303)


@bp.get("/movein/<mid>/record")
@permission_required("move_in")
def record(mid: str):
    """The hand-over record on one A4 page, with the lines for both signatures."""
    found = _movein(mid)
    if htmx.boosted:
        return web.whole_page()
    household = get_store().household(found["household"])
    return render_template(
        "movein/record.html", movein=found, household=household,
        unit=label(household) if household else "", person=service.contact(found),
        relations=RELATIONS, kinds=KIND_LABELS, step_label=step_label,
        printed_at=web.now(), printed_by=current_staff()["name"])


def _steps_page(rows: int = 0, errors: dict | None = None,
                form: dict | None = None):
    if form is None:
        steps = get_store().movein_steps()
        form = {f"{k}_{i}": s[k] for i, s in enumerate(steps)
                for k in ("key", "label_zh", "label_en", "kind")}
        rows = len(steps) + 2
    return render_template("movein/steps.html", form=form, rows=range(rows),
                           errors=errors or {}, kinds=STEP_KINDS, kind_names=KIND_NAMES
                           ), 422 if errors else 200


@bp.route("/movein/steps", methods=["GET", "POST"])
@permission_required("edit_movein_steps")
def steps():
    """A manager edits the checklist: labels, kinds, order; new confirmation steps."""
    if request.method == "GET":
        return _steps_page()
    rows = max(0, min(request.form.get("rows", 0, type=int),
                      service.MAX_STEPS + service.KEY_ROWS))
    form = {f"{k}_{i}": request.form.get(f"{k}_{i}", "")[:100] for i in range(rows)
            for k in ("key", "label_zh", "label_en", "kind")}
    try:
        service.save_steps(get_store(), form, rows, actor=actor(), now=web.now(),
                           request_id=web.request_id())
    except ValidationError as exc:
        return _steps_page(rows, exc.errors, form)
    flash(gettext("The move-in checklist is saved; move-ins started from now on use it."))
    return redirect(url_for(".steps"), 303)
