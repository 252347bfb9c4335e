"""The desk's report pages: the customer feedback report of a period (R13) and the
monthly dispatch statistics with the paid services (R16), each printable on A4 and
exported as CSV and .xlsx.

Nested under the guarded ``/staff`` blueprint; the desk reads them (``read_reports``).
Views stay thin: parse the period, compute the figures of ``kiosk.tickets.figures`` in
one ``store.over_reported`` call (under the store's lock, on the tickets themselves:
nothing here changes one), render or export. A period that cannot be read re-renders
the picker with 422, its message next to the field and what was typed kept.
"""
from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext

from common.messages import N_, Message
from common.spreadsheets import Sheet, to_csv, to_xlsx
from common.validation import iso_day

from .. import web
from ..departments.views import department_name
from ..extensions import get_store, htmx
from ..i18n import location_name
from ..staff.auth import current_staff, permission_required
from ..tickets import figures, rules
from . import charts, exports

bp = Blueprint("reports", __name__, url_prefix="/reports")

#: The years a date picked for a report may fall in.
YEARS = (2000, 2100)
#: The presets offered as buttons (custom dates have their own form).
PRESET_BUTTONS = ("last_month", "last_two_months", "this_month")
BAD_FIRST = Message(N_("Please pick the first day."))
BAD_LAST = Message(N_("Please pick the last day."))
REVERSED = Message(N_("The last day cannot be before the first."))
TOO_LONG = N_("Please choose at most %(n)s days.")
BAD_MONTH = Message(N_("Please pick a month."))
CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"



# -- how figures read -----------------------------------------------------------------------
@bp.app_template_filter("report_minutes")
def minutes_text(value: float | None) -> str:
    """A duration in minutes as people say it: "25 分钟", "3 小时 10 分", "2 天 4 小时"."""
    return figures.duration_text(value, gettext)


@bp.app_template_filter("report_share")
def share_text(value: float | None) -> str:
    """A share (0..1) in whole per cent, "—" when there was nothing to count."""
    if value is None:
        return "—"
    pct = value * 100
    return "<1%" if 0 < pct < 0.5 else f"{round(pct)}%"


@bp.app_template_filter("report_change")
def change_text(value: float | None) -> str:
    """A change as "+12%", "−8%", "±0%"; "—" when there was nothing before."""
    if value is None:
        return "—"
    pct = round(value * 100)
    return f"+{pct}%" if pct > 0 else f"−{-pct}%" if pct < 0 else "±0%"


# -- the period asked for ---------------------------------------------------------------------
def _day(text: str) -> date | None:
    day = iso_day(text)
    return day if day and YEARS[0] <= day.year <= YEARS[1] else None


def chosen_period(args) -> tuple[figures.Period | None, dict, dict]:
    """Return the period a query asks for (``preset``; ``first`` and ``last`` for custom
    days; last month by default), the errors of custom days, and the query as typed."""
    preset = args.get("preset", "")
    preset = preset if preset in figures.PRESETS else "last_month"
    form = {"preset": preset, "first": args.get("first", "")[:20],
            "last": args.get("last", "")[:20]}
    if preset != "custom":  # its days fill the custom form in, to start from
        p = figures.period(preset, web.today(), web.tz())
        return p, {}, {**form, "first": p.first.isoformat(), "last": p.last.isoformat()}
    first, last = _day(form["first"]), _day(form["last"])
    errors = {}
    if first is None:
        errors["first"] = BAD_FIRST
    if last is None:
        errors["last"] = BAD_LAST
    elif first and last < first:
        errors["last"] = REVERSED
    elif first and (last - first).days >= figures.MAX_DAYS:
        errors["last"] = Message(TOO_LONG, {"n": figures.MAX_DAYS})
    if errors:
        return None, errors, form
    return figures.period("custom", web.today(), web.tz(), first, last), {}, form


def chosen_month(args) -> tuple[figures.Period | None, dict, str]:
    """Return the month of ``?month=YYYY-MM`` (last month by default), its error, and
    the month as typed."""
    typed = args.get("month", "")[:20]
    if typed:
        first = _day(f"{typed}-01") if len(typed) == 7 else None
        if first is None:
            return None, {"month": BAD_MONTH}, typed
    else:
        first = figures.period("last_month", web.today(), web.tz()).first
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return figures.period("custom", web.today(), web.tz(), first, last), {}, typed


