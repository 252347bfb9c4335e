"""Sign-in to the HQ dashboard: named accounts with hashed PINs, lock-out, setup.

Every page but sign-in, first-run setup and the HMAC-signed API needs a signed-in
account (``require_admin``, an app-wide ``before_request``: a new page is protected by
default). HQ is reached from every site's network, so its PINs are 6-12 digits. The
PIN mechanism (hashing, the lock after five wrong PINs) is ``common.pins``, as on the
kiosk.
"""
from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from common import pins
from common.config import now_utc
from common.pins import BadSignIn, LockedOut

from .storage import HQStore, NameTaken

bp = Blueprint("hq_auth", __name__)

MAX_NAME = 40
PIN_LENGTHS = (6, 12)
#: Endpoints anyone may open; the API authenticates each request itself.
PUBLIC_ENDPOINTS = frozenset({"hq_auth.login", "hq_auth.setup", "static"})
PUBLIC_BLUEPRINTS = frozenset({"hq_api"})


class AccountError(ValueError):
    """A new account's fields are not right: ``errors`` maps each field to a message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class _Admins:
    """HQ's dashboard accounts as ``common.pins`` asks for them."""

    def __init__(self, store: HQStore):
        self.store = store

    def pin_record(self, name: str) -> dict | None:
        account = self.store.admin(name)
        if account is None:
            return None
        until = account["locked_until"]
        return {**account, "locked_until": datetime.fromisoformat(until) if until else None}

    def pin_failed(self, name: str, now: datetime) -> datetime | None:
        until = self.store.admin_failed(name, pins.MAX_FAILURES, now + pins.LOCK_DURATION)
        return datetime.fromisoformat(until) if until else None

    def pin_succeeded(self, name: str) -> None:
        self.store.admin_succeeded(name)


def init_auth(app: Flask) -> None:
    """Give the app its PIN hasher and guard every page but the public ones."""
    app.extensions["hq_pins"] = pins.PinHasher(pins.method_for(app.config))
    app.before_request(require_admin)


def check_account(name: object, pin: object) -> tuple[str, dict[str, str]]:
    """Check a new account's fields; return ``(clean name, errors)``."""
    clean = " ".join(name.split()) if isinstance(name, str) else ""
    errors = {}
    if not clean or len(clean) > MAX_NAME or not clean.isprintable():
        errors["name"] = f"Please give a name of 1 to {MAX_NAME} characters."
    if not pins.check_format(pin, PIN_LENGTHS):
        errors["pin"] = "The PIN must be 6 to 12 digits."
    return clean, errors


def add_account(store: HQStore, hasher: pins.PinHasher, name: object, pin: object,
                now: datetime, first: bool = False) -> str:
    """Check and add a dashboard account; return its clean name.

    :raises AccountError: for a bad name or PIN, or a name in use (``first``: any account).
    """
    clean, errors = check_account(name, pin)
    if errors:
        raise AccountError(errors)
    try:
        store.add_admin(clean, hasher.hash(pin), now, first=first)
    except NameTaken:
        raise AccountError({"name": "An account with this name exists."}) from None
    return clean


def authenticate(store: HQStore, hasher: pins.PinHasher, name: str, pin: str,
                 now: datetime) -> str:
    """Return the account's name if ``pin`` signs in to it at ``now``.

    :raises LockedOut: while locked (the PIN is not even checked).
    :raises BadSignIn: for an unknown name or a wrong PIN alike.
    """
    return pins.sign_in(_Admins(store), hasher, name, pin, now)["name"]


def _store() -> HQStore:
    return current_app.extensions["hq_store"]


def _hasher() -> pins.PinHasher:
    return current_app.extensions["hq_pins"]


def _sign_in(name: str) -> None:
    session.clear()
    session["hq_admin"] = name
    session["hq_seen"] = now_utc(current_app).timestamp()


def require_admin():
    """Before every request: send anyone not signed in to the sign-in page."""
    if request.endpoint is None or request.endpoint in PUBLIC_ENDPOINTS \
            or request.blueprint in PUBLIC_BLUEPRINTS:
        return None
    name, seen = session.get("hq_admin"), session.get("hq_seen")
    now = now_utc(current_app).timestamp()
    if (not name or not isinstance(seen, (int, float))
            or now - seen > current_app.config["IDLE_SECONDS"] or _store().admin(name) is None):
        session.clear()
        target = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("hq_auth.login", next=target), 303)
    session["hq_seen"] = now
    g.admin = name
    return None


def _safe_next(target: str | None) -> str:
    """Return ``target`` if it is a path on this server, else the overview."""
    if target and target.startswith("/") and not target.startswith("//") \
            and "\\" not in target and target.isprintable() and not urlsplit(target).netloc:
        return target
    return url_for("hq.index")


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
            _sign_in(authenticate(store, _hasher(), name, request.form.get("pin", ""), now))
            return redirect(target, 303)
        except LockedOut as exc:
            problem, status = "Too many wrong PINs: this account is locked for a few minutes.", 429
            headers["Retry-After"] = str(max(1, int((exc.until - now).total_seconds())))
        except BadSignIn:
            problem, status = "The name or the PIN is not right.", 422
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
        if "pin" not in errors and pin != request.form.get("pin_again", ""):
            errors["pin_again"] = "The two PINs are not the same."
        if not errors:
            try:
                _sign_in(add_account(store, _hasher(), name, pin, now_utc(current_app),
                                        first=True))
                return redirect(url_for("hq.index"), 303)
            except AccountError as exc:
                if store.admin_count():
                    abort(404)  # someone else finished the setup first
                errors = exc.errors
    return render_template("hq/setup.html", name=name, errors=errors), 422 if errors else 200


@bp.post("/logout")
def logout():
    """Sign out."""
    session.clear()
    return redirect(url_for(".login"), 303)
