"""The rules of a ticket's life, in plain Python: categories, channels, each category's
procedure (which event may follow which), the actions taken on a ticket, what the public
may see, and every deadline and timer (R4, R7-R12, R14, R15). Who may take each action
is ``kiosk.permissions``'s.

``allowed_actions(ticket, role)`` is the one answer to "what may happen next": the
server refuses anything it does not return and the pages show only what it returns,
the most likely next step first. Every time is computed from an injected ``now`` and a
``Policy`` (the site's working hours and timers), never from the wall clock. Labels are
English msgids marked with ``N_`` so the UI translates them; codes are stable and are
what history, reports and sync group by.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from common.messages import N_

from ..permissions import may


@dataclass(frozen=True)
class Category:
    code: str
    letter: str
    label: str
    icon: str  # a Lucide icon's name (static/vendor/lucide/icons.svg)
    next_step: str  # what happens next, told on the receipt


CATEGORIES = {c.code: c for c in (
    Category("repair", "R", N_("Repair"), "wrench",
             N_("Maintenance will be on site within 30 minutes.")),
    Category("complaint", "C", N_("Complaint"), "megaphone",
             N_("The customer-service manager will review it, and we will call you back "
                "with the result. Thank you for telling us.")),
    Category("inquiry", "Q", N_("Inquiry"), "message-circle-question-mark",
             N_("The front desk will answer you today.")),
    Category("suggestion", "S", N_("Suggestion"), "lightbulb",
             N_("Thank you. The front desk will pass it on to whoever is concerned.")),
    Category("emergency", "E", N_("Emergency"), "siren",
             N_("Staff have been alerted now. If life is in danger call 110 / 119 / 120.")),
    Category("other", "O", N_("Other"), "notepad-text",
             N_("The front desk will look at it today and follow it up.")),
)}

#: Categories for which a visitor must leave a phone number so someone can call back.
PHONE_REQUIRED = frozenset({"repair", "complaint"})

CHANNELS = {
    "kiosk": N_("Front-desk kiosk"),
    "qr": N_("Own phone (QR code)"),
    "phone": N_("Phone call"),
    "walk_in": N_("Walk-in"),
}
VISITOR_CHANNELS = frozenset({"kiosk", "qr"})
#: Records the desk writes itself, handled the same day (R1, R2, R5).
DESK_CHANNELS = frozenset({"phone", "walk_in"})


# -- the site's working hours and timers --------------------------------------------
@dataclass(frozen=True)
class Policy:
    """The deadlines and timers of a site (configurable; see ``kiosk.config``)."""

    arrival: timedelta = timedelta(minutes=30)       # repair: on site after the report (R9)
    end_of_day: time = time(18, 0)                   # phone and walk-in records (R1, R2)
    working_days: frozenset[int] = frozenset({1, 2, 3, 4, 5})  # ISO weekdays (revisits)
    escalation_step: timedelta = timedelta(minutes=5)  # unacknowledged: next level (R12)


POLICY = Policy()


# -- statuses and the procedures ---------------------------------------------------
# status -> what the visitor reads
STATUSES = {
    "new": N_("Received, waiting for the front desk"),
    "open": N_("Being handled"),
    "dispatched": N_("Maintenance dispatched"),
    "in_progress": N_("Being worked on"),
    "resolved": N_("Done, waiting for our call back"),
    "closed": N_("Closed"),
}
ACTIVE = frozenset(STATUSES) - {"closed"}
ALL = frozenset(STATUSES)

#: event type -> (statuses it may follow, status it leads to (None: unchanged)), for every
#: category; the procedures below add their own steps.
_COMMON: dict[str, tuple[frozenset[str], str | None]] = {
    "confirmed": (frozenset({"new"}), "open"),
    "amended": (ACTIVE, None),
    "noted": (ALL, None),
    "raised": (ACTIVE, None),        # made "important": it enters the escalation chain
    "escalated": (ACTIVE, None),     # someone in the chain was told (who, when)
    "acknowledged": (ACTIVE, None),  # someone in the chain took it on: the alarm stops
    "closed": (ACTIVE, "closed"),
}
_PASSED_ON = {  # inquiry, suggestion, other (R11)
    "transferred": (frozenset({"open"}), "in_progress"),
    "resolved": (frozenset({"open", "in_progress"}), "resolved"),
    "fed_back": (frozenset({"resolved"}), None),
}
PROCEDURES: dict[str, dict[str, tuple[frozenset[str], str | None]]] = {
    "repair": {  # R9: dispatch, on site within 30 minutes, completed, revisit (R15)
        "dispatched": (frozenset({"open"}), "dispatched"),
        "deadline_agreed": (frozenset({"open", "dispatched"}), None),
        "arrived": (frozenset({"dispatched"}), "in_progress"),
        "completed": (frozenset({"in_progress"}), "resolved"),
        "revisited": (frozenset({"resolved"}), None),
    },
    "complaint": {  # R10: facts, the manager signs, transfer, result, feedback, revisit
        "investigated": (frozenset({"open"}), None),
        "signed_off": (frozenset({"open"}), None),
        "transferred": (frozenset({"open"}), "in_progress"),
        "resolved": (frozenset({"in_progress"}), "resolved"),
        "fed_back": (frozenset({"resolved"}), None),
        "revisited": (frozenset({"resolved"}), None),
    },
    "inquiry": _PASSED_ON, "suggestion": _PASSED_ON, "other": _PASSED_ON,
    "emergency": {  # R12: escalated at once, acknowledged, handled
        "resolved": (frozenset({"open"}), "resolved"),
    },
}
EVENT_TYPES = frozenset({"reported", *_COMMON, *(t for p in PROCEDURES.values() for t in p)})
#: The event a "not satisfied" revisit sends the ticket back to (R15): its handler.
REOPENED_STATUS = "in_progress"

CLOSE_REASONS = {
    "done": N_("Done"),
    "duplicate": N_("Duplicate"),
    "spam": N_("Spam"),
    "withdrawn": N_("Withdrawn by the visitor"),
}

#: How an arrival on site was established (R9).
ARRIVALS = {"verified": N_("Verified at the place"), "declared": N_("Declared by the technician"),
            "phone": N_("Reported by phone")}
#: How the customer was told the result (R10, R11).
FEEDBACK_WAYS = {"phone": N_("By phone"), "in_person": N_("In person"),
                 "message": N_("By message")}
REVISIT_OUTCOMES = {"satisfied": N_("Satisfied"), "unsatisfied": N_("Not satisfied")}

#: What the staff timeline calls each event type.
EVENT_LABELS = {
    "reported": N_("Reported"), "confirmed": N_("Confirmed"), "amended": N_("Corrected"),
    "noted": N_("Note"), "raised": N_("Marked important"), "escalated": N_("Notified"),
    "acknowledged": N_("Acknowledged"), "dispatched": N_("Dispatched"),
    "deadline_agreed": N_("Deadline agreed with maintenance"), "arrived": N_("On site"),
    "completed": N_("Completed"), "investigated": N_("Facts established"),
    "signed_off": N_("Signed off by the manager"), "transferred": N_("Transferred"),
    "resolved": N_("Result recorded"), "fed_back": N_("Result told to the customer"),
    "revisited": N_("Revisit"), "closed": N_("Closed"),
}

#: What the staff pages call each field of a ticket.
FIELD_LABELS = {"category": N_("Matter"), "location": N_("Place"), "description": N_("Details"),
                "name": N_("Name"), "phone": N_("Phone")}


class RuleError(ValueError):
    """An event that may not happen to a ticket in its current state."""


def initial_status(channel: str) -> str:
    """Return the status of a just-reported ticket: visitors' entries await confirmation."""
    return "new" if channel in VISITOR_CHANNELS else "open"


