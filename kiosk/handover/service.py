"""The shift handover and the work diary (R20): plain functions over the store, no Flask.

At the end of a shift the desk's situation is prepared from the store (``prepare``: open
and late tickets, unacknowledged emergencies, revisits due, records carried over, parcels
waiting, items out and overdue, notices ending within a day); the
outgoing person adds notes, names whom it is for and signs (``sign``: one
``handover_signed`` event carrying the summary as prepared). The incoming person confirms
it with their own name and PIN on the same screen (``acknowledge``: one
``handover_acknowledged`` event signed by THAT person, who must not be the one who
signed). Anyone with a staff account may acknowledge, of any role: a security guard who
takes over at the end of the day acknowledges with their own account. Until then the
handover is ``pending`` and stays on the desk's console.

The work diary holds short timestamped notes by the signed-in person (``note``:
``diary_noted``), listed per site-local day (``diary``).

Every change carries the form's ``request_id``: sent again, it records nothing new.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from common.messages import N_, Message
from common.validation import REQUIRED, ValidationError, clean_text
from sync.events import new as new_event

from .. import ids
from ..notices import service as notices
from ..permissions import check_role
from ..registers import items, parcels
from ..store import Store
from ..tickets import rules

MAX_NOTES = 2000
MAX_DIARY = 500
#: Whom a handover may be for besides a named staff member: the guard at the end of the day.
SECURITY = "security"
#: How many handovers the history lists.
HISTORY = 20
#: A notice ending within this time is named in the handover (the next shift may have to
#: publish what follows it).
NOTICES_ENDING = timedelta(days=1)

BAD_RECIPIENT = Message(N_("Please choose whom you hand over to from the list."))
SAME_PERSON = Message(N_("You signed this handover yourself. The incoming person confirms it "
                         "with their own name and PIN."))
ALREADY = "this handover was acknowledged already"


class UnknownHandover(LookupError):
    """No handover has this id."""


def prepare(store: Store, now: datetime, tz: ZoneInfo, policy: rules.Policy) -> dict:
    """Return the desk's situation at ``now`` for a handover (JSON as stored): the number
    of open tickets, the numbers of the late ones, of the emergencies and important
    matters nobody acknowledged, of the phone and walk-in records carried over from an
    earlier day, the number of revisits due; the number of parcels and letters waiting,
    of items out, what is overdue of them (item and to whom), and the titles of the
    notices that end within ``NOTICES_ENDING``."""
    with store.lock:
        tickets = sorted(store.open_summaries(), key=lambda t: t["number"])
        levels = len(store.escalation_chain())
        lent = items.out(store, now)
        waiting = len(parcels.waiting(store, now))
        ending = [n["title"] for n in notices.current(store, now)
                  if datetime.fromisoformat(n["valid_to"]) < now + NOTICES_ENDING]
    late, alarms = [], []
    for t in tickets:
        due = rules.current_due(t)
        if due is not None and due < now:
            late.append(t["number"])
        state = rules.escalation(t, now, levels, policy)
        if state is not None and state.alarm:
            alarms.append(t["number"])
    return {"open_tickets": len(tickets), "late": late, "emergencies": alarms,
            "carried_over": [t["number"] for t in tickets if rules.carried_over(t, now, tz)],
            "revisits_due": sum(1 for t in tickets if rules.revisit_pending(t)),
            "parcels_waiting": waiting, "items_out": len(lent),
            "items_overdue": [f"{i['item']} → {i['to_name']}" for i in lent if i["overdue"]],
            "notices_ending": ending}


def sign(store: Store, notes: object, to: object, *, recipients: list[str], actor: dict,
         now: datetime, tz: ZoneInfo, policy: rules.Policy,
         request_id: str | None = None) -> dict:
    """The outgoing ``actor`` signs the handover prepared now, with ``notes`` (optional,
    up to ``MAX_NOTES`` characters, several lines) for ``to``: one of ``recipients`` (the
    names of the other active staff accounts) or ``SECURITY``. Return it as stored; sent
    again with the same ``request_id``, return the one signed then and record nothing.

    :raises Forbidden: ``actor`` may not hand over.
    :raises ValidationError: notes too long, or no recipient from the list (``to``).
    """
    check_role(actor, "hand_over")
    errors = {}
    text, error = clean_text(notes, max_len=MAX_NOTES, multiline=True)
    if error:
        errors["notes"] = error
    to = to.strip() if isinstance(to, str) else ""
    if to not in (*recipients, SECURITY):
        errors["to"] = BAD_RECIPIENT if to else REQUIRED
    if errors:
        raise ValidationError(errors)
    with store.lock:
        done = store.handover_by_request(request_id) if request_id else None
        if done:
            return done
        hid = ids.new_ticket_id(now)  # a ULID: sortable and unique, like a ticket's
        store.append([new_event(None, "handover_signed", actor, now, {
            "id": hid, "prepared": prepare(store, now, tz, policy), "notes": text, "to": to,
            "request_id": request_id})])
        return store.handover(hid)


def acknowledge(store: Store, hid: str, signer: dict, *, actor: dict, now: datetime,
                request_id: str | None = None) -> dict:
    """The incoming person ``signer`` (authenticated by their own PIN, any role)
    acknowledges the handover ``hid`` on the screen of ``actor``, the desk member signed
    in; the event is the signer's. Return the handover as stored; sent again with the
    same ``request_id``, record nothing.

    :raises Forbidden: ``actor`` may not take part in a handover.
    :raises UnknownHandover: no handover has ``hid``.
    :raises ValidationError: ``signer`` signed it (``ack_name``).
    :raises RuleError: someone acknowledged it already.
    """
    check_role(actor, "hand_over")
    with store.lock:
        handover = store.handover(hid)
        if handover is None:
            raise UnknownHandover(hid)
        if request_id and handover.get("ack_request_id") == request_id:
            return handover
        if handover["acknowledged_at"]:
            raise rules.RuleError(ALREADY)
        if signer["id"] == handover["signed_by"]["id"]:
            raise ValidationError({"ack_name": SAME_PERSON})
        who = {k: signer[k] for k in ("role", "id", "name")}
        store.append([new_event(None, "handover_acknowledged", who, now,
                                {"id": hid, "request_id": request_id})])
        return store.handover(hid)


def pending(store: Store) -> dict | None:
    """Return the newest signed handover if nobody acknowledged it yet, else None."""
    newest = store.handovers(1)
    return newest[0] if newest and not newest[0]["acknowledged_at"] else None


def history(store: Store) -> list[dict]:
    """Return the newest handovers, the newest first."""
    return store.handovers(HISTORY)


def note(store: Store, text: object, *, actor: dict, now: datetime,
         request_id: str | None = None) -> dict:
    """Add a short note (required, up to ``MAX_DIARY`` characters) to the work diary,
    signed by ``actor``; return it. Sent again with the same ``request_id``, return the
    note added then and record nothing.

    :raises Forbidden: ``actor`` may not write the diary.
    :raises ValidationError: no text, or too long (``text``).
    """
    check_role(actor, "write_diary")
    text, error = clean_text(text, max_len=MAX_DIARY, required=True, multiline=True)
    if error:
        raise ValidationError({"text": error})
    with store.lock:
        done = store.diary_by_request(request_id) if request_id else None
        if done:
            return done
        store.append([new_event(None, "diary_noted", actor, now,
                                {"text": text, "request_id": request_id})])
        return store.diary(now, now + timedelta(microseconds=1))[-1]


def diary(store: Store, day: date, tz: ZoneInfo) -> list[dict]:
    """Return the diary's entries of the site-local ``day``, in order."""
    start = datetime.combine(day, time(0), tz)
    return store.diary(start, datetime.combine(day + timedelta(days=1), time(0), tz))
