"""Staff sign-in on the kiosk: name and PIN, first-run setup, idle sign-out, and who
the signed-in member is (``current_staff``, ``actor``, ``permission_required``).

Everything under ``/staff`` requires a signed-in staff member: ``require_sign_in`` is
one ``before_request`` on the parent blueprint (``blueprints.py``), so a new staff page
cannot forget it; only the sign-in and first-run setup pages are open
(``PUBLIC_ENDPOINTS``). The cookie holds only ``staff_sid``, a random session id that
the staff directory checks against its live sessions (``sessions.py``), so signing out
ends a session for every copy of the cookie. A session untouched for
``STAFF_IDLE_SECONDS`` (by the app clock, on the server) is signed out, a maintenance
account's, on the technician's own phone, after ``TECHNICIAN_SESSION_HOURS``; background
polling (``POLLING_TRIGGERS``) never keeps one alive. Sign-in attempts are throttled per
client address as well as per account (``common.pins``). Signing in detaches a
visitor's entry in progress from the session; the draft itself stays in the store for
the receptionist to pick up (R3).
"""
from __future__ import annotations

from datetime import timedelta
from functools import wraps
from pathlib import Path

from flask import (
    Blueprint, Flask, abort, current_app, g, redirect, render_template, request, session,
    url_for,
)

from common import pins
from common.messages import N_, Message
from common.pins import BadSignIn, LockedOut, TooManyAttempts
from common.urls import safe_back
from common.validation import REQUIRED, ValidationError

from .. import permissions, web
from ..i18n import local_time
from ..security import client_address
from .accounts import SetupClosed, StaffDirectory, check_new_account
from .sessions import Lifetimes

bp = Blueprint("auth", __name__)

#: Where the staff pages live (the parent blueprint's prefix).
STAFF_PREFIX = "/staff"
#: Staff endpoints reachable without signing in.
PUBLIC_ENDPOINTS = {"staff.auth.login", "staff.auth.setup"}

#: What a staff session puts in the cookie (and, from before sessions were revocable,
#: ``staff_id`` and ``staff_seen``, forgotten on sight).
STAFF_KEYS = ("staff_sid", "staff_id", "staff_seen")
#: The id of the element whose background polling must not keep a session alive.
POLLING_TRIGGERS = frozenset({"queue-rows", "sync-panel"})
PINS_DIFFER = Message(N_("The two PINs are not the same."))
LOCKED = N_("Too many wrong PINs. This account is locked until %(time)s; please try again then.")


def init_staff(app: Flask) -> StaffDirectory:
    """Open the staff directory of the app's data folder (after the store)."""
    directory = StaffDirectory(Path(app.config["DATA_DIR"]) / "staff.json",
                               app.extensions["kiosk_store"],
                               pins.PinHasher(pins.method_for(app.config)),
                               int(app.config["SIGN_IN_LIMIT"]),
                               float(app.config["SIGN_IN_WINDOW_SECONDS"]))
    app.extensions["staff_directory"] = directory
    return directory


def current_staff() -> dict | None:
    """Return the signed-in staff member (id, name, role) for this request, or None."""
    return g.get("staff")


def actor() -> dict:
    """Return the signature every event of a staff action carries (R8)."""
    staff = current_staff()
    return {"role": staff["role"], "id": staff["id"], "name": staff["name"]}


def permission_required(action: str):
    """Refuse (403) a signed-in staff member whose role may not take ``action``."""
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            staff = current_staff()
            if staff is None or not permissions.may(staff["role"], action):
                abort(403)
            return view(*args, **kwargs)
        return wrapper
    return decorator


def require_sign_in():
    """Before every staff page: send anyone who is not signed in to the sign-in page."""
    g.staff = load_signed_in_staff()
    if g.staff is None and request.endpoint not in PUBLIC_ENDPOINTS:
        if request.headers.get("HX-Request") and not request.headers.get("HX-Boosted"):
            # a background poll after an idle sign-out: send the whole tablet home
            return "", 204, {"HX-Redirect": url_for("visitor.home")}
        return redirect(url_for("staff.auth.login", next=request.path), 303)
    return None


def get_directory() -> StaffDirectory:
    """Return the staff directory of the current app."""
    return current_app.extensions["staff_directory"]


def _forget() -> None:
    for key in STAFF_KEYS:
        session.pop(key, None)


def _idle() -> Lifetimes:
    """How long a session may go unused: the shared tablet's ``STAFF_IDLE_SECONDS``, but a
    maintenance account's, on the technician's own phone, lasts the shift."""
    config = current_app.config
    return Lifetimes(float(config["STAFF_IDLE_SECONDS"]),
                     {"maintenance": float(config["TECHNICIAN_SESSION_HOURS"]) * 3600})