def in_chain(ticket: dict) -> bool:
    """Tell whether a ticket goes up the escalation chain: an emergency, or raised (R12)."""
    return ticket.get("category") == "emergency" or bool(ticket.get("important"))


def procedure_done(ticket: dict) -> bool:
    """Tell whether a ticket went through its whole procedure, so it may close as done.

    Repair: completed and revisited, satisfied. Complaint and the matters passed on: the
    result told to the customer. Emergency: acknowledged and handled.
    """
    category, status = ticket.get("category"), ticket.get("status")
    if category == "repair":
        return status == "resolved" and ticket.get("revisit") == "satisfied"
    if category == "emergency":
        return status == "resolved" and bool(ticket.get("acknowledged"))
    return status == "resolved" and bool(ticket.get("fed_back"))


def close_reasons(ticket: dict) -> list[str]:
    """Return the reasons ``ticket`` may be closed with now ("done" once its procedure is)."""
    if ticket.get("status") not in ACTIVE:
        return []
    return [r for r in CLOSE_REASONS if r != "done" or procedure_done(ticket)]


def revisit_pending(ticket: dict) -> bool:
    """Tell whether a call back is due: a completed repair, a complaint's result told (R15)."""
    return ticket.get("status") == "resolved" and bool(ticket.get("revisit_due")) \
        and not ticket.get("revisit")


