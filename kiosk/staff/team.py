"""The manager's page for staff accounts: list, add, disable (the console's side of
``python run.py staff``). Every change is an event signed by the manager (R8)."""
from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from common.config import now_utc
from common.validation import ValidationError

from ..tickets.rules import ROLES
from .auth import actor, get_directory, permission_required

bp = Blueprint("team", __name__, url_prefix="/team")


@bp.before_request
@permission_required("manage_staff")
def managers_only():
    """Only the customer-service manager manages accounts."""


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
                            now=now_utc(current_app))
    except ValidationError as exc:
        return _render(exc.errors, {**form, "pin": ""}, 422)
    return redirect(url_for(".index"), 303)


@bp.post("/disable")
def disable():
    """Stop an account from signing in; its records keep the name."""
    try:
        get_directory().disable(request.form.get("name", "")[:80], actor=actor(),
                                now=now_utc(current_app))
    except ValidationError as exc:
        return _render(exc.errors, status=422)
    return redirect(url_for(".index"), 303)
