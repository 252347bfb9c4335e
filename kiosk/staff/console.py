"""The receptionist's console: the queue, a ticket's detail, confirm, record, amend, close.

Views stay thin: parse, call one function of ``kiosk.tickets.actions`` / ``queue``,
render. Validation errors re-render the same page with 422; a role that may never take
an action gets 403; a step the rules refuse now answers 409 with a message, and nothing
is written. Each form carries a random ``request_id`` made when it is rendered, so a
resent form answers as its first sending did and stores nothing new.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale

from common.messages import N_
from common.urls import safe_back
from common.validation import ValidationError

from .. import permissions, web
from ..errors import render_error
from ..extensions import get_store, htmx
from ..handover.views import pending_banner
from ..reports.issue_views import ready_report
from ..tickets import actions, queue, rules, service
from .auth import STAFF_PREFIX, actor, current_staff, get_directory, permission_required

bp = Blueprint("console", __name__)

GREETINGS = {
    "phone": N_("Hello, customer service. How may I help you?"),
    "walk_in": N_("Hello! Please have a seat. (Greet first: Hello teacher! Hello! Good morning!) "
                  "Offer a seat and water."),
}
REFUSED = (N_("That step is not possible now"),
           N_("The ticket has moved on since this page was opened. Please look at it again."))


def _lang() -> str:
    return get_locale().language


def _ticket_or_404(tid: str) -> dict:
    ticket = get_store().ticket(tid[:40])
    if ticket is None:
        abort(404)
    return ticket


@bp.app_template_global()
def new_request_id() -> str:
    """A fresh ``request_id`` for one rendered form (``macros.html``: ``request_id()``)."""
    return service.new_request_id()


@bp.get("/")
def index():
    """The queue: emergencies pinned, new entries first, then open tickets by due time."""
    store = get_store()
    filters = {k: request.args.get(k, "")[:40] for k in queue.FILTERS}
    rows = queue.build(store, web.now(), web.tz(), filters, _lang(),
                       current_app.config["POLICY"])
    context = {"rows": rows, "counts": queue.flag_counts(rows), "filters": filters,
               "now": web.now()}
    if htmx.trigger == "queue-rows":
        return render_template("staff/_queue_rows.html", **context)
    drafts = queue.typed_drafts(store)
    shown = len(drafts) if request.args.get("drafts") == "all" else queue.DRAFTS_SHOWN
    return render_template("staff/queue.html", drafts=drafts[:shown], report_due=ready_report(),
                           handover_pending=pending_banner(),
                           drafts_more=len(drafts) - len(drafts[:shown]),
                           locations=store.locations(), **context)


@bp.post("/drafts/<draft_id>/dismiss")
@permission_required("dismiss_draft")
def dismiss_draft(draft_id: str):
    """Drop a visitor's abandoned entry from the queue (a draft is no record: no event).

    Sent again, the draft is already gone and the answer is the same.
    """
    get_store().discard_draft(draft_id[:40])
    back = {"drafts": "all"} if request.form.get("drafts") == "all" else {}
    return redirect(url_for(".index", **back), 303)


@dataclass(frozen=True)
class MorePage:
    """A page the staff menu's "more" lists: its ``active`` key (which lights "more" in the
    menu), where, what, and the roles that use it (None: every role)."""

    key: str
    endpoint: str
    label: str
    hint: str
    roles: frozenset[str] | None = None


#: The secondary staff pages, the desk's daily registers first.
MORE = (
    MorePage("items", "staff.registers.items_index", N_("Items lent"),
             N_("Keys, tools and materials lent or handed out; what is overdue."), permissions.DESK),
    MorePage("households", "staff.households.index", N_("Customer archive"),
             N_("Households and their people: find one by phone digits or unit."), permissions.DESK),
    MorePage("movein", "staff.movein.index", N_("Move-in"),
             N_("Hand a unit over to a new owner or tenant, step by step; print the record."),
             permissions.DESK),
    MorePage("notices", "staff.notices.index", N_("Notices"),
             N_("Notices on the kiosk and the phone home page: write, pin, withdraw."), permissions.DESK),
    MorePage("plan", "staff.plan.index", N_("Work plan"),
             N_("Five weeks of the desk's tasks: who does what when, done or carried over; print."),
             permissions.DESK),
    MorePage("handover", "staff.handover.index", N_("Shift handover"),
             N_("Hand the shift over with your PIN; the incoming person acknowledges with theirs."),
             permissions.DESK),
    MorePage("diary", "staff.handover.diary", N_("Work diary"),
             N_("Short notes of the day, by who wrote them; printable."), permissions.DESK),
    MorePage("meters", "staff.meters.index", N_("Meter readings"),
             N_("Record what the water, electricity, gas and heat meters show.")),
    MorePage("fees", "staff.fees.index", N_("Fee standards"),
             N_("The site's fee standards, and how much a unit pays, step by step; no payments."),
             permissions.DESK),
    MorePage("arrears", "staff.arrears.index", N_("Arrears contacts"),
             N_("Households behind on their fees and each contact with them; no payments."),
             permissions.DESK),
    MorePage("letters", "staff.letters.index", N_("Letters"),
             N_("Letters from templates, filled from the archive and a ticket; print or publish."),
             permissions.DESK),
    MorePage("orders", "staff.orders.mine", N_("Work orders"),
             N_("Every repair someone has been sent to, the earliest due first."), permissions.DESK),
    MorePage("locations", "staff.locations.index", N_("Places"),
             N_("Add, rename and retire places; print their QR posters.")),
    MorePage("departments", "staff.departments.index", N_("Departments"),
             N_("Who does what, their phones, and the emergency escalation chain.")),
    MorePage("reports", "staff.report_issue.issued", N_("Reports issued"),
             N_("The customer feedback reports sent to HQ."), permissions.DESK),
    MorePage("sync", "staff.sync.panel", N_("Sync"), N_("The connection to headquarters."),
             permissions.DESK),
    MorePage("team", "staff.team.index", N_("Staff accounts"),
             N_("Add staff, give a new PIN, disable an account."), permissions.MANAGERS),
)


def _more_for(role: str) -> list[MorePage]:
    return [p for p in MORE if p.roles is None or role in p.roles]


@bp.app_context_processor
def more_pages() -> dict:
    """``MORE_PAGES``: the ``active`` keys of the pages under "more" for the signed-in
    role, so the menu lights "more" on them ("reports" has its own entry)."""
    staff = current_staff()
    keys = {p.key for p in _more_for(staff["role"])} - {"reports"} if staff else set()
    return {"MORE_PAGES": frozenset(keys | {"more"})}


@bp.get("/more")
def more():
    """The pages the staff menu has no room for, those the signed-in role uses."""
    return render_template("staff/more.html", pages=_more_for(current_staff()["role"]))


@bp.get("/ping")
def ping():
    """Keep a staff session alive while the receptionist touches the screen."""
    return "", 204


@bp.get("/t/<tid>")
def ticket(tid: str):
    """Everything about one ticket, with its full signed timeline."""
    return _render_ticket(_ticket_or_404(tid))


def _render_ticket(ticket: dict, errors: dict | None = None, form: dict | None = None,
                   status: int = 200):
    store, staff, now = get_store(), current_staff(), web.now()
    chain = store.escalation_chain()
    due = rules.current_due(ticket)
    return render_template(
        "staff/ticket.html", ticket=ticket, actions=rules.allowed_actions(ticket, staff["role"]),
        close_reasons=rules.close_reasons(ticket), locations=store.locations(),
        by_code={loc["code"]: loc for loc in store.locations(False)},
        departments=store.departments(), department=store.department(ticket["department"])
        if ticket.get("department") else None,
        technicians=[a for a in get_directory().all() if a["active"] and a["role"] == "maintenance"],
        chain=chain, escalation=rules.escalation(ticket, now, len(chain),
                                                 current_app.config["POLICY"]),
        errors=errors or {}, form=form or {}, due=due, due_state=queue.due_state(due, now),
        signer_name=staff["name"] if staff["role"] == "manager" else ""), status


def invalid(tid: str, errors: dict):
    """Show the ticket again with ``errors`` (422), keeping what was typed (never a PIN)."""
    form = {k: v for k, v in request.form.items() if "pin" not in k}
    return _render_ticket(_ticket_or_404(tid), errors, form, 422)


def act(tid: str, action, *args, **kwargs):
    """Run a ticket action; re-render with errors (422), or refuse (403, 409); then go
    back to the ticket, or to the ``next`` page under /staff the form names."""
    _ticket_or_404(tid)
    try:
        action(get_store(), tid, *args, actor=actor(), now=web.now(), **kwargs)
    except ValidationError as exc:
        return invalid(tid, exc.errors)
    except permissions.Forbidden:
        abort(403)
    except rules.RuleError:
        return render_error(409, *REFUSED)
    back = url_for("staff.console.ticket", tid=tid)
    return redirect(safe_back(request.form.get("next"), back, under=STAFF_PREFIX + "/"), 303)


@bp.post("/t/<tid>/confirm")
def confirm(tid: str):
    """Confirm a visitor's entry, correcting category, place or wording if needed."""
    return act(tid, actions.confirm, _corrections(), request_id=web.request_id())


