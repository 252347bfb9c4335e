"""The desk's work plan, five weeks rolling (五周滚动计划, R26).

A task is one-off (a day) or recurring (weekly on a weekday, or monthly on a day of the
month: a day the month has not got falls on its last day), of a kind (meter-reading
round, notice to publish, revisit campaign, fee reminder, other) and assigned to a staff
member by name. Each day a task falls on is an *occurrence*, named by that day for good;
it is open, done, or carried over to a later day with a reason (and may be carried again).
A recurring task has occurrences from the day it was first saved; a dropped one has none
from the day it was dropped. Nothing is stored about the weeks: the plan shows the week
of ``today`` (Monday first, in the site's zone) and the four after it, so it rolls forward
by itself every Monday.

Plain functions over the store. Every change is an event signed by its actor (R8):
``plan_task_saved`` (every field of the task; saving again replaces them),
``plan_task_done``, ``plan_task_carried`` (the reason required) and ``plan_task_dropped``.
A form sent again with the same ``request_id`` stores nothing.
"""
from __future__ import annotations

import calendar
import secrets
from datetime import date, datetime, timedelta

from common.messages import N_, Message
from common.validation import ValidationError, clean_text, iso_day
from sync.events import new as new_event

from ..permissions import check_role
from ..store import Store

KINDS = {"meter_round": N_("Meter-reading round"), "notice": N_("Notice to publish"),
         "revisit": N_("Revisit campaign"), "fee_reminder": N_("Fee reminder"),
         "other": N_("Other")}
#: How a task repeats: once on its day, every week on a weekday, every month on a day.
REPEATS = {"once": N_("Once"), "week": N_("Every week"), "month": N_("Every month")}
WEEKDAYS = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"),
            N_("Saturday"), N_("Sunday"))
WEEKS = 5
MAX_TITLE = 60
MAX_NOTE = 300
MAX_REASON = 200
#: How far ahead a task's day or a carried-over day may be.
MAX_AHEAD = timedelta(days=366)
#: How many tasks a day's box holds on the printed page; the others are counted.
PRINT_PER_CELL = 4

BAD_KIND = Message(N_("Please choose a kind from the list."))
BAD_ASSIGNEE = Message(N_("Please choose who does it from the list."))
BAD_REPEAT = Message(N_("Please choose once, every week or every month."))
BAD_DAY = Message(N_("Please pick a day."))
DAY_PAST = Message(N_("This day is in the past."))
TOO_FAR = Message(N_("Please pick a day within a year."))
BAD_WEEKDAY = Message(N_("Please choose a day of the week."))
BAD_MONTH_DAY = Message(N_("Please give a day of the month from 1 to 31."))
TO_NOT_LATER = N_("Please pick a day after %(day)s, not in the past.")
DONE_ALREADY = Message(N_("This one is done already: there is nothing to carry over."))


class UnknownTask(LookupError):
    """No task of the plan has this id (or it was dropped)."""


class UnknownOccurrence(LookupError):
    """The task does not fall on this day."""


def _local_day(at: str, tz) -> date:
    return datetime.fromisoformat(at).astimezone(tz).date()


