"""Nest every staff feature under the guarded ``/staff`` blueprint (imported once)."""
from sync.views import bp as sync_bp

from ..locations.admin import bp as places_bp
from . import bp
from .auth import bp as auth_bp
from .console import bp as console_bp
from .team import bp as team_bp

for child in (auth_bp, console_bp, places_bp, sync_bp, team_bp):
    bp.register_blueprint(child)
