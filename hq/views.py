"""HQ's HTTP surface: the signed ingest API and the dashboard pages (thin views).

The API blueprint ``hq_api`` is HMAC-authenticated per request, so it is exempt from
CSRF and from the dashboard sign-in; everything else needs a signed-in account.
"""
from __future__ import annotations

from datetime import timedelta

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale, gettext
from werkzeug.exceptions import RequestEntityTooLarge

from common.config import now_utc
from common.messages import N_
from common.spreadsheets import to_csv, to_xlsx
from kiosk.tickets import figures
from sync import protocol

from . import chain, ingest, liveness
from . import reports as report_figures
from . import sites as site_rows
from . import ticket_list, ticket_page
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
#: the most digits an alarm's id has (a PostgreSQL bigint), so a longer one is no alarm's
ALARM_ID_DIGITS = 18
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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
        batch, report = ingest.parse_batch(body, site_id)
    except ingest.ApiError as exc:
        return jsonify(error=exc.message), exc.status
    found = ingest.malformed(batch, site_id)
    if found:  # a permanent refusal: signed, so the kiosk can trust it and stop resending
        index, seq, problem = found
        error = f"event {index} (seq {seq}) is malformed: {problem}"
        acked_through = store.refuse_batch(site_id, seq, error, now_utc(current_app), report)
        status, answer, headers = ingest.answer(
            key, signature, store.epoch(), acked_through,
            ingest.refusal_results(batch, index, seq), error)
        return Response(answer, status, headers)
    acked_through, results = store.ingest_batch(site_id, batch, now_utc(current_app), report)
    status, answer, headers = ingest.answer(key, signature, store.epoch(), acked_through,
                                            results)
    return Response(answer, status, headers)


@bp.get("/")
def index():
    """Every site at a glance, the one that needs the manager most first (``hq.sites``):
    its desk's liveness, open tickets, emergencies, late repairs, unsigned complaints,
    alarms. ``?attention=1`` shows only the sites needing attention. htmx polls the page
    and gets the table alone."""
    summaries = get_store().site_summaries(now_utc(current_app))
    attention = request.args.get("attention") == "1"
    template = "hq/_sites.html" if request.headers.get("HX-Request") else "hq/index.html"
    return render_template(template, sites=_site_rows(summaries, attention),
                           attention=attention, any_site=bool(summaries),
                           refresh=current_app.config["REFRESH_SECONDS"])


def _site_rows(summaries: list[dict], attention_only: bool = False) -> list[dict]:
    """Return the sites' rows (``hq.sites.rows``), each desk's liveness told at HQ's now."""
    now = now_utc(current_app)
    silent_after = timedelta(minutes=current_app.config["SILENT_MINUTES"])
    lives = {s["site_id"]: liveness.describe(s, now, silent_after) for s in summaries}
    return site_rows.rows(summaries, lives, attention_only)


@bp.get("/tickets")
def tickets():
    """Tickets across sites, newest first, a page at a time, with their count: filtered by
    site, category, status, the month or the days they were reported in (HQ's zone),
    late or unsigned, searched by number or phone. An unknown filter value is ignored; a
    search that cannot be made answers 422 with its message and the rest applied; a
    broken page link answers 400 with the first page."""
    store, now = get_store(), now_utc(current_app)
    sites = store.sites()
    filters = ticket_list.read_filters(request.args, sites)
    status, problem = 422 if filters.errors else 200, None
    try:
        after = ticket_list.decode_cursor(request.args.get("after"))
    except ValueError:
        status, after = 400, None
        problem = N_("This page link is broken: here is the first page.")
    search = _search(filters, now)
    found = store.tickets(**search, after=after, limit=ticket_list.PAGE + 1)
    return render_template("hq/tickets.html", page=ticket_list.Page.of(found, after),
                           count=store.ticket_count(**search), cap=ticket_list.COUNT_CAP,
                           rows=_rows(found[:ticket_list.PAGE], now), sites=sites,
                           filters=filters, problem=problem,
                           export_max=ticket_list.EXPORT_MAX), status


