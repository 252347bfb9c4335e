"""The staff page of the fee standards (收费标准, R25), under the guarded ``/staff``.

The desk (``compute_fees``) sees every standard with its versions and computes what a
unit pays for an item over a month or between two days, the rule shown step by step;
nothing is stored. A manager (``manage_fees``) saves a new version of a standard. Views
stay thin: parse, call one function of ``service``, render; bad input re-renders with
422, the message next to its field and everything typed kept.
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from common.validation import ValidationError

from .. import permissions, web
from ..extensions import get_store
from ..staff.auth import actor, current_staff, permission_required
from . import rules, service

bp = Blueprint("fees", __name__, url_prefix="/fees")

COMPUTE_FIELDS = ("household", "item", "by", "month", "start", "end")
STANDARD_FIELDS = ("item_code", "name_zh", "name_en", "basis", "meter_kind", "rate",
                   "valid_from", *(f"tier_{k}_{i}" for i in range(1, service.TIERS + 1)
                                   for k in ("above", "rate")))


def _standard_form(code: str, items: list[dict]) -> dict:
    """A new version's form: the item's version in force (or latest), from today."""
    item = next((i for i in items if i["item_code"] == code), None)
    form = {"basis": "area", "valid_from": web.today().isoformat()}
    if item:
        version = item["current"] or item["versions"][0]
        form.update({k: version[k] for k in ("item_code", "name_zh", "name_en", "basis",
                                             "meter_kind", "rate")})
        for i, tier in enumerate(version["tiers"], start=1):
            form.update({f"tier_above_{i}": tier["above"], f"tier_rate_{i}": tier["rate"]})
    return form


def _render(compute_form: dict | None = None, standard_form: dict | None = None,
            errors: dict | None = None, computed=None, picked: dict | None = None):
    store, today = get_store(), web.today()
    items = service.items(store, today)
    manager = permissions.may(current_staff()["role"], "manage_fees")
    return render_template(
        "fees/index.html", items=items, manager=manager, errors=errors or {},
        compute_form=compute_form or {"by": "month", "month": today.strftime("%Y-%m")},
        standard_form=standard_form or _standard_form(request.args.get("edit", "")[:32], items),
        computed=computed, picked=picked, bases=service.BASIS_LABELS,
        kinds=service.KIND_LABELS, units=rules.READING_UNITS, suggested=service.SUGGESTED,
        tiers=service.TIERS, months_text=rules.months_text), 422 if errors else 200


@bp.get("")
@permission_required("compute_fees")
def index():
    """The computation form (``?household=`` picked already), the standards and their
    versions; for a manager, the form of a new version (``?edit=<item>``)."""
    hid = request.args.get("household", "")[:40]
    return _render(picked=get_store().household(hid) if hid else None)


@bp.post("/compute")
@permission_required("compute_fees")
def compute():
    """Compute a unit's fee for an item over a period, explained; nothing is stored."""
    form = {k: request.form.get(k, "")[:40] for k in COMPUTE_FIELDS}
    picked = get_store().household(form["household"]) if form["household"] else None
    try:
        household, computation = service.compute(get_store(), form, actor=actor())
    except ValidationError as exc:
        return _render(form, errors=exc.errors, picked=picked)
    return _render(form, computed={"household": household, "computation": computation,
                                   "item": form["item"]}, picked=picked)


@bp.post("/standards")
@permission_required("manage_fees")
def save():
    """Save a new version of a fee standard, valid from its day; the old ones stay."""
    form = {k: request.form.get(k, "")[:60] for k in STANDARD_FIELDS}
    try:
        saved = service.save(get_store(), form, actor=actor(), now=web.now(),
                             request_id=web.request_id())
    except ValidationError as exc:
        return _render(standard_form=form, errors=exc.errors)
    flash(gettext("Saved %(name)s, valid from %(day)s.", name=saved["name_zh"],
                  day=saved["valid_from"]))
    return redirect(url_for(".index", _anchor=f"item-{saved['item_code']}"), 303)
