"""The kiosk's notices (R18): the desk writes a notice (title, text, importance, the time
it is valid, optionally one building); the start screen shows those valid now.

Plain functions over the store. Every change is an event signed by its actor (R8):
``notice_published`` with every field of the notice (changing one publishes it again
under its id; the projection keeps the latest) and ``notice_withdrawn``. A notice's
times are stored in UTC and typed in the site's zone as "YYYY-MM-DDTHH:MM". Nothing
expires by a job: ``current`` keeps only what is valid at the ``now`` it is given.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from common.messages import N_, Message
from common.validation import ValidationError, clean_text
from sync.events import iso
from sync.events import new as new_event

from ..permissions import check_role
from ..store import Store

MAX_TITLE = 60
MAX_TEXT = 1000
MAX_DAYS = 90
IMPORTANCE = ("normal", "important")
#: How long the staff list keeps showing a notice after it ended or was withdrawn.
EXPIRED_DAYS = 30
#: How long a new notice is shown unless the form says otherwise.
DEFAULT_LENGTH = timedelta(days=7)
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"

BAD_TIME = Message(N_("Please pick a date and time."))
BAD_IMPORTANCE = Message(N_("Please choose normal or important."))
TO_BEFORE_FROM = Message(N_("The end must be after the start."))
TO_IN_PAST = Message(N_("The end is in the past: the notice would never be shown."))
TOO_LONG = Message(N_("A notice may be shown for at most %(n)s days."), {"n": MAX_DAYS})
BAD_BUILDING = Message(N_("Please choose a building from the list."))


class UnknownNotice(LookupError):
    """No notice has this id."""


def buildings(store: Store) -> list[str]:
    """Return the names of the buildings of the site's places in use, sorted."""
    return sorted({loc["building"] for loc in store.locations() if loc.get("building")})


def local_input(value: str, tz) -> str:
    """Return a stored UTC time as the site-local "YYYY-MM-DDTHH:MM" a form shows."""
    return datetime.fromisoformat(value).astimezone(tz).strftime(LOCAL_FORMAT)


def _time(value: object, tz) -> datetime | None:
    try:
        return datetime.strptime(value if isinstance(value, str) else "",
                                 LOCAL_FORMAT).replace(tzinfo=tz)
    except ValueError:
        return None


def _clean(store: Store, fields: dict, now: datetime, tz) -> dict:
    """Return the checked fields of a notice as stored, or raise the errors."""
    errors, clean = {}, {}
    for name, limit in (("title", MAX_TITLE), ("text", MAX_TEXT)):
        clean[name], error = clean_text(fields.get(name), max_len=limit, required=True,
                                        multiline=name == "text")
        if error:
            errors[name] = error
    clean["text"] = clean["text"].replace("\r\n", "\n")
    clean["importance"] = fields.get("importance") or "normal"
    if clean["importance"] not in IMPORTANCE:
        errors["importance"] = BAD_IMPORTANCE
    clean["pinned"] = bool(fields.get("pinned"))
    start, end = _time(fields.get("valid_from"), tz), _time(fields.get("valid_to"), tz)
    if start is None:
        errors["valid_from"] = BAD_TIME
    if end is None:
        errors["valid_to"] = BAD_TIME
    elif start is not None and end <= start:
        errors["valid_to"] = TO_BEFORE_FROM
    elif end <= now:
        errors["valid_to"] = TO_IN_PAST
    elif start is not None and end - start > timedelta(days=MAX_DAYS):
        errors["valid_to"] = TOO_LONG
    clean["building"] = fields.get("building") or ""
    if not isinstance(clean["building"], str) or (
            clean["building"] and clean["building"] not in buildings(store)):
        errors["building"] = BAD_BUILDING
    if errors:
        raise ValidationError(errors)
    clean["valid_from"], clean["valid_to"] = iso(start), iso(end)
    return clean


def publish(store: Store, fields: dict, *, actor: dict, now: datetime, tz,
            notice_id: str | None = None, request_id: str | None = None) -> dict:
    """Publish a new notice, or (``notice_id``) publish a notice again as changed; return
    it as stored.

    ``fields``: ``title`` (required, up to 60 characters), ``text`` (required, up to
    1,000, several lines), ``importance`` ("normal" or "important"), ``pinned``,
    ``valid_from`` and ``valid_to`` (site-local "YYYY-MM-DDTHH:MM": the end after the
    start, not past, at most 90 days later), ``building`` (one of ``buildings``; empty:
    every building). A form sent again with the same ``request_id`` stores nothing.
    :raises Forbidden: the actor's role may not publish notices.
    :raises UnknownNotice: ``notice_id`` is no notice's.
    :raises ValidationError: a bad field.
    """
    check_role(actor, "publish_notices")
    with store.lock:
        if request_id and (done := store.notice_by_request(request_id)):
            return done  # the same form sent again
        if notice_id is not None and store.notice(notice_id) is None:
            raise UnknownNotice(notice_id)
        clean = _clean(store, fields, now, tz)
        notice_id = notice_id or f"n-{secrets.token_hex(6)}"
        store.append([new_event(None, "notice_published", actor, now, {
            "id": notice_id, **clean, "request_id": request_id})])
        return store.notice(notice_id)


def withdraw(store: Store, notice_id: str, *, actor: dict, now: datetime) -> dict:
    """Take a notice off the screens at once; return it. A notice withdrawn already
    records nothing (a second tap).

    :raises Forbidden: the actor's role may not publish notices.
    :raises UnknownNotice: no notice has ``notice_id``.
    """
    check_role(actor, "publish_notices")
    with store.lock:
        notice = store.notice(notice_id)
        if notice is None:
            raise UnknownNotice(notice_id)
        if notice["withdrawn"]:
            return notice
        store.append([new_event(None, "notice_withdrawn", actor, now, {"id": notice_id})])
        return store.notice(notice_id)


def current(store: Store, now: datetime, building: str | None = None) -> list[dict]:
    """Return the notices valid at ``now`` (from <= now < to, not withdrawn): pinned first,
    then important ones, then the newest. With ``building``, only those for it or for
    every building."""
    shown = [n for n in store.current_notices(iso(now))  # the newest first
             if building is None or n["building"] in ("", building)]
    return sorted(shown, key=lambda n: (not n["pinned"], n["importance"] != "important"))


def for_staff(store: Store, now: datetime) -> dict[str, list[dict]]:
    """Return the notices the staff list shows: ``current`` (as ``current`` orders them),
    ``upcoming`` (starting soonest first) and ``ended`` (expired or withdrawn in the last
    30 days, the latest first)."""
    at, since = iso(now), iso(now - timedelta(days=EXPIRED_DAYS))
    everything = store.notices()
    upcoming = [n for n in everything if not n["withdrawn"] and n["valid_from"] > at]
    ended = [n for n in everything
             if (n["withdrawn"] and n.get("withdrawn_at", "") >= since)
             or (not n["withdrawn"] and since <= n["valid_to"] <= at)]
    return {"current": current(store, now),
            "upcoming": sorted(upcoming, key=lambda n: n["valid_from"]),
            "ended": sorted(ended, key=lambda n: n.get("withdrawn_at") or n["valid_to"],
                            reverse=True)}
