"""The reports as files that leave the desk: CSV (UTF-8 with a BOM, so Excel reads the
Chinese) and ``.xlsx`` (openpyxl), the same rows in both.

A sheet is a title, a header row and rows of cells. The rows are made here from the
figures (``figure_rows``: section, name, value), from the tickets of a period
(``ticket_rows``) and from the monthly statistics (``dispatch_rows``, ``paid_rows``), with
every label already in the page's language (``gettext``) and times in the site's zone.
Phone numbers are masked: only their last digits leave the desk.

Against formula injection every text cell that starts with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return gets a leading single quote (``neutralise``), in both formats;
numbers stay numbers (a number is never read as a formula): counts, minutes, per
cents, and fees in yuan with their two decimals.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Callable
from zoneinfo import ZoneInfo

from common.messages import N_
from common.phones import mask_phone
from common.spreadsheets import Cell, Sheet

from ..tickets import rules


@dataclass(frozen=True)
class Names:
    """How the export names a place and a department (by code), in the page's language,
    and the site's zone for times."""

    place: Callable[[str], str]
    department: Callable[[str], str]
    tz: ZoneInfo


# -- the rows -----------------------------------------------------------------------------
def local(value: str | None, tz: ZoneInfo) -> str:
    """A stored UTC time as ``YYYY-MM-DD HH:MM`` in the site's zone, or empty."""
    return datetime.fromisoformat(value).astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else ""


def _number(value: float | None) -> Cell:
    """A number to one decimal, whole numbers without one; empty for None."""
    if value is None:
        return ""
    value = round(value, 1)
    return int(value) if value == int(value) else value


def _minutes(value: float | None) -> Cell:
    return _number(value)


def _percent(value: float | None) -> Cell:
    return _number(None if value is None else value * 100)


def figure_rows(figs: dict, summary: list[str], names: Names, gettext: Callable[[str], str],
                arrival_minutes: int = 30) -> Sheet:
    """Every figure of a report (``figures.report``) as (section, name, value), the
    summary's lines first. Durations in minutes, shares and the change in per cent;
    ``arrival_minutes``: the site's time for maintenance to be on site."""
    _ = gettext
    rows: list[list[Cell]] = []

    def add(section: str, pairs: list[tuple[str, Cell]]) -> None:
        rows.extend([_(section), name, value] for name, value in pairs)

    period = figs["period"]
    add(N_("Period"), [(_("First day"), period["first"]), (_("Last day"), period["last"])])
    add(N_("Summary"), [("", line) for line in summary])
    add(N_("Totals"), [(_("Matters reported"), figs["total"]),
                       (_("The period before"), figs["previous_total"]),
                       (_("Change (%)"), _percent(figs["change"]))])
    add(N_("By category"), [(_(rules.CATEGORIES[c].label), n)
                            for c, n in figs["by_category"].items()])
    add(N_("By category, the period before"), [(_(rules.CATEGORIES[c].label), n)
                                               for c, n in figs["previous_by_category"].items()])
    add(N_("By channel"), [(_(rules.CHANNELS[c]), n) for c, n in figs["by_channel"].items()])
    add(N_("Top places"), [(names.place(code), n) for code, n in figs["places"]["top"]])
    add(N_("Repeat problems"), [
        (f"{names.place(r['location'])} · {_(rules.CATEGORIES[r['category']].label)}", r["count"])
        for r in figs["places"]["repeats"]])
    r = figs["repairs"]
    add(N_("Repairs"), [
        (_("Repairs"), r["count"]), (_("Maintenance on site"), r["arrived"]),
        (_("Median minutes to arrival"), _minutes(r["arrival_median"])),
        (_("90th percentile minutes to arrival"), _minutes(r["arrival_p90"])),
        (_("On site within %(n)s minutes") % {"n": arrival_minutes}, r["in_time"]),
        (_("On site within %(n)s minutes (%%)") % {"n": arrival_minutes},
         _percent(r["in_time_share"])),
        (_("With a deadline agreed with maintenance"), r["agreed"]),
        (_("Agreed deadline kept"), r["agreed_in_time"]),
        (_(rules.ARRIVALS["verified"]), r["verified"]),
        (_(rules.ARRIVALS["declared"]), r["declared"]),
        (_(rules.ARRIVALS["phone"]), r["by_phone"]),
        (_("Completed"), r["completed"]),
        (_("Median minutes to completion"), _minutes(r["completion_median"]))])
    c = figs["complaints"]
    add(N_("Complaints"), [
        (_("Complaints"), c["count"]), (_("Signed off by the manager"), c["signed_off"]),
        (_("Signed off (%)"), _percent(c["signed_off_share"])),
        (_("Customer told the result"), c["fed_back"]),
        (_("Customer told the result (%)"), _percent(c["fed_back_share"])),
        (_("Closed"), c["closed"]), (_("Median minutes to close"), _minutes(c["close_median"]))])
    add(N_("Complaints by department"), [(names.department(code) if code else _("Not recorded"), n)
                                         for code, n in c["by_department"].items()])
    s = figs["same_day"]
    add(N_("Phone and walk-in records"), [
        (_("Recorded"), s["count"]), (_("Handled the same day"), s["handled"]),
        (_("Handled the same day (%)"), _percent(s["share"]))])
    add(N_("Emergencies and important matters"), [
        (e["number"], emergency_text(e, names, gettext)) for e in figs["emergencies"]])
    v = figs["revisits"]
    add(N_("Revisits"), [(_("Calls back"), v["done"]), (_("Satisfied"), v["satisfied"]),
                         (_("Satisfied (%)"), _percent(v["satisfied_share"]))])
    add(N_("Not satisfied"), [(u["number"], u["comment"]) for u in v["unsatisfied"]])
    add(N_("Open at the end of the period"), [(number, "") for number in figs["carried_over"]])
    return Sheet(_("Figures"), [_("Section"), _("Figure"), _("Value")], rows)


