"""Ticket rules in plain Python: the whole transition map as a table, the guards of each
procedure, deadlines, same-day lateness, escalation and revisits — with the clock given,
never by sleeping."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from common.phones import mask_phone
from kiosk.tickets import model, rules

TZ = ZoneInfo("Asia/Shanghai")
NOON = datetime(2026, 11, 28, 4, 0, tzinfo=timezone.utc)  # 12:00 in Shanghai, a Saturday
ROLES = ("receptionist", "manager", "maintenance")
ACTIVE = {"new", "open", "dispatched", "in_progress", "resolved"}
ALL = ACTIVE | {"closed"}

#: category -> event type -> the statuses it may follow (written out by hand, from the
#: work instructions: R9 repair, R10 complaint, R11 the rest, R12 emergency, R15 revisit)
COMMON = {"confirmed": {"new"}, "amended": ACTIVE, "noted": ALL, "raised": ACTIVE,
          "escalated": ACTIVE, "acknowledged": ACTIVE, "closed": ACTIVE}
PASSED_ON = {**COMMON, "transferred": {"open"}, "resolved": {"open", "in_progress"},
             "fed_back": {"resolved"}}
MAP = {
    "repair": {**COMMON, "dispatched": {"open"}, "deadline_agreed": {"open", "dispatched"},
               "arrived": {"dispatched"}, "completed": {"in_progress"},
               "revisited": {"resolved"}},
    "complaint": {**COMMON, "investigated": {"open"}, "signed_off": {"open"},
                  "transferred": {"open"}, "resolved": {"in_progress"},
                  "fed_back": {"resolved"}, "revisited": {"resolved"}},
    "inquiry": PASSED_ON, "suggestion": PASSED_ON, "other": PASSED_ON,
    "emergency": {**COMMON, "resolved": {"open"}},
}
EVENTS = sorted(rules.EVENT_TYPES - {"reported"})
#: action -> may (receptionist, manager, maintenance)
MAY = {action: (True, True, action in ("arrive", "complete"))
       for action in rules.TICKET_ACTIONS}
ACTION_OF = {event: action for action, event in rules.TICKET_ACTIONS.items()}


def favourable(category: str, status: str, event_type: str) -> dict:
    """A ticket in ``status`` whose other fields let ``event_type`` pass its guards, so
    the table tests the statuses alone (the guards have their own tests below)."""
    ticket = {"category": category, "status": status, "channel": "kiosk",
              "reported_at": NOON.isoformat(), "acknowledged": event_type == "resolved",
              "important": event_type in ("acknowledged", "escalated"),
              "facts": "f" if event_type == "signed_off" else None,
              "signed_off": event_type == "transferred", "fed_back": False,
              "revisit_due": NOON.isoformat() if event_type == "revisited" else None,
              "revisit": None}
    if event_type == "raised":
        ticket["important"] = False
    return ticket


@pytest.mark.parametrize("event_type", EVENTS)
@pytest.mark.parametrize("category", list(MAP))
def test_the_transition_map_for_every_status_and_role(category, event_type):
    """Every (status, category, event, role): allowed exactly where the table says."""
    wrong = []
    for status in sorted(ALL):
        ticket = favourable(category, status, event_type)
        data = {"reason": "withdrawn"} if event_type == "closed" else {"outcome": "satisfied"}
        allowed = status in MAP[category].get(event_type, set())
        if event_type == "raised" and category == "emergency":
            allowed = False  # already in the chain
        if rules.can_follow(ticket, event_type, data) != allowed:
            wrong.append((status, "rules"))
        action = ACTION_OF[event_type]
        for role in ROLES:
            expected = allowed and MAY[action][ROLES.index(role)] and not (
                action == "amend" and status == "new")
            if (action in rules.allowed_actions(ticket, role)) != expected:
                wrong.append((status, role))
    assert wrong == []


def test_nobody_else_may_do_anything():
    for role in (None, "visitor", "director"):
        assert rules.allowed_actions(favourable("repair", "open", "dispatched"), role) == []


# -- the guards of each procedure --------------------------------------------------------
def reported(channel="kiosk", category="complaint", at=NOON, due=None):
    return model.apply(None, {
        "ticket_id": "T1", "seq": 1, "type": "reported", "at": at.isoformat(),
        "actor": {"role": "visitor"},
        "data": {"number": "C-1128-001", "token": "x", "day": "2026-11-28", "category": category,
                 "channel": channel, "due_at": due.isoformat() if due else None}})


def run(ticket, *steps, at=NOON, role="receptionist"):
    """Apply ``steps`` ((type, data) pairs) one after another, each decided by the rules."""
    for kind, data in steps:
        ticket = model.apply(ticket, {"ticket_id": "T1", "seq": ticket["seq"] + 1, "type": kind,
                                      "at": at.isoformat(),
                                      "actor": {"role": role, "id": "s1", "name": "Li"},
                                      "data": data})
    return ticket


def test_a_complaint_is_signed_off_after_its_facts_and_transferred_after_the_sign_off():
    ticket = reported("phone")
    with pytest.raises(rules.RuleError, match="facts"):
        run(ticket, ("signed_off", {}))
    with pytest.raises(rules.RuleError, match="signed it off"):
        run(ticket, ("transferred", {"department": "security"}))
    ticket = run(ticket, ("investigated", {"facts": "Noise after 23:00"}), ("signed_off", {}))
    assert rules.next_step(ticket) == "transfer"
    with pytest.raises(rules.RuleError):
        run(ticket, ("signed_off", {}))  # once
    with pytest.raises(rules.RuleError):
        run(ticket, ("investigated", {"facts": "changed"}))  # the signed facts stay
    ticket = run(ticket, ("transferred", {"department": "security"}))
    assert ticket["status"] == "in_progress" and ticket["transferred_to"] == "security"


def test_a_complaint_closes_as_done_only_after_the_customer_heard_the_result():
    ticket = run(reported("phone"), ("investigated", {"facts": "f"}), ("signed_off", {}),
                 ("transferred", {"department": "security"}), ("resolved", {"result": "r"}))
    assert rules.close_reasons(ticket) == ["duplicate", "spam", "withdrawn"]
    with pytest.raises(rules.RuleError, match="procedure"):
        run(ticket, ("closed", {"reason": "done"}))
    ticket = run(ticket, ("fed_back", {"how": "phone", "revisit_due": NOON.isoformat()}))
    assert "done" in rules.close_reasons(ticket) and rules.next_step(ticket) == "revisit"
    assert run(ticket, ("closed", {"reason": "done"}))["status"] == "closed"


def test_a_repair_goes_dispatch_arrival_completion_revisit_close():
    ticket = reported("kiosk", "repair")
    steps = [("confirmed", {}, "confirm", "open"), ("dispatched", {"department": "maintenance"},
                                                    "dispatch", "dispatched"),
             ("arrived", {"how": "verified"}, "arrive", "in_progress"),
             ("completed", {"result": "ok", "revisit_due": NOON.isoformat()}, "complete",
              "resolved"),
             ("revisited", {"outcome": "satisfied"}, "revisit", "resolved"),
             ("closed", {"reason": "done"}, "close", "closed")]
    for kind, data, expected_next, status in steps:
        assert rules.next_step(ticket) == expected_next
        assert rules.allowed_actions(ticket, "receptionist")[0] == expected_next
        ticket = run(ticket, (kind, data))
        assert ticket["status"] == status
    assert ticket["arrival"] == "verified" and ticket["revisit"] == "satisfied"


def test_not_satisfied_reopens_to_whoever_handled_it():
    ticket = run(reported("phone", "repair"), ("dispatched", {"department": "maintenance"}),
                 ("arrived", {"how": "declared"}),
                 ("completed", {"result": "ok", "revisit_due": NOON.isoformat()}))
    with pytest.raises(rules.RuleError):
        run(ticket, ("closed", {"reason": "done"}))  # not before the revisit
    ticket = run(ticket, ("revisited", {"outcome": "unsatisfied", "comment": "Still drips"}))
    assert ticket["status"] == "in_progress" and ticket["reopened"] == 1
    assert rules.next_step(ticket) == "complete" and not rules.revisit_pending(ticket)
    ticket = run(ticket, ("completed", {"result": "new washer", "revisit_due": NOON.isoformat()}))
    assert rules.revisit_pending(ticket) and ticket["revisit"] is None
    with pytest.raises(rules.RuleError):
        run(ticket, ("revisited", {"outcome": "satisfied"}), ("revisited", {"outcome": "satisfied"}))


def test_an_inquiry_answered_and_told_closes_as_done():
    ticket = run(reported("phone", "inquiry"), ("resolved", {"result": "Open 8-17"}))
    assert rules.next_step(ticket) == "feed_back"
    ticket = run(ticket, ("fed_back", {"how": "phone"}))
    assert rules.procedure_done(ticket) and rules.next_step(ticket) == "close"


def test_only_the_chain_is_acknowledged_once_and_any_matter_may_join_it():
    ticket = reported("phone", "inquiry")
    with pytest.raises(rules.RuleError):
        run(ticket, ("acknowledged", {}))
    ticket = run(ticket, ("raised", {"reason": "Water in the server room"}))
    assert rules.in_chain(ticket) and rules.next_step(ticket) == "acknowledge"
    ticket = run(ticket, ("acknowledged", {"level": 1, "by": "Director Zhang"}))
    assert ticket["acknowledged_by"] == "Director Zhang"
    with pytest.raises(rules.RuleError):
        run(ticket, ("acknowledged", {}))
    with pytest.raises(rules.RuleError):
        run(ticket, ("raised", {"reason": "again"}))


def test_an_emergency_is_handled_after_it_was_acknowledged():
    ticket = reported("phone", "emergency")
    with pytest.raises(rules.RuleError):
        run(ticket, ("resolved", {"result": "r"}))
    ticket = run(ticket, ("acknowledged", {"level": 0}), ("resolved", {"result": "r"}))
    assert rules.procedure_done(ticket)


def test_a_closed_ticket_takes_no_more_steps_but_notes():
    ticket = run(reported("phone"), ("closed", {"reason": "duplicate"}))
    assert rules.allowed_actions(ticket, "manager") == ["note"]
    with pytest.raises(rules.RuleError):
        run(ticket, ("confirmed", {}))


def test_the_public_timeline_shows_each_procedures_steps_and_hides_the_rest():
    ticket = run(reported("kiosk", "complaint"), ("noted", {"text": "internal"}),
                 ("confirmed", {}), ("investigated", {"facts": "f"}), ("signed_off", {}),
                 ("transferred", {"department": "security"}), ("resolved", {"result": "r"}))
    labels = [s["label"] for s in model.public_timeline(ticket)]
    assert labels == ["Reported", "Under review by the customer-service manager",
                      "Passed to the department concerned", "Result ready"]


# -- deadlines ----------------------------------------------------------------------------
def test_a_repair_is_due_on_site_after_the_policys_minutes_or_at_the_preferred_time():
    assert rules.due_at("repair", "kiosk", NOON, TZ) == NOON + timedelta(minutes=30)
    slow = rules.Policy(arrival=timedelta(minutes=45))
    assert rules.due_at("repair", "kiosk", NOON, TZ, policy=slow) == NOON + timedelta(minutes=45)
    later = NOON + timedelta(hours=3)
    assert rules.due_at("repair", "kiosk", NOON, TZ, later) == later
    assert rules.due_at("emergency", "kiosk", NOON, TZ) == NOON


def test_an_agreed_deadline_replaces_the_30_minutes_and_decides_lateness():
    due = NOON + timedelta(minutes=30)
    ticket = run(reported("phone", "repair", due=due), ("dispatched", {"department": "m"}))
    assert rules.current_due(ticket) == due
    agreed = NOON + timedelta(hours=2)
    ticket = run(ticket, ("deadline_agreed", {"due_at": agreed.isoformat(), "reason": "parts"}))
    assert rules.current_due(ticket) == agreed and ticket["deadline_reason"] == "parts"
    on_time = run(ticket, ("arrived", {"how": "declared"}), at=NOON + timedelta(hours=1))
    assert not on_time["arrived_late"] and rules.current_due(on_time) is None
    plain = run(reported("phone", "repair", due=due), ("dispatched", {"department": "m"}))
    late = run(plain, ("arrived", {"how": "declared"}), at=NOON + timedelta(minutes=31))
    assert late["arrived_late"]


def local(day, hh, mm):
    return datetime(2026, 11, day, hh, mm, tzinfo=TZ).astimezone(timezone.utc)


@pytest.mark.parametrize("at, due", [
    (local(27, 17, 59), local(27, 18, 0)),   # before the end of the day: that day
    (local(27, 18, 0), local(28, 18, 0)),    # at or after it: the next day's end
    (local(27, 23, 30), local(28, 18, 0)),   # late evening, across midnight
    (local(28, 0, 10), local(28, 18, 0)),    # just after midnight: the new day
    (datetime(2026, 11, 27, 16, 30, tzinfo=timezone.utc), local(28, 18, 0)),  # 00:30 local
])
def test_phone_and_walk_in_records_are_due_by_the_end_of_the_sites_working_day(at, due):
    assert rules.due_at("inquiry", "phone", at, TZ) == due
    assert rules.due_at("complaint", "walk_in", at, TZ) == due


def test_the_end_of_day_is_configurable():
    policy = rules.Policy(end_of_day=time(17, 30))
    assert rules.due_at("inquiry", "phone", local(27, 17, 40), TZ, policy=policy) == local(28, 17, 30)


def test_an_unhandled_record_is_late_after_18_and_carried_over_the_next_morning():
    call = reported("phone", "inquiry", at=local(27, 17, 0), due=local(27, 18, 0))
    assert not rules.carried_over(call, local(27, 17, 59), TZ)
    assert rules.current_due(call) < local(27, 18, 1)  # late from 18:00 ...
    assert not rules.carried_over(call, local(27, 23, 59), TZ)  # ... the same evening
    assert rules.carried_over(call, local(28, 8, 0), TZ)  # the next morning: first in the queue
    handled = run(call, ("transferred", {"person": "Wang"}))
    assert not rules.carried_over(handled, local(28, 8, 0), TZ)
    visitor = reported("kiosk", "inquiry", at=local(27, 17, 0), due=local(27, 18, 0))
    assert not rules.carried_over(visitor, local(28, 8, 0), TZ)  # R1/R2 are the desk's records


# -- the escalation chain (R12) -------------------------------------------------------------
@pytest.mark.parametrize("minutes, level, next_in", [
    (0, 0, 5), (4.99, 0, 5), (5, 1, 10), (9, 1, 10), (10, 2, 15), (15, 3, None), (90, 3, None)])
def test_every_five_minutes_without_acknowledgement_the_next_level_is_up(minutes, level, next_in):
    ticket = reported("kiosk", "emergency")
    state = rules.escalation(ticket, NOON + timedelta(minutes=minutes), 4)
    assert (state.level, state.alarm) == (level, True)
    assert state.next_at == (NOON + timedelta(minutes=next_in) if next_in else None)


def test_the_step_is_configurable_and_acknowledging_stops_the_alarm():
    ticket = reported("kiosk", "emergency")
    policy = rules.Policy(escalation_step=timedelta(minutes=2))
    assert rules.escalation(ticket, NOON + timedelta(minutes=3), 4, policy).level == 1
    ticket = run(ticket, ("acknowledged", {"level": 1, "by": "Zhang"}))
    state = rules.escalation(ticket, NOON + timedelta(hours=1), 4, policy)
    assert not state.alarm and state.level == 1


def test_a_raised_matters_timer_starts_when_it_was_raised():
    ticket = run(reported("phone", "complaint"), ("raised", {"reason": "r"}),
                 at=NOON + timedelta(minutes=30))
    assert rules.escalation(ticket, NOON + timedelta(minutes=34), 4).level == 0
    assert rules.escalation(ticket, NOON + timedelta(minutes=35), 4).level == 1
    assert rules.escalation(reported("phone", "repair"), NOON, 4) is None


# -- revisits: the next working day (R15) ------------------------------------------------
@pytest.mark.parametrize("done, due", [
    (local(26, 15, 0), local(27, 18, 0)),  # Thursday -> Friday
    (local(27, 15, 0), local(30, 18, 0)),  # Friday -> Monday
    (local(28, 15, 0), local(30, 18, 0)),  # Saturday -> Monday
    (local(27, 23, 50), local(30, 18, 0)),  # Friday night, across midnight -> Monday
])
def test_a_revisit_is_due_the_next_working_day(done, due):
    assert rules.next_working_day_end(done, TZ) == due


def test_working_days_are_configurable():
    six_days = rules.Policy(working_days=frozenset({1, 2, 3, 4, 5, 6}))
    assert rules.next_working_day_end(local(27, 15, 0), TZ, six_days) == local(28, 18, 0)


# -- phones ------------------------------------------------------------------------------
@pytest.mark.parametrize("raw, masked", [("13812345678", "*******5678"),
                                         ("01062751234", "*******1234"), ("", "")])
def test_phone_masking(raw, masked):
    assert mask_phone(raw) == masked
