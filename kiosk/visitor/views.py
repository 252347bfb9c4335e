"""The visitor's flow, one question per screen: category, place, details, review, receipt.

The entry in progress is a server-side draft named by the session, so nothing typed
is lost on an error, and clearing the kiosk (idle or "start over") forgets it all.
"""
from __future__ import annotations

import secrets
from functools import wraps

from flask import (
    Blueprint, abort, current_app, redirect, render_template, request, session, url_for,
)
from flask_wtf.csrf import generate_csrf

from common.messages import N_
from common.validation import ValidationError

from .. import web
from ..errors import MESSAGES, render_error
from ..extensions import get_store, htmx
from ..i18n import select_locale, switch_language
from ..locations import service as locations
from ..notices import service as notices
from ..qr import public_url
from ..security import client_address
from ..staff import orders
from ..staff.auth import load_signed_in_staff
from ..tickets import rules, service

bp = Blueprint("visitor", __name__)
VISITOR = {"role": "visitor"}


def _draft() -> dict:
    return get_store().get_draft(session["draft"]) if "draft" in session else {}


def _save(draft: dict) -> None:
    session.setdefault("draft", secrets.token_urlsafe(16))
    if current_app.extensions["draft_limiter"].hit(client_address()):
        abort(429)
    get_store().save_draft(session["draft"], draft)


def _channel() -> str:
    return session.get("channel", "kiosk")


def with_draft(view):
    """Send the visitor home when there is no entry in progress; pass the draft on."""
    @wraps(view)
    def wrapper(**kwargs):
        draft = _draft()
        if draft.get("category") not in rules.CATEGORIES:
            return redirect(url_for(".home"), 303)
        return view(draft, **kwargs)
    return wrapper


@bp.get("/")
def home():
    """Show the category tiles, and the QR code to continue on a phone.

    The start screen is what every passer-by loads: without an entry in progress it
    is the same for everyone of a language, so it is rendered once and only the
    CSRF token is filled in per request.
    """
    if request.args.get("via") == "phone":
        session["channel"] = "qr"
    draft = _draft()
    if draft:
        return _render_home(draft)
    cache = current_app.extensions.setdefault("home_pages", {})
    now, store = web.now(), get_store()
    changed, until = cache.get("notices", (None, now))
    if changed != store.notices_changed or now >= until:
        # a notice was published or withdrawn, or one began or ended: the cached pages
        # show the old ones (the counter is read first: a change while this runs
        # clears the pages again on the next request)
        changed = store.notices_changed
        cache.clear()
        cache["notices"] = (changed, store.notices_valid_until(now))
    # the language and the address the page was asked on, read raw: parsing them
    # (get_locale(), host_url, full_path) cost a sixth of this request
    key = (select_locale(), _channel(), *map(request.environ.get, _PAGE_KEYS))
    page = cache.get(key)
    if page is None:
        page = _render_home({}, notices.current(store, now),
                            csrf_token=lambda: _CSRF_HOLE)
        if len(cache) < 32:
            cache[key] = page
    return page.replace(_CSRF_HOLE, generate_csrf())


_CSRF_HOLE = "__csrf_token_hole__"
#: the parts of the request the start screen's links and QR code are made from
_PAGE_KEYS = ("wsgi.url_scheme", "HTTP_HOST", "SERVER_NAME", "SERVER_PORT", "SCRIPT_NAME",
              "PATH_INFO", "QUERY_STRING")


def _render_home(draft: dict, shown: list[dict] | None = None, **extra) -> str:
    location = get_store().location(draft["location"]) if draft.get("location") else None
    if shown is None:  # at a place (its poster): the notices of its building and of all
        shown = notices.current(get_store(), web.now(),
                                (location or {}).get("building") or None)
    return render_template("visitor/home.html", categories=rules.CATEGORIES.values(),
                           draft=draft, location=location, notices=shown,
                           phone_url=public_url(url_for(".home", via="phone")), **extra)


@bp.post("/report")
def start():
    """Start (or change the category of) the entry in progress."""
    category = request.form.get("category")
    if category not in rules.CATEGORIES:
        abort(400)
    draft = {**_draft(), "category": category}
    _save(draft)
    return redirect(url_for(".details" if draft.get("location") else ".location"), 303)


@bp.get("/q/<code>")
def from_qr(code: str):
    """Start an entry at the place printed on a QR poster (stable URL).

    A signed-in technician with orders here that wait for them is offered "arrived" for
    each instead, and the session keeps the proof that this phone was here
    (``staff.orders``); "report something else here" (``report``) starts the entry.
    """
    location = get_store().location(code[:32])
    if location is None or not location.get("active"):
        return render_template("visitor/unknown_place.html", code=code[:32]), 404
    staff = None if request.args.get("report") else load_signed_in_staff()
    waiting = orders.awaiting_arrival(get_store(), staff, location["code"])
    if waiting:
        orders.note_at_place(location["code"], web.now())
        return render_template("orders/at_place.html", location=location, orders=waiting,
                               staff=staff)
    session.pop("draft", None)
    session["channel"] = "qr"
    _save({"location": location["code"]})
    return redirect(url_for(".home"), 303)


