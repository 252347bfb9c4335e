"""The staff page for meter readings (抄表), under the guarded ``/staff`` blueprint.

Every staff role reads meters (``read_meters``: maintenance reads them, the desk helps).
Views stay thin: parse, call one function of ``service``, render. Bad input re-renders
the page with 422, the message next to its field and everything typed kept; a reading
lower than the last one comes back the same way with a confirmation box to tick.
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from common.validation import ValidationError

from .. import permissions, web
from ..extensions import get_store
from ..staff.auth import actor, current_staff, permission_required
from . import service

bp = Blueprint("meters", __name__)

FIELDS = ("meter", "kind", "place", "household", "reading", "read_on", "note")


def _render(errors: dict | None = None, form: dict | None = None, lower: dict | None = None):
    today = web.today()
    return render_template(
        "meters/index.html", meters=service.meters(get_store()), kinds=service.KIND_LABELS,
        errors=errors or {}, form=form or {"read_on": today.isoformat()}, lower=lower,
        today=today, may_pick=permissions.may(current_staff()["role"], "read_households")
        ), 422 if errors else 200


@bp.get("/meters")
@permission_required("read_meters")
def index():
    """The reading form (today by default) and each meter's recent readings."""
    return _render()


@bp.post("/meters")
@permission_required("read_meters")
def record():
    """Record one reading; a lower one needs the "replaced or rolled over" tick."""
    form = {k: request.form.get(k, "")[:300] for k in FIELDS}
    try:
        reading = service.record(
            get_store(), form, confirmed=request.form.get("confirm_lower") == "yes",
            actor=actor(), now=web.now(), tz=web.tz(),
            request_id=web.request_id())
    except service.LowerReading as exc:
        return _render(exc.errors, form, lower=exc.previous)
    except ValidationError as exc:
        return _render(exc.errors, form)
    flash(gettext("Reading saved: %(meter)s, %(reading)s on %(day)s.", meter=reading["meter"],
                  reading=reading["reading"], day=reading["read_on"]))
    return redirect(url_for(".index", _anchor="readings"), 303)
