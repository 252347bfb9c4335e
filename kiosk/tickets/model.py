"""A ticket is the fold of its events: ``fold(ticket, event)`` builds its state.

``decide(ticket, event)`` is the rules' verdict on a new event (RuleError if it may not
happen); ``apply`` decides, then folds. ``fold`` itself never refuses: the log holds
only decided events, so replaying it (after a crash, a rebuild, or under newer rules)
always works. Nothing is overwritten that cannot be seen again: every event stays in
the ticket's ``events`` list, and an ``amended`` event carries both the old and the new
value (R6).
"""
from __future__ import annotations

from datetime import datetime, timezone

from . import rules

#: Fields a ``reported`` event sets (missing: None); ``AMENDABLE`` names those an
#: ``amended`` event may change. ``request_id`` is the id of the entry the report came
#: from (a visitor's draft, a staff form), so a resent submit finds its ticket;
#: ``household`` the id of the archive's household a desk record is about (R17).
REPORT_FIELDS = ("category", "channel", "location", "description", "name", "phone",
                 "preferred_at", "due_at", "request_id", "household")
AMENDABLE = frozenset({"category", "location", "description", "name", "phone"})
#: What the procedures add to a ticket (R9-R12, R15), as a just-reported ticket has them.
PROCEDURE_FIELDS = {
    "department": None, "technician": None, "dispatched_at": None, "deadline_reason": None,
    "arrived_at": None, "arrival": None, "arrived_late": False,
    "completed_at": None, "result": None, "materials": None, "fee": None,
    "facts": None, "signed_off": False, "signed_off_by": None, "transferred_to": None,
    "fed_back": False, "revisit_due": None, "revisit": None, "reopened": 0,
    "important": False, "raised_at": None, "escalations": [],
    "acknowledged": False, "acknowledged_at": None, "acknowledged_by": None,
    "acknowledged_level": None,
}


def decide(ticket: dict | None, event: dict) -> None:
    """Raise RuleError if ``event`` may not happen to ``ticket`` (None: not reported yet)."""
    kind = event["type"]
    if kind == "reported":
        if ticket is not None:
            raise rules.RuleError("a ticket is reported once")
        return
    if ticket is None:
        raise rules.RuleError(f"{kind} for a ticket that was never reported")
    rules.check_transition(ticket["status"], kind, ticket, event.get("data", {}))
    if kind == "amended":
        unknown = set(event.get("data", {})) - AMENDABLE
        if unknown:
            raise rules.RuleError(f"cannot amend {sorted(unknown)}")


def apply(ticket: dict | None, event: dict) -> dict:
    """Return the ticket after ``event``. Raise RuleError if the event may not follow.

    Applying an event the ticket already holds (``seq`` not newer) changes nothing, so
    replaying the log after a crash is harmless.
    """
    if ticket is not None and event["seq"] <= ticket["seq"]:
        return ticket
    decide(ticket, event)
    return fold(ticket, event)


def fold(ticket: dict | None, event: dict) -> dict | None:
    """Return the ticket after ``event``, without judging it (the log's events were).

    An event the ticket already holds changes nothing; an event of a ticket that was
    never reported leaves it unreported (None).
    """
    kind, data = event["type"], event.get("data", {})
    if ticket is not None and (event["seq"] <= ticket["seq"] or kind == "reported"):
        return ticket
    if kind == "reported":
        ticket = {"id": event["ticket_id"], "number": data["number"], "token": data["token"],
                  **{f: data.get(f) for f in REPORT_FIELDS},
                  "status": rules.initial_status(data["channel"]),
                  "reported_at": event["at"], "closed_at": None, "close_reason": None,
                  **PROCEDURE_FIELDS, "events": []}
    elif ticket is None:
        return None
    else:
        ticket = {**PROCEDURE_FIELDS, **ticket, "events": list(ticket["events"]),
                  "status": rules.next_status(ticket["status"], kind, data)}
        _fold_step(ticket, kind, data, event)
    ticket["seq"] = event["seq"]
    # the timeline keeps who did what and when; a report's fields are the ticket's own
    ticket["events"].append({"seq": event["seq"], "type": kind, "at": event["at"],
                             "actor": event["actor"], "data": {} if kind == "reported" else data})
    return ticket


def _fold_step(ticket: dict, kind: str, data: dict, event: dict) -> None:
    """Set what one procedure step changes on ``ticket`` (a copy being built)."""
    at = event["at"]
    if kind == "amended":
        ticket.update({field: change["new"] for field, change in data.items()
                       if field in AMENDABLE})
    elif kind == "dispatched":
        ticket.update(department=data.get("department"), technician=data.get("technician"),
                      dispatched_at=at)
    elif kind == "deadline_agreed":
        ticket.update(due_at=data.get("due_at"), deadline_reason=data.get("reason"))
    elif kind == "arrived":
        due = ticket.get("due_at")
        ticket.update(arrived_at=at, arrival=data.get("how"),
                      arrived_late=bool(due) and _utc(at) > _utc(due))
    elif kind == "completed":
        ticket.update(completed_at=at, result=data.get("result"),
                      materials=data.get("materials"), fee=data.get("fee"),
                      revisit_due=data.get("revisit_due"), revisit=None)
    elif kind == "investigated":
        ticket["facts"] = data.get("facts")
    elif kind == "signed_off":
        ticket.update(signed_off=True, signed_off_by=event["actor"].get("name"))
    elif kind == "transferred":
        ticket.update(transferred_to=data.get("department") or data.get("person"),
                      department=data.get("department") or ticket.get("department"))
    elif kind == "resolved":
        ticket["result"] = data.get("result")
    elif kind == "fed_back":
        ticket.update(fed_back=True, revisit_due=data.get("revisit_due"), revisit=None)
    elif kind == "revisited":
        outcome = data.get("outcome")
        ticket["revisit"] = outcome
        if outcome == "unsatisfied":  # back to whoever handled it (R15)
            ticket.update(reopened=ticket.get("reopened", 0) + 1, fed_back=False,
                          revisit_due=None)
    elif kind == "raised":
        ticket.update(important=True, raised_at=at)
    elif kind == "escalated":
        ticket["escalations"] = [*ticket.get("escalations", []),
                                 {"level": data.get("level"), "name": data.get("name"), "at": at}]
    elif kind == "acknowledged":
        ticket.update(acknowledged=True, acknowledged_at=at,
                      acknowledged_by=data.get("by") or event["actor"].get("name"),
                      acknowledged_level=data.get("level"))
    elif kind == "closed":
        ticket["closed_at"], ticket["close_reason"] = at, data.get("reason", "done")


def _utc(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(timezone.utc)


def public_timeline(ticket: dict) -> list[dict]:
    """Return the steps a visitor may see: public steps only, no staff names or notes."""
    out = []
    for e in ticket["events"]:
        label = rules.public_label(e, ticket["category"])
        if label:
            out.append({"type": e["type"], "at": e["at"], "label": label})
    return out
