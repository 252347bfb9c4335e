"""A ticket is the fold of its events: ``fold(ticket, event)`` builds its state.

``decide(ticket, event)`` is the rules' verdict on a new event (RuleError if it may not
happen); ``apply`` decides, then folds. ``fold`` itself never refuses: the log holds
only decided events, so replaying it (after a crash, a rebuild, or under newer rules)
always works. Nothing is overwritten that cannot be seen again: every event stays in
the ticket's ``events`` list, and an ``amended`` event carries both the old and the new
value (R6).
"""
from __future__ import annotations

from . import rules

#: Fields a ``reported`` event sets (missing: None); ``AMENDABLE`` names those an
#: ``amended`` event may change. ``request_id`` is the id of the entry the report came
#: from (a visitor's draft, a staff form), so a resent submit finds its ticket.
REPORT_FIELDS = ("category", "channel", "location", "description", "name", "phone",
                 "preferred_at", "due_at", "request_id")
AMENDABLE = frozenset({"category", "location", "description", "name", "phone"})


def decide(ticket: dict | None, event: dict) -> None:
    """Raise RuleError if ``event`` may not happen to ``ticket`` (None: not reported yet)."""
    kind = event["type"]
    if kind == "reported":
        if ticket is not None:
            raise rules.RuleError("a ticket is reported once")
        return
    if ticket is None:
        raise rules.RuleError(f"{kind} for a ticket that was never reported")
    rules.check_transition(ticket["status"], kind, ticket)
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
                  "signed_off": False, "acknowledged": False, "events": []}
    elif ticket is None:
        return None
    else:
        ticket = {**ticket, "events": list(ticket["events"]),
                  "status": rules.next_status(ticket["status"], kind)}
        if kind == "amended":
            ticket.update({field: change["new"] for field, change in data.items()
                           if field in AMENDABLE})
        elif kind in ("signed_off", "acknowledged"):
            ticket[kind] = True
        elif kind == "closed":
            ticket["closed_at"], ticket["close_reason"] = event["at"], data.get("reason", "done")
    ticket["seq"] = event["seq"]
    # the timeline keeps who did what and when; a report's fields are the ticket's own
    ticket["events"].append({"seq": event["seq"], "type": kind, "at": event["at"],
                             "actor": event["actor"], "data": {} if kind == "reported" else data})
    return ticket


def public_timeline(ticket: dict) -> list[dict]:
    """Return the steps a visitor may see: public event types only, no staff notes."""
    return [{"type": e["type"], "at": e["at"], "label": rules.public_label(e["type"])}
            for e in ticket["events"] if rules.public_label(e["type"])]
