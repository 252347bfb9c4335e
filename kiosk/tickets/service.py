"""Reporting a matter and reading its public status: plain functions over the store."""
from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from common.messages import N_, Message
from common.phones import mask_phone
from common.validation import REQUIRED, ValidationError, clean_text
from sync import events
from sync.failpoint import failpoint

from .. import ids
from ..store import Store
from . import model, rules

MAX_DESCRIPTION, MAX_NAME, MAX_PHONE = 2000, 40, 20
PREFERRED_AHEAD = timedelta(days=14)
#: Categories that are about a place; the others may skip the place step (an emergency
#: too: a visitor who does not know where it is says so, and staff find out, R12).
PLACE_REQUIRED = frozenset({"repair", "complaint"})

BAD_PHONE = Message(N_("Please enter an 11-digit mobile number or a landline number with its "
                       "area code."))
_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(r"0\d{2,3}[2-9]\d{6,7}|[2-9]\d{6,7}")
_PHONE_NOISE = re.compile(r"[\s\-()（）]")
#: A request id as a form sends it: printable ASCII without spaces, bounded.
MAX_REQUEST_ID = 64
_REQUEST_ID = re.compile(r"[!-~]{1,%d}" % MAX_REQUEST_ID)


def normalise_phone(raw: str) -> str | None:
    """Return an 11-digit mainland mobile or a landline as digits, or None if neither."""
    digits = _PHONE_NOISE.sub("", raw)
    digits = re.sub(r"^(\+|00)86", "", digits)
    if _MOBILE.fullmatch(digits) or _LANDLINE.fullmatch(digits):
        return digits
    return None


def new_request_id() -> str:
    """Return a fresh random id for one rendered form (see ``check_request_id``)."""
    return secrets.token_urlsafe(16)


def check_request_id(raw: object) -> str | None:
    """Return the request id a form sent if it is well-formed, else None.

    A form carries a random id made when it was rendered; the events a request stores
    carry it, so a resend of the same form is recognised and stores nothing new. A
    missing id (a form from before) or a malformed one counts as none.
    """
    return raw if isinstance(raw, str) and _REQUEST_ID.fullmatch(raw) else None


def check_location(store: Store, category: str, code: str) -> tuple[str, Message | None]:
    """Check a location code picked for ``category``; empty is fine where no place is needed."""
    code = code.strip() if isinstance(code, str) else ""
    if not code:
        return "", REQUIRED if category in PLACE_REQUIRED else None
    location = store.location(code)
    if location is None or not location.get("active"):
        return code, Message(N_("We do not know this place. Please pick one from the list."))
    return code, None


def check_details(fields: dict, category: str, now: datetime,
                  tz: ZoneInfo) -> tuple[dict, dict[str, Message]]:
    """Check the details step; return ``(clean fields, errors)``."""
    errors: dict[str, Message] = {}
    clean: dict = {}
    clean["description"], err = clean_text(fields.get("description"), max_len=MAX_DESCRIPTION,
                                           required=True, multiline=True)
    if err:
        errors["description"] = err
    clean["name"], err = clean_text(fields.get("name"), max_len=MAX_NAME)
    if err:
        errors["name"] = err
    phone, err = clean_text(fields.get("phone"), max_len=MAX_PHONE,
                            required=category in rules.PHONE_REQUIRED)
    clean["phone"] = phone
    if err:
        errors["phone"] = (err if err is not REQUIRED else
                           Message(N_("Please leave a phone number so we can call you back.")))
    elif phone:
        clean["phone"] = normalise_phone(phone) or phone
        if normalise_phone(phone) is None:
            errors["phone"] = BAD_PHONE
    clean["preferred_at"] = ""
    if category == "repair":
        clean["preferred_at"], err = _check_preferred(fields.get("preferred_at"), now, tz)
        if err:
            errors["preferred_at"] = err
    return clean, errors


def _check_preferred(raw: object, now: datetime, tz: ZoneInfo) -> tuple[str, Message | None]:
    """Check a preferred repair time (``YYYY-MM-DDTHH:MM``, site time); empty means now."""
    text, err = clean_text(raw, max_len=16)
    if err or not text:
        return text, err
    try:
        when = datetime.strptime(text, "%Y-%m-%dT%H:%M").replace(tzinfo=tz)
    except ValueError:
        return text, Message(N_("Please pick a date and time."))
    if when < now - timedelta(minutes=5) or when > now + PREFERRED_AHEAD:
        return text, Message(N_("Please pick a time between now and two weeks from now."))
    return text, None


def _household(store: Store, fields: dict, channel: str) -> dict | None:
    """Return the archive's household a desk record picked (``fields["household"]``, an
    id), or None: none picked, not a desk channel, or no such household."""
    hid = fields.get("household")
    if channel not in rules.DESK_CHANNELS or not isinstance(hid, str) or not hid:
        return None
    return store.household(hid[:40])


