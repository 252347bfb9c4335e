"""What staff do to a ticket: confirm, amend, note, acknowledge, close (R4-R8, R12).

Every action is one or more appended events signed by ``actor``; nothing is
overwritten. Plain functions over the store; the rules module decides what may follow.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ..store import Store
from ..validation import Message, ValidationError, clean_text
from . import rules, service
from .model import AMENDABLE
from .rules import N_

MAX_NOTE = 1000


class NotFound(LookupError):
    """No ticket with that id."""


def _ticket(store: Store, tid: str) -> dict:
    ticket = store.tickets.get(tid)
    if ticket is None:
        raise NotFound(tid)
    return ticket


def _event(tid: str, kind: str, actor: dict, now: datetime, **data) -> dict:
    return {"ticket_id": tid, "type": kind, "at": service.iso(now), "actor": actor, "data": data}


def corrections(store: Store, ticket: dict, fields: dict, now: datetime) -> dict:
    """Check staff corrections; return ``{field: {"old", "new"}}`` for what really changed.

    :raises ValidationError: if a corrected value is not acceptable.
    """
    wanted = {k: v for k, v in fields.items() if k in AMENDABLE}
    errors: dict[str, Message] = {}
    category = wanted.get("category", ticket["category"])
    if category not in rules.CATEGORIES:
        errors["category"] = Message(N_("Please choose what this is about."))
        category = ticket["category"]
    clean, detail_errors = service.check_details(
        {"description": wanted.get("description", ticket["description"]),
         "name": wanted.get("name", ticket["name"] or ""),
         "phone": wanted.get("phone", ticket["phone"] or "")},
        category, now, timezone.utc)
    errors.update({k: v for k, v in detail_errors.items() if k in wanted})
    if "location" in wanted:
        clean["location"], err = service.check_location(store, category, wanted["location"])
        if err:
            errors["location"] = err
    if errors:
        raise ValidationError(errors)
    clean["category"] = category
    return {f: {"old": ticket[f], "new": clean[f]} for f in wanted
            if (clean[f] or None) != (ticket[f] or None)}


def confirm(store: Store, tid: str, fields: dict, *, actor: dict, now: datetime) -> dict:
    """Confirm a visitor's entry, with any corrections as a signed amendment first."""
    with store.lock:
        ticket = _ticket(store, tid)
        changes = corrections(store, ticket, fields, now)
        events = [_event(tid, "amended", actor, now, **changes)] if changes else []
        store.append(events + [_event(tid, "confirmed", actor, now)])
        return store.tickets.get(tid)


def amend(store: Store, tid: str, fields: dict, *, actor: dict, now: datetime) -> dict:
    """Correct a ticket: the old values stay in its timeline (R6)."""
    with store.lock:
        ticket = _ticket(store, tid)
        changes = corrections(store, ticket, fields, now)
        if changes:
            store.append([_event(tid, "amended", actor, now, **changes)])
        return store.tickets.get(tid)


def add_note(store: Store, tid: str, text: str, *, actor: dict, now: datetime) -> dict:
    """Add a staff note (never shown to the public)."""
    text, err = clean_text(text, max_len=MAX_NOTE, required=True, multiline=True)
    if err:
        raise ValidationError({"note": err})
    with store.lock:
        _ticket(store, tid)
        store.append([_event(tid, "noted", actor, now, text=text)])
        return store.tickets.get(tid)


def acknowledge(store: Store, tid: str, *, actor: dict, now: datetime) -> dict:
    """Silence an emergency's alarm: someone has taken it on (R12)."""
    with store.lock:
        _ticket(store, tid)
        store.append([_event(tid, "acknowledged", actor, now)])
        return store.tickets.get(tid)


def close(store: Store, tid: str, reason: str, *, actor: dict, now: datetime) -> dict:
    """Close a ticket with a reason (done, duplicate, spam, withdrawn); nothing is deleted."""
    if reason not in rules.CLOSE_REASONS:
        raise ValidationError({"reason": Message(N_("Please choose a reason."))})
    with store.lock:
        _ticket(store, tid)
        store.append([_event(tid, "closed", actor, now, reason=reason)])
        return store.tickets.get(tid)


def record(store: Store, fields: dict, channel: str, *, actor: dict, now: datetime,
           tz, received_at: str = "") -> dict:
    """Record a phone call or a walk-in (R1, R2) at the exact time it came in.

    ``received_at`` is the site-local ``YYYY-MM-DDTHH:MM`` of the call; empty means now.
    :raises ValidationError: for a wrong field or a time in the future or over a day ago.
    """
    if channel not in ("phone", "walk_in"):
        raise ValueError(f"staff record phone or walk_in, not {channel!r}")
    when = now
    if received_at:
        try:
            when = datetime.strptime(received_at, "%Y-%m-%dT%H:%M").replace(tzinfo=tz)
        except ValueError:
            raise ValidationError({"received_at": Message(N_("Please pick a date and time."))})
        if not now - timedelta(days=1) <= when <= now + timedelta(minutes=1):
            raise ValidationError({"received_at": Message(
                N_("The time must be within the last 24 hours."))})
    return service.submit_report(store, fields, channel=channel, actor=actor, now=when, tz=tz)
