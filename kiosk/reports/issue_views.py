"""The customer feedback report issued to HQ (R13): the manager reads the figures of the
period just ended, adds remarks and issues it; the desk reads what was issued.

Nested under the guarded ``/staff`` blueprint. Views stay thin: parse, call one
function of ``issue``, render. Bad remarks re-render the form with 422, the text kept.
``ready_report`` is what the queue's banner (``reports/_ready.html``) shows a manager.
"""
from __future__ import annotations

from flask import (
    Blueprint, abort, current_app, flash, redirect, render_template, request, url_for,
)
from flask_babel import gettext

from common.messages import N_
from common.validation import ValidationError

from .. import permissions, web
from ..extensions import get_store
from ..staff.auth import actor, current_staff, permission_required
from ..tickets import figures
from . import issue

bp = Blueprint("report_issue", __name__, url_prefix="/reports")

ISSUED = N_("Issued the report for %(period)s, signed %(name)s: it goes to HQ with the next sync.")
ALREADY = N_("The report for %(period)s was already issued by %(name)s: nothing was changed.")



def _months() -> int:
    return current_app.config["REPORT_MONTHS"]  # 1 or 2, checked when the app was made


def ready_report() -> figures.Period | None:
    """The period whose report waits to be issued, for a manager only (the queue's banner)."""
    staff = current_staff()
    if staff is None or not permissions.may(staff["role"], "issue_reports"):
        return None
    return issue.due(get_store(), web.today(), web.tz(), _months())


def _period() -> figures.Period:
    """The period of ``?period=<key>``, by default the last one ended; 404 for another."""
    key = request.args.get("period", "")[:40]
    if not key:
        return figures.period_ended(web.today(), web.tz(), _months())
    try:
        return issue.period_of(key, web.today(), web.tz())
    except issue.UnknownPeriod:
        abort(404)


@bp.route("/issue", methods=["GET", "POST"])
@permission_required("issue_reports")
def issue_report():
    """The report of a period that has ended, its remarks and the Issue button; once
    issued, what was issued. Sent again (or issued meanwhile), nothing new is stored."""
    store, period, policy = get_store(), _period(), current_app.config["POLICY"]
    errors, remarks = {}, ""
    if request.method == "POST":
        remarks = request.form.get("remarks", "")
        try:
            done = issue.issue(store, period, issue.report_of(store, period, policy), remarks,
                               actor=actor(), now=web.now(), request_id=web.request_id())
        except ValidationError as exc:
            errors = exc.errors
        else:
            flash(gettext(ISSUED if done.new else ALREADY, period=period.key,
                          name=done.report["issued_by"]["name"]))
            return redirect(url_for(".issued", _anchor=f"report-{period.key}"), 303)
    issued = store.issued_report(period.key)
    report = issued["figures"] if issued else issue.report_of(store, period, policy)
    return render_template("reports/issue.html", period=period, report=report, issued=issued,
                           summary=figures.summary(report, gettext), remarks=remarks,
                           errors=errors, max_remarks=issue.MAX_REMARKS), 422 if errors else 200


@bp.get("/issued")
@permission_required("read_reports")
def issued():
    """The reports issued to HQ, the last first: period, who issued it, when, remarks."""
    return render_template("reports/issued.html", reports=get_store().issued_reports(),
                           due=ready_report())
