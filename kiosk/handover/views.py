"""Staff pages for the shift handover and the work diary (R20).

Nested under the guarded ``/staff`` blueprint; the desk (``hand_over``, ``write_diary``)
uses them, maintenance gets 403. Views stay thin: parse, call one function of
``service``, render. Bad input re-renders the page with 422, the message next to its
field and everything typed kept, never a PIN. The incoming person acknowledges a handover
with their own name and PIN on the screen of whoever is signed in, the way a manager
signs a complaint off (``kiosk.staff.procedures.sign_off``).
"""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from common.messages import N_, Message
from common.validation import ValidationError

from .. import permissions, web
from ..errors import render_error
from ..extensions import get_store
from ..staff.auth import actor, countersign, current_staff, get_directory, permission_required
from ..tickets import rules
from . import service

bp = Blueprint("handover", __name__)

ACK_REFUSED = Message(N_("This name and PIN do not match a staff account."))
ACK_BUSY = Message(N_("Too many tries. Please wait a few minutes and try again."))
ALREADY = (N_("Acknowledged already"),
           N_("Someone acknowledged this handover already. Please look at the page again."))


def pending_banner() -> dict | None:
    """The handover nobody acknowledged yet, for a desk member only (the queue's banner:
    ``templates/handover/_pending.html``), else None."""
    staff = current_staff()
    if staff is None or not permissions.may(staff["role"], "hand_over"):
        return None
    return service.pending(get_store())


def _recipients() -> list[str]:
    """The names a handover may be for: every other active staff account."""
    me = current_staff()["id"]
    return [s["name"] for s in get_directory().all() if s["active"] and s["id"] != me]


def _render(errors: dict | None = None, form: dict | None = None):
    store = get_store()
    return render_template(
        "handover/index.html",
        prepared=service.prepare(store, web.now(), web.tz(), current_app.config["POLICY"]),
        pending=service.pending(store), history=service.history(store),
        recipients=_recipients(), security=service.SECURITY, errors=errors or {},
        form=form or {}, max_notes=service.MAX_NOTES), 422 if errors else 200


@bp.get("/handover")
@permission_required("hand_over")
def index():
    """The handover prepared now, the form to sign it, the one waiting, the history."""
    return _render()


@bp.post("/handover/sign")
@permission_required("hand_over")
def sign():
    """The outgoing person signs the handover with their notes."""
    form = {k: request.form.get(k, "")[:service.MAX_NOTES + 200] for k in ("notes", "to")}
    try:
        service.sign(get_store(), form["notes"], form["to"], recipients=_recipients(),
                     actor=actor(), now=web.now(), tz=web.tz(), policy=current_app.config["POLICY"],
                     request_id=web.request_id())
    except ValidationError as exc:
        return _render(exc.errors, form)
    flash(gettext("The handover is signed. The incoming person acknowledges it with their own "
                  "PIN."))
    return redirect(url_for(".index", _anchor="pending"), 303)


@bp.post("/handover/<hid>/acknowledge")
@permission_required("hand_over")
def acknowledge(hid: str):
    """The incoming person acknowledges with their own name and PIN, on this screen."""
    form = {"ack_name": request.form.get("ack_name", "").strip()[:80]}
    signer, errors = countersign("ack_name", "ack_pin", ACK_REFUSED, ACK_BUSY)
    if errors:
        return _render(errors, form)
    try:
        handover = service.acknowledge(get_store(), hid[:40], signer, actor=actor(), now=web.now(),
                                       request_id=web.request_id())
    except service.UnknownHandover:
        abort(404)
    except ValidationError as exc:
        return _render(exc.errors, form)
    except rules.RuleError:
        return render_error(409, *ALREADY)
    flash(gettext("%(name)s acknowledged the handover.", name=handover["acknowledged_by"]["name"]))
    return redirect(url_for(".index", _anchor="history"), 303)


def _day() -> date:
    """The site-local day of ``?day=YYYY-MM-DD``, by default today; 404 if malformed."""
    raw = request.args.get("day", "")[:10]
    if not raw:
        return web.today()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        abort(404)


@bp.route("/diary", methods=["GET", "POST"])
@permission_required("write_diary")
def diary():
    """A day's diary entries (today by default), printable, and the form to add one."""
    day, errors, form = _day(), {}, {}
    if request.method == "POST":
        form = {"text": request.form.get("text", "")[:service.MAX_DIARY + 200]}
        try:
            service.note(get_store(), form["text"], actor=actor(), now=web.now(),
                         request_id=web.request_id())
        except ValidationError as exc:
            errors = exc.errors
        else:
            return redirect(url_for(".diary", _anchor="entries"), 303)
    today = web.today()
    return render_template("handover/diary.html", day=day, today=today,
                           entries=service.diary(get_store(), day, web.tz()), errors=errors,
                           form=form, max_text=service.MAX_DIARY), 422 if errors else 200
