"""What staff do to a ticket: confirm, amend, note, acknowledge, close (R4-R8, R12).

Every action is one or more appended events signed by ``actor``; nothing is
overwritten. Each checks first that ``actor``'s role may take it on this ticket now
(``rules.allowed_actions``): ``Forbidden`` for a role that may never take it,
``RuleError`` for a step the ticket's state does not allow. Plain functions over the
store.

Every action is safe to send twice: the ``request_id`` of the form (random, made when
it was rendered) goes into the data of the event it stores, and a request whose id is
already in the ticket's timeline is a resend: it stores nothing and returns the ticket
as if it had just succeeded. A correction needs no id: sent again, it finds nothing
left to change.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from common.messages import N_, Message
from common.validation import ValidationError, clean_text
from sync.events import new as new_event

from ..store import Store
from . import rules, service
from .model import AMENDABLE

MAX_NOTE = 1000


class NotFound(LookupError):
    """No ticket with that id."""


class Forbidden(PermissionError):
    """The actor's role may not take this action at all."""


def check_role(actor: dict, action: str) -> None:
    """Raise Forbidden unless ``actor``'s role may take ``action`` (rules.PERMISSIONS)."""
    if not rules.may(actor.get("role"), action):
        raise Forbidden(action)


def _ticket_for(store: Store, tid: str, action: str, actor: dict,
                request_id: str | None = None) -> dict | None:
    """Return the ticket if ``actor`` may take ``action`` on it now, or None if an event
    of its timeline carries ``request_id`` (a resend of a request already done; call
    under the lock)."""
    check_role(actor, action)
    ticket = store.ticket(tid)
    if ticket is None:
        raise NotFound(tid)
    if request_id is not None and any(e["data"].get("request_id") == request_id
                                      for e in ticket["events"]):
        return None
    if action not in rules.allowed_actions(ticket, actor["role"]):
        raise rules.RuleError(f"{action} is not possible for a ticket that is {ticket['status']}")
    return ticket


def _request(request_id: str | None) -> dict:
    """Return the data that names the request of an event: ``{"request_id"}`` or nothing."""
    return {} if request_id is None else {"request_id": request_id}


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
        category, now, timezone.utc)  # no time among the corrections
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


def confirm(store: Store, tid: str, fields: dict, *, actor: dict, now: datetime,
            request_id: str | None = None) -> dict:
    """Confirm a visitor's entry, with any corrections as a signed amendment first."""
    with store.lock:
        ticket = _ticket_for(store, tid, "confirm", actor, request_id)
        if ticket is None:
            return store.ticket(tid)
        changes = corrections(store, ticket, fields, now)
        amendment = [new_event(tid, "amended", actor, now, changes)] if changes else []
        store.append(amendment + [new_event(tid, "confirmed", actor, now, _request(request_id))])
        return store.ticket(tid)


def amend(store: Store, tid: str, fields: dict, *, actor: dict, now: datetime) -> dict:
    """Correct a ticket: the old values stay in its timeline (R6)."""
    with store.lock:
        ticket = _ticket_for(store, tid, "amend", actor)
        changes = corrections(store, ticket, fields, now)
        if changes:
            store.append([new_event(tid, "amended", actor, now, changes)])
        return store.ticket(tid)


def add_note(store: Store, tid: str, text: str, *, actor: dict, now: datetime,
             request_id: str | None = None) -> dict:
    """Add a staff note (never shown to the public)."""
    check_role(actor, "note")
    text, err = clean_text(text, max_len=MAX_NOTE, required=True, multiline=True)
    if err:
        raise ValidationError({"note": err})
    with store.lock:
        if _ticket_for(store, tid, "note", actor, request_id) is not None:
            store.append([new_event(tid, "noted", actor, now,
                                    {"text": text, **_request(request_id)})])
        return store.ticket(tid)


def acknowledge(store: Store, tid: str, *, actor: dict, now: datetime,
                request_id: str | None = None) -> dict:
    """Silence an emergency's alarm: someone has taken it on (R12)."""
    with store.lock:
        if _ticket_for(store, tid, "acknowledge", actor, request_id) is not None:
            store.append([new_event(tid, "acknowledged", actor, now, _request(request_id))])
        return store.ticket(tid)


def close(store: Store, tid: str, reason: str, *, actor: dict, now: datetime,
          request_id: str | None = None) -> dict:
    """Close a ticket with a reason (done, duplicate, spam, withdrawn); nothing is deleted."""
    check_role(actor, "close")
    if reason not in rules.CLOSE_REASONS:
        raise ValidationError({"reason": Message(N_("Please choose a reason."))})
    with store.lock:
        if _ticket_for(store, tid, "close", actor, request_id) is not None:
            store.append([new_event(tid, "closed", actor, now,
                                    {"reason": reason, **_request(request_id)})])
        return store.ticket(tid)


def record(store: Store, fields: dict, channel: str, *, actor: dict, now: datetime,
           tz, received_at: str = "", request_id: str | None = None) -> dict:
    """Record a phone call or a walk-in (R1, R2) at the exact time it came in.

    ``received_at`` is the site-local ``YYYY-MM-DDTHH:MM`` of the call; empty means now.
    A resend of a form already recorded (same ``request_id``) returns its ticket.
    :raises Forbidden: if the actor's role may not record calls and visits.
    :raises ValidationError: for a wrong field or a time in the future or over a day ago.
    """
    check_role(actor, "record")
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
    return service.submit_report(store, fields, channel=channel, actor=actor, now=when, tz=tz,
                                 request_id=request_id)