def _guard(ticket: dict, event_type: str, data: dict) -> str | None:
    """Return why ``event_type`` may not happen to ``ticket`` beyond its status, or None."""
    category = ticket.get("category")
    if event_type in ("acknowledged", "escalated") and not in_chain(ticket):
        return "only an emergency or an important matter goes up the chain"
    if event_type == "acknowledged" and ticket.get("acknowledged"):
        return "already acknowledged"
    if event_type == "raised" and in_chain(ticket):
        return "already in the escalation chain"
    if event_type == "signed_off" and (not ticket.get("facts") or ticket.get("signed_off")):
        return "the manager signs off a complaint once, after its facts are recorded"
    if event_type == "investigated" and ticket.get("signed_off"):
        return "the facts are fixed once the manager signed them off"
    if event_type == "transferred" and category == "complaint" and not ticket.get("signed_off"):
        return "a complaint is transferred only after the manager signed it off"
    if event_type == "resolved" and category == "emergency" and not ticket.get("acknowledged"):
        return "an emergency is handled after someone acknowledged it"
    if event_type == "fed_back" and ticket.get("fed_back"):
        return "the result was told already"
    if event_type == "revisited" and not revisit_pending(ticket):
        return "no call back is due"
    if event_type == "closed" and data.get("reason") == "done" and not procedure_done(ticket):
        return "a ticket closes as done only once its procedure is complete"
    return None


def check_transition(status: str, event_type: str, ticket: dict, data: dict | None = None) -> str:
    """Return the status after ``event_type``; raise RuleError if it may not follow.

    ``data`` is the event's data where the rules look into it (a close's reason, a
    revisit's outcome).
    """
    data = data or {}
    steps = {**_COMMON, **PROCEDURES.get(ticket.get("category"), {})}
    if event_type not in steps:
        raise RuleError(f"{event_type} is not a step of a {ticket.get('category')} ticket")
    allowed, to = steps[event_type]
    if status not in allowed:
        raise RuleError(f"{event_type} cannot follow status {status}")
    why = _guard({**ticket, "status": status}, event_type, data)
    if why:
        raise RuleError(why)
    return next_status(status, event_type, data)


def next_status(status: str, event_type: str, data: dict | None = None) -> str:
    """Return the status an event leads to, without checking that it may follow."""
    if event_type == "revisited" and (data or {}).get("outcome") == "unsatisfied":
        return REOPENED_STATUS
    for steps in (_COMMON, *PROCEDURES.values()):
        if event_type in steps:
            return steps[event_type][1] or status
    return status


def can_follow(ticket: dict, event_type: str, data: dict | None = None) -> bool:
    """Tell whether ``event_type`` may happen to ``ticket`` now."""
    try:
        check_transition(ticket["status"], event_type, ticket, data)
    except RuleError:
        return False
    return True


