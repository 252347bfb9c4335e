"""Flask extensions and the per-process store, bound in ``create_app``."""
from __future__ import annotations

import atexit

from flask import Flask, current_app
from flask_babel import Babel
from flask_htmx import HTMX
from flask_wtf.csrf import CSRFProtect

from .store import Store

babel = Babel()
csrf = CSRFProtect()
htmx = HTMX()


def init_store(app: Flask) -> Store:
    """Open the data folder's store once for this app (and process)."""
    store = Store(app.config["DATA_DIR"], site_id=app.config.get("SITE_ID"))
    app.extensions["kiosk_store"] = store
    atexit.register(store.close)
    return store


def get_store() -> Store:
    """Return the store of the current app."""
    return current_app.extensions["kiosk_store"]
