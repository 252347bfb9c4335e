"""HQ's customer feedback reports (R13), in plain Python over ``HQStore`` (no Flask, no SQL).

Two things: the reports the sites' managers issued (``report_issued`` events, each with the
figures its site computed), and the same report across all sites for any period, computed
here with the kiosk's own ``kiosk.tickets.figures`` over the tickets HQ folded, one site
beside another. HQ knows no site's settings, so a repair counts as on site in time within
the usual 30 minutes (``rules.POLICY``).
"""
from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from kiosk.tickets import figures, rules

from .storage import HQStore

#: The periods HQ's reports page offers, in HQ's time zone.
PRESETS = ("last_month", "last_two_months", "this_month")


def period(preset: str | None, today: date, tz: ZoneInfo) -> figures.Period:
    """Return the period of a preset as seen on ``today``; last month for any other."""
    return figures.period(preset if preset in PRESETS else "last_month", today, tz)


def _number(value: object) -> float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def key_figures(report: dict) -> dict:
    """The figures sites are compared by, from a report's figures (issued by a site or
    computed here); a figure missing or of the wrong kind is None."""
    def part(name: str) -> dict:
        found = report.get(name)
        return found if isinstance(found, dict) else {}

    emergencies = report.get("emergencies")
    return {"total": _number(report.get("total")),
            "repairs": _number(part("repairs").get("count")),
            "in_time_share": _number(part("repairs").get("in_time_share")),
            "complaints": _number(part("complaints").get("count")),
            "fed_back_share": _number(part("complaints").get("fed_back_share")),
            "revisits": _number(part("revisits").get("done")),
            "satisfied_share": _number(part("revisits").get("satisfied_share")),
            "emergencies": len(emergencies) if isinstance(emergencies, list) else None}


def issued(store: HQStore, site_id: str | None = None) -> list[dict]:
    """The reports the sites issued, the last first, each with its key figures."""
    return [{**r, "key": r["period"]["key"], "figures": key_figures(r["figures"])}
            for r in store.issued_reports(site_id)]


def across_sites(store: HQStore, p: figures.Period, sites: list[dict],
                 policy: rules.Policy = rules.POLICY) -> dict:
    """The report of ``p`` over every site's tickets (``all``, its key figures ``total``),
    each site's (``by_site``: site id -> report) and the rows comparing them (``rows``:
    each site's key figures, in the order of ``sites``)."""
    by_site: dict[str, list[dict]] = {s["site_id"]: [] for s in sites}
    tickets = store.tickets_reported(p.previous().start, p.end)
    for ticket in tickets:
        by_site.setdefault(ticket["site_id"], []).append(ticket)
    reports = {site_id: figures.report(found, p, policy) for site_id, found in by_site.items()}
    overall = figures.report(tickets, p, policy)
    return {"all": overall, "by_site": reports, "total": key_figures(overall),
            "rows": [{"site_id": s["site_id"], "name": s["name"],
                      **key_figures(reports[s["site_id"]])} for s in sites]}
