"""Staff pages for households in arrears (欠费, R22), under the guarded ``/staff`` blueprint.

The desk (``contact_arrears``) sees the list and records contacts; only a manager
(``import_arrears``) imports the list and sees the amounts, which the service leaves out
for every other role. Views stay thin: parse, call one function of ``arrears``, render.
Bad input re-renders with 422, the message next to its field and everything typed kept.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from common.validation import ValidationError

from .. import permissions, web
from ..extensions import get_store
from ..staff.auth import actor, current_staff, permission_required
from . import arrears

bp = Blueprint("arrears", __name__)
bp.add_app_template_global(arrears.HOWS, "ARREARS_HOWS")



def _role() -> str | None:
    staff = current_staff()
    return staff["role"] if staff else None


def _render_index(problems: list | None = None):
    rows, imported = arrears.listing(get_store(), _role(), web.today())
    return render_template("arrears/index.html", rows=rows, imported=imported,
                           problems=problems or [], hows=arrears.HOWS,
                           may_import=permissions.may(_role(), "import_arrears")
                           ), 422 if problems else 200


@bp.get("/arrears")
@permission_required("contact_arrears")
def index():
    """The households in arrears, the overdue promises first; the import for managers."""
    return _render_index()


@bp.post("/arrears/import")
@permission_required("import_arrears")
def import_csv():
    """Replace the list from an uploaded CSV, all or nothing."""
    upload = request.files.get("file")
    try:
        count = arrears.import_csv(get_store(), upload.read(1_000_000) if upload else b"",
                                   actor=actor(), now=web.now(), request_id=web.request_id())
    except arrears.BadCSV as exc:
        return _render_index(exc.messages)
    flash(gettext("Arrears list imported: %(n)s households.", n=count))
    return redirect(url_for(".index"), 303)


def _render_household(hid: str, errors: dict | None = None, form: dict | None = None):
    row = arrears.for_household(get_store(), hid, _role())
    if row is None:
        abort(404)
    return render_template("arrears/household.html", row=row, hows=arrears.HOWS,
                           errors=errors or {}, form=form or {}, today=web.today(),
                           max_said=arrears.MAX_SAID), 422 if errors else 200


@bp.get("/arrears/<hid>")
@permission_required("contact_arrears")
def household(hid: str):
    """One household on the list: its contacts and the form to record one."""
    return _render_household(hid[:40])


@bp.post("/arrears/<hid>")
@permission_required("contact_arrears")
def contact(hid: str):
    """Record a contact with the household about its arrears."""
    hid = hid[:40]
    form = {k: request.form.get(k, "")[:arrears.MAX_SAID + 200]
            for k in ("how", "said", "promised_on")}
    try:
        arrears.contact(get_store(), hid, form, actor=actor(), now=web.now(),
                        tz=web.tz(), request_id=web.request_id())
    except arrears.NotListed:
        abort(404)
    except ValidationError as exc:
        return _render_household(hid, exc.errors, form)
    flash(gettext("Contact recorded."))
    return redirect(url_for(".household", hid=hid, _anchor="contacts"), 303)
