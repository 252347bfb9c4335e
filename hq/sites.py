"""The sites page's rules: which site needs the manager first, and where each count leads.

A site's place on the page is its attention key, compared in this order:

1. open emergencies, most first;
2. late repairs (not closed, due before now), most first;
3. unsigned complaints (not closed, not signed off by the manager), most first;
4. a flagged desk (offline, or never heard from: ``hq.liveness``) before a live one;
5. open alarms (not acknowledged), most first;
6. the site's name, then its id.

``attention_key`` is that key; ``needs_attention`` is whether any of 1-5 holds (the
"only sites needing attention" filter). Each ticket count links to exactly those tickets
in the cross-site list: ``count_links`` gives the list's query parameters, which count
what ``site_summaries`` counts. Plain Python: no Flask.
"""
from __future__ import annotations

from .liveness import Liveness

#: the ticket counts of a site summary that link to the list, with the list's filters
#: that show exactly those tickets (``hq.ticket_list``)
COUNT_FILTERS = {
    "open_tickets": {"status": "not_closed"},
    "emergencies": {"category": "emergency", "status": "not_closed"},
    "late_repairs": {"category": "repair", "late": "1"},
    "unsigned_complaints": {"category": "complaint", "unsigned": "1"},
}


def attention_key(site: dict, live: Liveness) -> tuple:
    """Return where ``site`` (a site summary) stands on the sites page: smaller first."""
    return (-site["emergencies"], -site["late_repairs"], -site["unsigned_complaints"],
            not live.flagged, -site["alarms_open"], site["name"], site["site_id"])


def needs_attention(site: dict, live: Liveness) -> bool:
    """Whether anything on the site waits for the manager: an open emergency, a late
    repair, an unsigned complaint, a flagged desk or an open alarm."""
    return bool(site["emergencies"] or site["late_repairs"] or site["unsigned_complaints"]
                or live.flagged or site["alarms_open"])


def count_links(site: dict) -> dict[str, dict | None]:
    """Return, per linked count of ``site``, the ticket list's query parameters that show
    exactly those tickets, or None where the count is zero (shown as plain text)."""
    return {name: {"site": site["site_id"], **query} if site[name] else None
            for name, query in COUNT_FILTERS.items()}


def rows(summaries: list[dict], lives: dict[str, Liveness],
         attention_only: bool = False) -> list[dict]:
    """Return the sites page's rows, most urgent first: each summary with its ``live``
    (from ``lives``, by site id), its ``links`` and whether it ``needs`` attention; only
    the sites needing attention if ``attention_only``."""
    out = [{**s, "live": lives[s["site_id"]], "links": count_links(s),
            "needs": needs_attention(s, lives[s["site_id"]])} for s in summaries]
    out.sort(key=lambda r: attention_key(r, r["live"]))
    return [r for r in out if r["needs"]] if attention_only else out


def alarms_open_first(alarms: list[dict]) -> tuple[list[dict], list[dict]]:
    """Split a site's alarms (newest first) into the open ones and the acknowledged ones,
    each newest first."""
    return ([a for a in alarms if not a["acked_at"]], [a for a in alarms if a["acked_at"]])
