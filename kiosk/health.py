"""``GET /healthz``: a small JSON status for monitors and the sync worker."""
from flask import Blueprint

from .extensions import get_store

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Answer 200 with the store's status."""
    return {"ok": True, "store": get_store().status()}
