"""Staff pages for the site's places (R17): list, add, rename, retire, restore, CSV
import, and the printable QR posters of ``/q/<code>``.

Nested under the guarded ``/staff`` blueprint, so every page needs a signed-in staff
member; any role may look, only managers and receptionists may change (R8: each
change is an event signed by ``actor()``). Views stay thin: parse, call one function
of ``service``, render. Errors re-render the page with 422, next to their field.
"""
from __future__ import annotations

from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   url_for)
from flask_babel import force_locale, gettext

from ..config import now_utc
from ..extensions import get_store
from ..qr import public_url
from ..staff import actor, current_staff, role_required
from ..tickets.rules import N_
from ..validation import ValidationError
from . import service

bp = Blueprint("places", __name__, url_prefix="/places")

EDITORS = ("manager", "receptionist")
#: Printed on every poster in both languages, whatever the screen's language.
POSTER_CALL = N_("Scan with your phone to report a problem or ask a question about this place")
POSTER_HINT = N_("No app needed. You get a ticket number to follow it.")


def _now():
    return now_utc(current_app)


def _form() -> dict:
    return {k: request.form.get(k, "")[:200] for k in service.HEADER}


def _render_index(errors: dict | None = None, form: dict | None = None,
                  problems: list | None = None, status: int = 200):
    return render_template("places/index.html", places=service.all_places(get_store()),
                           errors=errors or {}, form=form or {}, problems=problems or [],
                           can_change=current_staff()["role"] in EDITORS), status


@bp.get("")
def index():
    """List every place, active and retired, with the add and import forms."""
    return _render_index()


@bp.post("")
@role_required(*EDITORS)
def add():
    """Add a place (or bring back a retired code with new names)."""
    form = _form()
    try:
        place = service.save_location(get_store(), form, _now(), actor(), new=True)
    except ValidationError as exc:
        return _render_index(exc.errors, form, status=422)
    flash(gettext("Saved %(code)s.", code=place["code"]))
    return redirect(url_for(".index", _anchor=f"place-{place['code']}"), 303)


@bp.route("/<code>/rename", methods=["GET", "POST"])
@role_required(*EDITORS)
def rename(code: str):
    """Change a place's names or building; its code, printed on posters, stays."""
    try:
        place = service.get_place(get_store(), code[:32])
    except service.UnknownPlace:
        abort(404)
    form, errors = place, {}
    if request.method == "POST":
        form = {**_form(), "code": place["code"]}
        try:
            service.save_location(get_store(), form, _now(), actor())
        except ValidationError as exc:
            errors = exc.errors
        else:
            flash(gettext("Saved %(code)s.", code=place["code"]))
            return redirect(url_for(".index", _anchor=f"place-{place['code']}"), 303)
    return render_template("places/rename.html", place=place, form=form,
                           errors=errors), 422 if errors else 200


def _set_active(action, code: str, done: str):
    try:
        place = action(get_store(), code[:32], _now(), actor())
    except service.UnknownPlace:
        abort(404)
    flash(gettext(done, code=place["code"]))
    return redirect(url_for(".index", _anchor=f"place-{place['code']}"), 303)


@bp.post("/<code>/retire")
@role_required(*EDITORS)
def retire(code: str):
    """Retire a place: gone from the visitors' list; its QR code says it is unknown."""
    return _set_active(service.retire, code, N_("Retired %(code)s."))


@bp.post("/<code>/restore")
@role_required(*EDITORS)
def restore(code: str):
    """Bring a retired place back."""
    return _set_active(service.restore, code, N_("Restored %(code)s."))


@bp.post("/import")
@role_required(*EDITORS)
def import_csv():
    """Import places from an uploaded CSV, all or nothing, as ``locations import`` does."""
    upload = request.files.get("file")
    try:
        count = service.import_csv(get_store(), upload.read() if upload else b"", _now(),
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
    """A4 sheets of QR posters, two to a page: every active place, or ``?code=``."""
    code = request.args.get("code", "")[:32]
    try:
        places = service.poster_places(get_store(), code)
    except service.UnknownPlace:
        abort(404)
    posters = [{**p, "url": public_url(url_for("visitor.from_qr", code=p["code"]))}
               for p in places]
    return render_template("places/posters.html", posters=posters, code=code,
                           call=_both_languages(POSTER_CALL), hint=_both_languages(POSTER_HINT),
                           base_configured=bool(current_app.config.get("PUBLIC_BASE_URL")))