def countersign(name_field: str, pin_field: str, refused: Message,
                busy: Message) -> tuple[dict | None, dict[str, Message]]:
    """Check the name and PIN another person typed into this form (a manager's sign-off,
    the incoming person's acknowledgement), whoever is signed in; return ``(their
    signature, {})`` or ``(None, errors by field)``. Throttled and locked like a sign-in."""
    name = request.form.get(name_field, "").strip()[:80]
    pin = request.form.get(pin_field, "")[:40]
    if not name or not pin:
        return None, {k: REQUIRED for k, v in ((name_field, name), (pin_field, pin)) if not v}
    try:
        account = get_directory().authenticate(name, pin, web.now(), client_address())
    except (LockedOut, TooManyAttempts):
        return None, {pin_field: busy}
    except BadSignIn:
        return None, {pin_field: refused}
    return {"role": account["role"], "id": account["id"], "name": account["name"]}, {}


@bp.app_template_global()
def staff_may(action: str) -> bool:
    """Tell whether the signed-in staff member's role may take ``action`` at all."""
    staff = current_staff()
    return staff is not None and permissions.may(staff["role"], action)


@bp.app_template_global()
def staff_idle_seconds() -> int:
    """How long the signed-in member's screen may stay untouched before the page signs
    them out (its idle timer): as long as their session lasts unused."""
    staff = current_staff()
    return int(_idle().of(staff["role"]) if staff else _idle().tablet)


def load_signed_in_staff() -> dict | None:
    """Return the signed-in staff member (id, name, role), or None (then signed out)."""
    session_id, staff = session.get("staff_sid"), None
    if session_id:
        polling = request.headers.get("HX-Trigger") in POLLING_TRIGGERS
        staff = get_directory().session_staff(session_id, web.now(), _idle(),
                                              touch=not polling)
    if staff is None:
        if any(key in session for key in STAFF_KEYS):
            _forget()
        return None
    return {"id": staff["id"], "name": staff["name"], "role": staff["role"]}


def _sign_in(session_id: str) -> None:
    """Put the new session in the cookie; the visitor's entry stays in the store, not here,
    and a proof of being at a place (``orders.note_at_place``) is the last person's."""
    for key in ("draft", "receipt", "at_place", *STAFF_KEYS):
        session.pop(key, None)
    session["staff_sid"] = session_id


def _safe_next(target: str | None) -> str:
    """Return ``target`` if it is a page under /staff on this server, else the console."""
    console = STAFF_PREFIX + "/"
    return safe_back(target, console, under=console)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with a name and a PIN."""
    directory = get_directory()
    if directory.is_empty():
        return redirect(url_for(".setup"), 303)
    target = _safe_next(request.values.get("next"))
    if request.method == "GET" and current_staff() is not None:
        return redirect(target, 303)
    errors: dict[str, Message] = {}
    problem, status, headers = None, 200, {}
    name = ""
    if request.method == "POST":
        name = request.form.get("name", "").strip()[:80]
        pin = request.form.get("pin", "")
        if not name:
            errors["name"] = REQUIRED
        if not pin:
            errors["pin"] = REQUIRED
        if errors:
            status = 422
        else:
            now = web.now()
            try:
                account, session_id = directory.sign_in(name, pin, now, _idle(),
                                                        client_address())
            except LockedOut as exc:
                problem = Message(LOCKED, {"time": local_time(exc.until, "time")})
                status = 429
                headers["Retry-After"] = str(max(1, int((exc.until - now).total_seconds())))
            except TooManyAttempts as exc:
                until = now + timedelta(seconds=exc.seconds)
                problem = (Message(pins.CLIENT_THROTTLED, {"time": local_time(until, "time")})
                           if exc.client else pins.BUSY)
                status, headers["Retry-After"] = 429, str(exc.seconds)
            except BadSignIn as exc:
                problem, status = exc.message, 422
            else:
                _sign_in(session_id)
                if account["role"] == "maintenance" and target == STAFF_PREFIX + "/":
                    target = url_for("staff.orders.mine")  # a technician's own work first
                return redirect(target, 303)
    return render_template("staff/login.html", name=name, errors=errors, problem=problem,
                           next=target), status, headers


@bp.route("/setup", methods=["GET", "POST"])
def setup():
    """First run only: create the first customer-service manager, then sign them in."""
    directory = get_directory()
    if not directory.is_empty():
        abort(404)
    errors: dict[str, Message] = {}
    name = ""
    if request.method == "POST":
        name = request.form.get("name", "")
        pin, again = request.form.get("pin", ""), request.form.get("pin_again", "")
        _, errors = check_new_account(name, "manager", pin)
        if "pin" not in errors and pin != again:
            errors["pin_again"] = PINS_DIFFER
        if not errors:
            now = web.now()
            try:
                staff = directory.add(name, "manager", pin, actor=None, now=now, first=True)
            except SetupClosed:
                abort(404)
            except ValidationError as exc:
                errors = dict(exc.errors)
            else:
                _sign_in(directory.open_session(staff["id"], now, _idle()))
                return redirect(_safe_next(None), 303)
    return render_template("staff/setup.html", name=name, errors=errors), 422 if errors else 200


@bp.post("/logout")
def logout():
    """Sign out (for every copy of the cookie) and hand the tablet back to visitors."""
    get_directory().end_session(session.get("staff_sid"))
    _forget()
    return redirect(url_for("visitor.home"), 303)
