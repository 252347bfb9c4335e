"""Staff pages for the site's locations (R17): list, add, rename, retire, restore, CSV
import, and the printable QR posters of ``/q/<code>``. Their addresses say "places",
the word on the screen: ``/staff/places``.

Nested under the guarded ``/staff`` blueprint, so every page needs a signed-in staff
member; any role may look, only those with ``edit_locations`` may change (R8: each
change is an event signed by ``actor()``). Views stay thin: parse, call one function
of ``service``, render. Errors re-render the page with 422, next to their field.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import force_locale, gettext

from common.messages import N_
from common.validation import ValidationError

from .. import permissions, web
from ..extensions import get_store
from ..qr import public_url
from ..staff.auth import actor, current_staff, permission_required
from . import service

bp = Blueprint("locations", __name__, url_prefix="/places")
#: Printed on every poster in both languages, whatever the screen's language.
POSTER_CALL = N_("Scan with your phone to report a problem or ask a question about this place")
POSTER_HINT = N_("No app needed. You get a ticket number to follow it.")


def _form() -> dict:
    return {k: request.form.get(k, "")[:200] for k in service.HEADER}


def _render_index(errors: dict | None = None, form: dict | None = None,
                  problems: list | None = None, status: int = 200):
    return render_template("locations/index.html",
                           locations=get_store().locations(active_only=False),
                           errors=errors or {}, form=form or {}, problems=problems or [],
                           can_change=permissions.may(current_staff()["role"], "edit_locations")), status


@bp.get("")
def index():
    """List every location, active and retired, with the add and import forms."""
    return _render_index()


@bp.post("")
@permission_required("edit_locations")
def add():
    """Add a location (or bring back a retired code with new names)."""
    form = _form()
    try:
        location = service.save_location(get_store(), form, web.now(), actor(), new=True)
    except ValidationError as exc:
        return _render_index(exc.errors, form, status=422)
    flash(gettext("Saved %(code)s.", code=location["code"]))
    return redirect(url_for(".index", _anchor=f"place-{location['code']}"), 303)


@bp.route("/<code>/rename", methods=["GET", "POST"])
@permission_required("edit_locations")
def rename(code: str):
    """Change a place's names or building; its code, printed on posters, stays."""
    try:
        location = service.get_location(get_store(), code[:32])
    except service.UnknownLocation:
        abort(404)
    form, errors = location, {}
    if request.method == "POST":
        form = {**_form(), "code": location["code"]}
        try:
            service.save_location(get_store(), form, web.now(), actor())
        except ValidationError as exc:
            errors = exc.errors
        else:
            flash(gettext("Saved %(code)s.", code=location["code"]))
            return redirect(url_for(".index", _anchor=f"place-{location['code']}"), 303)
    return render_template("locations/rename.html", location=location, form=form,
                           errors=errors), 422 if errors else 200


def _set_active(action, code: str, done: str):
    try:
        location = action(get_store(), code[:32], web.now(), actor())
    except service.UnknownLocation:
        abort(404)
    flash(gettext(done, code=location["code"]))
    return redirect(url_for(".index", _anchor=f"place-{location['code']}"), 303)


@bp.post("/<code>/retire")
@permission_required("edit_locations")
def retire(code: str):
    """Retire a place: gone from the visitors' list; its QR code says it is unknown."""
    return _set_active(service.retire, code, N_("Retired %(code)s."))


@bp.post("/<code>/restore")
@permission_required("edit_locations")
def restore(code: str):
    """Bring a retired location back."""
    return _set_active(service.restore, code, N_("Restored %(code)s."))


@bp.post("/import")
@permission_required("edit_locations")
def import_csv():
    """Import places from an uploaded CSV, all or nothing, as ``locations import`` does."""
    upload = request.files.get("file")
    try:
        count = service.import_csv(get_store(), upload.read() if upload else b"", web.now(),
                                   actor())
    except service.BadCSV as exc:
        return _render_index(problems=exc.messages, status=422)
    flash(gettext("Places imported: %(n)s.", n=count))
    return redirect(url_for(".index"), 303)


def _both_languages(msgid: str) -> dict[str, str]:
    texts = {}
    for lang in ("zh_CN", "en"):
        with force_locale(lang):
            texts[lang] = gettext(msgid)
    return texts


@bp.get("/posters")
def posters():
    """A4 sheets of QR posters, two to a page: one ``?code=``, or a page of them, of one
    ``?building=`` or of every building."""
    building = request.args.get("building", "")[:80]
    try:
        page = service.poster_page(get_store(), code=request.args.get("code", "")[:32],
                                   building=building, page=request.args.get("page", 1, type=int))
    except service.UnknownLocation:
        abort(404)
    posters = [{**loc, "url": public_url(url_for("visitor.from_qr", code=loc["code"]))}
               for loc in page.locations]
    return render_template("locations/posters.html", posters=posters, page=page,
                           code=request.args.get("code", "")[:32], building=building,
                           call=_both_languages(POSTER_CALL), hint=_both_languages(POSTER_HINT))
