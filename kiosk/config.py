"""Configuration in three layers: defaults, ``<data>/config.py``, ``KIOSK_*`` environment.

``create_app(test_config)`` applies the test mapping last (``common.config``, which also
makes session cookies ``Secure`` for an https ``PUBLIC_BASE_URL``). The secret key is
made once into the data folder (mode 0600) and never lives in the repository.
"""
from __future__ import annotations

from datetime import time, timedelta

from flask import Flask

from common import i18n
from common.config import load_layers

from .tickets import rules

DEFAULTS = {
    "DATA_DIR": "data",
    "SITE_ID": None,               # taken once, when the data folder is created
    "SITE_TZ": "Asia/Shanghai",
    "PUBLIC_BASE_URL": None,       # e.g. http://192.168.1.20:8080 for phone QR codes
    "SESSION_COOKIE_SECURE": None,  # None: on when PUBLIC_BASE_URL is https://...
    "IDLE_SECONDS": 90,            # kiosk: warn after this long without a touch
    "IDLE_COUNTDOWN_SECONDS": 15,  # ...then count down this long and clear the screen
    "RECEIPT_SECONDS": 60,         # the receipt clears itself after this long
    "STAFF_IDLE_SECONDS": 120,     # staff mode signs out after this long without a touch
    "SIGN_IN_LIMIT": 10,           # sign-in attempts per client address, successes not
    "SIGN_IN_WINDOW_SECONDS": 300,  # counted, in this window (5 wrong PINs lock an account)
    "RATE_LIMIT": 10,              # submissions per client...
    "RATE_WINDOW_SECONDS": 600,    # ...in this window
    "MAX_CONTENT_LENGTH": 64 * 1024,
    "WTF_CSRF_TIME_LIMIT": None,   # a kiosk page may stay open all day
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_HTTPONLY": True,
    "BABEL_DEFAULT_LOCALE": "zh_CN",
    "BABEL_TRANSLATION_DIRECTORIES": i18n.TRANSLATIONS,  # the one catalog of both apps
    "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
    "DEMO_LOCATIONS": True,        # seed clearly marked demo places on a first start
    "CLOCK": None,                 # tests inject a callable returning an aware UTC datetime
    "HQ_URL": None,                # sync to HQ (sync/PROTOCOL.md); with SITE_ID, HQ_KEY_ID,
    "HQ_KEY_ID": None,             # HQ_KEY, or saved once from the manager's console into
    "HQ_KEY": None,                # data/sync-settings.json (0600); the key is a secret
    "SYNC_AUTOSTART": None,        # None: start the sync worker unless TESTING
    "SYNC_BACKOFF_BASE": 2.0,      # seconds; unknown outcomes back off with full jitter...
    "SYNC_RETRY_CAP": 20.0,        # ...up to this while events wait (HQ's return seen fast)
    "SYNC_BACKOFF_CAP": 600.0,     # the longest wait: HQ's Retry-After honoured up to this
    "SYNC_IDLE_PROBE": 60.0,       # seconds between probes of HQ while nothing waits
    "SYNC_ALARM_RETRY": 600.0,     # seconds between retries after a refusal (400/401/403/409)
    "REPAIR_ARRIVAL_MINUTES": 30,  # repair: maintenance on site this long after the report
    "END_OF_DAY": "18:00",         # phone and walk-in records are handled by then (site time)
    "WORKING_DAYS": "1,2,3,4,5",   # ISO weekdays (1 = Monday): a revisit is due the next one
    "ESCALATION_MINUTES": 5,       # unacknowledged emergency: the next level of the chain
    "TECHNICIAN_SESSION_HOURS": 12,  # a maintenance account's own phone stays signed in
    "REPORT_MONTHS": 1,            # the feedback report to HQ: 1 monthly, 2 every two months
    "PIN_HASH_METHOD": None,       # tests only (under TESTING): a cheap hash; else scrypt
}


def load_config(app: Flask, test_config: dict | None) -> None:
    """Fill ``app.config`` from the defaults, the data folder, the environment and tests;
    ``POLICY`` is the site's deadlines and timers (``rules.Policy``) made from them. A bad
    setting fails the start, not a page."""
    load_layers(app.config, DEFAULTS, "KIOSK", test_config)
    app.config["BABEL_DEFAULT_TIMEZONE"] = app.config["SITE_TZ"]
    app.config["POLICY"] = policy_from(app.config)
    if app.config["REPORT_MONTHS"] not in (1, 2) or type(app.config["REPORT_MONTHS"]) is not int:
        raise ValueError(f"REPORT_MONTHS must be 1 or 2, not {app.config['REPORT_MONTHS']!r}")


def policy_from(config) -> rules.Policy:
    """Return the ``rules.Policy`` the settings describe (a bad setting fails the start)."""
    hour, minute = (int(part) for part in str(config["END_OF_DAY"]).split(":"))
    days = frozenset(int(d) for d in str(config["WORKING_DAYS"]).split(",") if d.strip())
    if not days <= set(range(1, 8)):
        raise ValueError(f"WORKING_DAYS must list ISO weekdays 1-7, not {days}")
    return rules.Policy(arrival=timedelta(minutes=float(config["REPAIR_ARRIVAL_MINUTES"])),
                        end_of_day=time(hour, minute), working_days=days,
                        escalation_step=timedelta(minutes=float(config["ESCALATION_MINUTES"])))
