"""The receptionist's queue: what came in, what waits, what is late (R1, R2, R9, R12, R14).

Emergencies and important matters nobody has acknowledged are pinned on top, each with
the level of the escalation chain to call now; then phone and walk-in records left from
an earlier day; then new visitor entries; then the other open tickets, earliest due
first. Plain Python over the store and ``rules``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from common.phones import mask_phone

from ..locations.service import location_name
from ..store import Store
from . import rules

DUE_SOON = timedelta(minutes=10)
FILTERS = ("category", "status", "place", "date", "q")
#: unfinished entries shown before "more"; a draft counts once one of these is typed
DRAFTS_SHOWN = 3
DRAFT_TYPED = ("description", "name", "phone")


@dataclass
class Row:
    """One ticket as the queue shows it."""

    id: str
    number: str
    category: str
    channel: str
    status: str
    place: str
    name: str
    reported_at: datetime
    age_minutes: int
    due_at: datetime | None  # when its next step is due (``rules.current_due``)
    due_state: str  # "late", "soon", "ok" or ""
    alarm: bool  # in the escalation chain and nobody has acknowledged it
    flags: tuple[str, ...] = ()  # of FLAGS, in that order
    level: int | None = None  # an alarm: the level of the chain to call now (0: the first)
    contact: dict | None = None  # that level: title_zh, title_en, name, phone
    next_at: datetime | None = None  # an alarm: when the following level is up
    due_other_day: bool = False  # due on another day than today (the site's): show its date


#: What the queue marks on a row: a phone or walk-in record left from an earlier day, a
#: repair not on site by its deadline, one on site after it, a call back due (R1, R2,
#: R9, R15).
FLAGS = ("carried_over", "late", "arrived_late", "revisit")


def due_state(due: datetime | None, now: datetime, soon: timedelta = DUE_SOON) -> str:
    """Return "late", "soon" or "ok" for a due time, or "" when nothing is due."""
    if due is None:
        return ""
    if now > due:
        return "late"
    return "soon" if due - now <= soon else "ok"


def _matches(ticket: dict, filters: dict, tz: ZoneInfo) -> bool:
    if filters.get("category") and ticket["category"] != filters["category"]:
        return False
    if filters.get("status") and ticket["status"] != filters["status"]:
        return False
    if filters.get("place") and ticket["location"] != filters["place"]:
        return False
    if filters.get("date"):
        local = datetime.fromisoformat(ticket["reported_at"]).astimezone(tz)
        if local.date().isoformat() != filters["date"]:
            return False
    q = (filters.get("q") or "").strip().casefold()
    if q:
        haystack = " ".join(str(ticket.get(k) or "") for k in ("number", "name", "phone"))
        if q not in haystack.casefold():
            return False
    return True


def row_flags(ticket: dict, now: datetime, tz: ZoneInfo, state: str) -> tuple[str, ...]:
    """Return the FLAGS of an open ticket at ``now`` (``state``: its ``due_state``)."""
    found = {
        "carried_over": rules.carried_over(ticket, now, tz),
        "late": (ticket["category"] == "repair" and state == "late"
                 and ticket["status"] in ("new", "open", "dispatched")),
        "arrived_late": bool(ticket.get("arrived_late")),
        "revisit": rules.revisit_pending(ticket),
    }
    return tuple(flag for flag in FLAGS if found[flag])


def build(store: Store, now: datetime, tz: ZoneInfo, filters: dict | None = None,
          lang: str = "zh", policy: rules.Policy = rules.POLICY) -> list[Row]:
    """Return the open tickets that match ``filters``, in queue order.

    ``policy`` gives the escalation step: every step nobody acknowledges an alarm, the
    next level of ``store.escalation_chain()`` is the one to call.
    """
    filters = filters or {}
    tickets = [t for t in store.open_summaries() if _matches(t, filters, tz)]
    names = {loc["code"]: location_name(loc, lang) for loc in store.locations(False)}
    chain = store.escalation_chain()
    today = now.astimezone(tz).date()
    rows = []
    for t in tickets:
        reported = datetime.fromisoformat(t["reported_at"])
        due = rules.current_due(t)
        state = due_state(due, now)
        chained = rules.escalation(t, now, len(chain), policy)
        alarm = bool(chained and chained.alarm)
        level = chained.level if alarm else None
        rows.append(Row(t["id"], t["number"], t["category"], t["channel"], t["status"],
                        names.get(t["location"], t["location"] or ""), t.get("name") or "",
                        reported, max(0, int((now - reported).total_seconds() // 60)), due,
                        state, alarm, row_flags(t, now, tz, state), level,
                        chain[level] if alarm and chain else None,
                        chained.next_at if alarm else None,
                        due is not None and due.astimezone(tz).date() != today))
    far = datetime.max.replace(tzinfo=now.tzinfo)
    rows.sort(key=lambda r: (not r.alarm, "carried_over" not in r.flags, r.status != "new",
                             r.due_at or far, r.reported_at))
    return rows


def flag_counts(rows: list[Row]) -> dict[str, int]:
    """Return how many rows carry each flag, in ``FLAGS`` order, leaving out the none:
    late arrivals and the rest are counted, not only marked."""
    counts = {flag: sum(flag in r.flags for r in rows) for flag in FLAGS}
    return {flag: n for flag, n in counts.items() if n}


def typed_drafts(store: Store) -> list[dict]:
    """Return the visitors' unfinished entries with something typed, newest first.

    A draft with only a category or a place (someone tapped a tile and walked away)
    is nothing the desk can finish, so it is left out.
    """
    drafts = []
    for draft in store.all_drafts():
        typed = {k: v.strip() for k in DRAFT_TYPED
                 if isinstance(v := draft["fields"].get(k), str) and v.strip()}
        if typed:
            # what the desk reads: the matter, else who it was (a phone number masked)
            summary = typed.get("description") or typed.get("name") or mask_phone(typed["phone"])
            drafts.append({**draft, "summary": summary[:60]})
    return drafts


def revisits(store: Store, now: datetime) -> list[dict]:
    """Return the open tickets whose call back is due (R15), the earliest due first, each
    with its ``due_state`` at ``now``."""
    due = [{**t, "due_state": due_state(rules.current_due(t), now)}
           for t in store.open_summaries() if rules.revisit_pending(t)]
    return sorted(due, key=lambda t: (t["revisit_due"], t["reported_at"]))


def spot_check(store: Store, department: str) -> list[dict]:
    """Return the repairs ``department`` completed that are still open (resolved, not yet
    filed), the earliest completed first: staff call back on some and file them (R15)."""
    done = [t for t in store.open_summaries()
            if t["category"] == "repair" and t["status"] == "resolved"
            and t.get("department") == department]
    return sorted(done, key=lambda t: t.get("completed_at") or t["reported_at"])


def emergencies(store: Store) -> list[dict]:
    """Return the emergencies and important matters (R12), open ones and those closed of
    the last two months, with their timelines and the chain's notifications: the open
    ones nobody acknowledged first, then the other open ones, then the closed, each
    newest first."""
    chained = [t for t in store.open_tickets() if rules.in_chain(t)]
    chained += store.closed_tickets(rules.in_chain)
    chained.sort(key=lambda t: t["reported_at"], reverse=True)
    return sorted(chained, key=lambda t: (t["status"] == "closed", bool(t.get("acknowledged"))))
