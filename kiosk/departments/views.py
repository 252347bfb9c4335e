"""Staff pages for the departments and the emergency escalation chain (R9-R12): the phone
list every signed-in member reads, and the manager's forms to change it.

Nested under the guarded ``/staff`` blueprint, so every page needs a signed-in staff
member; any role may look (the desk needs the phones), only those with
``manage_departments`` may change (R8: each change is an event signed by ``actor()``).
Views stay thin: parse, call one function of ``service``, render. Errors re-render the
form with 422, next to their field, with everything typed kept.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext

from common.validation import ValidationError

from .. import permissions, web
from ..extensions import get_store
from ..staff.auth import actor, current_staff, get_directory, permission_required
from . import service

bp = Blueprint("departments", __name__, url_prefix="/departments")
#: The typed fields of a department's form.
FIELDS = ("code", "name_zh", "name_en", "phone")


def department_name(department: dict) -> str:
    """Return a department's name in the page's language (a template filter)."""
    return service.department_name(department, get_locale().language)


def level_title(level: dict) -> str:
    """Return the title of a level of the escalation chain in the page's language (a
    template filter)."""
    return service.level_title(level, get_locale().language)


def _candidates() -> list[dict]:
    """The active staff accounts members are picked from: maintenance first, then by name.

    A disabled account has no box, so it leaves a department the next time it is saved.
    """
    return sorted((s for s in get_directory().all() if s["active"]),
                  key=lambda s: s["role"] != "maintenance")  # sorted() keeps the name order


def _form(edit: bool) -> dict:
    form = {k: request.form.get(k, "")[:200] for k in FIELDS}
    form["members"] = [m[:40] for m in request.form.getlist("members")[:200]]
    if edit:  # a new department is in use; an unticked box is sent as nothing
        form["active"] = request.form.get("active") == "1"
    return form


def _save(code: str, form: dict, new: bool) -> dict:
    return service.save_department(get_store(), code, form, actor=actor(), now=web.now(),
                                   staff_ids=[s["id"] for s in _candidates()], new=new)


def _saved(department: dict):
    flash(gettext("Saved %(name)s.", name=department_name(department)))
    return redirect(url_for(".index", _anchor=f"department-{department['code']}"), 303)


def _render_form(department: dict | None, form: dict, errors: dict):
    return render_template("departments/edit.html", department=department, form=form,
                           errors=errors, staff=_candidates()), 422 if errors else 200


@bp.get("")
def index():
    """The departments with their phones and members, and the escalation chain."""
    store = get_store()
    return render_template("departments/index.html",
                           departments=store.departments(active_only=False),
                           chain=store.escalation_chain(),
                           names={s["id"]: s["name"] for s in get_directory().all()},
                           can_change=permissions.may(current_staff()["role"], "manage_departments"))


@bp.route("/new", methods=["GET", "POST"])
@permission_required("manage_departments")
def add():
    """Add a department with a code that never changes."""
    form, errors = {"members": []}, {}
    if request.method == "POST":
        form = _form(edit=False)
        try:
            return _saved(_save(form["code"], form, new=True))
        except ValidationError as exc:
            errors = exc.errors
    return _render_form(None, form, errors)


@bp.route("/escalation", methods=["GET", "POST"])
@permission_required("manage_departments")
def escalation():
    """Set whom the desk tells about an emergency, in order (R12)."""
    rows, errors = get_store().escalation_chain(), {}
    if request.method == "POST":
        rows = [{name: request.form.get(service.level_field(i, name), "")[:200]
                 for name in service.LEVEL_FIELDS} for i in range(service.MAX_LEVELS)]
        try:
            service.save_chain(get_store(), rows, actor=actor(), now=web.now())
        except ValidationError as exc:
            errors = exc.errors
        else:
            flash(gettext("Saved the escalation chain."))
            return redirect(url_for(".index", _anchor="escalation"), 303)
    rows = [*rows, *({} for _ in range(service.MAX_LEVELS - len(rows)))]
    return render_template("departments/escalation.html", rows=rows, errors=errors,
                           level_field=service.level_field), 422 if errors else 200


@bp.route("/<code>", methods=["GET", "POST"])
@permission_required("manage_departments")
def edit(code: str):
    """Change a department's names, phone, members, or whether it is in use."""
    try:
        department = service.get_department(get_store(), code[:32])
    except service.UnknownDepartment:
        abort(404)
    form, errors = department, {}
    if request.method == "POST":
        form = {**_form(edit=True), "code": department["code"]}
        try:
            return _saved(_save(department["code"], form, new=False))
        except ValidationError as exc:
            errors = exc.errors
    return _render_form(department, form, errors)
