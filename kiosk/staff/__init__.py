"""Staff mode: everything under ``/staff`` requires a signed-in staff member.

The guard is one ``before_request`` on the parent blueprint, so a new staff page
cannot forget it; feature blueprints (console, places, ...) nest under it.
Only the sign-in and first-run setup pages are open (``PUBLIC_ENDPOINTS``).
"""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, g, redirect, request, url_for

from ..tickets.rules import N_

bp = Blueprint("staff", __name__, url_prefix="/staff")

#: Staff endpoints reachable without signing in.
PUBLIC_ENDPOINTS = {"staff.auth.login", "staff.auth.setup"}

ROLE_LABELS = {"receptionist": N_("Receptionist"), "manager": N_("Manager"),
               "maintenance": N_("Maintenance staff")}
ROLES = tuple(ROLE_LABELS)


def current_staff() -> dict | None:
    """Return the signed-in staff member (id, name, role) for this request, or None."""
    return g.get("staff")


def actor() -> dict:
    """Return the signature every event of a staff action carries (R8)."""
    staff = current_staff()
    return {"role": staff["role"], "id": staff["id"], "name": staff["name"]}


def role_required(*roles: str):
    """Refuse (403) a signed-in staff member whose role is not one of ``roles``."""
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            staff = current_staff()
            if staff is None or staff["role"] not in roles:
                abort(403)
            return view(*args, **kwargs)
        return wrapper
    return decorator


@bp.before_request
def require_sign_in():
    """Send anyone who is not signed in to the sign-in page."""
    from .auth import load_signed_in_staff

    g.staff = load_signed_in_staff()
    if g.staff is None and request.endpoint not in PUBLIC_ENDPOINTS:
        if request.headers.get("HX-Request") and not request.headers.get("HX-Boosted"):
            # a background poll after an idle sign-out: send the whole tablet home
            return "", 204, {"HX-Redirect": url_for("visitor.home")}
        return redirect(url_for("staff.auth.login", next=request.path), 303)
    return None
