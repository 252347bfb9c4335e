"""``GET /healthz``: a small JSON status for monitors: the store and the sync backlog."""
from flask import Blueprint, current_app

from .extensions import get_store

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Answer 200 with the store's status and, when sync runs, its backlog (no secrets)."""
    worker = current_app.extensions.get("sync_worker")
    sync = worker.status() if worker else None
    return {"ok": True, "store": get_store().status(),
            "sync": sync and {"configured": sync["configured"], "online": sync["online"],
                              "waiting": sync["waiting"], "last_success": sync["last_success"],
                              "alarm": bool(sync["alarm"])}}