#: The actions taken on one ticket and the event each appends, in the order they are
#: offered when none is the obvious next step.
TICKET_ACTIONS = {
    "acknowledge": "acknowledged", "confirm": "confirmed", "dispatch": "dispatched",
    "arrive": "arrived", "complete": "completed", "investigate": "investigated",
    "sign_off": "signed_off", "transfer": "transferred", "resolve": "resolved",
    "feed_back": "fed_back", "revisit": "revisited", "escalate": "escalated",
    "agree_deadline": "deadline_agreed", "raise": "raised", "amend": "amended",
    "note": "noted", "close": "closed",
}


def next_step(ticket: dict) -> str | None:
    """Return the action that is most likely next for ``ticket``, or None."""
    status, category = ticket["status"], ticket["category"]
    if in_chain(ticket) and not ticket.get("acknowledged") and status in ACTIVE:
        return "acknowledge"
    if status == "new":
        return "confirm"
    if revisit_pending(ticket):
        return "revisit"
    if status == "resolved" and procedure_done(ticket):
        return "close"
    by_status = {
        "repair": {"open": "dispatch", "dispatched": "arrive", "in_progress": "complete"},
        "complaint": {"open": "sign_off" if ticket.get("facts") else "investigate",
                      "in_progress": "resolve", "resolved": "feed_back"},
        "emergency": {"open": "resolve"},
    }.get(category, {"open": "resolve", "in_progress": "resolve", "resolved": "feed_back"})
    if category == "complaint" and ticket.get("signed_off") and status == "open":
        return "transfer"
    return by_status.get(status)


def allowed_actions(ticket: dict, role: str | None) -> list[str]:
    """Return the actions ``role`` may take on ``ticket`` now, most likely first.

    A visitor's entry is corrected as it is confirmed, so "amend" waits until then.
    """
    possible = [action for action, event_type in TICKET_ACTIONS.items()
                if may(role, action) and _possible(ticket, action, event_type)]
    first = next_step(ticket)
    return sorted(possible, key=lambda action: action != first)


def _possible(ticket: dict, action: str, event_type: str) -> bool:
    if action == "amend" and ticket["status"] == "new":
        return False
    if action == "close":
        return bool(close_reasons(ticket))
    return can_follow(ticket, event_type)


# -- what the public may see (the visitor's status page) ----------------------------
_PUBLIC = {
    "reported": N_("Reported"),
    "confirmed": N_("Confirmed by the front desk"),
    "acknowledged": N_("Staff have taken it on"),
    "dispatched": N_("Maintenance dispatched"),
    "arrived": N_("Maintenance on site"),
    "completed": N_("Repair completed"),
    "transferred": N_("Passed on to whoever is concerned"),
    "resolved": N_("Handled"),
    "fed_back": N_("We told you the result"),
    "closed": N_("Closed"),
}
_PUBLIC_COMPLAINT = {
    "confirmed": N_("Under review by the customer-service manager"),
    "transferred": N_("Passed to the department concerned"),
    "resolved": N_("Result ready"),
}


def public_label(event: dict, category: str) -> str | None:
    """Return the visitor-facing label of one event of a ``category`` ticket, or None if
    it stays internal (notes, corrections, sign-off, the chain's names)."""
    kind = event["type"]
    if kind == "revisited":
        unsatisfied = event.get("data", {}).get("outcome") == "unsatisfied"
        return N_("We called you back: reopened") if unsatisfied else N_("We called you back")
    if category == "complaint" and kind in _PUBLIC_COMPLAINT:
        return _PUBLIC_COMPLAINT[kind]
    return _PUBLIC.get(kind)


