"""What staff do to a ticket: confirm, amend, note, close, and each category's
procedure: dispatch, arrival, completion, facts, sign-off, transfer, result, feedback,
revisit, escalation (R4-R12, R15).

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
from decimal import Decimal, InvalidOperation

from common.messages import N_, Message
from common.validation import ValidationError, clean_text
from sync.events import new as new_event

from ..permissions import DESK, Forbidden, check_role, may_sign
from ..store import Store
from . import rules, service
from .model import AMENDABLE

MAX_NOTE = 1000
MAX_RESULT, MAX_REASON, MAX_PERSON = 500, 200, 40
MAX_FEE = Decimal("100000")


class NotFound(LookupError):
    """No ticket with that id."""


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
    if actor["role"] not in DESK and not is_own_order(store, ticket, actor):
        raise Forbidden(action)  # maintenance staff report only their own work orders
    return ticket


def is_own_order(store: Store, ticket: dict, actor: dict) -> bool:
    """Tell whether ``ticket`` is a work order of ``actor``: dispatched to them by name,
    or to a department they belong to with no one named."""
    if ticket["category"] != "repair" or not ticket.get("department"):
        return False
    technician = ticket.get("technician")
    if technician:
        return technician.get("id") == actor.get("id")
    department = store.department(ticket["department"])
    return bool(department) and actor.get("id") in department.get("members", [])


def _request(request_id: str | None) -> dict:
    """Return the data that names the request of an event: ``{"request_id"}`` or nothing."""
    return {} if request_id is None else {"request_id": request_id}


def _step(store: Store, tid: str, action: str, data: dict, *, actor: dict, now: datetime,
          request_id: str | None = None, check=None) -> dict:
    """Append the event of ``action`` with ``data``, signed by ``actor``; return the ticket.

    ``check(ticket)`` may add to the data from the ticket as it is (under the lock) or
    raise ValidationError. A resend (same ``request_id``) stores nothing.
    """
    with store.lock:
        ticket = _ticket_for(store, tid, action, actor, request_id)
        if ticket is not None:
            data = {**data, **(check(ticket) if check else {})}
            store.append([new_event(tid, rules.TICKET_ACTIONS[action], actor, now,
                                    {**data, **_request(request_id)})])
        return store.ticket(tid)


def _text(field: str, raw: object, max_len: int, required: bool = False,
          multiline: bool = True) -> str:
    text, err = clean_text(raw, max_len=max_len, required=required, multiline=multiline)
    if err:
        raise ValidationError({field: err})
    return text


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


def close(store: Store, tid: str, reason: str, *, actor: dict, now: datetime,
          confirmed: bool = True, request_id: str | None = None) -> dict:
    """Close a ticket with a reason, once confirmed; nothing is deleted. "Done" only once
    its procedure is complete (``rules.close_reasons``)."""
    check_role(actor, "close")
    if reason not in rules.CLOSE_REASONS:
        raise ValidationError({"reason": Message(N_("Please choose a reason."))})
    if not confirmed:
        raise ValidationError({"confirm": Message(N_("Please tick the box to confirm."))})
    with store.lock:
        ticket = _ticket_for(store, tid, "close", actor, request_id)
        if ticket is not None:
            if reason not in rules.close_reasons(ticket):
                raise ValidationError({"reason": Message(
                    N_("This matter has not been through its procedure yet, so it cannot "
                       "be closed as done."))})
            store.append([new_event(tid, "closed", actor, now,
                                    {"reason": reason, **_request(request_id)})])
        return store.ticket(tid)


# -- repairs (R9) -------------------------------------------------------------------
def dispatch(store: Store, tid: str, department: str, technician: dict | None = None, *,
             actor: dict, now: datetime, request_id: str | None = None) -> dict:
    """Send a repair to a department, optionally to a named technician (``{id, name}``,
    an account the caller looked up): a work order is printed for them."""
    check_role(actor, "dispatch")
    if not isinstance(department, str) or store.department(department) is None:
        raise ValidationError({"department": Message(N_("Please choose a department."))})
    data = {"department": department,
            "technician": {"id": technician["id"], "name": technician["name"]}
            if technician else None}
    return _step(store, tid, "dispatch", data, actor=actor, now=now, request_id=request_id)


def agree_deadline(store: Store, tid: str, when: str, reason: str, *, actor: dict,
                   now: datetime, tz, request_id: str | None = None) -> dict:
    """Replace a repair's 30-minute deadline by one agreed with maintenance, with the
    reason (R9: special cases)."""
    check_role(actor, "agree_deadline")
    errors = {}
    try:
        due = datetime.strptime(when or "", "%Y-%m-%dT%H:%M").replace(tzinfo=tz)
    except ValueError:
        due = None
        errors["due_at"] = Message(N_("Please pick a date and time."))
    if due is not None and not now < due <= now + timedelta(days=14):
        errors["due_at"] = Message(N_("Please pick a time between now and two weeks from now."))
    text, err = clean_text(reason, max_len=MAX_REASON, required=True)
    if err:
        errors["reason"] = err
    if errors:
        raise ValidationError(errors)
    return _step(store, tid, "agree_deadline",
                 {"due_at": due.astimezone(timezone.utc).isoformat(), "reason": text},
                 actor=actor, now=now, request_id=request_id)


def arrive(store: Store, tid: str, *, actor: dict, now: datetime, at_place: bool = False,
           request_id: str | None = None) -> dict:
    """Record maintenance on site. Told by phone when the desk records it; when the
    technician does, *verified* if they opened the place's poster (``at_place``), else
    *declared* (R9)."""
    how = "phone" if actor["role"] in DESK else "verified" if at_place else "declared"
    return _step(store, tid, "arrive", {"how": how}, actor=actor, now=now,
                 request_id=request_id)


def complete(store: Store, tid: str, fields: dict, *, actor: dict, now: datetime, tz,
             policy: rules.Policy = rules.POLICY, request_id: str | None = None) -> dict:
    """Record a repair done: a short result, optional materials and fee (R16); a revisit
    is due the next working day (R15)."""
    check_role(actor, "complete")
    errors, data = {}, {}
    data["result"], err = clean_text(fields.get("result"), max_len=MAX_RESULT, required=True,
                                     multiline=True)
    if err:
        errors["result"] = err
    data["materials"], err = clean_text(fields.get("materials"), max_len=MAX_REASON)
    if err:
        errors["materials"] = err
    data["fee"], err = check_fee(fields.get("fee"))
    if err:
        errors["fee"] = err
    if errors:
        raise ValidationError(errors)
    data["how"] = "phone" if actor["role"] in DESK else "technician"
    data["revisit_due"] = rules.next_working_day_end(now, tz, policy).astimezone(
        timezone.utc).isoformat()
    return _step(store, tid, "complete", data, actor=actor, now=now, request_id=request_id)


def check_fee(raw: object) -> tuple[str | None, Message | None]:
    """Return a fee in yuan as ``"12.50"`` (None if empty), or an error."""
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        return None, None
    try:
        fee = Decimal(text)
    except InvalidOperation:
        fee = None
    if fee is None or not fee.is_finite() or not 0 <= fee <= MAX_FEE:
        return text, Message(N_("Please enter an amount in yuan, such as 35 or 12.50."))
    return f"{fee.quantize(Decimal('0.01'))}", None


# -- complaints and the matters passed on (R10, R11) -------------------------------------
def investigate(store: Store, tid: str, facts: str, *, actor: dict, now: datetime,
                request_id: str | None = None) -> dict:
    """Record the facts established about a complaint, before the manager signs."""
    check_role(actor, "investigate")
    data = {"facts": _text("facts", facts, MAX_NOTE, required=True)}
    return _step(store, tid, "investigate", data, actor=actor, now=now, request_id=request_id)


def sign_off(store: Store, tid: str, remarks: str, *, signer: dict, actor: dict,
             now: datetime, request_id: str | None = None) -> dict:
    """The manager ``signer`` (authenticated by their own PIN) signs a complaint off on
    the screen of ``actor``, the desk member signed in; the event is the manager's (R10).

    :raises Forbidden: if ``signer`` is no manager, or ``actor`` may not bring it.
    """
    check_role(actor, "sign_off")
    if not may_sign(signer.get("role"), "sign_off"):
        raise Forbidden("sign_off")
    data = {"remarks": _text("remarks", remarks, MAX_REASON),
            "recorded_by": {"id": actor["id"], "name": actor["name"]}}
    return _step(store, tid, "sign_off", data, actor=signer, now=now, request_id=request_id)


def transfer(store: Store, tid: str, department: str, person: str = "", *, actor: dict,
             now: datetime, request_id: str | None = None) -> dict:
    """Pass a matter to the department (or the person) concerned."""
    check_role(actor, "transfer")
    person = _text("person", person, MAX_PERSON, multiline=False)
    department = department if isinstance(department, str) else ""
    if department and store.department(department) is None or not (department or person):
        raise ValidationError({"department": Message(
            N_("Please choose a department, or write who it goes to."))})
    return _step(store, tid, "transfer", {"department": department or None,
                                          "person": person or None},
                 actor=actor, now=now, request_id=request_id)


def resolve(store: Store, tid: str, result: str, *, actor: dict, now: datetime,
            told: str = "", request_id: str | None = None) -> dict:
    """Record the result (a department's, or the desk's own answer). ``told`` (a way of
    ``FEEDBACK_WAYS``) says the customer heard it at once: feedback is recorded too."""
    check_role(actor, "resolve")
    text = _text("result", result, MAX_RESULT, required=True)
    if told and told not in rules.FEEDBACK_WAYS:
        raise ValidationError({"told": Message(N_("Please choose how the customer was told."))})
    with store.lock:
        ticket = _ticket_for(store, tid, "resolve", actor, request_id)
        if ticket is not None:
            batch = [new_event(tid, "resolved", actor, now,
                               {"result": text, **_request(request_id)})]
            if told and ticket["category"] != "complaint":  # a complaint's needs sign-off first
                batch.append(new_event(tid, "fed_back", actor, now, {"how": told, "said": ""}))
            store.append(batch)
        return store.ticket(tid)


def feed_back(store: Store, tid: str, how: str, said: str, *, actor: dict, now: datetime, tz,
              policy: rules.Policy = rules.POLICY, request_id: str | None = None) -> dict:
    """Record that the customer was told the result: how, and what they said. A
    complaint's revisit is due the next working day (R15)."""
    check_role(actor, "feed_back")
    errors = {}
    if how not in rules.FEEDBACK_WAYS:
        errors["how"] = Message(N_("Please choose how the customer was told."))
    said_text, err = clean_text(said, max_len=MAX_RESULT, multiline=True)
    if err:
        errors["said"] = err
    if errors:
        raise ValidationError(errors)
    due = rules.next_working_day_end(now, tz, policy).astimezone(timezone.utc).isoformat()
    return _step(store, tid, "feed_back", {"how": how, "said": said_text}, actor=actor, now=now,
                 request_id=request_id,
                 check=lambda t: {"revisit_due": due if t["category"] == "complaint" else None})


