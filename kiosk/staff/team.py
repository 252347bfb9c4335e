"""The manager's page for staff accounts: list, add, disable, set a new PIN (the
console's side of ``python run.py staff``). Every change is an event signed by the
manager (R8); disabling an account or giving it a new PIN signs it out everywhere."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from common.validation import ValidationError

from .. import web
from ..permissions import ROLES
from .auth import PINS_DIFFER, actor, get_directory, permission_required

bp = Blueprint("team", __name__, url_prefix="/team")


@bp.before_request
@permission_required("manage_staff")
def managers_only():
    """Only the customer-service manager manages accounts."""


#: The PIN form's fields, named apart from the add form's on the same page.
PIN_FIELDS = {"name": "pin_name", "pin": "new_pin", "pin_again": "new_pin_again"}


def _render(errors: dict | None = None, form: dict | None = None, status: int = 200):
    return render_template("staff/team.html", staff=get_directory().all(), roles=ROLES,
                           errors=errors or {}, form=form or {}), status


@bp.get("")
def index():
    """List every account, active or disabled."""
    return _render()


@bp.post("")
def add():
    """Add an account with a name, a role and a first PIN."""
    form = {k: request.form.get(k, "")[:80] for k in ("name", "role", "pin")}
    try:
        get_directory().add(form["name"], form["role"], form["pin"], actor=actor(),
                            now=web.now())
    except ValidationError as exc:
        return _render(exc.errors, {**form, "pin": ""}, 422)
    return redirect(url_for(".index"), 303)


@bp.post("/disable")
def disable():
    """Stop an account from signing in; its records keep the name."""
    try:
        get_directory().disable(request.form.get("name", "")[:80], actor=actor(),
                                now=web.now())
    except ValidationError as exc:
        return _render(exc.errors, status=422)
    return redirect(url_for(".index"), 303)


@bp.post("/pin")
def set_pin():
    """Give an account a new PIN, typed twice; the person is signed out everywhere."""
    name, pin = request.form.get("name", "")[:80], request.form.get("pin", "")[:80]
    try:
        if pin != request.form.get("pin_again", "")[:80]:
            raise ValidationError({"pin_again": PINS_DIFFER})
        staff = get_directory().set_pin(name, pin, actor=actor(), now=web.now())
    except ValidationError as exc:
        errors = {PIN_FIELDS[field]: message for field, message in exc.errors.items()}
        return _render(errors, {"pin_name": name}, 422)
    flash(gettext("%(name)s has a new PIN and was signed out everywhere.", name=staff["name"]))
    return redirect(url_for(".index"), 303)
