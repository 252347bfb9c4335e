"""Staff pages of the work plan, five weeks rolling (R26): the five weeks, a task's form,
an occurrence (mark it done or carry it over), what slipped, the printed A4 page.

Nested under the guarded ``/staff`` blueprint, so every page needs a signed-in staff
member. The desk (``plan_tasks``) keeps the plan: every receptionist sees every task
(their own marked) and may mark any done or carry it over, as colleagues cover for each
other; the signed event says who did. What slipped is the manager's (``review_plan``).
Views stay thin: parse, call one function of ``service``, render. Errors re-render the
form with 422, next to their field, with everything typed kept.
"""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from common.validation import ValidationError

from .. import permissions, web
from ..extensions import get_store, htmx
from ..staff.auth import actor, current_staff, get_directory, permission_required
from . import service

bp = Blueprint("plan", __name__, url_prefix="/plan")
#: The typed fields of a task's form and of a carry-over.
FIELDS = ("title", "kind", "assignee", "repeat", "due", "weekday", "day", "note")
CARRY_FIELDS = ("to", "reason")


def _assignees() -> list[str]:
    """The names a task may be assigned to: every active staff account."""
    return sorted(s["name"] for s in get_directory().all() if s["active"])


def _labels() -> dict:
    return {"KINDS": service.KINDS, "REPEATS": service.REPEATS, "WEEKDAYS": service.WEEKDAYS}


def _as_form(task: dict) -> dict:
    """The form of a stored task."""
    repeat = task["repeat"] or {"every": "once"}
    return {**task, "repeat": repeat["every"], "due": task["due"] or "",
            "weekday": str(repeat.get("weekday", "")), "day": str(repeat.get("day", ""))}


def _render_form(task: dict | None, form: dict, errors: dict):
    return render_template("plan/edit.html", task=task, form=form, errors=errors,
                           assignees=_assignees(), **_labels()), 422 if errors else 200


@bp.get("")
@permission_required("plan_tasks")
def index():
    """The five weeks from this Monday, each task where it falls; the tasks below."""
    store, today = get_store(), web.today()
    return render_template("plan/index.html", weeks=service.five_weeks(store, today, web.tz()),
                           tasks=service.tasks(store), me=current_staff()["name"],
                           may_review=permissions.may(current_staff()["role"], "review_plan"),
                           **_labels())


@bp.route("/new", methods=["GET", "POST"])
@permission_required("plan_tasks")
def add():
    """Add a task: one-off on a day, or every week or month."""
    if request.method == "POST":
        return _save(None)
    return _render_form(None, {"repeat": "once", "due": web.today().isoformat(),
                               "assignee": current_staff()["name"]}, {})


@bp.route("/tasks/<task_id>", methods=["GET", "POST"])
@permission_required("plan_tasks")
def edit(task_id: str):
    """Change a task: saved again, whole, under its id."""
    task = get_store().plan_task(task_id[:40])
    if task is None or task["dropped_at"]:
        abort(404)
    if request.method == "POST":
        return _save(task)
    return _render_form(task, _as_form(task), {})


def _save(task: dict | None):
    form = {k: request.form.get(k, "")[:service.MAX_NOTE + 200] for k in FIELDS}
    try:
        saved = service.save(get_store(), form, assignees=_assignees(), actor=actor(),
                             now=web.now(), tz=web.tz(), task_id=task["id"] if task else None,
                             request_id=web.request_id())
    except ValidationError as exc:
        return _render_form(task, form, exc.errors)
    except service.UnknownTask:
        abort(404)  # dropped meanwhile
    flash(gettext("Saved %(title)s.", title=saved["title"]))
    return redirect(url_for(".index"), 303)


@bp.post("/tasks/<task_id>/drop")
@permission_required("plan_tasks")
def drop(task_id: str):
    """Drop a task from the plan from today on."""
    try:
        task = service.drop(get_store(), task_id[:40], actor=actor(), now=web.now(),
                            request_id=web.request_id())
    except service.UnknownTask:
        abort(404)
    flash(gettext("Dropped %(title)s.", title=task["title"]))
    return redirect(url_for(".index"), 303)


def _occurrence(task_id: str, day: str) -> dict:
    try:
        return service.occurrence(get_store(), task_id[:40], day[:10], web.today(), web.tz())
    except (service.UnknownTask, service.UnknownOccurrence):
        abort(404)


def _render_occurrence(entry: dict, form: dict, errors: dict):
    return render_template("plan/occurrence.html", entry=entry, form=form, errors=errors,
                           today=web.today().isoformat(),
                           weekday=date.fromisoformat(entry["occurrence"]).weekday(),
                           **_labels()), 422 if errors else 200


@bp.get("/tasks/<task_id>/<day>")
@permission_required("plan_tasks")
def occurrence(task_id: str, day: str):
    """One day of a task: mark it done, or carry it over to another day with a reason."""
    return _render_occurrence(_occurrence(task_id, day), {}, {})


@bp.post("/tasks/<task_id>/<day>/done")
@permission_required("plan_tasks")
def done(task_id: str, day: str):
    """Mark one day of a task done (done already: answered as done)."""
    entry = _occurrence(task_id, day)
    service.done(get_store(), entry["task"]["id"], entry["occurrence"], actor=actor(),
                 now=web.now(), tz=web.tz(), request_id=web.request_id())
    flash(gettext("Done: %(title)s.", title=entry["task"]["title"]))
    return redirect(url_for(".index", _anchor=f"day-{entry['on']}"), 303)


@bp.post("/tasks/<task_id>/<day>/carry")
@permission_required("plan_tasks")
def carry(task_id: str, day: str):
    """Carry one day of a task over to a later day; the reason is required."""
    entry = _occurrence(task_id, day)
    form = {k: request.form.get(k, "")[:service.MAX_REASON + 200] for k in CARRY_FIELDS}
    try:
        moved = service.carry(get_store(), entry["task"]["id"], entry["occurrence"], form,
                              actor=actor(), now=web.now(), tz=web.tz(),
                              request_id=web.request_id())
    except ValidationError as exc:
        return _render_occurrence(entry, form, exc.errors)
    flash(gettext("Carried over to %(day)s: %(title)s.", day=moved["on"],
                  title=entry["task"]["title"]))
    return redirect(url_for(".index", _anchor=f"day-{moved['on']}"), 303)


@bp.get("/slipped")
@permission_required("review_plan")
def slipped():
    """For the manager: what is late and what was carried over, the last five weeks."""
    return render_template("plan/slipped.html", weeks=service.WEEKS,
                           **service.slipped(get_store(), web.today(), web.now(), web.tz()),
                           **_labels())


@bp.get("/print")
@permission_required("plan_tasks")
def printed():
    """The five weeks on one A4 landscape page."""
    if htmx.boosted:
        return web.whole_page()
    return render_template("plan/print.html",
                           weeks=service.five_weeks(get_store(), web.today(), web.tz()),
                           per_cell=service.PRINT_PER_CELL, printed_at=web.now(),
                           printed_by=current_staff()["name"], **_labels())
