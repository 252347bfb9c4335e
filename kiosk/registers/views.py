"""Staff pages of the parcel and letter register (/staff/parcels) and of the item
register (/staff/items), R19.

Nested under the guarded ``/staff`` blueprint; the desk (``log_parcels``, ``lend_items``)
uses them, maintenance gets 403. Views stay thin: parse, call one function of
``parcels`` or ``items``, render. Bad input re-renders the page with 422, the message
next to its field and everything typed kept; a second pickup or return is a 409.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from common.messages import N_
from common.validation import ValidationError

from .. import web
from ..errors import render_error
from ..extensions import get_store, htmx
from ..households import label
from ..staff.auth import actor, current_staff, permission_required
from ..tickets import rules
from . import items, parcels

bp = Blueprint("registers", __name__)

#: What a form may send, cut to a little more than the longest accepted.
_ARRIVAL = ("kind", "household", "household_q", "recipient", "phone", "carrier", "tracking",
            "shelf")
_LOAN = ("item", "quantity", "to_name", "household", "household_q", "phone", "due_at", "note")
_PICKUP = ("code", "collected_by", "identified_by")
COLLECTED = (N_("Collected already"),
             N_("Someone recorded the pickup of this parcel already. Please look at the page "
                "again."))
RETURNED = (N_("Not out"),
            N_("This item was returned already, or handed out for good. Please look at the "
               "page again."))


def _labels(records: list[dict]) -> dict[str, str]:
    """The label (building and unit) of each household the ``records`` name, by id."""
    store, out = get_store(), {}
    for hid in {r["household"] for r in records if r.get("household")}:
        household = store.household(hid)
        out[hid] = label(household) if household else ""
    return out


def _picked(form: dict) -> dict | None:
    """The household a form picked, to show in the picker again, or None."""
    hid = form.get("household", "").strip()
    return get_store().household(hid) if hid else None


def _parcels_page(errors: dict | None = None, form: dict | None = None,
                  pickup: dict | None = None):
    store, now, query = get_store(), web.now(), request.args.get("q", "")[:40]
    waiting, recent = parcels.waiting(store, now), parcels.recent(store, now)
    labels = _labels(waiting + recent)
    return render_template(
        "registers/parcels.html", waiting=parcels.search(waiting, query, labels),
        total=len(waiting), recent=recent, labels=labels, q=query, errors=errors or {},
        form=form or {"kind": "parcel"}, pickup=pickup or {"identified_by": "code"},
        picked=_picked(form or {}), KINDS=parcels.KINDS, IDENTIFIED=parcels.IDENTIFIED,
        CARRIERS=parcels.CARRIERS), 422 if errors else 200


@bp.get("/parcels")
@permission_required("log_parcels")
def parcels_index():
    """The parcels waiting (the longest first; searchable), the pickup by code, the form
    to log an arrival, and what was collected lately."""
    return _parcels_page()


@bp.post("/parcels")
@permission_required("log_parcels")
def receive():
    """Log an arrival; show its pickup code."""
    form = web.form(_ARRIVAL)
    try:
        parcel = parcels.receive(get_store(), form, actor=actor(), now=web.now(),
                                 request_id=web.request_id())
    except ValidationError as exc:
        return _parcels_page(errors=exc.errors, form=form)
    return redirect(url_for(".parcel", pid=parcel["id"], logged=1), 303)


@bp.post("/parcels/pickup")
@permission_required("log_parcels")
def pickup():
    """Record a pickup from the code the recipient gives."""
    form = web.form(_PICKUP)
    try:
        parcel = parcels.collect_by_code(get_store(), form["code"], form["collected_by"],
                                         form["identified_by"], actor=actor(), now=web.now(),
                                         request_id=web.request_id())
    except ValidationError as exc:
        return _parcels_page(errors=exc.errors, pickup=form)
    except rules.RuleError:
        return render_error(409, *COLLECTED)
    flash(gettext("%(name)s collected the parcel for %(recipient)s.",
                  name=parcel["collected_by"], recipient=parcel["recipient"]))
    return redirect(url_for(".parcels_index"), 303)


def _parcel(pid: str) -> dict:
    parcel = get_store().parcel(pid[:40])
    if parcel is None:
        abort(404)
    return parcel


def _parcel_page(parcel: dict, errors: dict | None = None, pickup: dict | None = None):
    return render_template(
        "registers/parcel.html", parcel=parcel, labels=_labels([parcel]), errors=errors or {},
        pickup=pickup or {"identified_by": "code"}, logged=request.args.get("logged"),
        KINDS=parcels.KINDS, IDENTIFIED=parcels.IDENTIFIED), 422 if errors else 200


@bp.get("/parcels/<pid>")
@permission_required("log_parcels")
def parcel(pid: str):
    """One parcel: its pickup code large, the slip to print, and its pickup."""
    return _parcel_page(_parcel(pid))


@bp.post("/parcels/<pid>/collect")
@permission_required("log_parcels")
def collect(pid: str):
    """Record the pickup of this parcel."""
    form = web.form(_PICKUP)
    try:
        done = parcels.collect(get_store(), pid[:40], form["collected_by"],
                               form["identified_by"], actor=actor(), now=web.now(),
                               request_id=web.request_id())
    except parcels.UnknownParcel:
        abort(404)
    except ValidationError as exc:
        return _parcel_page(_parcel(pid), exc.errors, form)
    except rules.RuleError:
        return render_error(409, *COLLECTED)
    flash(gettext("%(name)s collected the parcel for %(recipient)s.",
                  name=done["collected_by"], recipient=done["recipient"]))
    return redirect(url_for(".parcel", pid=done["id"]), 303)


@bp.get("/parcels/<pid>/slip")
@permission_required("log_parcels")
def slip(pid: str):
    """The pickup slip on the 80 mm roll: the code large, with its QR."""
    parcel = _parcel(pid)
    if htmx.boosted:
        return web.whole_page()
    return render_template("registers/slip.html", parcel=parcel, labels=_labels([parcel]),
                           KINDS=parcels.KINDS, printed_at=web.now(),
                           printed_by=current_staff()["name"])


def _items_page(errors: dict | None = None, form: dict | None = None):
    store, now = get_store(), web.now()
    out, recent = items.out(store, now), items.recent(store, now)
    local = now.astimezone(web.tz()).strftime("%Y-%m-%dT%H:%M")
    return render_template(
        "registers/items.html", out=out, recent=recent, labels=_labels(out + recent),
        errors=errors or {}, form=form or {"quantity": "1"}, picked=_picked(form or {}),
        now_local=local), 422 if errors else 200


@bp.route("/items", methods=["GET", "POST"])
@permission_required("lend_items")
def items_index():
    """The items out (the overdue first, in red), the form to lend or hand one out, and
    what was lent lately."""
    if request.method == "GET":
        return _items_page()
    form = web.form(_LOAN)
    try:
        item = items.lend(get_store(), form, actor=actor(), now=web.now(),
                          tz=web.tz(), request_id=web.request_id())
    except ValidationError as exc:
        return _items_page(exc.errors, form)
    flash(gettext("Recorded: %(item)s to %(name)s.", item=item["item"], name=item["to_name"]))
    return redirect(url_for(".items_index", _anchor="out"), 303)


@bp.post("/items/<iid>/return")
@permission_required("lend_items")
def give_back(iid: str):
    """Record that an item lent came back."""
    try:
        item = items.give_back(get_store(), iid[:40], actor=actor(), now=web.now(),
                               request_id=web.request_id())
    except items.UnknownItem:
        abort(404)
    except rules.RuleError:
        return render_error(409, *RETURNED)
    flash(gettext("%(item)s is back.", item=item["item"]))
    return redirect(url_for(".items_index", _anchor="out"), 303)
