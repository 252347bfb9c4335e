"""The receptionist's queue: what came in, what waits, what is late (R14).

Emergencies not yet acknowledged are pinned on top; then new visitor entries; then
the other open tickets, earliest due first. Plain Python over the store.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ..locations.service import location_name
from ..store import Store
from .service import mask_phone

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
    due_at: datetime | None
    due_state: str  # "late", "soon", "ok" or ""
    alarm: bool


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


def build(store: Store, now: datetime, tz: ZoneInfo, filters: dict | None = None,
          lang: str = "zh") -> list[Row]:
    """Return the open tickets that match ``filters``, in queue order."""
    filters = filters or {}
    tickets = [t for t in store.open_summaries() if _matches(t, filters, tz)]
    names = {loc["code"]: location_name(loc, lang) for loc in store.locations(False)}
    rows = []
    for t in tickets:
        reported = datetime.fromisoformat(t["reported_at"])
        due = datetime.fromisoformat(t["due_at"]) if t.get("due_at") else None
        alarm = t["category"] == "emergency" and not t.get("acknowledged")
        rows.append(Row(t["id"], t["number"], t["category"], t["channel"], t["status"],
                        names.get(t["location"], t["location"] or ""), t.get("name") or "",
                        reported, max(0, int((now - reported).total_seconds() // 60)), due,
                        due_state(due, now), alarm))
    far = datetime.max.replace(tzinfo=now.tzinfo)
    rows.sort(key=lambda r: (not r.alarm, r.status != "new", r.due_at or far, r.reported_at))
    return rows


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
