"""FrontDesk (物业前台): the kiosk web app of a property-management front desk."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Flask

from .config import load_config, now_utc


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
    from .extensions import babel, csrf, htmx, init_store
    from .i18n import select_locale
    from .locations.service import ensure_demo
    from .security import init_security
    from .staff.auth import init_staff

    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)
    htmx.init_app(app)
    init_security(app)
    store = init_store(app)
    init_staff(app)
    if app.config["DEMO_LOCATIONS"]:
        ensure_demo(store, now_utc(app))
    from sync.worker import init_sync

    init_sync(app, store)  # starts pushing the log to HQ when configured (not under TESTING)


def register_blueprints(app: Flask) -> None:
    from . import health, i18n
    from .staff.blueprints import bp as staff
    from .visitor import views as visitor

    for bp in (visitor.bp, i18n.bp, health.bp, staff):
        app.register_blueprint(bp)


def register_errorhandlers(app: Flask) -> None:
    from .errors import register_errorhandlers as register

    register(app)


def register_template_helpers(app: Flask) -> None:
    from .i18n import LANGUAGES, html_lang, local_time
    from .qr import qr_svg
    from .staff import ROLE_LABELS
    from .tickets import rules

    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.globals.update(
        qr_svg=qr_svg, html_lang=html_lang, LANGUAGES=LANGUAGES, CATEGORIES=rules.CATEGORIES,
        STATUSES=rules.STATUSES, CHANNELS=rules.CHANNELS, CLOSE_REASONS=rules.CLOSE_REASONS,
        EVENT_LABELS=rules.EVENT_LABELS, FIELD_LABELS=rules.FIELD_LABELS, ROLE_LABELS=ROLE_LABELS)
