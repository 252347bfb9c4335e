"""The desk's follow-up lists: the revisit queue with its spot-check of a department's
completed repairs (R15), and the record of emergencies and important matters,
突发事件、重要问题记录 (R12).

Views stay thin as in ``console``: read the store through ``kiosk.tickets.queue``,
render. The revisit forms post to the ticket's own revisit step
(``staff.procedures.revisit``), which comes back here.
"""
from __future__ import annotations

from flask import Blueprint, render_template, request

from .. import web
from ..extensions import get_store
from ..tickets import queue
from .auth import permission_required

bp = Blueprint("lists", __name__)


def _places() -> dict:
    return {loc["code"]: loc for loc in get_store().locations(False)}


@bp.get("/revisits")
@permission_required("revisit")
def revisits():
    """The calls back due, earliest first, each with its satisfied / not satisfied form;
    with ``?department=<code>``, that department's completed repairs to spot-check."""
    store = get_store()
    code = request.args.get("department", "")[:40]
    department = store.department(code) if code else None
    departments = store.departments(active_only=False)
    return render_template("staff/revisits.html",
                           tickets=queue.revisits(store, web.now()),
                           departments=departments, by_code={d["code"]: d for d in departments},
                           department=department,
                           checked=queue.spot_check(store, code) if department else [],
                           places=_places())


@bp.get("/emergencies")
def emergencies():
    """The emergencies and important matters, open and of the last two months: when,
    where, who was told and who took it on; prints as a plain table."""
    store = get_store()
    return render_template("staff/emergencies.html", tickets=queue.emergencies(store),
                           chain=store.escalation_chain(), places=_places())
