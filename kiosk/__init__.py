"""FrontDesk (物业前台): the kiosk web app of a property-management front desk."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Flask

from common.config import now_utc

from . import errors, health, i18n, permissions
from .config import load_config
from .departments import views as departments
from .departments.service import ensure_defaults
from .extensions import babel, csrf, htmx, init_store
from .locations.service import ensure_demo
from .qr import loopback_qr_base, qr_svg
from .security import init_security
from .staff.auth import init_staff
from .staff.blueprints import bp as staff_bp
from .syncing.runner import init_sync
from .tickets import rules
from .visitor import views as visitor


def create_app(test_config: dict | None = None) -> Flask:
    """Build the kiosk app; ``test_config`` overrides every other setting."""
    app = Flask(__name__, template_folder="../templates", static_folder="../static")
    load_config(app, test_config)
    app.config["TZ"] = ZoneInfo(app.config["SITE_TZ"])
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    return app


def register_extensions(app: Flask) -> None:
    babel.init_app(app, locale_selector=i18n.select_locale)
    csrf.init_app(app)
    htmx.init_app(app)
    init_security(app)
    store = init_store(app)
    init_staff(app)
    if app.config["DEMO_LOCATIONS"]:
        ensure_demo(store, now_utc(app))
    ensure_defaults(store, now_utc(app))  # the usual departments and escalation chain, once
    init_sync(app, store)  # starts pushing the log to HQ when configured (not under TESTING)


def register_blueprints(app: Flask) -> None:
    for bp in (visitor.bp, i18n.bp, health.bp, staff_bp):
        app.register_blueprint(bp)


def register_errorhandlers(app: Flask) -> None:
    errors.register_errorhandlers(app)


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.filters["local_time"] = i18n.local_time
    app.jinja_env.filters["location_name"] = i18n.location_name
    app.jinja_env.filters["department_name"] = departments.department_name
    app.jinja_env.filters["level_title"] = departments.level_title
    app.jinja_env.globals.update(
        qr_svg=qr_svg, loopback_qr_base=loopback_qr_base,
        html_lang=i18n.html_lang, other_language=i18n.other_language,
        LANGUAGES=i18n.LANGUAGES,
        CATEGORIES=rules.CATEGORIES, STATUSES=rules.STATUSES, CHANNELS=rules.CHANNELS,
        CLOSE_REASONS=rules.CLOSE_REASONS, EVENT_LABELS=rules.EVENT_LABELS,
        FIELD_LABELS=rules.FIELD_LABELS, ROLE_LABELS=permissions.ROLE_LABELS,
        ARRIVALS=rules.ARRIVALS, FEEDBACK_WAYS=rules.FEEDBACK_WAYS,
        REVISIT_OUTCOMES=rules.REVISIT_OUTCOMES)
