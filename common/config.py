"""Settings in layers and the app clock, the same for the kiosk and HQ.

The layers, last wins: ``SHARED_DEFAULTS``, the app's defaults, ``<data folder>/config.py``,
environment variables with the app's prefix (``KIOSK_*``, ``HQ_*``), then the test
mapping. The secret key is made once into the data folder (mode 0600), never kept in the
repository. Session cookies are ``Secure`` when the app is served over HTTPS: unless a
layer sets ``SESSION_COOKIE_SECURE``, it is on exactly when ``PUBLIC_BASE_URL`` is an
``https://`` address. ``config`` is the app's ``flask.Config`` (this module only calls
its methods).
"""
from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Mapping

from .files import secret_file

#: Settings both apps have; an app's own defaults come after (and may override them).
SHARED_DEFAULTS = {
    "PUBLIC_BASE_URL": None,        # the address people open, e.g. https://hq.example.com
    "SESSION_COOKIE_SECURE": None,  # None: on when PUBLIC_BASE_URL is https://...
    "SIGN_IN_LIMIT": 10,            # sign-in attempts per client (address), successes
    "SIGN_IN_WINDOW_SECONDS": 300,  # not counted, in this window (and 5 per account)
}


def load_layers(config, defaults: Mapping, prefix: str,
                overrides: Mapping | None = None) -> Path:
    """Fill ``config`` from every layer; return the data folder (created, absolute)."""
    overrides = dict(overrides or {})
    data_dir = Path(overrides.get("DATA_DIR") or os.environ.get(f"{prefix}_DATA_DIR")
                    or defaults["DATA_DIR"]).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    read_layers(config, defaults, prefix, data_dir)
    config.from_mapping(overrides)
    secure_cookies(config)
    config["DATA_DIR"] = str(data_dir)
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = secret_file(data_dir / "secret_key")
    return data_dir


def read_layers(config, defaults: Mapping, prefix: str, data_dir: Path) -> None:
    """Fill ``config`` from the defaults, ``data_dir/config.py`` and the environment only;
    writes nothing (what a shell command needs to see the server's settings)."""
    config.from_mapping({**SHARED_DEFAULTS, **defaults})
    config.from_pyfile(str(Path(data_dir) / "config.py"), silent=True)
    config.from_prefixed_env(prefix)


def secure_cookies(config) -> None:
    """Turn ``SESSION_COOKIE_SECURE`` on for an ``https://`` public address, unless set."""
    if config.get("SESSION_COOKIE_SECURE") is None:
        url = config.get("PUBLIC_BASE_URL")
        config["SESSION_COOKIE_SECURE"] = isinstance(url, str) and \
            url.strip().lower().startswith("https://")


#: Test-only: a process started with FRONTDESK_CLOCK_OFFSET_SECONDS=N runs N seconds off
#: (a kiosk whose clock is wrong, tests/test_sync_faults.py); unset, it is 0.
CLOCK_OFFSET = float(os.environ.get("FRONTDESK_CLOCK_OFFSET_SECONDS") or 0)


def now_utc(app) -> datetime:
    """Return the current aware UTC time, from the injected ``CLOCK`` when tests set one."""
    clock = app.config.get("CLOCK")
    return clock() if clock else datetime.now(timezone.utc) + timedelta(seconds=CLOCK_OFFSET)


def wall_time() -> float:
    """Return the current unix time (``time.time``, plus the test-only offset)."""
    return time.time() + CLOCK_OFFSET
