"""Nest every staff page under ``/staff``, behind one sign-in guard."""
from flask import Blueprint

from ..locations.admin import bp as locations_bp
from ..syncing.views import bp as sync_bp
from .auth import STAFF_PREFIX, require_sign_in
from .auth import bp as auth_bp
from .console import bp as console_bp
from .team import bp as team_bp

bp = Blueprint("staff", __name__, url_prefix=STAFF_PREFIX)
bp.before_request(require_sign_in)
for child in (auth_bp, console_bp, locations_bp, sync_bp, team_bp):
    bp.register_blueprint(child)
