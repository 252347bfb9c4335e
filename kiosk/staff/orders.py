"""A technician's work orders on their own phone (R9): the order the printed work order's
QR code opens (``/staff/orders/<id>``, a stable address), the list of their open orders,
arrival on site and completion.

Arrival is *verified at the place* when it is tapped on the page the place's poster
opens (``/q/<code>``, ``kiosk.visitor.views.from_qr``): opening it records in the
session, by the server's clock, which place and when (``note_at_place``), and that
proof counts for ``PROOF_LIFETIME``, for that place only. Tapped on the order itself,
or with no fresh proof, the arrival is *declared*. Views stay thin as in ``console``:
422 re-renders the order with everything typed, someone else's order is 403, a step the
ticket has moved past is 409, and a resent form stores nothing new.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import (
    Blueprint, abort, current_app, redirect, render_template, request, session, url_for,
)

from common.validation import ValidationError
from sync.events import iso

from .. import permissions, web
from ..errors import render_error
from ..extensions import get_store
from ..store import Store
from ..tickets import actions, rules
from .auth import actor, current_staff
from .console import REFUSED

bp = Blueprint("orders", __name__, url_prefix="/orders")

#: How long opening a place's poster proves that the technician is there.
PROOF_LIFETIME = timedelta(minutes=15)
#: Where the session keeps that proof: ``{"code", "at"}``.
PROOF_KEY = "at_place"
#: What a technician records on their own order, as the order page offers it.
ORDER_STEPS = ("arrive", "complete")
#: The statuses of a work order someone is on: the order lists show these.
WORKING = ("dispatched", "in_progress")


def _order_or_404(tid: str) -> dict:
    ticket = get_store().ticket(tid[:40])
    if ticket is None or ticket["category"] != "repair":
        abort(404)
    return ticket


def steps(store: Store, ticket: dict, staff: dict) -> list[str]:
    """Return what the order page offers ``staff`` to record on ``ticket`` now: arrival,
    completion, as ``rules.allowed_actions`` orders them, on their own order only (the
    desk records them on the ticket page, as told by phone)."""
    if staff["role"] in permissions.DESK or not actions.is_own_order(store, ticket, staff):
        return []
    return [a for a in rules.allowed_actions(ticket, staff["role"]) if a in ORDER_STEPS]


def _late(ticket: dict, now: datetime) -> bool:
    """Tell whether maintenance arrived late, or has not arrived and is late by ``now``."""
    if ticket.get("arrived_at"):
        return bool(ticket.get("arrived_late"))
    return bool(ticket.get("due_at")) and now > datetime.fromisoformat(ticket["due_at"])


def _by_due(ticket: dict) -> tuple:
    """Sort key: the orders still waiting for someone first, then by their deadline."""
    return ticket["status"] != "dispatched", ticket.get("due_at") or "", ticket["number"]


def awaiting_arrival(store: Store, staff: dict | None, code: str) -> list[dict]:
    """Return the orders of ``staff`` at the place ``code`` that wait for them to arrive,
    the first due first (none when nobody is signed in)."""
    if staff is None:
        return []
    return sorted((t for t in store.open_summaries()
                   if t["location"] == code and "arrive" in steps(store, t, staff)), key=_by_due)


def note_at_place(code: str, now: datetime) -> None:
    """Remember in the session that this phone opened the poster of the place ``code`` at
    ``now``, the server's time."""
    session[PROOF_KEY] = {"code": code, "at": iso(now)}


def proved_at(code: str, now: datetime) -> bool:
    """Tell whether this phone opened the poster of the place ``code`` in the last
    ``PROOF_LIFETIME``."""
    proof = session.get(PROOF_KEY)
    if not proof or proof["code"] != code:
        return False
    return timedelta(0) <= now - datetime.fromisoformat(proof["at"]) <= PROOF_LIFETIME


@bp.get("/")
def mine():
    """A technician's open work orders; the desk sees every repair someone is on."""
    store, staff, now = get_store(), current_staff(), web.now()
    orders = sorted((t for t in store.open_summaries()
                     if t["category"] == "repair" and t["status"] in WORKING
                     and (staff["role"] in permissions.DESK or actions.is_own_order(store, t, staff))),
                    key=_by_due)
    return render_template("orders/mine.html", orders=orders,
                           late={t["id"] for t in orders if _late(t, now)},
                           by_code={loc["code"]: loc for loc in store.locations(False)},
                           desk=staff["role"] in permissions.DESK)


@bp.get("/<tid>")
def order(tid: str):
    """One work order, as printed, with the next step of the technician on it (stable
    URL: the printed work order's QR code carries it)."""
    return _render(_order_or_404(tid))


def _render(ticket: dict, errors: dict | None = None, form: dict | None = None,
            status: int = 200):
    store, staff = get_store(), current_staff()
    location = store.location(ticket["location"]) if ticket.get("location") else None
    return render_template("orders/order.html", ticket=ticket, location=location,
                           late=_late(ticket, web.now()), steps=steps(store, ticket, staff),
                           desk=staff["role"] in permissions.DESK,
                           errors=errors or {}, form=form or {}), status


def _act(ticket: dict, action, *args, **kwargs):
    """Record a step of the order; re-render with errors (422), or refuse (403, 409)."""
    try:
        action(get_store(), ticket["id"], *args, actor=actor(), now=web.now(),
               request_id=web.request_id(), **kwargs)
    except ValidationError as exc:
        return _render(ticket, exc.errors, request.form.to_dict(), 422)
    except permissions.Forbidden:
        abort(403)
    except rules.RuleError:
        return render_error(409, *REFUSED)
    return redirect(url_for(".order", tid=ticket["id"]), 303)


@bp.post("/<tid>/arrive")
def arrive(tid: str):
    """On site: verified when tapped on the place's poster page (``at_place``) with a
    fresh proof of this very place in the session, else declared."""
    ticket = _order_or_404(tid)
    at_place = request.form.get("at_place") == "1" and proved_at(ticket["location"], web.now())
    return _act(ticket, actions.arrive, at_place=at_place)


@bp.post("/<tid>/complete")
def complete(tid: str):
    """The repair is done: a short result, and the materials and fee if any (R16)."""
    fields = {k: request.form.get(k, "") for k in ("result", "materials", "fee")}
    return _act(_order_or_404(tid), actions.complete, fields, tz=web.tz(),
                policy=current_app.config["POLICY"])
