"""A ticket's page at HQ, in plain Python: its steps timed (``durations``: report →
confirm → arrive → close) and what it shows masked (``masked``: every visitor phone
number). Each event's place in its site's chain is ``chain.ticket_links``'s.
"""
from __future__ import annotations

from common.phones import mask_phone
from kiosk.tickets import figures


#: the steps of a ticket its page times: event type -> the folded field of its time
#: (None: the first such event's time)
STEPS = {"reported": "reported_at", "confirmed": None, "arrived": "arrived_at",
         "closed": "closed_at"}


def durations(ticket: dict, events: list[dict]) -> list[dict]:
    """Return the ticket's steps report → confirm → arrive → close, each ``{type, at,
    minutes}``: when it was reached (None: not reached) and the minutes since the step
    reached before it (None for the report, or a step not reached)."""
    firsts: dict[str, str] = {}
    for event in events:
        if event.get("applied", True):
            firsts.setdefault(event["type"], event["at"])
    out, previous = [], None
    for kind, column in STEPS.items():
        at = ticket.get(column) if column else firsts.get(kind)
        out.append({"type": kind, "at": at,
                    "minutes": figures.minutes(previous, at) if previous and at else None})
        previous = at or previous
    return out


def masked(ticket: dict, events: list[dict]) -> tuple[dict, list[dict]]:
    """Return a ticket and its events as HQ shows them: every visitor phone number masked
    (``mask_phone``), in the ticket and in any event's data (a report, a correction's old
    and new values). HQ's accounts never see a whole number: calling back is the desk's."""
    def data(values: dict) -> dict:
        out = {}
        for key, value in values.items():
            if key == "phone" and isinstance(value, dict):
                value = {k: mask_phone(v) if isinstance(v, str) else v for k, v in value.items()}
            elif key == "phone" and isinstance(value, str):
                value = mask_phone(value)
            out[key] = value
        return out

    return ({**ticket, "phone": mask_phone(ticket.get("phone")) or None},
            [{**e, "data": data(e["data"]) if isinstance(e.get("data"), dict) else e.get("data")}
             for e in events])