# -- names ---------------------------------------------------------------------------------
def lookups() -> dict:
    """The places (retired too) and departments by code, and the escalation chain: what a
    report's codes and levels are named by."""
    store = get_store()
    return {"places": {loc["code"]: loc for loc in store.locations(False)},
            "departments": {d["code"]: d for d in store.departments(active_only=False)},
            "chain": store.escalation_chain()}


def export_names(names: dict) -> exports.Names:
    """How an export names places and departments (by their codes) in the page's language."""
    places, departments = names["places"], names["departments"]
    return exports.Names(
        place=lambda code: f"{location_name(places[code])} ({code})" if code in places else code,
        department=lambda code: department_name(departments[code]) if code in departments
        else code,
        tz=web.tz())


def report_charts(figs: dict, policy: rules.Policy) -> dict:
    """The report's three charts, labelled in the page's language."""
    cats = [(gettext(c.label), figs["by_category"][code], figs["previous_by_category"][code])
            for code, c in rules.CATEGORIES.items()]
    r = figs["repairs"]
    plain = r["arrived"] - r["agreed"]
    rows = [(gettext("On site within %(n)s minutes of the report",
                     n=int(policy.arrival.total_seconds() // 60)),
             [(gettext("In time"), r["in_time"]), (gettext("Later"), plain - r["in_time"])])]
    if r["agreed"]:
        rows.append((gettext("With a deadline agreed with maintenance"),
                     [(gettext("Kept"), r["agreed_in_time"]),
                      (gettext("Missed"), r["agreed"] - r["agreed_in_time"])]))
    return {
        "categories": charts.category_bars(
            cats, chart_id="chart-categories", title=gettext("Matters by category"),
            now_label=gettext("This period"), before_label=gettext("The period before")),
        "daily": charts.trend_line(figs["daily"], chart_id="chart-daily",
                                   title=gettext("Matters reported each day"),
                                   total_label=gettext("Total")),
        "on_time": charts.stacked_bars(rows, chart_id="chart-on-time",
                                       title=gettext("Repairs: maintenance on site in time"),
                                       empty_label=gettext("No arrival recorded")),
    }


def report_context(figs: dict, ids: dict | None = None, details: dict | None = None) -> dict:
    """What ``reports/_report.html`` needs to show the figures of ``figures.report``:
    the summary, the charts, the names; optionally the ticket ids by number (links) and
    the emergencies' descriptions by number."""
    policy = current_app.config["POLICY"]
    return {"figs": figs, "summary": figures.summary(figs, gettext),
            "charts": report_charts(figs, policy), "ids": ids or {}, "details": details or {},
            "change": figures.change,
            "arrival_minutes": int(policy.arrival.total_seconds() // 60), **lookups()}


def _prepared() -> dict:
    return {"prepared_by": current_staff()["name"], "prepared_on": web.today().isoformat()}


def _compute(p: figures.Period) -> tuple[dict, dict, dict]:
    """The report of ``p``, the ids of the tickets it names and the descriptions of its
    emergencies (by number), in one pass."""
    policy = current_app.config["POLICY"]

    def compute(tickets: list[dict]) -> tuple[dict, dict, dict]:
        figs = figures.report(tickets, p, policy)
        emergencies = {e["number"] for e in figs["emergencies"]}
        named = {*figs["carried_over"], *emergencies,
                 *(u["number"] for u in figs["revisits"]["unsatisfied"])}
        own = [t for t in tickets if t["number"] in named and p.holds(t["reported_at"])]
        return (figs, {t["number"]: t["id"] for t in own},
                {t["number"]: t["description"] for t in own if t["number"] in emergencies})

    return get_store().over_reported(p.previous().start, p.end, compute)


def _download(data: bytes, filename: str, mimetype: str):
    return data, 200, {"Content-Type": mimetype,
                       "Content-Disposition": f'attachment; filename="{filename}"'}


def _stem(prefix: str, p: figures.Period) -> str:
    return f"{prefix}-{p.key.replace('..', '_')}"


# -- the customer feedback report ----------------------------------------------------------
def _picker(form: dict, errors: dict):
    return render_template("reports/index.html", form=form, errors=errors, period=None,
                           presets=PRESET_BUTTONS, PRESET_LABELS=figures.PRESET_LABELS), 422


@bp.get("")
@permission_required("read_reports")
def index():
    """The period picker, and the customer feedback report of the period chosen."""
    if htmx.boosted:
        return web.whole_page()
    p, errors, form = chosen_period(request.args)
    if errors:
        return _picker(form, errors)
    figs, ids, details = _compute(p)
    return render_template("reports/index.html", form=form, errors={}, period=p,
                           presets=PRESET_BUTTONS, PRESET_LABELS=figures.PRESET_LABELS,
                           **report_context(figs, ids, details), **_prepared())


def _sheets(p: figures.Period) -> tuple[Sheet, Sheet]:
    """The report's figures and its tickets as export sheets, from one pass over the store."""
    policy, names = current_app.config["POLICY"], export_names(lookups())
    minutes = int(policy.arrival.total_seconds() // 60)

    def compute(tickets: list[dict]) -> tuple[Sheet, Sheet]:
        figs = figures.report(tickets, p, policy)
        return (exports.figure_rows(figs, figures.summary(figs, gettext), names, gettext, minutes),
                exports.ticket_rows(figures.reported_in(tickets, p), names, gettext))

    return get_store().over_reported(p.previous().start, p.end, compute)


@bp.get("/export.csv")
@permission_required("read_reports")
def export_csv():
    """The report's figures (``what=figures``) or its tickets (``what=tickets``) as CSV."""
    p, errors, form = chosen_period(request.args)
    if errors:
        return _picker(form, errors)
    figures_sheet, tickets_sheet = _sheets(p)
    if request.args.get("what") == "tickets":
        return _download(to_csv(tickets_sheet), f"{_stem('report', p)}-tickets.csv", CSV)
    return _download(to_csv(figures_sheet), f"{_stem('report', p)}.csv", CSV)


@bp.get("/export.xlsx")
@permission_required("read_reports")
def export_xlsx():
    """The report's figures and its tickets as one workbook of two sheets."""
    p, errors, form = chosen_period(request.args)
    if errors:
        return _picker(form, errors)
    return _download(to_xlsx(list(_sheets(p))), f"{_stem('report', p)}.xlsx", XLSX)


# -- the monthly statistics (R16) -----------------------------------------------------------
def _monthly(p: figures.Period) -> tuple[list[dict], dict, dict]:
    """The dispatch statistics and the paid services of the month ``p``, and the ids of
    the paid repairs by number. Work orders dispatched or completed in the month may have
    been reported the month before: those are read too."""
    def compute(tickets: list[dict]) -> tuple[list[dict], dict, dict]:
        paid = figures.paid_services(tickets, p)
        numbers = {r["number"] for r in paid["rows"]}
        return (figures.dispatch_statistics(tickets, p), paid,
                {t["number"]: t["id"] for t in tickets if t["number"] in numbers})

    return get_store().over_reported(p.previous().start, p.end, compute)


def _month_picker(typed: str, errors: dict):
    return render_template("reports/monthly.html", month=typed, errors=errors, period=None), 422


@bp.get("/monthly")
@permission_required("read_reports")
def monthly():
    """The month's dispatch statistics per department and its paid services (R16)."""
    if htmx.boosted:
        return web.whole_page()
    p, errors, typed = chosen_month(request.args)
    if errors:
        return _month_picker(typed, errors)
    stats, paid, ids = _monthly(p)
    return render_template("reports/monthly.html", month=p.first.strftime("%Y-%m"), errors={},
                           period=p, stats=stats, paid=paid, ids=ids, **lookups(), **_prepared())


def _monthly_sheets(p: figures.Period) -> list[Sheet]:
    stats, paid, _ids = _monthly(p)
    names = export_names(lookups())
    return [exports.dispatch_rows(stats, names, gettext), exports.paid_rows(paid, names, gettext)]


@bp.get("/monthly/export.csv")
@permission_required("read_reports")
def monthly_csv():
    """The month's dispatch statistics (``what=dispatch``) or paid services (``what=paid``)."""
    p, errors, typed = chosen_month(request.args)
    if errors:
        return _month_picker(typed, errors)
    dispatch, paid = _monthly_sheets(p)
    if request.args.get("what") == "paid":
        return _download(to_csv(paid), f"{_stem('monthly', p)}-paid.csv", CSV)
    return _download(to_csv(dispatch), f"{_stem('monthly', p)}.csv", CSV)


@bp.get("/monthly/export.xlsx")
@permission_required("read_reports")
def monthly_xlsx():
    """The month's dispatch statistics and paid services as one workbook."""
    p, errors, typed = chosen_month(request.args)
    if errors:
        return _month_picker(typed, errors)
    return _download(to_xlsx(_monthly_sheets(p)), f"{_stem('monthly', p)}.xlsx", XLSX)
