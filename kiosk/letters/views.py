"""Staff pages for letters from templates (函件, R27), under the guarded ``/staff``.

The desk (``write_letters``) picks a template and a household (or comes from a ticket's
page), edits the filled letter, then issues it (and prints it on A4 with the site's
letterhead) or publishes it as a notice; managers (``edit_letter_templates``) add and
change the templates. Views stay thin: parse, call one function of ``service``, render;
bad input re-renders with 422, the message next to its field and everything typed kept.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from common.validation import ValidationError

from .. import web
from ..extensions import get_store, htmx
from ..staff.auth import actor, current_staff, permission_required
from . import service

bp = Blueprint("letters", __name__, url_prefix="/letters")
#: The typed fields of a letter's form, and of a template's.
LETTER_FIELDS = ("template", "household", "ticket", "subject", "body")
TEMPLATE_FIELDS = ("code", "name_zh", "name_en", "subject", "body")


@bp.get("")
@permission_required("write_letters")
def index():
    """The templates to write from, and every letter issued, the newest first."""
    store = get_store()
    return render_template("letters/index.html", templates=service.templates(store),
                           letters=service.letters(store))


def _write_page(form: dict, errors: dict | None = None, missing: list | None = None):
    """The letter's form: the template and household chosen, the text as edited."""
    store = get_store()
    household = store.household(form.get("household", "")[:40]) if form.get("household") else None
    ticket = store.ticket(form.get("ticket", "")[:40]) if form.get("ticket") else None
    return render_template(
        "letters/write.html", templates=service.templates(store), form=form,
        errors=errors or {}, missing=missing or [], picked=household, ticket=ticket,
        fields=service.FIELDS, arrears_reminder=service.ARREARS_REMINDER,
        ), 422 if errors else 200


@bp.get("/write")
@permission_required("write_letters")
def write():
    """A letter filled from the template, household and ticket chosen (``?template=``,
    ``household=``, ``ticket=``); from a ticket, its household and matching template."""
    store = get_store()
    tid, hid = request.args.get("ticket", "")[:40], request.args.get("household", "")[:40]
    ticket = store.ticket(tid) if tid else None
    household = store.household(hid) if hid else None
    if household is None and ticket and ticket.get("household"):
        household = store.household(ticket["household"])
    code = request.args.get("template", "")[:40] or service.default_template(ticket) or ""
    form = {"template": code, "household": household["id"] if household else "",
            "ticket": ticket["id"] if ticket else ""}
    try:
        letter = service.draft(store, code, household=household, ticket=ticket,
                               today=web.today())
    except service.UnknownTemplate:
        return _write_page(form)
    return _write_page({**form, "subject": letter["subject"], "body": letter["body"]},
                       missing=letter["missing"])


@bp.post("/issue")
@permission_required("write_letters")
def issue():
    """Issue the letter as edited; it is kept and opens on its A4 page, ready to print."""
    form = web.form(LETTER_FIELDS, 3000)
    try:
        letter = service.issue(get_store(), form, actor=actor(), now=web.now(),
                               request_id=web.request_id())
    except ValidationError as exc:
        return _write_page(form, exc.errors, service.left_to_fill(form["subject"], form["body"]))
    flash(gettext("Letter issued: %(subject)s.", subject=letter["subject"]))
    return redirect(url_for(".print_letter", lid=letter["id"]), 303)


@bp.post("/publish")
@permission_required("write_letters")
def publish():
    """Publish the letter as edited as a notice, shown from now for a week."""
    form = web.form(LETTER_FIELDS, 3000)
    try:
        notice = service.publish(get_store(), form, actor=actor(), now=web.now(), tz=web.tz(),
                                 request_id=web.request_id())
    except ValidationError as exc:
        return _write_page(form, exc.errors, service.left_to_fill(form["subject"], form["body"]))
    flash(gettext("Published %(title)s.", title=notice["title"]))
    return redirect(url_for("staff.notices.index", _anchor=f"notice-{notice['id']}"), 303)


def _letter_or_404(lid: str) -> dict:
    try:
        return service.letter(get_store(), lid[:40])
    except service.UnknownLetter:
        abort(404)


@bp.get("/<lid>")
@permission_required("write_letters")
def letter(lid: str):
    """One letter as issued, with the way to print it."""
    return render_template("letters/letter.html", letter=_letter_or_404(lid))


@bp.get("/<lid>/print")
@permission_required("write_letters")
def print_letter(lid: str):
    """The letter on one A4 page with the site's letterhead and a signature line. A
    boosted link is told to load it as a page of its own, with its print stylesheet."""
    found = _letter_or_404(lid)
    if htmx.boosted:
        return web.whole_page()
    return render_template("letters/print.html", letter=found, printed_at=web.now(),
                           printed_by=current_staff()["name"])


def _template_page(template: dict | None, form: dict, errors: dict | None = None):
    return render_template("letters/template.html", template=template, form=form,
                           errors=errors or {}, fields=service.FIELDS), 422 if errors else 200


@bp.route("/templates/new", methods=["GET", "POST"], endpoint="new_template")
@bp.route("/templates/<code>", methods=["GET", "POST"])
@permission_required("edit_letter_templates")
def edit_template(code: str | None = None):
    """A manager adds a template or changes one (a seeded one too)."""
    try:
        old = service.template(get_store(), code[:40]) if code else None
    except service.UnknownTemplate:
        abort(404)
    if request.method == "GET":
        return _template_page(old, dict(old) if old else {})
    form = web.form(TEMPLATE_FIELDS, 3000)
    try:
        saved = service.save_template(get_store(), form, actor=actor(), now=web.now(),
                                      code=old["code"] if old else None,
                                      request_id=web.request_id())
    except ValidationError as exc:
        return _template_page(old, {**form, "code": old["code"] if old else form["code"]},
                              exc.errors)
    flash(gettext("Template saved: %(name)s.", name=saved["name_zh"]))
    return redirect(url_for(".index", _anchor="templates"), 303)