# -- deadlines and timers -------------------------------------------------------------
def end_of_day(at: datetime, tz: ZoneInfo, policy: Policy = POLICY) -> datetime:
    """Return the end of the working day a record made ``at`` is due by (R1, R2).

    Before the end of the day: that day's end; after it (an evening call): the next
    day's end. Returned in ``at``'s time zone.
    """
    local = at.astimezone(tz)
    end = datetime.combine(local.date(), policy.end_of_day, tz)
    if local >= end:
        end = datetime.combine(local.date() + timedelta(days=1), policy.end_of_day, tz)
    return end.astimezone(at.tzinfo)


def next_working_day_end(at: datetime, tz: ZoneInfo, policy: Policy = POLICY) -> datetime:
    """Return the end of the next working day after ``at`` (a revisit is due then, R15)."""
    day = at.astimezone(tz).date() + timedelta(days=1)
    for _ in range(7):
        if day.isoweekday() in policy.working_days or not policy.working_days:
            break
        day += timedelta(days=1)
    return datetime.combine(day, policy.end_of_day, tz).astimezone(at.tzinfo)


def due_at(category: str, channel: str, reported: datetime, tz: ZoneInfo,
           preferred: datetime | None = None, policy: Policy = POLICY) -> datetime | None:
    """Return when a new ticket is due.

    Repairs: on site ``policy.arrival`` after the report, or at the visitor's preferred
    time (R9). Emergencies: at once (R12). Everything else, phone and walk-in records
    first of all: by the end of the working day (R1, R2).
    """
    if category == "emergency":
        return reported
    if category == "repair":
        return preferred if preferred and preferred > reported else reported + policy.arrival
    return end_of_day(reported, tz, policy)


def current_due(ticket: dict) -> datetime | None:
    """Return when the next step of ``ticket`` is due, or None when nothing is.

    A repair until maintenance is on site: its arrival deadline. A call back due: the
    revisit's day. An entry not handled yet (new, open): its own due time.
    """
    status = ticket["status"]
    if status == "closed":
        return None
    if ticket["category"] == "repair" and status in ("new", "open", "dispatched"):
        return _time(ticket.get("due_at"))
    if revisit_pending(ticket):
        return _time(ticket.get("revisit_due"))
    if status in ("new", "open") and not (ticket["category"] == "complaint"
                                         and ticket.get("signed_off")):
        return _time(ticket.get("due_at"))
    return None


def carried_over(ticket: dict, now: datetime, tz: ZoneInfo) -> bool:
    """Tell whether a phone or walk-in record was left unhandled past its day (R1, R2):
    the next morning's queue shows these first."""
    due = _time(ticket.get("due_at"))
    return (ticket.get("channel") in DESK_CHANNELS and ticket["status"] in ("new", "open")
            and due is not None and due < now
            and due.astimezone(tz).date() < now.astimezone(tz).date())


@dataclass(frozen=True)
class Escalation:
    """Where an emergency or important matter stands on the chain at ``now``."""

    level: int          # the level to tell now (0: the first), capped at the last
    alarm: bool         # nobody has acknowledged it yet
    since: datetime     # when its timer started (reported, or raised)
    next_at: datetime | None  # when the following level is up, if there is one


def escalation(ticket: dict, now: datetime, levels: int,
               policy: Policy = POLICY) -> Escalation | None:
    """Return the chain's state for ``ticket`` at ``now`` (None if it is not in the chain).

    Every ``policy.escalation_step`` without an acknowledgement moves the highlight one
    level up the chain (``levels`` long); the alarm goes on until someone acknowledges.
    """
    if not in_chain(ticket) or ticket["status"] == "closed":
        return None
    since = _time(ticket.get("raised_at")) or _time(ticket["reported_at"])
    last = max(0, levels - 1)
    if ticket.get("acknowledged"):
        return Escalation(min(int(ticket.get("acknowledged_level") or 0), last), False, since,
                          None)
    steps = max(0, int((now - since) / policy.escalation_step)) if now > since else 0
    level = min(steps, last)
    next_at = since + policy.escalation_step * (level + 1) if level < last else None
    return Escalation(level, True, since, next_at)


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