def _filled_from(household: dict, fields: dict) -> dict:
    """Return ``fields`` with an empty name and phone taken from the household's first
    person; what the receptionist typed stays as typed."""
    people = household.get("people") or [{}]
    filled = dict(fields)
    for key in ("name", "phone"):
        typed = fields.get(key)
        if not (isinstance(typed, str) and typed.strip()):
            filled[key] = people[0].get(key) or ""
    return filled


def submit_report(store: Store, fields: dict, *, channel: str, actor: dict, now: datetime,
                  tz: ZoneInfo, request_id: str | None = None,
                  policy: rules.Policy = rules.POLICY) -> dict:
    """Check a whole entry and record it as a ``reported`` event; return the new ticket.

    ``request_id`` names the entry (a visitor's draft, a staff form) and goes into the
    event: if a ticket was already reported with it, this is a resend, and that ticket
    is returned with nothing stored (checked and appended under the store's lock).
    :raises ValidationError: if any field is wrong (nothing is stored then).
    """
    if request_id is not None and check_request_id(request_id) is None:
        raise ValueError(f"malformed request id {request_id!r}")
    category = fields.get("category")
    if channel not in rules.CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    with store.lock:
        done = store.ticket_by_request(request_id) if request_id is not None else None
        if done is not None:
            return done
        if category not in rules.CATEGORIES:
            raise ValidationError({"category": Message(N_("Please choose what this is about."))})
        household = _household(store, fields, channel)
        if household:
            fields = _filled_from(household, fields)
        clean, errors = check_details(fields, category, now, tz)
        clean["location"], err = check_location(store, category, fields.get("location", ""))
        if err:
            errors["location"] = err
        if errors:
            raise ValidationError(errors)
        preferred = (datetime.strptime(clean["preferred_at"], "%Y-%m-%dT%H:%M").replace(tzinfo=tz)
                     if clean["preferred_at"] else None)
        local = now.astimezone(tz)
        day = local.date().isoformat()
        n = store.last_number(day) + 1
        tid = ids.new_ticket_id(now)
        due = rules.due_at(category, channel, now, tz, preferred, policy)
        data = {**clean, "category": category, "channel": channel, "day": day,
                "number": f"{rules.CATEGORIES[category].letter}-{local:%m%d}-{n:03d}",
                "token": ids.new_status_token(tid),
                "preferred_at": events.iso(preferred) if preferred else None,
                "due_at": events.iso(due) if due else None}
        if request_id is not None:
            data["request_id"] = request_id
        if household:
            data["household"] = household["id"]
        store.append([events.new(tid, "reported", actor, now, data)])
        failpoint("kiosk:after_submit")  # tests: crash with the report logged, not answered
        return store.ticket(tid)


def public_status(store: Store, token: str) -> dict | None:
    """Return what the public may see of the ticket holding ``token``, or None."""
    if not isinstance(token, str) or not 20 <= len(token) <= 64:
        return None
    ticket = store.ticket_by_token(token)
    if ticket is None:
        return None
    location = store.location(ticket["location"]) if ticket["location"] else None
    return {"number": ticket["number"], "category": ticket["category"], "status": ticket["status"],
            "location": location, "reported_at": ticket["reported_at"],
            "due_at": ticket["due_at"], "phone": mask_phone(ticket["phone"]),
            "timeline": model.public_timeline(ticket), "upcoming": upcoming_steps(ticket)}


#: The public steps of each procedure after the report, in order (``rules.public_label``
#: names them), and how many of them each status means are done; closing comes last.
REPAIR_STEPS = ("confirmed", "dispatched", "arrived", "completed")
REPAIR_DONE = {"new": 0, "open": 1, "dispatched": 2, "in_progress": 3, "resolved": 4}
PASSED_ON_STEPS = ("confirmed", "transferred", "resolved", "fed_back")  # complaint and the rest
PASSED_ON_DONE = {"new": 0, "open": 1, "dispatched": 1,  # a repair corrected to another matter
                  "in_progress": 2, "resolved": 3}


def upcoming_steps(ticket: dict) -> list[dict]:
    """Return the public steps still ahead of ``ticket`` in its procedure, each with its
    ``type`` and ``label`` (the visitor's status page shows them greyed)."""
    category, status = ticket["category"], ticket["status"]
    if status == "closed":
        return []
    if category == "emergency":
        ahead = [step for step, done in (("acknowledged", ticket.get("acknowledged")),
                                         ("resolved", status == "resolved")) if not done]
    elif category == "repair":
        ahead = list(REPAIR_STEPS[REPAIR_DONE[status]:])
    else:
        ahead = list(PASSED_ON_STEPS[PASSED_ON_DONE[status] + bool(ticket.get("fed_back")):])
    return [{"type": step, "label": rules.public_label({"type": step}, category)}
            for step in (*ahead, "closed")]