def _search(filters: ticket_list.Filters, now) -> dict:
    """Return the store's keywords of the list's filters (late: due before ``now``)."""
    reported = filters.reported(current_app.config["TZ"])
    late = filters.store.get("late")
    return {**{k: v for k, v in filters.store.items() if k != "late"},
            "late_at": now if late else None, "reported_from": reported[0],
            "reported_before": reported[1]}


def _rows(found: list[dict], now) -> list[dict]:
    """Return listed tickets with their place named in the page's language and late marked."""
    language = get_locale().language
    return [{**t, "place": ticket_list.place_name(t, language),
             "late": ticket_list.is_late(t, now)} for t in found]


@bp.get("/tickets/export.<kind>")
def tickets_export(kind: str):
    """The filtered list as a file (``csv`` or ``xlsx``): every ticket it holds, up to
    ``ticket_list.EXPORT_MAX`` (the file says so when it stops there), phones masked."""
    if kind not in ("csv", "xlsx"):
        abort(404)
    store, now = get_store(), now_utc(current_app)
    filters = ticket_list.read_filters(request.args, store.sites())
    language = get_locale().language
    sheet = ticket_list.export_sheet(
        store.tickets(**_search(filters, now), limit=ticket_list.EXPORT_MAX + 1), now,
        current_app.config["TZ"], gettext, lambda t: ticket_list.place_name(t, language))
    stamp = now.astimezone(current_app.config["TZ"]).strftime("%Y%m%d-%H%M")
    data, mimetype = (to_csv(sheet), "text/csv; charset=utf-8") if kind == "csv" else (
        to_xlsx([sheet]), XLSX)
    return data, 200, {"Content-Type": mimetype, "Content-Disposition":
                       f'attachment; filename="hq-tickets-{stamp}.{kind}"'}


def _choice(name: str, allowed) -> str | None:
    value = request.args.get(name) or None
    return value if value in allowed else None


@bp.get("/sites/<site_id>")
def site(site_id: str):
    """One site: its desk's liveness, its counts (each a link to those tickets), its key's
    state, its hash chain and its alarms."""
    store = get_store()
    summary = next(iter(store.site_summaries(now_utc(current_app), site_id)), None)
    if summary is None:
        abort(404)
    open_alarms, acked_alarms = site_rows.alarms_open_first(store.alarms(site_id))
    return render_template("hq/site.html", site=_site_rows([summary])[0],
                           open_alarms=open_alarms,
                           acked_alarms=acked_alarms, problems=_chain_problems(store, site_id))


@bp.post("/sites/<site_id>/alarms/<alarm_id>/ack")
def ack_alarm(site_id: str, alarm_id: str):
    """Acknowledge an alarm as the signed-in admin; sent again, it answers the same and
    changes nothing (the first acknowledgement stays). An id that is no alarm's: 404."""
    if not (alarm_id.isascii() and alarm_id.isdigit() and len(alarm_id) <= ALARM_ID_DIGITS):
        abort(404)
    if get_store().ack_alarm(site_id, int(alarm_id), g.admin, now_utc(current_app)) is None:
        abort(404)
    return redirect(url_for("hq.site", site_id=site_id, _anchor="alarms"), 303)


def _chain_problems(store, site_id: str) -> list[tuple[int, str]]:
    return current_app.extensions["chain_checks"].problems(store, site_id)


@bp.get("/sites/<site_id>/tickets/<ticket_id>")
def ticket(site_id: str, ticket_id: str):
    """One ticket's full timeline and durations, each of its events checked in its site's
    chain, and whether the whole chain of its site verifies; the phone masked."""
    store, now = get_store(), now_utc(current_app)
    found = store.ticket(site_id, ticket_id)
    if found is None:
        abort(404)
    events = store.ticket_events(site_id, ticket_id)
    seqs = [e["seq"] for e in events]
    links = chain.ticket_links(seqs, store.events_at(site_id, chain.neighbours(seqs)))
    shown, events = ticket_page.masked(_rows([found], now)[0], events)
    return render_template("hq/ticket.html", ticket=shown, events=events, links=links,
                           steps=ticket_page.durations(found, events),
                           duration=lambda m: figures.duration_text(m, gettext),
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
