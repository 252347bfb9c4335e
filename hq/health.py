"""``GET /healthz``: a small JSON status of HQ for monitors (no sign-in, nothing secret)."""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify

bp = Blueprint("hq_health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz():
    """Answer 200 with whether the store answers, how many sites, and the last ingest
    (503 when the store does not answer)."""
    store = current_app.extensions["hq_store"]
    try:
        sites, last = len(store.sites()), store.last_ingest()
    except Exception:  # any backend's error: the store is not ok
        log.exception("health check: the store does not answer")
        return jsonify(ok=False, store={"ok": False}), 503
    return jsonify(ok=True, store={"ok": True}, sites=sites, last_ingest=last)
