"""The dashboard's language: Simplified Chinese by default, English one tap away.

One catalog serves both apps (``common/translations``). The choice is kept in a cookie of
its own, not in the session: signing in or out (which clears the session) keeps it.
"""
from __future__ import annotations

from flask import Blueprint, current_app, redirect, request
from flask_babel import Babel, get_locale

from common import i18n
from common.urls import safe_back

COOKIE = "hq_lang"

babel = Babel()
bp = Blueprint("hq_i18n", __name__)


def init_i18n(app) -> None:
    """Give the app Flask-Babel over the shared catalog, Chinese unless switched."""
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", i18n.TRANSLATIONS)
    app.config.setdefault("BABEL_DEFAULT_LOCALE", i18n.DEFAULT)
    babel.init_app(app, locale_selector=select_locale)


def select_locale() -> str:
    """Return the chosen language (the cookie), else HQ's (Chinese unless set)."""
    return i18n.pick(request.cookies.get(COOKIE), current_app.config["BABEL_DEFAULT_LOCALE"])


@bp.get("/lang/<code>")
def switch(code: str):
    """Switch the language and go back to the page the person was on (on this server)."""
    response = redirect(safe_back(request.args.get("next")), 303)
    if code in i18n.LANGUAGES:
        response.set_cookie(COOKIE, code, max_age=365 * 86400, httponly=True, samesite="Lax",
                            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))
    return response


def html_lang() -> str:
    """Return the BCP 47 tag for ``<html lang>``."""
    return i18n.html_lang(get_locale().language)


def other_language() -> str:
    """Return the code of the language the page's switch offers."""
    return i18n.other_language(get_locale().language)