@bp.post("/t/<tid>/amend")
def amend(tid: str):
    """Correct a ticket; the old values stay visible, struck through."""
    return act(tid, actions.amend, _corrections())


def _corrections() -> dict:
    return {k: request.form[k] for k in ("category", "location", "description", "name", "phone")
            if k in request.form}


@bp.post("/t/<tid>/note")
def note(tid: str):
    """Add a staff note."""
    return act(tid, actions.add_note, request.form.get("note", ""), request_id=web.request_id())


@bp.post("/t/<tid>/acknowledge")
def acknowledge(tid: str):
    """Silence an emergency's alarm: someone is on it."""
    return act(tid, actions.acknowledge, request.form.get("level", 0), request_id=web.request_id())


@bp.post("/t/<tid>/close")
def close(tid: str):
    """Close a ticket with a reason; nothing is ever deleted."""
    return act(tid, actions.close, request.form.get("reason", ""),
               confirmed=request.form.get("confirm") == "yes", request_id=web.request_id())


@bp.route("/record/<channel>", methods=["GET", "POST"])
@permission_required("record")
def record(channel: str):
    """Record a phone call or a walk-in, with the greeting script as a reminder."""
    if channel not in GREETINGS:
        abort(404)
    store, errors = get_store(), {}
    draft_id = request.values.get("draft", "")[:40]
    form = store.get_draft(draft_id) if draft_id else {}
    if request.method == "POST":
        form = request.form.to_dict()
        try:
            ticket = actions.record(store, form, channel, actor=actor(), now=web.now(),
                                    tz=web.tz(), policy=current_app.config["POLICY"],
                                    received_at=form.get("received_at", ""),
                                    request_id=web.request_id())
        except ValidationError as exc:
            errors = exc.errors
        else:
            if draft_id:
                store.discard_draft(draft_id)
            return redirect(url_for(".ticket", tid=ticket["id"]), 303)
    picked = store.household(form["household"][:40]) if form.get("household") else None
    return render_template("staff/record.html", channel=channel, greeting=GREETINGS[channel],
                           form=form, errors=errors, draft_id=draft_id, picked=picked,
                           locations=store.locations()), 422 if errors else 200
