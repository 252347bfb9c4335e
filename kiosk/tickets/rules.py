"""The rules of a ticket's life, in plain Python: categories, channels, which event
may follow which, who may do what, what the public may see, and when a ticket is due
(R4, R7, R8, R9-R12).

``allowed_actions(ticket, role)`` is the one answer to "what may happen next": the
server refuses anything it does not return and the pages show only what it returns.
Labels are English msgids marked with ``N_`` so the UI translates them; codes are
stable and are what history, reports and sync group by.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from common.messages import N_


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

REPAIR_ARRIVAL = timedelta(minutes=30)

# status -> what the visitor reads
STATUSES = {
    "new": N_("Received, waiting for the front desk"),
    "open": N_("Being handled"),
    "dispatched": N_("Maintenance dispatched"),
    "in_progress": N_("Being worked on"),
    "resolved": N_("Done, waiting for our call back"),
    "closed": N_("Closed"),
}

# event type -> (statuses it may follow, status it leads to (None: unchanged), public label)
TRANSITIONS: dict[str, tuple[frozenset[str], str | None, str | None]] = {
    "reported": (frozenset(), None, N_("Reported")),
    "confirmed": (frozenset({"new"}), "open", N_("Confirmed by the front desk")),
    "amended": (frozenset({"new", "open", "dispatched", "in_progress", "resolved"}), None, None),
    "noted": (frozenset(STATUSES), None, None),
    "acknowledged": (frozenset({"new", "open"}), None, None),
    "dispatched": (frozenset({"open"}), "dispatched", N_("Maintenance dispatched")),
    "arrived": (frozenset({"dispatched"}), "in_progress", N_("Maintenance on site")),
    "signed_off": (frozenset({"open"}), None, N_("Reviewed by the customer-service manager")),
    "transferred": (frozenset({"open"}), "in_progress", N_("Passed to the department concerned")),
    "resolved": (frozenset({"open", "dispatched", "in_progress"}), "resolved", N_("Handled")),
    "revisited": (frozenset({"resolved"}), None, N_("We called you back")),
    "closed": (frozenset({"new", "open", "dispatched", "in_progress", "resolved"}), "closed",
               N_("Closed")),
}
EVENT_TYPES = frozenset(TRANSITIONS)

CLOSE_REASONS = {
    "done": N_("Done"),
    "duplicate": N_("Duplicate"),
    "spam": N_("Spam"),
    "withdrawn": N_("Withdrawn by the visitor"),
}


#: What the staff timeline calls each event type.
EVENT_LABELS = {
    "reported": N_("Reported"), "confirmed": N_("Confirmed"), "amended": N_("Corrected"),
    "noted": N_("Note"), "acknowledged": N_("Emergency acknowledged"),
    "dispatched": N_("Dispatched"), "arrived": N_("On site"), "signed_off": N_("Signed off"),
    "transferred": N_("Transferred"), "resolved": N_("Handled"), "revisited": N_("Called back"),
    "closed": N_("Closed"),
}


#: What the staff pages call each field of a ticket.
FIELD_LABELS = {"category": N_("Matter"), "location": N_("Place"), "description": N_("Details"),
                "name": N_("Name"), "phone": N_("Phone")}


class RuleError(ValueError):
    """An event that may not happen to a ticket in its current state."""


def initial_status(channel: str) -> str:
    """Return the status of a just-reported ticket: visitors' entries await confirmation."""
    return "new" if channel in VISITOR_CHANNELS else "open"


def check_transition(status: str, event_type: str, ticket: dict) -> str:
    """Return the status after ``event_type``; raise RuleError if it may not follow.

    A complaint moves on to a department only after the manager signed it off (R10);
    only an emergency is acknowledged, once (R12).
    """
    if event_type not in TRANSITIONS or event_type == "reported":
        raise RuleError(f"{event_type} cannot happen to an existing ticket")
    allowed, to, _ = TRANSITIONS[event_type]
    if status not in allowed:
        raise RuleError(f"{event_type} cannot follow status {status}")
    if (event_type == "transferred" and ticket.get("category") == "complaint"
            and not ticket.get("signed_off")):
        raise RuleError("a complaint is transferred only after the manager signed it off")
    if event_type == "acknowledged" and (ticket.get("category") != "emergency"
                                         or ticket.get("acknowledged")):
        raise RuleError("only an emergency is acknowledged, and only once")
    return to or status


def next_status(status: str, event_type: str) -> str:
    """Return the status an event leads to, without checking that it may follow."""
    return TRANSITIONS.get(event_type, (None, None, None))[1] or status


def can_follow(ticket: dict, event_type: str) -> bool:
    """Tell whether ``event_type`` may happen to ``ticket`` now."""
    try:
        check_transition(ticket["status"], event_type, ticket)
    except RuleError:
        return False
    return True


# -- who may do what (R8) ------------------------------------------------------------
ROLE_LABELS = {"receptionist": N_("Receptionist"), "manager": N_("Manager"),
               "maintenance": N_("Maintenance staff")}
ROLES = tuple(ROLE_LABELS)
DESK = frozenset({"receptionist", "manager"})
MANAGERS = frozenset({"manager"})

#: action -> the roles that may take it. Every role may look at the queue, tickets and
#: places; maintenance staff may not change a record the desk keeps.
PERMISSIONS: dict[str, frozenset[str]] = {
    "confirm": DESK, "amend": DESK, "note": DESK, "acknowledge": DESK, "close": DESK,
    "record": DESK,            # record a phone call or a walk-in (R1, R2)
    "dismiss_draft": DESK,     # drop a visitor's abandoned entry from the queue (R3)
    "edit_locations": DESK,    # add, rename, retire, import places (R17)
    "manage_staff": MANAGERS,  # add and disable staff accounts
    "configure_sync": MANAGERS,  # the connection to HQ
}
#: The actions taken on one ticket, most likely next step first, and the event each appends.
TICKET_ACTIONS = {"confirm": "confirmed", "acknowledge": "acknowledged", "amend": "amended",
                  "note": "noted", "close": "closed"}


def may(role: str | None, action: str) -> bool:
    """Tell whether ``role`` may take ``action`` at all (whatever the ticket's state)."""
    return role in PERMISSIONS.get(action, ())


def allowed_actions(ticket: dict, role: str | None) -> list[str]:
    """Return the actions ``role`` may take on ``ticket`` now, most likely first.

    A visitor's entry is corrected as it is confirmed, so "amend" waits until then.
    """
    return [action for action, event_type in TICKET_ACTIONS.items()
            if may(role, action) and can_follow(ticket, event_type)
            and not (action == "amend" and ticket["status"] == "new")]


def public_label(event_type: str) -> str | None:
    """Return the visitor-facing label of an event type, or None if it stays internal."""
    return TRANSITIONS.get(event_type, (None, None, None))[2]


def due_at(category: str, channel: str, reported: datetime, tz: ZoneInfo,
           preferred: datetime | None = None) -> datetime | None:
    """Return when a new ticket is due.

    Repairs: on site 30 minutes after the report, or at the visitor's preferred time
    (R9). Emergencies: at once (R12). Phone and walk-in records: the end of the
    site's day (R1, R2). Other visitor entries: the end of the site's day too.
    """
    if category == "emergency":
        return reported
    if category == "repair":
        return preferred if preferred and preferred > reported else reported + REPAIR_ARRIVAL
    local = reported.astimezone(tz)
    return datetime.combine(local.date(), time(23, 59, 59), tz).astimezone(reported.tzinfo)
