"""Configuration in three layers: defaults, ``<data>/config.py``, ``KIOSK_*`` environment.

``create_app(test_config)`` applies the test mapping last. The secret key is made
once into the data folder (mode 0600) and never lives in the repository.
"""
from __future__ import annotations

import os
import secrets
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from flask import Flask

DEFAULTS = {
    "DATA_DIR": "data",
    "SITE_ID": None,               # taken once, when the data folder is created
    "SITE_TZ": "Asia/Shanghai",
    "PUBLIC_BASE_URL": None,       # e.g. http://192.168.1.20:8080 for phone QR codes
    "IDLE_SECONDS": 90,            # kiosk: warn after this long without a touch
    "IDLE_COUNTDOWN_SECONDS": 15,  # ...then count down this long and clear the screen
    "RECEIPT_SECONDS": 60,         # the receipt clears itself after this long
    "STAFF_IDLE_SECONDS": 120,     # staff mode signs out after this long without a touch
    "RATE_LIMIT": 10,              # submissions per client...
    "RATE_WINDOW_SECONDS": 600,    # ...in this window
    "MAX_CONTENT_LENGTH": 64 * 1024,
    "WTF_CSRF_TIME_LIMIT": None,   # a kiosk page may stay open all day
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_HTTPONLY": True,
    "BABEL_DEFAULT_LOCALE": "zh_CN",
    "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
    "DEMO_LOCATIONS": True,        # seed clearly marked demo places on a first start
    "CLOCK": None,                 # tests inject a callable returning an aware UTC datetime
    "HQ_URL": None,                # sync to HQ (sync/PROTOCOL.md); with SITE_ID, HQ_KEY_ID,
    "HQ_KEY_ID": None,             # HQ_KEY, or saved once from the manager's console into
    "HQ_KEY": None,                # data/sync-settings.json (0600); the key is a secret
    "SYNC_AUTOSTART": None,        # None: start the sync worker unless TESTING
    "SYNC_BACKOFF_BASE": 2.0,      # seconds; unknown outcomes back off with full jitter...
    "SYNC_BACKOFF_CAP": 600.0,     # ...up to this
    "SYNC_ALARM_RETRY": 600.0,     # seconds between retries after a refusal (400/401/403/409)
}


def load_config(app: Flask, test_config: dict | None) -> None:
    """Fill ``app.config`` from the defaults, the data folder, the environment and tests."""
    overrides = dict(test_config or {})
    data_dir = Path(overrides.get("DATA_DIR") or os.environ.get("KIOSK_DATA_DIR")
                    or DEFAULTS["DATA_DIR"]).resolve()
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile(str(data_dir / "config.py"), silent=True)
    app.config.from_prefixed_env("KIOSK")
    app.config.from_mapping(overrides)
    app.config["DATA_DIR"] = str(data_dir)
    app.config["BABEL_DEFAULT_TIMEZONE"] = app.config["SITE_TZ"]
    data_dir.mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(data_dir / "secret_key")


def _secret_key(path: Path) -> str:
    """Return the data folder's secret key, creating it on first start."""
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip()


#: Test-only: a process started with FRONTDESK_CLOCK_OFFSET_SECONDS=N runs N seconds off
#: (a kiosk whose clock is wrong, tests/test_sync_faults.py); unset, it is 0.
CLOCK_OFFSET = float(os.environ.get("FRONTDESK_CLOCK_OFFSET_SECONDS") or 0)


def now_utc(app: Flask) -> datetime:
    """Return the current time, from the injected clock when tests set one."""
    clock = app.config.get("CLOCK")
    return clock() if clock else datetime.now(timezone.utc) + timedelta(seconds=CLOCK_OFFSET)


def wall_time() -> float:
    """Return the current unix time (``time.time``, plus the test-only offset)."""
    return time.time() + CLOCK_OFFSET