def monday_of(day: date) -> date:
    """Return the Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def _clean(fields: dict, assignees: list[str], old: dict | None, today: date) -> dict:
    """Return the checked fields of a task as stored, or raise the errors."""
    errors, clean = {}, {}
    clean["title"], error = clean_text(fields.get("title"), max_len=MAX_TITLE, required=True)
    if error:
        errors["title"] = error
    clean["note"], error = clean_text(fields.get("note"), max_len=MAX_NOTE, multiline=True)
    if error:
        errors["note"] = error
    clean["note"] = clean["note"].replace("\r\n", "\n")
    clean["kind"] = fields.get("kind") or ""
    if clean["kind"] not in KINDS:
        errors["kind"] = BAD_KIND
    clean["assignee"] = fields.get("assignee") or ""
    if clean["assignee"] not in assignees and not (old and clean["assignee"] == old["assignee"]):
        errors["assignee"] = BAD_ASSIGNEE  # a person since disabled may stay on their task
    repeat, clean["due"], clean["repeat"] = fields.get("repeat") or "", None, None
    if repeat == "once":
        due = iso_day(fields.get("due"))
        if due is None:
            errors["due"] = BAD_DAY
        elif due < today and not (old and old["due"] == due.isoformat()):
            errors["due"] = DAY_PAST
        elif due > today + MAX_AHEAD:
            errors["due"] = TOO_FAR
        else:
            clean["due"] = due.isoformat()
    elif repeat == "week":
        weekday = fields.get("weekday")
        if weekday not in [str(i) for i in range(7)]:
            errors["weekday"] = BAD_WEEKDAY
        else:
            clean["repeat"] = {"every": "week", "weekday": int(weekday)}
    elif repeat == "month":
        day = fields.get("day")
        if day not in [str(i) for i in range(1, 32)]:
            errors["day"] = BAD_MONTH_DAY
        else:
            clean["repeat"] = {"every": "month", "day": int(day)}
    else:
        errors["repeat"] = BAD_REPEAT
    if errors:
        raise ValidationError(errors)
    return clean


def save(store: Store, fields: dict, *, assignees: list[str], actor: dict, now: datetime, tz,
         task_id: str | None = None, request_id: str | None = None) -> dict:
    """Add a task, or (``task_id``) change one; return it as stored.

    ``fields``: ``title`` (required, up to 60 characters), ``kind`` (one of ``KINDS``),
    ``assignee`` (one of ``assignees``, the names of the active staff; a task's assignee
    since disabled may stay), ``repeat`` ("once" with ``due``, a "YYYY-MM-DD" day not past
    and within a year; "week" with ``weekday``, "0" Monday to "6" Sunday; "month" with
    ``day``, "1" to "31"), ``note`` (optional, up to 300 characters).
    :raises Forbidden: the actor's role may not keep the plan.
    :raises UnknownTask: ``task_id`` is no live task's.
    :raises ValidationError: a bad field.
    """
    check_role(actor, "plan_tasks")
    with store.lock:
        if request_id and (done := store.plan_by_request(request_id)):
            return done  # the same form sent again
        old = store.plan_task(task_id) if task_id is not None else None
        if task_id is not None and (old is None or old["dropped_at"]):
            raise UnknownTask(task_id)
        clean = _clean(fields, assignees, old, now.astimezone(tz).date())
        task_id = task_id or f"p-{secrets.token_hex(6)}"
        store.append([new_event(None, "plan_task_saved", actor, now, {
            "id": task_id, **clean, "request_id": request_id})])
        return store.plan_task(task_id)


def _live(store: Store, task_id: str) -> dict:
    task = store.plan_task(task_id)
    if task is None or task["dropped_at"]:
        raise UnknownTask(task_id)
    return task


def days_of(task: dict, first: date, last: date, tz) -> list[date]:
    """Return the days from ``first`` to ``last`` (both included) ``task`` falls on: from
    the day it was first saved (a recurring task) until the day before it was dropped."""
    if task["dropped_at"]:
        last = min(last, _local_day(task["dropped_at"], tz) - timedelta(days=1))
    if task["due"]:
        due = date.fromisoformat(task["due"])
        return [due] if first <= due <= last else []
    first = max(first, _local_day(task["first_saved_at"], tz))
    repeat, days = task["repeat"], []
    if repeat["every"] == "week":
        day = first + timedelta(days=(repeat["weekday"] - first.weekday()) % 7)
        while day <= last:
            days.append(day)
            day += timedelta(days=7)
        return days
    year, month = first.year, first.month
    while date(year, month, 1) <= last:
        day = date(year, month, min(repeat["day"], calendar.monthrange(year, month)[1]))
        if first <= day <= last:
            days.append(day)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return days


def _falls_on(task: dict, day: date, tz) -> bool:
    return day in days_of(task, day, day, tz)


def _entry(task: dict, day: date, today: date) -> dict:
    """One occurrence of ``task`` (the day it was due): where it is now and its state."""
    key = day.isoformat()
    record = task["occurrences"].get(key) or {"done": None, "carried": []}
    on = record["carried"][-1]["to"] if record["carried"] else key
    state = "done" if record["done"] else "late" if on < today.isoformat() else "open"
    return {"task": task, "occurrence": key, "on": on, "state": state,
            "done": record["done"], "carried": record["carried"],
            "reason": record["carried"][-1]["reason"] if record["carried"] else ""}


def occurrence(store: Store, task_id: str, day: str, today: date, tz) -> dict:
    """Return the occurrence of task ``task_id`` due on ``day`` ("YYYY-MM-DD").

    :raises UnknownTask: no live task has ``task_id``.
    :raises UnknownOccurrence: the task does not fall on ``day``.
    """
    task, due = _live(store, task_id), iso_day(day)
    if due is None or not _falls_on(task, due, tz):
        raise UnknownOccurrence(day)
    return _entry(task, due, today)


def _occurrences(store: Store, first: date, last: date, today: date, tz) -> list[dict]:
    """Every occurrence whose day or carried-over day is from ``first`` to ``last``."""
    found = []
    for task in store.plan_tasks():
        carried_from = [date.fromisoformat(d) for d, r in task["occurrences"].items()
                        if r["carried"]]
        earliest = min([first, *carried_from])
        for day in days_of(task, earliest, last, tz):
            entry = _entry(task, day, today)
            hops = [entry["occurrence"]] + [c["to"] for c in entry["carried"]]
            if any(first.isoformat() <= d <= last.isoformat() for d in hops):
                found.append(entry)
    return found


def five_weeks(store: Store, today: date, tz) -> list[list[dict]]:
    """Return the plan: five weeks (the week of ``today`` first), each seven days
    ``{day, today, past, entries, moved}``: ``entries`` the occurrences on that day now
    (carried-over ones marked by their ``occurrence`` day), ``moved`` those due that day
    and carried from it (with where to and why), each sorted by assignee and title."""
    first = monday_of(today)
    last = first + timedelta(days=7 * WEEKS - 1)
    days = {first + timedelta(days=i): {"entries": [], "moved": []} for i in range(7 * WEEKS)}
    for entry in _occurrences(store, first, last, today, tz):
        on = date.fromisoformat(entry["on"])
        if on in days:
            days[on]["entries"].append(entry)
        hops = [entry["occurrence"]] + [c["to"] for c in entry["carried"]]
        for start, hop in zip(hops, entry["carried"]):
            if date.fromisoformat(start) in days:
                days[date.fromisoformat(start)]["moved"].append({**entry, "to": hop["to"],
                                                                 "reason": hop["reason"]})
    key = (lambda e: (e["task"]["assignee"], e["task"]["title"]))
    return [[{"day": day, "today": day == today, "past": day < today,
              "entries": sorted(days[day]["entries"], key=key),
              "moved": sorted(days[day]["moved"], key=key)}
             for day in (first + timedelta(days=7 * w + d) for d in range(7))]
            for w in range(WEEKS)]


def tasks(store: Store) -> list[dict]:
    """Return the live tasks, by assignee then title."""
    return sorted((t for t in store.plan_tasks() if not t["dropped_at"]),
                  key=lambda t: (t["assignee"], t["title"]))


def slipped(store: Store, today: date, now: datetime, tz) -> dict[str, list[dict]]:
    """Return what slipped over the last five weeks, for the manager: ``late``, the
    occurrences whose day (as carried) was in the five weeks before ``today`` and are not
    done, the oldest first; ``carried``, the occurrences carried over in the last five
    weeks (each with every carry, its reason and who made it), the latest carry first."""
    first = today - timedelta(days=7 * WEEKS)
    since = (now - timedelta(days=7 * WEEKS)).isoformat()
    late, carried = [], []
    for task in store.plan_tasks():
        known = [date.fromisoformat(d) for d in task["occurrences"]]
        for day in days_of(task, min([first, *known]), today + MAX_AHEAD, tz):
            entry = _entry(task, day, today)
            if entry["state"] == "late" and entry["on"] >= first.isoformat():
                late.append(entry)
            if any(c["at"] >= since for c in entry["carried"]):
                carried.append(entry)
    return {"late": sorted(late, key=lambda e: (e["on"], e["task"]["title"])),
            "carried": sorted(carried, key=lambda e: e["carried"][-1]["at"], reverse=True)}


def done(store: Store, task_id: str, day: str, *, actor: dict, now: datetime, tz,
         request_id: str | None = None) -> dict:
    """Mark the occurrence of ``task_id`` due on ``day`` done; return it. One done already
    is answered as it is, and nothing is stored (a second tap).

    :raises Forbidden: the actor's role may not keep the plan.
    :raises UnknownTask, UnknownOccurrence: no such task, or it does not fall on ``day``.
    """
    check_role(actor, "plan_tasks")
    today = now.astimezone(tz).date()
    with store.lock:
        if request_id and store.plan_by_request(request_id):
            return occurrence(store, task_id, day, today, tz)  # the same form sent again
        entry = occurrence(store, task_id, day, today, tz)
        if entry["done"]:
            return entry
        store.append([new_event(None, "plan_task_done", actor, now, {
            "id": task_id, "occurrence": entry["occurrence"], "request_id": request_id})])
        return occurrence(store, task_id, day, today, tz)


def carry(store: Store, task_id: str, day: str, fields: dict, *, actor: dict, now: datetime,
          tz, request_id: str | None = None) -> dict:
    """Carry the occurrence of ``task_id`` due on ``day`` over to ``fields["to"]`` (a
    "YYYY-MM-DD" day after the one it is on now, not past, within a year) for
    ``fields["reason"]`` (required, up to 200 characters); return it.

    :raises Forbidden: the actor's role may not keep the plan.
    :raises UnknownTask, UnknownOccurrence: no such task, or it does not fall on ``day``.
    :raises ValidationError: a bad day or no reason; the occurrence is done already.
    """
    check_role(actor, "plan_tasks")
    today = now.astimezone(tz).date()
    with store.lock:
        if request_id and store.plan_by_request(request_id):
            return occurrence(store, task_id, day, today, tz)  # the same form sent again
        entry, errors = occurrence(store, task_id, day, today, tz), {}
        if entry["done"]:
            raise ValidationError({"to": DONE_ALREADY})
        to = iso_day(fields.get("to"))
        after = max(date.fromisoformat(entry["on"]) + timedelta(days=1), today)
        if to is None:
            errors["to"] = BAD_DAY
        elif to < after:
            errors["to"] = Message(TO_NOT_LATER, {"day": entry["on"]})
        elif to > today + MAX_AHEAD:
            errors["to"] = TOO_FAR
        reason, error = clean_text(fields.get("reason"), max_len=MAX_REASON, required=True,
                                   multiline=True)
        if error:
            errors["reason"] = error
        if errors:
            raise ValidationError(errors)
        store.append([new_event(None, "plan_task_carried", actor, now, {
            "id": task_id, "occurrence": entry["occurrence"], "to": to.isoformat(),
            "reason": reason.replace("\r\n", "\n"), "request_id": request_id})])
        return occurrence(store, task_id, day, today, tz)


def drop(store: Store, task_id: str, *, actor: dict, now: datetime,
         request_id: str | None = None) -> dict:
    """Drop a task from the plan: it has no occurrence from today on (those before stay
    in what slipped); return it. A task dropped already records nothing.

    :raises Forbidden: the actor's role may not keep the plan.
    :raises UnknownTask: no task has ``task_id``.
    """
    check_role(actor, "plan_tasks")
    with store.lock:
        task = store.plan_task(task_id)
        if task is None:
            raise UnknownTask(task_id)
        if task["dropped_at"]:
            return task
        store.append([new_event(None, "plan_task_dropped", actor, now, {
            "id": task_id, "request_id": request_id})])
        return store.plan_task(task_id)
