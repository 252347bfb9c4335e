"""What every view asks of the request: the app's clock, the site's time zone, and the
request id the posted form carries (so a resend stores nothing new); and the one answer
a printed page gives a boosted link.

One way to ask each, used as ``web.now()``, ``web.tz()``, ``web.today()``,
``web.request_id()``, ``web.form(names)``, ``web.whole_page()``.
"""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, request

from common.config import now_utc

from .tickets.service import check_request_id


def now() -> datetime:
    """Return the app's clock: the current aware UTC time (tests inject ``CLOCK``)."""
    return now_utc(current_app)


def tz() -> ZoneInfo:
    """Return the site's time zone (``SITE_TZ``)."""
    return current_app.config["TZ"]


def today() -> date:
    """Return the site-local date now."""
    return now().astimezone(tz()).date()


def request_id() -> str | None:
    """Return the posted form's ``request_id`` if it is well-formed, else None."""
    return check_request_id(request.form.get("request_id"))


def form(names, limit: int = 300) -> dict:
    """Return the posted fields ``names`` as typed (each cut at ``limit`` characters), to
    check and, if refused, show again."""
    return {k: request.form.get(k, "")[:limit] for k in names}


def whole_page():
    """Answer a boosted link to a printed page (htmx swaps the body only, and keeps the
    head): tell it to load the page as a page of its own, with its print stylesheet."""
    return "", 200, {"HX-Redirect": request.full_path.rstrip("?")}
