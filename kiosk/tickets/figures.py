"""The figures of the customer feedback report (R13) and the monthly dispatch statistics
and paid services (R16), in plain Python over folded tickets: the site computes them
from its store, HQ from the tickets it folded with the same ``model``.

A report covers the matters *reported* in a period of whole days in the site's time
zone (``Period``); what happened to them later (arrival, close, revisit) counts with
them. Each figure is one function of the tickets (and the period); ``report`` gathers
them into one JSON-able dict, which is also what an issued report carries
(``report_issued``). Durations are minutes; the median of an even count is the mean of
the two middle values, other percentiles are nearest-rank; a share is a fraction in
0..1, None when there is nothing to divide.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable, Iterable
from zoneinfo import ZoneInfo

from common.messages import N_

from . import rules

PRESETS = ("last_month", "last_two_months", "this_month", "custom")
PRESET_LABELS = {"last_month": N_("Last month"), "last_two_months": N_("Last two months"),
                 "this_month": N_("This month so far"), "custom": N_("Chosen dates")}
#: The events that show a phone or walk-in record was dealt with (R1, R2: the same day).
HANDLING = frozenset({"dispatched", "transferred", "resolved", "completed", "closed",
                      "acknowledged"})
TOP_PLACES = 10
MAX_DAYS = 400


# -- periods ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Period:
    """Whole days ``first``..``last`` (inclusive) in the site's zone ``tz``."""

    first: date
    last: date
    tz: ZoneInfo
    preset: str = "custom"

    @cached_property
    def start(self) -> datetime:
        """The first instant of the period, in UTC (so that arithmetic across a
        daylight-saving change counts real hours)."""
        return datetime.combine(self.first, time(0), self.tz).astimezone(timezone.utc)

    @cached_property
    def end(self) -> datetime:
        """The first instant after the period, in UTC."""
        return datetime.combine(self.last + timedelta(days=1), time(0), self.tz).astimezone(
            timezone.utc)

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    @property
    def key(self) -> str:
        """A stable name: ``2026-11``, ``2026-10..2026-11`` for whole months, else the days."""
        whole = self.first.day == 1 and (self.last + timedelta(days=1)).day == 1
        if whole:
            a, b = f"{self.first:%Y-%m}", f"{self.last:%Y-%m}"
            return a if a == b else f"{a}..{b}"
        return f"{self.first.isoformat()}..{self.last.isoformat()}"

    def previous(self) -> "Period":
        """The period of the same length just before: the months before, for whole months."""
        if self.first.day == 1 and (self.last + timedelta(days=1)).day == 1:
            months = _months_between(self.first, self.last)
            first = _add_months(self.first, -months)
            return Period(first, self.first - timedelta(days=1), self.tz, "custom")
        length = (self.last - self.first).days + 1
        return Period(self.first - timedelta(days=length), self.first - timedelta(days=1),
                      self.tz, "custom")

    def holds(self, when: str | datetime | None) -> bool:
        """Tell whether the instant ``when`` (ISO text or aware datetime) is in the period."""
        if not when:
            return False
        at = datetime.fromisoformat(when) if isinstance(when, str) else when
        return self.start <= at < self.end

    def as_dict(self) -> dict:
        return {"first": self.first.isoformat(), "last": self.last.isoformat(),
                "preset": self.preset, "key": self.key}


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _months_between(first: date, last: date) -> int:
    return (last.year - first.year) * 12 + last.month - first.month + 1


def period(preset: str, today: date, tz: ZoneInfo, first: date | None = None,
           last: date | None = None) -> Period:
    """Return the period of a preset as seen on ``today`` (the site's date), or of the
    chosen days (``custom``: ``first`` and ``last``, at most ``MAX_DAYS`` apart).

    :raises ValueError: an unknown preset, or custom days missing, reversed or too far apart.
    """
    month = today.replace(day=1)
    if preset == "last_month":
        return Period(_add_months(month, -1), month - timedelta(days=1), tz, preset)
    if preset == "last_two_months":
        return Period(_add_months(month, -2), month - timedelta(days=1), tz, preset)
    if preset == "this_month":
        return Period(month, today, tz, preset)
    if preset == "custom" and first and last and first <= last \
            and (last - first).days < MAX_DAYS:
        return Period(first, last, tz, preset)
    raise ValueError(f"no period for {preset!r} {first}..{last}")


