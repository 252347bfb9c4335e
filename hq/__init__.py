"""HQ: the headquarters server every kiosk pushes its hash-chained event log to.

``create_hq_app(test_config=None)`` builds the Flask app: the signed ingest API
(``POST /api/v1/sites/<site_id>/events``, see ``sync/PROTOCOL.md``) and a signed-in
dashboard over all sites. Data lives in ``DATA_DIR`` (default ``./hq-data``): the
SQLite database and a generated secret key; with ``DATABASE_URL`` (``HQ_DATABASE_URL``,
``postgresql://...``) the database is PostgreSQL instead. Settings: defaults below, then
``<data>/config.py``, then ``HQ_*`` environment variables, then ``test_config``.
The dashboard speaks Simplified Chinese by default, English one tap away (``hq.i18n``,
the kiosk's catalog); ``GET /healthz`` answers monitors without a sign-in.
"""
from __future__ import annotations

import atexit
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from common.config import load_layers
from common.headers import set_headers
from common.i18n import LANGUAGES
from common.messages import N_
from kiosk.tickets import rules
from sync import protocol

from . import auth, chain, health, i18n, views
from .database import open_store
from .ingest import SITE_EVENT_TYPES
from .views import ALARM_KINDS

csrf = CSRFProtect()

DEFAULTS = {
    "DATA_DIR": "hq-data",
    "DATABASE_URL": None,            # postgresql://...: HQ on PostgreSQL; else SQLite in DATA_DIR
    "DB_POOL_SIZE": None,            # PostgreSQL connections at most (the server's threads)
    "TZ_NAME": "Asia/Shanghai",      # the zone the dashboard shows times in
    "IDLE_SECONDS": 3600,            # a dashboard session idle this long is signed out
    "REFRESH_SECONDS": 30,           # the sites page reloads its table this often
    "SILENT_MINUTES": 15,            # a site silent longer is shown offline (hq.liveness)
    "MAX_CONTENT_LENGTH": protocol.MAX_BODY_BYTES,
    "SESSION_COOKIE_NAME": "hq_session",  # not the kiosk's cookie on the same host
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": None,
    "CLOCK": None,                   # tests inject a callable returning an aware UTC datetime
    "PIN_HASH_METHOD": None,         # tests only (under TESTING): a cheap hash; else scrypt
}


def create_hq_app(test_config: dict | None = None) -> Flask:
    """Build the HQ app; ``test_config`` overrides every other setting."""
    app = Flask(__name__, template_folder="../templates", static_folder="../static")
    load_layers(app.config, DEFAULTS, "HQ", test_config)
    app.config["TZ"] = ZoneInfo(app.config["TZ_NAME"])
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    return app


def register_extensions(app: Flask) -> None:
    i18n.init_i18n(app)
    store = open_store(app.config["DATA_DIR"], app.config["DATABASE_URL"],
                       app.config["DB_POOL_SIZE"])
    app.extensions["hq_store"] = store
    app.extensions["chain_checks"] = chain.ChainChecks()
    atexit.register(store.close)
    auth.init_auth(app)  # before CSRF: strangers are sent to sign in first
    csrf.init_app(app)
    app.after_request(set_headers)


def register_blueprints(app: Flask) -> None:
    csrf.exempt(views.api)  # HMAC-signed per request; no cookies, no forms
    for bp in (views.api, health.bp, i18n.bp, auth.bp, views.bp):
        app.register_blueprint(bp)


#: What an error page says, by status (English msgids).
ERROR_TITLES = {400: N_("Bad request"), 403: N_("Forbidden"), 404: N_("Not found"),
                405: N_("Method not allowed"), 413: N_("Too large"),
                429: N_("Too many requests"), 500: N_("Something went wrong")}


def register_errorhandlers(app: Flask) -> None:
    """Answer errors with JSON on the API and a plain page elsewhere; never a trace."""

    def render(status: int, title: str, english: str):
        if request.blueprint == "hq_api" or request.path.startswith("/api/"):
            return jsonify(error=english), status  # for machines: English
        return render_template("hq/error.html", status=status, title=gettext(title)), status

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        text = N_("This page has expired: please reload it and try again.")
        return render(400, text, text)

    @app.errorhandler(HTTPException)  # also an unexpected error, as a logged 500
    def http_error(exc):
        code = exc.code or 500
        title = ERROR_TITLES.get(code) or ERROR_TITLES[500 if code >= 500 else 400]
        return render(code, title, exc.name)


def register_template_helpers(app: Flask) -> None:
    def hq_time(value, seconds: bool = False) -> str:
        """Show a stored UTC time in HQ's zone (to the second if asked), or a dash."""
        try:
            when = value if isinstance(value, datetime) else datetime.fromisoformat(value)
            return when.astimezone(app.config["TZ"]).strftime(
                "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
        except (TypeError, ValueError, OverflowError):
            return value or "—"

    app.jinja_env.filters["hq_time"] = hq_time
    app.jinja_env.globals.update(
        html_lang=i18n.html_lang, other_language=i18n.other_language, LANGUAGES=LANGUAGES,
        ALARM_KINDS=ALARM_KINDS, CATEGORIES=rules.CATEGORIES, STATUSES=rules.STATUSES,
        CHANNELS=rules.CHANNELS,
        CLOSE_REASONS=rules.CLOSE_REASONS, EVENT_LABELS=rules.EVENT_LABELS,
        SITE_EVENT_TYPES=SITE_EVENT_TYPES)
