"""Staff pages of the customer archive (R17, R21), under the guarded ``/staff``.

The desk (``read_households``) searches the archive, opens a household (its people with
their full phone numbers: a staff page; its tickets; parcels and arrears from their own
partials) and picks a household into a phone-call or walk-in record (the picker's htmx
fragments ``find`` and ``pick``). A manager (``manage_households``) also sees the area
and the note, edits a household and imports the archive from a CSV file; anyone else
asking for those gets 403. Views stay thin: parse, call one function of ``service``,
render; bad input re-renders with 422, everything typed kept.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from common.validation import ValidationError

from .. import permissions, web
from ..extensions import get_store
from ..letters import service as letters
from ..movein import service as movein
from ..registers import parcels
from ..staff.auth import actor, current_staff, permission_required
from . import arrears, service

bp = Blueprint("households", __name__, url_prefix="/households")

#: Empty people rows an edit form offers below the household's people.
EMPTY_ROWS = 3


def _manager() -> bool:
    return service.may_manage(current_staff()["role"])


def _household_or_404(hid: str) -> dict:
    try:
        return service.get(get_store(), hid[:40])
    except service.UnknownHousehold:
        abort(404)


@bp.get("")
@permission_required("read_households")
def index():
    """The search box and what it found; for a manager, the import form too."""
    q = request.args.get("q", "")[:40]
    found, more = service.find(get_store(), q) if q.strip() else ([], False)
    return render_template("households/index.html", q=q, found=found, more=more,
                           count=get_store().household_count(), manager=_manager(),
                           problems=[], filename="", relations=service.RELATIONS)


@bp.post("/import")
@permission_required("manage_households")
def import_csv():
    """Import the archive from an uploaded CSV file: every household or none."""
    request.max_content_length = service.MAX_UPLOAD
    upload = request.files.get("file")
    filename = (upload.filename or "")[:120] if upload else ""
    try:
        count = service.import_csv(get_store(), upload.read() if upload else b"", filename,
                                   actor=actor(), now=web.now(), request_id=web.request_id())
    except service.BadCSV as exc:
        return render_template("households/index.html", q="", found=[], more=False,
                               count=get_store().household_count(), manager=True,
                               problems=exc.messages, filename=exc.filename,
                               relations=service.RELATIONS), 422
    flash(gettext("Households imported from %(file)s: %(n)s.", file=filename, n=count))
    return redirect(url_for(".index"), 303)


@bp.get("/find")
@permission_required("read_households")
def find():
    """The picker's results for ``?q=`` (htmx fragment): at most a few households."""
    q = request.args.get("q", request.args.get("household_q", ""))[:40]
    short = len(q.strip()) < 2  # a digit or a letter would list half the archive
    found, more = ([], False) if short else service.find(get_store(), q)
    return render_template("households/_found.html", q=q, found=found, more=more,
                           short=short)


@bp.get("/pick")
@permission_required("read_households")
def pick():
    """The picker with the household ``?id=`` chosen (htmx fragment: its hidden input),
    or, without an id, empty again (its "change" button)."""
    hid = request.args.get("id", "")
    return render_template("households/_picker.html",
                           picked=_household_or_404(hid) if hid else None)


@bp.get("/<hid>")
@permission_required("read_households")
def household(hid: str):
    """One household: its people, its tickets, its parcels, and its arrears contacts."""
    found, store, role = _household_or_404(hid), get_store(), current_staff()["role"]
    return render_template("households/household.html", household=found,
                           tickets=service.tickets(store, found["id"]),
                           parcels=parcels.for_household(store, found["id"], web.now()),
                           arrears=arrears.for_household(store, found["id"], role)
                           if permissions.may(role, "contact_arrears") else None,
                           moveins=movein.for_household(store, found["id"])
                           if permissions.may(role, "move_in") else None,
                           letters=letters.letters(store, found["id"])
                           if permissions.may(role, "write_letters") else None,
                           manager=service.may_manage(role), relations=service.RELATIONS)


def _edit_page(household: dict | None, form: dict, rows: int, errors: dict | None = None):
    return render_template("households/edit.html", household=household, form=form,
                           rows=rows, errors=errors or {},
                           relations=service.RELATIONS), 422 if errors else 200


def _form_of(household: dict) -> dict:
    """The edit form's fields as a household holds them."""
    form = {k: household[k] for k in ("building", "unit", "area", "note")}
    for i, person in enumerate(household["people"]):
        form.update({f"{k}_{i}": person[k] for k in ("name", "phone", "relation")})
    return form


@bp.route("/new", methods=["GET", "POST"], endpoint="new")
@bp.route("/<hid>/edit", methods=["GET", "POST"])
@permission_required("manage_households")
def edit(hid: str | None = None):
    """A manager adds a household or edits one: area, note and people rows."""
    old = _household_or_404(hid) if hid else None
    if request.method == "GET":
        return _edit_page(old, _form_of(old) if old else {},
                          len(old["people"] if old else ()) + EMPTY_ROWS)
    form = request.form.to_dict()
    if old:  # the id is the building and unit: an edit keeps them
        form.update(building=old["building"], unit=old["unit"])
    rows = max(0, min(request.form.get("rows", 0, type=int), service.MAX_PEOPLE + EMPTY_ROWS))
    try:
        saved = service.save(get_store(), form, rows, actor=actor(), now=web.now(),
                             new=old is None, request_id=web.request_id())
    except ValidationError as exc:
        return _edit_page(old, form, rows, exc.errors)
    flash(gettext("The household is saved."))
    return redirect(url_for(".household", hid=saved["id"]), 303)