def revisit(store: Store, tid: str, outcome: str, comment: str, *, actor: dict, now: datetime,
            request_id: str | None = None) -> dict:
    """Record the call back: satisfied, or not satisfied with a comment, which reopens
    the ticket and puts it back in front of whoever handled it (R15)."""
    check_role(actor, "revisit")
    if outcome not in rules.REVISIT_OUTCOMES:
        raise ValidationError({"outcome": Message(N_("Please choose what the customer said."))})
    text = _text("comment", comment, MAX_RESULT, required=outcome == "unsatisfied")
    return _step(store, tid, "revisit", {"outcome": outcome, "comment": text}, actor=actor,
                 now=now, request_id=request_id)


# -- emergencies and important matters (R12) ------------------------------------------
def raise_important(store: Store, tid: str, reason: str, *, actor: dict, now: datetime,
                    request_id: str | None = None) -> dict:
    """Make any matter "important": it goes up the same escalation chain as an emergency."""
    check_role(actor, "raise")
    data = {"reason": _text("reason", reason, MAX_REASON, required=True, multiline=False)}
    return _step(store, tid, "raise", data, actor=actor, now=now, request_id=request_id)


def _chain_level(store: Store, level: object) -> tuple[int, dict]:
    chain = store.escalation_chain()
    try:
        index = int(level)
    except (TypeError, ValueError):
        index = -1
    if not 0 <= index < len(chain):
        raise ValidationError({"level": Message(N_("Please choose who was told."))})
    return index, chain[index]


def escalate(store: Store, tid: str, level: object, *, actor: dict, now: datetime,
             request_id: str | None = None) -> dict:
    """Record that the chain's ``level`` was told now (their name and phone as set)."""
    check_role(actor, "escalate")
    index, person = _chain_level(store, level)
    data = {"level": index, "title": person.get("title_zh"), "name": person.get("name"),
            "phone": person.get("phone")}
    return _step(store, tid, "escalate", data, actor=actor, now=now, request_id=request_id)


def acknowledge(store: Store, tid: str, level: object = 0, *, actor: dict, now: datetime,
                request_id: str | None = None) -> dict:
    """Record who on the chain took the matter on (its ``level``): the alarm stops (R12)."""
    check_role(actor, "acknowledge")
    index, person = _chain_level(store, level) if store.escalation_chain() else (0, {})
    data = {"level": index, "by": person.get("name") or person.get("title_zh") or None}
    return _step(store, tid, "acknowledge", data, actor=actor, now=now, request_id=request_id)


def record(store: Store, fields: dict, channel: str, *, actor: dict, now: datetime,
           tz, received_at: str = "", request_id: str | None = None,
           policy: rules.Policy = rules.POLICY) -> dict:
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
                                 request_id=request_id, policy=policy)