@bp.route("/report/place", methods=["GET", "POST"])
@with_draft
def location(draft: dict):
    """Pick the place the matter is about (search or tap)."""
    errors, status = {}, 200
    if request.method == "POST":
        code = "" if "skip" in request.form else request.form.get("location", "")
        draft["location"], error = service.check_location(get_store(), draft["category"], code)
        if not error:
            _save(draft)
            return redirect(url_for(".details"), 303)
        errors, status = {"location": error}, 422
    q = request.args.get("q", "")[:40]
    emergency = draft["category"] == "emergency"  # no time to look: "I don't know where"
    context = {"draft": draft, "locations": locations.search(get_store(), q), "q": q,
               "errors": errors, "unknown_place": emergency,
               "optional": draft["category"] not in service.PLACE_REQUIRED and not emergency}
    if htmx.trigger == "place-search":
        return render_template("visitor/_locations.html", **context)
    return render_template("visitor/location.html", **context), status


@bp.route("/report/details", methods=["GET", "POST"])
@with_draft
def details(draft: dict):
    """Describe the matter and leave a name and phone number."""
    errors = {}
    if request.method == "POST":
        fields = {k: request.form.get(k, "") for k in
                  ("description", "name", "phone", "preferred_at")}
        if switch_language(request.form.get("switch_lang", "")):
            draft.update(fields)  # kept as typed; checked when the visitor goes on
            _save(draft)
            return redirect(url_for(".details"), 303)
        clean, errors = service.check_details(fields, draft["category"], web.now(), web.tz())
        draft.update(fields if errors else clean)
        _save(draft)  # keep what was typed, even when it needs fixing
        if not errors:
            return redirect(url_for(".review"), 303)
    return render_template("visitor/details.html", draft=draft, errors=errors,
                           phone_required=draft["category"] in rules.PHONE_REQUIRED), \
        422 if errors else 200


@bp.route("/report/review", methods=["GET", "POST"])
def review():
    """Show the whole entry once more, then record it.

    Sending is safe to repeat: the ``reported`` event carries the draft's id, so a
    resend of an entry already recorded (its answer lost, or the draft already gone)
    gets the same receipt, and nothing new is stored.
    """
    if request.method == "POST":
        draft_id = service.check_request_id(session.get("draft"))
        ticket = get_store().ticket_by_request(draft_id) if draft_id else None
        if ticket is not None:
            return _submitted(ticket)
    return _review()


@with_draft
def _review(draft: dict):
    store, errors = get_store(), {}
    if request.method == "POST":
        wait = current_app.extensions["rate_limiter"].hit(client_address())
        if wait:
            return render_error(429, *MESSAGES[429])
        try:
            ticket = service.submit_report(store, draft, channel=_channel(), actor=VISITOR,
                                           now=web.now(), tz=web.tz(),
                                           policy=current_app.config["POLICY"],
                                           request_id=service.check_request_id(session["draft"]))
        except ValidationError as exc:
            errors = exc.errors
        else:
            return _submitted(ticket)
    location = store.location(draft["location"]) if draft.get("location") else None
    return render_template("visitor/review.html", draft=draft, location=location,
                           errors=errors), 422 if errors else 200


def _submitted(ticket: dict):
    """Forget the draft and show the receipt of ``ticket``, just reported from it."""
    get_store().discard_draft(session.pop("draft"))
    session["receipt"] = ticket["token"]
    return redirect(url_for(".receipt"), 303)


@bp.get("/report/receipt")
def receipt():
    """Show the ticket number, the QR code of its status page and what happens next."""
    token = session.get("receipt")
    status = service.public_status(get_store(), token) if token else None
    if status is None:
        return redirect(url_for(".home"), 303)
    return render_template("visitor/receipt.html", ticket=status,
                           category=rules.CATEGORIES[status["category"]],
                           status_url=public_url(url_for(".status", token=token)),
                           status_path=url_for(".status", token=token),
                           on_phone=_channel() == "qr")


@bp.post("/reset")
def reset():
    """Clear everything for the next visitor (idle timeout or "start over")."""
    if "draft" in session:
        get_store().discard_draft(session["draft"])
    session.clear()
    return redirect(url_for(".home"), 303)


@bp.get("/t/<token>")
def status(token: str):
    """The public status page of one ticket (stable URL): masked, no staff notes."""
    ticket = service.public_status(get_store(), token)
    if ticket is None:
        return render_error(404, N_("We could not find this ticket"),
                            N_("Please check the link or the QR code, or ask at the front desk."))
    return render_template("visitor/status.html", ticket=ticket,
                           category=rules.CATEGORIES[ticket["category"]],
                           status_label=rules.STATUSES[ticket["status"]])
