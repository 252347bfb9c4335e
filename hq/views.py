"""HQ's HTTP surface: the signed ingest API and the dashboard pages (thin views).

The API blueprint ``hq_api`` is HMAC-authenticated per request, so it is exempt from
CSRF and from the dashboard sign-in; everything else needs a signed-in account.
"""
from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    render_template,
    request,
)
from flask_babel import gettext
from werkzeug.exceptions import RequestEntityTooLarge

from common.config import now_utc
from common.messages import N_
from kiosk.tickets import figures
from sync import protocol

from . import ingest
from . import reports as report_figures
from . import ticket_list
from .storage import HQStore

api = Blueprint("hq_api", __name__)
bp = Blueprint("hq", __name__)

#: What the dashboard calls each kind of alarm (English msgids).
ALARM_KINDS = {
    ingest.CONFLICT: N_("Conflict: HQ holds another record under this number"),
    ingest.BAD_CHAIN: N_("Broken chain"),
    ingest.REJECTED: N_("Stored, not applied"),
    ingest.MALFORMED: N_("Malformed record refused"),
}

_CHUNK = 64 * 1024


def get_store() -> HQStore:
    """Return the store of the current app."""
    return current_app.extensions["hq_store"]


def _read_body() -> bytes:
    """Return the request body, reading at most MAX_BODY_BYTES + 1 bytes (413 above)."""
    if (request.content_length or 0) > protocol.MAX_BODY_BYTES:
        raise ingest.ApiError(413, "the body is over 1 MiB")
    chunks, size = [], 0
    try:
        while size <= protocol.MAX_BODY_BYTES:
            chunk = request.stream.read(min(_CHUNK, protocol.MAX_BODY_BYTES + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except RequestEntityTooLarge:
        size = protocol.MAX_BODY_BYTES + 1
    if size > protocol.MAX_BODY_BYTES:
        raise ingest.ApiError(413, "the body is over 1 MiB")
    return b"".join(chunks)


@api.post(protocol.API_PATH.format(site_id="<site_id>"))
def events(site_id: str):
    """Take a signed batch of a site's events and answer signed (PROTOCOL.md)."""
    store = get_store()
    try:
        body = _read_body()
        key, signature = ingest.authenticate(request.headers, body, site_id, store.key,
                                             request.script_root + request.path)
        batch = ingest.parse_batch(body, site_id)
    except ingest.ApiError as exc:
        return jsonify(error=exc.message), exc.status
    found = ingest.malformed(batch, site_id)
    if found:  # a permanent refusal: signed, so the kiosk can trust it and stop resending
        index, seq, problem = found
        error = f"event {index} (seq {seq}) is malformed: {problem}"
        acked_through = store.refuse_batch(site_id, seq, error, now_utc(current_app))
        status, answer, headers = ingest.answer(
            key, signature, store.epoch(), acked_through,
            ingest.refusal_results(batch, index, seq), error)
        return Response(answer, status, headers)
    acked_through, results = store.ingest_batch(site_id, batch, now_utc(current_app))
    status, answer, headers = ingest.answer(key, signature, store.epoch(), acked_through,
                                            results)
    return Response(answer, status, headers)


@bp.get("/")
def index():
    """Every site at a glance: contact, events, open tickets, late repairs, alarms."""
    return render_template("hq/index.html",
                           sites=get_store().site_summaries(now_utc(current_app)))


@bp.get("/tickets")
def tickets():
    """Tickets across sites, newest first, a page at a time: filtered by site, category,
    status and the month they were reported in (HQ's zone); unknown values are ignored,
    a broken page link answers 400 with the first page."""
    store = get_store()
    sites = store.sites()
    filters = ticket_list.read_filters(request.args, [s["site_id"] for s in sites])
    status, problem = 200, None
    try:
        after = ticket_list.decode_cursor(request.args.get("after"))
    except ValueError:
        status, after = 400, None
        problem = N_("This page link is broken: here is the first page.")
    reported = ticket_list.month_range(filters.month, current_app.config["TZ"]) or (None, None)
    found = store.tickets(**filters.store, reported_from=reported[0],
                          reported_before=reported[1], after=after,
                          limit=ticket_list.PAGE + 1)
    return render_template("hq/tickets.html", page=ticket_list.Page.of(found, after),
                           sites=sites, filters=filters, problem=problem), status


def _choice(name: str, allowed) -> str | None:
    value = request.args.get(name) or None
    return value if value in allowed else None


@bp.get("/sites/<site_id>")
def site(site_id: str):
    """One site: its key's state, its hash chain and its alarms."""
    store = get_store()
    summary = next((s for s in store.site_summaries(now_utc(current_app))
                    if s["site_id"] == site_id), None)
    if summary is None:
        abort(404)
    return render_template("hq/site.html", site=summary, alarms=store.alarms(site_id),
                           problems=_chain_problems(store, site_id))


def _chain_problems(store, site_id: str) -> list[tuple[int, str]]:
    return current_app.extensions["chain_checks"].problems(store, site_id)


@bp.get("/sites/<site_id>/tickets/<ticket_id>")
def ticket(site_id: str, ticket_id: str):
    """One ticket's full timeline, and whether its site's hash chain verifies."""
    store = get_store()
    found = store.ticket(site_id, ticket_id)
    if found is None:
        abort(404)
    return render_template("hq/ticket.html", ticket=found,
                           events=store.ticket_events(site_id, ticket_id),
                           problems=_chain_problems(store, site_id))


@bp.get("/reports")
def reports():
    """The customer feedback reports: those the sites issued, and the report of a period
    across all sites (or one), computed from the tickets HQ holds, sites side by side."""
    store, tz = get_store(), current_app.config["TZ"]
    sites = store.sites()
    site_id = _choice("site", [s["site_id"] for s in sites])
    preset = _choice("preset", report_figures.PRESETS) or "last_month"
    period = report_figures.period(preset, now_utc(current_app).astimezone(tz).date(), tz)
    across = report_figures.across_sites(store, period, sites)
    report = across["by_site"][site_id] if site_id else across["all"]
    return render_template("hq/reports.html", issued=report_figures.issued(store, site_id),
                           across=across, report=report, summary=figures.summary(report, gettext),
                           period=period, preset=preset, presets=report_figures.PRESETS,
                           preset_labels=figures.PRESET_LABELS, sites=sites, site_id=site_id)