def emergency_text(e: dict, names: Names, gettext: Callable[[str], str]) -> str:
    """One emergency in a line: when, where, who was told and who acknowledged, minutes
    after it was reported."""
    _ = gettext
    told = "; ".join(_("%(name)s told after %(m)s min") % {
        "name": t["name"] or _("level %(n)s") % {"n": (t["level"] or 0) + 1},
        "m": round(t["minutes"])} for t in e["told"])
    ack = (_("acknowledged by %(name)s after %(m)s min") % {
        "name": e["acknowledged_by"] or "—", "m": round(e["acknowledged_minutes"])}
        if e["acknowledged_minutes"] is not None else _("not acknowledged"))
    place = names.place(e["location"]) if e["location"] else ""
    return " · ".join(p for p in (local(e["reported_at"], names.tz), place, told, ack) if p)


TICKET_HEADER = (N_("Number"), N_("Reported at"), N_("Category"), N_("Channel"), N_("Place"),
                 N_("Phone (masked)"), N_("Status"), N_("Department"), N_("On site at"),
                 N_("Arrival recorded"), N_("Completed at"), N_("Fee (yuan)"), N_("Closed at"),
                 N_("Close reason"))


def ticket_rows(tickets: list[dict], names: Names, gettext: Callable[[str], str]) -> Sheet:
    """One row per ticket, in the order reported: its number, times in the site's zone,
    labels in the page's language, the phone masked."""
    _ = gettext

    def label(table: dict, code: str | None) -> str:
        return _(table[code]) if code in table else code or ""

    rows = [[t["number"], local(t["reported_at"], names.tz),
             _(rules.CATEGORIES[t["category"]].label) if t["category"] in rules.CATEGORIES
             else t["category"],
             label(rules.CHANNELS, t["channel"]),
             names.place(t["location"]) if t.get("location") else "",
             mask_phone(t.get("phone")), label(rules.STATUSES, t["status"]),
             names.department(t["department"]) if t.get("department") else "",
             local(t.get("arrived_at"), names.tz), label(rules.ARRIVALS, t.get("arrival")),
             local(t.get("completed_at"), names.tz), _fee(t.get("fee")),
             local(t.get("closed_at"), names.tz), label(rules.CLOSE_REASONS, t.get("close_reason"))]
            for t in sorted(tickets, key=lambda t: t["reported_at"])]
    return Sheet(_("Ticket list"), [_(h) for h in TICKET_HEADER], rows)


def _fee(fee: str | None) -> Cell:
    return Decimal(fee) if fee else ""


def dispatch_rows(rows: list[dict], names: Names, gettext: Callable[[str], str]) -> Sheet:
    """The monthly dispatch statistics (``figures.dispatch_statistics``), per department."""
    _ = gettext
    return Sheet(_("Dispatch"), [_("Department"), _("Orders received"), _("Orders completed"),
                                 _("Late on site"),
                                 _("Median minutes to arrival"), _("Median minutes to completion")],
                 [[names.department(r["department"]), r["received"], r["completed"], r["late"],
                   _minutes(r["arrival_median"]), _minutes(r["completion_median"])]
                  for r in rows])


def paid_rows(paid: dict, names: Names, gettext: Callable[[str], str]) -> Sheet:
    """The paid services of a month (``figures.paid_services``) and their total."""
    _ = gettext
    rows: list[list[Cell]] = [
        [r["number"], local(r["at"], names.tz), names.place(r["location"]) if r["location"] else "",
         names.department(r["department"]) if r["department"] else "", r["technician"],
         r["result"], r["materials"], _fee(r["fee"])] for r in paid["rows"]]
    rows.append([_("Total"), "", "", "", "", "", "", _fee(paid["total"])])
    return Sheet(_("Paid services"), [_("Number"), _("Completed at"), _("Place"), _("Department"),
                                      _("Technician"), _("Result"), _("Materials"),
                                      _("Fee (yuan)")], rows)
