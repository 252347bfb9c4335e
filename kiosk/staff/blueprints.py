"""Nest every staff page under ``/staff``, behind one sign-in guard."""
from flask import Blueprint

from ..departments.views import bp as departments_bp
from ..handover.views import bp as handover_bp
from ..households.arrears_views import bp as arrears_bp
from ..fees.views import bp as fees_bp
from ..households.views import bp as households_bp
from ..letters.views import bp as letters_bp
from ..locations.admin import bp as locations_bp
from ..meters.views import bp as meters_bp
from ..movein.views import bp as movein_bp
from ..notices.views import bp as notices_bp
from ..plan.views import bp as plan_bp
from ..registers.views import bp as registers_bp
from ..reports.issue_views import bp as report_issue_bp
from ..reports.views import bp as reports_bp
from ..syncing.views import bp as sync_bp
from .auth import STAFF_PREFIX, require_sign_in
from .auth import bp as auth_bp
from .console import bp as console_bp
from .lists import bp as lists_bp
from .orders import bp as orders_bp
from .printing import bp as printing_bp
from .procedures import bp as procedures_bp
from .team import bp as team_bp

bp = Blueprint("staff", __name__, url_prefix=STAFF_PREFIX)
bp.before_request(require_sign_in)
for child in (auth_bp, console_bp, procedures_bp, printing_bp, orders_bp, locations_bp,
              departments_bp, sync_bp, team_bp, lists_bp, report_issue_bp, reports_bp):
    bp.register_blueprint(child)
bp.register_blueprint(handover_bp)
bp.register_blueprint(meters_bp)
bp.register_blueprint(movein_bp)
bp.register_blueprint(fees_bp)
bp.register_blueprint(arrears_bp)
bp.register_blueprint(households_bp)
bp.register_blueprint(letters_bp)
bp.register_blueprint(notices_bp)
bp.register_blueprint(plan_bp)
bp.register_blueprint(registers_bp)
