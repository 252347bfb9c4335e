"""Staff pages for the kiosk's notices (R18): the list of current, upcoming and ended
notices, and the form to write or change one.

Nested under the guarded ``/staff`` blueprint, so every page needs a signed-in staff
member; only roles with ``publish_notices`` (the desk) may use them (R8: each change is
an event signed by ``actor()``). Views stay thin: parse, call one function of
``service``, render. Errors re-render the form with 422, next to their field, with
everything typed kept.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from common.validation import ValidationError

from .. import web
from ..extensions import get_store
from ..staff.auth import actor, permission_required
from . import service

bp = Blueprint("notices", __name__, url_prefix="/notices")
#: The typed fields of a notice's form.
FIELDS = ("title", "text", "importance", "valid_from", "valid_to", "building")


def _form() -> dict:
    form = {k: request.form.get(k, "")[:2000] for k in FIELDS}
    form["pinned"] = request.form.get("pinned") == "1"
    return form


def _as_form(notice: dict) -> dict:
    """The form of a stored notice: its times in the site's zone."""
    return {**notice, **{k: service.local_input(notice[k], web.tz())
                         for k in ("valid_from", "valid_to")}}


def _render_form(notice: dict | None, form: dict, errors: dict):
    return render_template("notices/edit.html", notice=notice, form=form, errors=errors,
                           buildings=service.buildings(get_store()),
                           importance=service.IMPORTANCE), 422 if errors else 200


def _publish(notice: dict | None):
    """Publish the posted form (as a change of ``notice``, if given); or re-render it."""
    form = _form()
    try:
        saved = service.publish(get_store(), form, actor=actor(), now=web.now(), tz=web.tz(),
                                notice_id=notice["id"] if notice else None,
                                request_id=web.request_id())
    except ValidationError as exc:
        return _render_form(notice, form, exc.errors)
    flash(gettext("Published %(title)s.", title=saved["title"]))
    return redirect(url_for(".index", _anchor=f"notice-{saved['id']}"), 303)


@bp.get("")
@permission_required("publish_notices")
def index():
    """The notices shown now, those to come, and those ended in the last 30 days."""
    return render_template("notices/index.html", **service.for_staff(get_store(), web.now()),
                           days=service.EXPIRED_DAYS)


@bp.route("/new", methods=["GET", "POST"])
@permission_required("publish_notices")
def add():
    """Write a notice: shown from now for a week unless changed."""
    if request.method == "POST":
        return _publish(None)
    now = web.now()
    return _render_form(None, {
        "importance": "normal", "pinned": False,
        "valid_from": service.local_input(now.isoformat(), web.tz()),
        "valid_to": service.local_input((now + service.DEFAULT_LENGTH).isoformat(), web.tz()),
    }, {})


@bp.route("/<notice_id>", methods=["GET", "POST"])
@permission_required("publish_notices")
def edit(notice_id: str):
    """Change a notice: it is published again, whole, under its id."""
    notice = get_store().notice(notice_id[:40])
    if notice is None:
        abort(404)
    if request.method == "POST":
        return _publish(notice)
    return _render_form(notice, _as_form(notice), {})


@bp.post("/<notice_id>/withdraw")
@permission_required("publish_notices")
def withdraw(notice_id: str):
    """Take a notice off the screens at once."""
    try:
        notice = service.withdraw(get_store(), notice_id[:40], actor=actor(), now=web.now())
    except service.UnknownNotice:
        abort(404)
    flash(gettext("Withdrew %(title)s.", title=notice["title"]))
    return redirect(url_for(".index"), 303)
