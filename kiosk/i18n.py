"""Simplified Chinese by default, English one tap away (Flask-Babel).

The visitor's choice lives in the session, so clearing the kiosk for the next
person also brings the language back to the site's (``BABEL_DEFAULT_LOCALE``: Chinese
unless a site sets another; the shell's commands speak it too).
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, current_app, redirect, request, session
from flask_babel import get_locale

from common import i18n
from common.urls import safe_back
from common.i18n import LANGUAGES

from .locations import service as locations

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    """Return the visitor's chosen language, else the site's (Chinese unless set)."""
    return i18n.pick(session.get("lang"), current_app.config.get("BABEL_DEFAULT_LOCALE"))


def switch_language(code: str) -> bool:
    """Remember the visitor's language if ``code`` is one; return whether it was."""
    if code in LANGUAGES:
        session["lang"] = code
        return True
    return False


@bp.get("/lang/<code>")
def switch(code: str):
    """Switch the language and go back to the page the visitor was on."""
    switch_language(code)
    return redirect(safe_back(request.args.get("next")), 303)  # only inside the kiosk


def local_time(value: str | datetime | None, fmt: str = "short") -> str:
    """Format a stored UTC time in the site's zone: "short" 2026-11-28 10:00, "time" 10:00.

    Both patterns are digits only, the same in every language, so ``strftime`` in the
    site's zone gives what ``format_datetime`` would, several times faster: the queue
    shows a due time on each of its hundreds of rows. A naive time is taken as UTC.
    """
    if not value:
        return ""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(current_app.config["TZ"]).strftime(
        "%H:%M" if fmt == "time" else "%Y-%m-%d %H:%M")


def html_lang() -> str:
    """Return the BCP 47 tag for ``<html lang>``."""
    return i18n.html_lang(get_locale().language)


def other_language() -> str:
    """Return the code of the language the page's switch offers."""
    return i18n.other_language(get_locale().language)


def location_name(location: dict) -> str:
    """Return a location's name in the page's language (a template filter)."""
    return locations.location_name(location, get_locale().language)
