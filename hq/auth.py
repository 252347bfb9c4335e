"""Sign-in to the HQ dashboard: named accounts with hashed PINs, lock-out, setup, and
sessions that end on the server.

Every page but sign-in, first-run setup and the HMAC-signed API needs a signed-in
account (``require_admin``, an app-wide ``before_request``: a new page is protected by
default). The cookie holds only ``hq_sid``, a random session id that the store checks
(``accounts.session_account``), so signing out, or a new PIN (``run.py hq admin pin``),
ends a session for every copy of the cookie. Accounts, PIN rules and sessions are
``accounts.py``'s; the PIN mechanism (hashing, the lock after five wrong PINs, the
throttle per client address) is ``common.pins``, as on the kiosk.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import (
    Blueprint, Flask, abort, current_app, g, redirect, render_template, request, session,
    url_for,
)

from common import pins
from common.config import now_utc
from common.urls import safe_back
from common.messages import N_, Message
from common.pins import BadSignIn, LockedOut, TooManyAttempts

from . import accounts
from .accounts import AccountError, add_account, check_account
from .storage import HQStore

bp = Blueprint("hq_auth", __name__)

#: Endpoints anyone may open; the API authenticates each request itself.
PUBLIC_ENDPOINTS = frozenset({"hq_auth.login", "hq_auth.setup", "static", "hq_i18n.switch",
                              "hq_health.healthz"})
PUBLIC_BLUEPRINTS = frozenset({"hq_api"})
#: A session's last use is written at most this often (seconds).
TOUCH_EVERY = 60
LOCKED = Message(N_("Too many wrong PINs: this account is locked for a few minutes."))


def init_auth(app: Flask) -> None:
    """Give the app its PIN hasher and sign-in judge; guard every page but the public ones."""
    hasher = pins.PinHasher(pins.method_for(app.config))
    app.extensions["hq_pins"] = hasher
    app.extensions["hq_sign_in"] = pins.PinSignIn(
        accounts.Admins(app.extensions["hq_store"]), hasher,
        int(app.config["SIGN_IN_LIMIT"]), float(app.config["SIGN_IN_WINDOW_SECONDS"]))
    app.before_request(require_admin)


def _store() -> HQStore:
    return current_app.extensions["hq_store"]


def _hasher() -> pins.PinHasher:
    return current_app.extensions["hq_pins"]


def _idle() -> float:
    return float(current_app.config["IDLE_SECONDS"])


def _sign_in(record: dict, now: datetime) -> None:
    """Start a session of the account ``record`` (as checked) and put its id in the cookie."""
    session_id = accounts.start_session(_store(), record, now, _idle())
    session.clear()
    session["hq_sid"] = session_id


def require_admin():
    """Before every request: send anyone not signed in to the sign-in page."""
    if request.endpoint is None or request.endpoint in PUBLIC_ENDPOINTS \
            or request.blueprint in PUBLIC_BLUEPRINTS:
        return None
    session_id, name = session.get("hq_sid"), None
    if session_id:
        name = accounts.session_account(_store(), session_id, now_utc(current_app), _idle(),
                                        TOUCH_EVERY)
    if name is None:
        session.clear()
        target = request.full_path.rstrip("?") if request.method == "GET" else None
        if request.headers.get("HX-Request") and not request.headers.get("HX-Boosted"):
            # the sites page's refresh after the session ended: the whole page goes to the
            # sign-in (a redirect would put the sign-in page inside the table)
            return "", 204, {"HX-Redirect": url_for("hq_auth.login", next=target)}
        return redirect(url_for("hq_auth.login", next=target), 303)
    g.admin = name
    return None


def _safe_next(target: str | None) -> str:
    """Return ``target`` if it is a path on this server, else the overview."""
    return safe_back(target, url_for("hq.index"))


def _too_many(exc: TooManyAttempts, now: datetime) -> Message:
    if not exc.client:
        return pins.BUSY
    until = (now + timedelta(seconds=exc.seconds)).astimezone(current_app.config["TZ"])
    return Message(pins.CLIENT_THROTTLED, {"time": until.strftime("%H:%M")})


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with a name and a PIN."""
    store = _store()
    if not store.admin_count():
        return redirect(url_for(".setup"), 303)
    target = _safe_next(request.values.get("next"))
    problem, status, headers, name = None, 200, {}, ""
    if request.method == "POST":
        name = request.form.get("name", "").strip()[:80]
        now = now_utc(current_app)
        try:
            record = current_app.extensions["hq_sign_in"](
                name, request.form.get("pin", ""), now, request.remote_addr or "")
            _sign_in(record, now)
            return redirect(target, 303)
        except LockedOut as exc:
            problem, status = LOCKED, 429
            headers["Retry-After"] = str(max(1, int((exc.until - now).total_seconds())))
        except TooManyAttempts as exc:
            problem, status, headers["Retry-After"] = _too_many(exc, now), 429, str(exc.seconds)
        except BadSignIn:
            problem, status = pins.WRONG_SIGN_IN, 422
    return render_template("hq/login.html", name=name, problem=problem, next=target), \
        status, headers


@bp.route("/setup", methods=["GET", "POST"])
def setup():
    """First run only: create the first dashboard account, then sign it in."""
    store = _store()
    if store.admin_count():
        abort(404)
    errors, name = {}, request.form.get("name", "")
    if request.method == "POST":
        pin = request.form.get("pin", "")
        _, errors = check_account(name, pin)
        again = request.form.get("pin_again", "")
        if not again:  # every field says what is wrong with it, not only the first
            errors["pin_again"] = accounts.PIN_NOT_REPEATED
        elif pin != again:
            errors["pin_again"] = accounts.PINS_DIFFER
        if not errors:
            now = now_utc(current_app)
            try:
                clean = add_account(store, _hasher(), name, pin, now, first=True)
                _sign_in(store.admin(clean), now)
                return redirect(url_for("hq.index"), 303)
            except AccountError as exc:
                if store.admin_count():
                    abort(404)  # someone else finished the setup first
                errors = exc.errors
    return render_template("hq/setup.html", name=name, errors=errors), 422 if errors else 200


@bp.post("/logout")
def logout():
    """Sign out: the session ends for every copy of the cookie."""
    accounts.end_session(_store(), session.get("hq_sid"))
    session.clear()
    return redirect(url_for(".login"), 303)
