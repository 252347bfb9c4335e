"""The item register (物品、材料领用、保管、发放, R19): plain functions over the store, no
Flask.

Keys, tools and materials lent to someone, due back at a time (``lend`` with a due time:
one ``item_lent`` event), or handed out for good (no due time); an item lent comes back
(``give_back``: ``item_returned``). An item not back by its due time is overdue.

Every change carries the form's ``request_id``: sent again, it records nothing new.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from common.messages import N_, Message
from common.validation import ValidationError, clean_text
from sync.events import new as new_event

from .. import ids
from ..permissions import check_role
from ..store import Store
from ..tickets import rules
from .parcels import MAX_NAME, clean_phone, pick_household

MAX_ITEM, MAX_NOTE, MAX_QUANTITY = 60, 200, 9999
#: How long the register lists what was lent, handed out or returned lately.
RECENT_DAYS = 7

BAD_QUANTITY = Message(N_("Please enter a whole number from 1 to %(n)s."), {"n": MAX_QUANTITY})
BAD_DUE = Message(N_("Please pick a date and time."))
DUE_PAST = Message(N_("Please pick a time after now."))
NOT_LENT = "this item was handed out for good, not lent"
ALREADY = "this item was returned already"


class UnknownItem(LookupError):
    """No item record has this id."""


def _quantity(raw: object) -> tuple[int, Message | None]:
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        return 1, None
    if not text.isdigit() or not 1 <= int(text) <= MAX_QUANTITY:
        return 0, BAD_QUANTITY
    return int(text), None


def _due(raw: object, now: datetime, tz: ZoneInfo) -> tuple[str | None, Message | None]:
    """Return a local ``YYYY-MM-DDTHH:MM`` as UTC ISO (None if empty), or the error."""
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        return None, None
    try:
        due = datetime.strptime(text, "%Y-%m-%dT%H:%M").replace(tzinfo=tz)
    except ValueError:
        return None, BAD_DUE
    if due <= now:
        return None, DUE_PAST
    return due.astimezone(timezone.utc).isoformat(), None


def lend(store: Store, form: dict, *, actor: dict, now: datetime, tz: ZoneInfo,
         request_id: str | None = None) -> dict:
    """Record an item lent (``form``: item, quantity, to_name, household, phone, due_at
    as a site-local ``YYYY-MM-DDTHH:MM``, note), or handed out for good when ``due_at``
    is empty; return it as stored. Sent again with the same ``request_id``, return the
    one recorded then and record nothing.

    :raises Forbidden: ``actor`` may not lend items.
    :raises ValidationError: a field is missing or wrong (keyed by field).
    """
    check_role(actor, "lend_items")
    errors, clean = {}, {}
    clean["item"], errors["item"] = clean_text(form.get("item"), max_len=MAX_ITEM, required=True)
    clean["quantity"], errors["quantity"] = _quantity(form.get("quantity"))
    clean["to_name"], errors["to_name"] = clean_text(form.get("to_name"), max_len=MAX_NAME,
                                                     required=True)
    household, errors["household"] = pick_household(store, form.get("household"))
    clean["household"] = household["id"] if household else None
    phone, errors["phone"] = clean_phone(form.get("phone"))
    clean["phone"] = phone or None
    clean["due_at"], errors["due_at"] = _due(form.get("due_at"), now, tz)
    clean["note"], errors["note"] = clean_text(form.get("note"), max_len=MAX_NOTE)
    errors = {k: v for k, v in errors.items() if v}
    if errors:
        raise ValidationError(errors)
    with store.lock:
        done = store.item_by_request(request_id) if request_id else None
        if done:
            return done
        iid = ids.new_ticket_id(now)
        store.append([new_event(None, "item_lent", actor, now,
                                {"id": iid, **clean, "request_id": request_id})])
        return store.item(iid)


def give_back(store: Store, iid: str, *, actor: dict, now: datetime,
              request_id: str | None = None) -> dict:
    """Record that the item lent ``iid`` came back; return it. Sent again with the same
    ``request_id``, return it and record nothing.

    :raises Forbidden: ``actor`` may not lend items.
    :raises UnknownItem: no item record has ``iid``.
    :raises RuleError: it was returned already, or handed out for good.
    """
    check_role(actor, "lend_items")
    with store.lock:
        item = store.item(iid)
        if item is None:
            raise UnknownItem(iid)
        if request_id and item["return_request_id"] == request_id:
            return item
        if item["returned_at"]:
            raise rules.RuleError(ALREADY)
        if not item["due_at"]:
            raise rules.RuleError(NOT_LENT)
        store.append([new_event(None, "item_returned", actor, now,
                                {"id": iid, "request_id": request_id})])
        return store.item(iid)


def is_overdue(item: dict, now: datetime) -> bool:
    """Tell whether ``item`` was due back before ``now`` and is not back."""
    return bool(item["due_at"] and not item["returned_at"]
                and datetime.fromisoformat(item["due_at"]) < now)


def out(store: Store, now: datetime) -> list[dict]:
    """Return the items lent and not back at ``now``, each with ``overdue``: the overdue
    first, then by due time."""
    items = [{**i, "overdue": is_overdue(i, now)} for i in store.items_out()]
    return sorted(items, key=lambda i: (not i["overdue"], i["due_at"]))


def overdue(store: Store, now: datetime) -> list[dict]:
    """Return the items not back by their due time at ``now``, the longest overdue first."""
    return [i for i in out(store, now) if i["overdue"]]


def recent(store: Store, now: datetime) -> list[dict]:
    """Return what was lent or handed out in the last ``RECENT_DAYS`` days, the latest
    first, each with ``overdue``."""
    return [{**i, "overdue": is_overdue(i, now)}
            for i in store.items_lent(now - timedelta(days=RECENT_DAYS))]
