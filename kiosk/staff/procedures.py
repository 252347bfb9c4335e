"""Each category's procedure on the ticket page (R9-R12, R15): dispatch, an agreed
deadline, arrival and completion told by phone, facts, the manager's sign-off, transfer,
result, feedback, revisit, "important", escalation.

Views stay thin as in ``console``: parse the form, call one function of
``kiosk.tickets.actions``, answer through ``console.act`` (422 re-render, 403, 409, or
303 back to the ticket, or to a ``next`` page under /staff such as the revisit queue).
"""
from __future__ import annotations

from flask import Blueprint, current_app, request

from common.messages import N_, Message

from .. import web
from ..tickets import actions
from .auth import countersign, get_directory
from .console import act, invalid

bp = Blueprint("procedures", __name__)

NOT_A_MANAGER = Message(N_("Only a customer-service manager can sign a complaint off."))
SIGN_OFF_REFUSED = Message(N_("This name and PIN do not match a manager's account."))
SIGN_OFF_BUSY = Message(N_("Too many tries. Please wait a few minutes, or ask the manager "
                           "to sign in themselves."))


def _form(name: str) -> str:
    return request.form.get(name, "")


def _site() -> dict:
    return {"tz": web.tz(), "policy": current_app.config["POLICY"]}


@bp.post("/t/<tid>/dispatch")
def dispatch(tid: str):
    """Send a repair to a department, and to a named technician if one is picked."""
    technician = None
    if _form("technician"):
        account = get_directory().get(_form("technician")[:40])
        if account is None or not account["active"]:
            return invalid(tid, {"technician": Message(N_("Please choose someone from the list."))})
        technician = {"id": account["id"], "name": account["name"]}
    return act(tid, actions.dispatch, _form("department"), technician, request_id=web.request_id())


@bp.post("/t/<tid>/deadline")
def agree_deadline(tid: str):
    """Special case: a deadline agreed with maintenance replaces the 30 minutes (R9)."""
    return act(tid, actions.agree_deadline, _form("due_at"), _form("reason"),
               tz=web.tz(), request_id=web.request_id())


@bp.post("/t/<tid>/arrive")
def arrive(tid: str):
    """Maintenance is on site, as they said on the phone."""
    return act(tid, actions.arrive, request_id=web.request_id())


@bp.post("/t/<tid>/complete")
def complete(tid: str):
    """The repair is done, as maintenance said on the phone."""
    fields = {k: _form(k) for k in ("result", "materials", "fee")}
    return act(tid, actions.complete, fields, request_id=web.request_id(), **_site())


@bp.post("/t/<tid>/investigate")
def investigate(tid: str):
    """Record the facts established about a complaint."""
    return act(tid, actions.investigate, _form("facts"), request_id=web.request_id())


@bp.post("/t/<tid>/sign-off")
def sign_off(tid: str):
    """The manager signs a complaint off here with their own name and PIN, whoever is
    signed in; the event is the manager's (R10)."""
    signer, errors = countersign("manager_name", "manager_pin", SIGN_OFF_REFUSED, SIGN_OFF_BUSY)
    if signer and signer["role"] != "manager":
        errors = {"manager_name": NOT_A_MANAGER}
    if errors:
        return invalid(tid, errors)
    return act(tid, actions.sign_off, _form("remarks"), signer=signer, request_id=web.request_id())


@bp.post("/t/<tid>/transfer")
def transfer(tid: str):
    """Pass the matter to the department (or the person) concerned."""
    return act(tid, actions.transfer, _form("department"), _form("person"),
               request_id=web.request_id())


@bp.post("/t/<tid>/resolve")
def resolve(tid: str):
    """Record the result, or the desk's own answer."""
    return act(tid, actions.resolve, _form("result"), told=_form("told"),
               request_id=web.request_id())


@bp.post("/t/<tid>/feedback")
def feed_back(tid: str):
    """Record that the customer was told the result, and what they said."""
    return act(tid, actions.feed_back, _form("how"), _form("said"), request_id=web.request_id(),
               **_site())


@bp.post("/t/<tid>/revisit")
def revisit(tid: str):
    """Record the call back: satisfied, or not (which reopens the ticket)."""
    return act(tid, actions.revisit, _form("outcome"), _form("comment"),
               request_id=web.request_id())


@bp.post("/t/<tid>/raise")
def raise_important(tid: str):
    """Make a matter important: it goes up the escalation chain (R12)."""
    return act(tid, actions.raise_important, _form("reason"), request_id=web.request_id())


@bp.post("/t/<tid>/escalate")
def escalate(tid: str):
    """Record that a level of the chain was told, now."""
    return act(tid, actions.escalate, _form("level"), request_id=web.request_id())