def period_ended(today: date, tz: ZoneInfo, months: int) -> Period:
    """Return the latest whole period of ``months`` (1 or 2) months that has ended by
    ``today``: the report prepared for the manager (two-month periods start in odd months)."""
    month = today.replace(day=1)
    if months == 2:
        month = _add_months(month, -((month.month - 1) % 2))
    return Period(_add_months(month, -months), month - timedelta(days=1), tz, "custom")


# -- small statistics -------------------------------------------------------------------
def median(values: list[float]) -> float | None:
    """The median (the mean of the two middle values of an even count), or None."""
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        return None
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def percentile(values: list[float], q: float) -> float | None:
    """The nearest-rank ``q`` percentile (0 < q <= 1), or None."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else None


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def minutes(start: str | None, end: str | None) -> float | None:
    """Minutes from one ISO time to another, or None if either is missing."""
    if not start or not end:
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() / 60


def duration_text(value: float | None, gettext: Callable[..., str]) -> str:
    """A duration in minutes as people say it, in ``gettext``'s language: "25 min",
    "3 h 10 min", "2 d 4 h"; "—" for None."""
    if value is None:
        return "—"
    total = int(value + 0.5)
    days, hours, mins = total // 1440, total % 1440 // 60, total % 60
    if days and hours:
        return gettext("%(d)s d %(h)s h", d=days, h=hours)
    if days:
        return gettext("%(d)s d", d=days)
    if hours and mins:
        return gettext("%(h)s h %(m)s min", h=hours, m=mins)
    if hours:
        return gettext("%(h)s h", h=hours)
    return gettext("%(m)s min", m=mins)


def _first(ticket: dict, kinds: Iterable[str] | str) -> dict | None:
    kinds = {kinds} if isinstance(kinds, str) else set(kinds)
    return next((e for e in ticket.get("events", ()) if e["type"] in kinds), None)


def _all(ticket: dict, kind: str) -> list[dict]:
    return [e for e in ticket.get("events", ()) if e["type"] == kind]


# -- the figures ------------------------------------------------------------------------
def reported_in(tickets: Iterable[dict], p: Period) -> list[dict]:
    """The tickets reported in the period."""
    return [t for t in tickets if p.holds(t.get("reported_at"))]


def totals(tickets: list[dict]) -> dict:
    """How many, by category and by channel (every code present, zeros included)."""
    return {"total": len(tickets),
            "by_category": {c: sum(t["category"] == c for t in tickets) for c in rules.CATEGORIES},
            "by_channel": {c: sum(t["channel"] == c for t in tickets) for c in rules.CHANNELS}}


def change(now: int, before: int) -> float | None:
    """The change from ``before`` to ``now`` as a fraction (0.12: 12 % more), or None."""
    return (now - before) / before if before else None


def daily(tickets: list[dict], p: Period) -> list[tuple[str, int]]:
    """How many were reported on each day of the period (site days, zeros included)."""
    counts = Counter(datetime.fromisoformat(t["reported_at"]).astimezone(p.tz).date()
                     for t in tickets)
    return [(day.isoformat(), counts.get(day, 0)) for day in p.days]


def places(tickets: list[dict], top: int = TOP_PLACES) -> dict:
    """The places most reported (ties by code), and the repeat problems: the same
    category at the same place more than once."""
    by_place = Counter(t["location"] for t in tickets if t.get("location"))
    pairs = Counter((t["location"], t["category"]) for t in tickets if t.get("location"))
    return {
        "top": [[code, n] for code, n in sorted(by_place.items(), key=lambda kv: (-kv[1], kv[0]))
                [:top]],
        "repeats": [{"location": code, "category": cat, "count": n}
                    for (code, cat), n in sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))
                    if n > 1],
    }


def repairs(tickets: list[dict], policy: rules.Policy = rules.POLICY) -> dict:
    """Repairs: how many; time to arrival (median, 90th percentile); the share on site
    in time (within the policy's 30 minutes; those with a deadline agreed with
    maintenance counted apart, against their agreed time); arrivals verified at the place,
    declared, told by phone; the median time to the first completion."""
    found = [t for t in tickets if t["category"] == "repair"]
    arrived = [t for t in found if t.get("arrived_at")]
    plain = [t for t in arrived if not t.get("deadline_reason")]
    agreed = [t for t in arrived if t.get("deadline_reason")]
    waits = [minutes(t["reported_at"], t["arrived_at"]) for t in arrived]
    limit = policy.arrival.total_seconds() / 60
    in_time = sum(minutes(t["reported_at"], t["arrived_at"]) <= limit for t in plain)
    agreed_in_time = sum(not t.get("arrived_late") for t in agreed)
    completions = [minutes(t["reported_at"], e["at"]) for t in found
                   if (e := _first(t, "completed"))]
    how = Counter(t.get("arrival") for t in arrived)
    return {"count": len(found), "arrived": len(arrived),
            "arrival_median": median(waits), "arrival_p90": percentile(waits, 0.9),
            "in_time": in_time, "in_time_share": share(in_time, len(plain)),
            "agreed": len(agreed), "agreed_in_time": agreed_in_time,
            "verified": how.get("verified", 0), "declared": how.get("declared", 0),
            "by_phone": how.get("phone", 0),
            "completed": len(completions), "completion_median": median(completions)}


def complaints(tickets: list[dict]) -> dict:
    """Complaints: how many; the share signed off by the manager; by responsible
    department; the share whose result the customer was told; the median time to close."""
    found = [t for t in tickets if t["category"] == "complaint"]
    departments = Counter(e["data"].get("department") or e["data"].get("person") or ""
                          for t in found if (e := _first(t, "transferred")))
    closes = [minutes(t["reported_at"], t["closed_at"]) for t in found if t.get("closed_at")]
    signed = sum(bool(_first(t, "signed_off")) for t in found)
    told = sum(bool(_first(t, "fed_back")) for t in found)
    return {"count": len(found), "signed_off": signed, "signed_off_share": share(signed, len(found)),
            "by_department": dict(sorted(departments.items(), key=lambda kv: (-kv[1], kv[0]))),
            "fed_back": told, "fed_back_share": share(told, len(found)),
            "closed": len(closes), "close_median": median(closes)}


def same_day(tickets: list[dict]) -> dict:
    """Phone and walk-in records handled by the end of their working day (R1, R2)."""
    found = [t for t in tickets if t["channel"] in rules.DESK_CHANNELS and t.get("due_at")]
    handled = sum(bool((e := _first(t, HANDLING)) and
                       datetime.fromisoformat(e["at"]) <= datetime.fromisoformat(t["due_at"]))
                  for t in found)
    return {"count": len(found), "handled": handled, "share": share(handled, len(found))}


def emergencies(tickets: list[dict]) -> list[dict]:
    """Each emergency and important matter, in time order: whom the desk told when, and
    who acknowledged, minutes after it was reported (or raised)."""
    out = []
    for t in sorted((t for t in tickets if rules.in_chain(t)), key=lambda t: t["reported_at"]):
        since = t.get("raised_at") or t["reported_at"]
        out.append({"number": t["number"], "category": t["category"],
                    "reported_at": t["reported_at"], "location": t.get("location") or "",
                    "told": [{"level": e["data"].get("level"), "name": e["data"].get("name"),
                              "minutes": minutes(since, e["at"])} for e in _all(t, "escalated")],
                    "acknowledged_by": t.get("acknowledged_by"),
                    "acknowledged_minutes": minutes(since, t.get("acknowledged_at"))})
    return out


def revisits(tickets: list[dict]) -> dict:
    """The calls back made on these matters: how many, the share satisfied, and the
    unsatisfied ones with their comments (a reopened ticket counts each call)."""
    calls = [(t, e) for t in tickets for e in _all(t, "revisited")]
    satisfied = sum(e["data"].get("outcome") == "satisfied" for _, e in calls)
    return {"done": len(calls), "satisfied": satisfied, "satisfied_share": share(satisfied, len(calls)),
            "unsatisfied": [{"number": t["number"], "comment": e["data"].get("comment") or "",
                             "at": e["at"]}
                            for t, e in calls if e["data"].get("outcome") == "unsatisfied"]}


def carried_over(tickets: list[dict], p: Period) -> list[str]:
    """The numbers of the matters still open when the period ended."""
    return sorted(t["number"] for t in tickets
                  if not t.get("closed_at") or datetime.fromisoformat(t["closed_at"]) >= p.end)


def report(tickets: Iterable[dict], p: Period, policy: rules.Policy = rules.POLICY) -> dict:
    """The customer feedback report of ``p`` (R13) from any tickets that include those
    reported in ``p`` and in the period before it (for the change)."""
    tickets = list(tickets)
    now, before = reported_in(tickets, p), reported_in(tickets, p.previous())
    counted, earlier = totals(now), totals(before)
    return {"period": p.as_dict(), **counted,
            "previous_total": earlier["total"], "change": change(counted["total"], earlier["total"]),
            "previous_by_category": earlier["by_category"],
            "daily": daily(now, p), "places": places(now), "repairs": repairs(now, policy),
            "complaints": complaints(now), "same_day": same_day(now),
            "emergencies": emergencies(now), "revisits": revisits(now),
            "carried_over": carried_over(now, p)}


def summary(figures: dict, gettext: Callable[[str], str]) -> list[str]:
    """The report's first lines in the page's language (``gettext`` translates a msgid):
    the total and its change, the largest category, repairs on site in time, the
    customers satisfied."""
    lines = []
    total, delta = figures["total"], figures["change"]
    if delta is None:
        lines.append(gettext(N_("%(total)s matters in all.")) % {"total": total})
    else:
        text = (N_("%(total)s matters in all, %(pct)s%% more than the period before.")
                if delta >= 0 else
                N_("%(total)s matters in all, %(pct)s%% fewer than the period before."))
        lines.append(gettext(text) % {"total": total, "pct": round(abs(delta) * 100)})
    if total:
        code, n = max(figures["by_category"].items(), key=lambda kv: (kv[1], kv[0] == "repair"))
        lines.append(gettext(N_("Most were %(category)s: %(n)s.")) % {
            "category": gettext(rules.CATEGORIES[code].label), "n": n})
    in_time = figures["repairs"]["in_time_share"]
    if in_time is not None:
        lines.append(gettext(N_("%(pct)s%% of repairs had maintenance on site within 30 "
                                "minutes.")) % {"pct": round(in_time * 100)})
    satisfied = figures["revisits"]["satisfied_share"]
    if satisfied is not None:
        lines.append(gettext(N_("%(pct)s%% of the customers called back were satisfied."))
                     % {"pct": round(satisfied * 100)})
    return lines


# -- the monthly statistics (R16) ----------------------------------------------------------
def dispatch_statistics(tickets: Iterable[dict], p: Period) -> list[dict]:
    """Per department, the work orders dispatched in the period: received, completed,
    late on site, the median minutes to arrival and to completion."""
    by_department: dict[str, list[dict]] = {}
    for t in tickets:
        e = _first(t, "dispatched")
        if e and p.holds(e["at"]):
            by_department.setdefault(e["data"].get("department") or "", []).append(t)
    rows = []
    for code, orders in sorted(by_department.items()):
        done = [t for t in orders if _first(t, "completed")]
        rows.append({"department": code, "received": len(orders), "completed": len(done),
                     "late": sum(bool(t.get("arrived_late")) or (not t.get("arrived_at") and
                                 bool(t.get("due_at")) and
                                 datetime.fromisoformat(t["due_at"]) < p.end) for t in orders),
                     "arrival_median": median([minutes(t["dispatched_at"], t["arrived_at"])
                                               for t in orders if t.get("arrived_at")
                                               and t.get("dispatched_at")]),
                     "completion_median": median([minutes(t["reported_at"],
                                                          _first(t, "completed")["at"])
                                                  for t in done])})
    return rows


def paid_services(tickets: Iterable[dict], p: Period) -> dict:
    """The repairs completed in the period with a fee recorded (R16), and the total."""
    rows = []
    for t in tickets:
        for e in _all(t, "completed"):
            if e["data"].get("fee") and p.holds(e["at"]):
                rows.append({"number": t["number"], "at": e["at"],
                             "location": t.get("location") or "",
                             "department": t.get("department") or "",
                             "technician": (t.get("technician") or {}).get("name") or "",
                             "result": e["data"].get("result") or "",
                             "materials": e["data"].get("materials") or "",
                             "fee": e["data"]["fee"]})
    rows.sort(key=lambda r: r["at"])
    total = sum(round(float(r["fee"]) * 100) for r in rows)
    return {"rows": rows, "total": f"{total // 100}.{total % 100:02d}"}
