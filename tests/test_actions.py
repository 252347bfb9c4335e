"""Staff actions and the queue, in plain Python over a real store."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from kiosk.tickets import actions, queue, rules, service
from common.validation import ValidationError

TZ = ZoneInfo("Asia/Shanghai")
LI = {"role": "receptionist", "id": "s-li", "name": "Li"}
VISITOR = {"role": "visitor"}


def report(store, clock, category="repair", channel="kiosk", **fields):
    data = {"category": category, "location": "DEMO-LIB", "description": "Broken light",
            "phone": "13812345678", **fields}
    return service.submit_report(store, data, channel=channel, actor=VISITOR, now=clock(), tz=TZ)


def test_confirm_with_corrections_signs_an_amendment_then_the_confirmation(store, clock):
    ticket = report(store, clock)
    after = actions.confirm(store, ticket["id"], {"category": "complaint", "location": "DEMO-GYM",
                                                  "description": "Broken light"},
                            actor=LI, now=clock())
    amended, confirmed = after["events"][-2:]
    assert amended["type"] == "amended" and confirmed["type"] == "confirmed"
    assert amended["data"] == {"category": {"old": "repair", "new": "complaint"},
                               "location": {"old": "DEMO-LIB", "new": "DEMO-GYM"}}
    assert amended["actor"] == confirmed["actor"] == LI
    assert after["status"] == "open" and after["category"] == "complaint"


def test_a_bad_correction_is_refused_and_nothing_is_written(store, clock):
    ticket = report(store, clock)
    seq = store.last_seq
    with pytest.raises(ValidationError) as info:
        actions.confirm(store, ticket["id"], {"phone": "123", "location": "NOPE"}, actor=LI,
                        now=clock())
    assert set(info.value.errors) == {"phone", "location"}
    assert store.last_seq == seq and store.ticket(ticket["id"])["status"] == "new"


def test_confirming_twice_is_refused_by_the_rules(store, clock):
    ticket = report(store, clock)
    actions.confirm(store, ticket["id"], {}, actor=LI, now=clock())
    with pytest.raises(rules.RuleError):
        actions.confirm(store, ticket["id"], {}, actor=LI, now=clock())


def test_close_keeps_everything_and_moves_the_ticket_to_the_archive(store, clock):
    ticket = report(store, clock)
    actions.add_note(store, ticket["id"], "Called the owner", actor=LI, now=clock())
    closed = actions.close(store, ticket["id"], "duplicate", actor=LI, now=clock())
    assert closed["status"] == "closed" and closed["close_reason"] == "duplicate"
    assert [e["type"] for e in closed["events"]] == ["reported", "noted", "closed"]
    assert store.open_tickets() == []
    assert store.ticket_by_token(ticket["token"])["number"] == ticket["number"]


def test_close_needs_a_known_reason(store, clock):
    ticket = report(store, clock)
    with pytest.raises(ValidationError):
        actions.close(store, ticket["id"], "because", actor=LI, now=clock())


def test_a_phone_record_is_open_at_once_at_the_exact_time_of_the_call(store, clock):
    ticket = actions.record(store, {"category": "inquiry", "description": "Fee question"}, "phone",
                            actor=LI, now=clock(), tz=TZ, received_at="2026-11-28T09:47")
    assert ticket["status"] == "open" and ticket["channel"] == "phone"
    assert ticket["reported_at"] == "2026-11-28T01:47:00+00:00"
    assert ticket["events"][0]["actor"] == LI
    assert ticket["due_at"] == "2026-11-28T10:00:00+00:00"  # 18:00, the end of the working day


@pytest.mark.parametrize("received_at", ["2026-11-26T09:00", "2026-11-28T11:00", "soon"])
def test_a_call_time_in_the_future_or_days_ago_is_refused(store, clock, received_at):
    with pytest.raises(ValidationError) as info:
        actions.record(store, {"category": "inquiry", "description": "x"}, "phone", actor=LI,
                       now=clock(), tz=TZ, received_at=received_at)
    assert "received_at" in info.value.errors


def test_queue_pins_unacknowledged_emergencies_then_new_entries_then_by_due_time(store, clock):
    inquiry = actions.record(store, {"category": "inquiry", "description": "x"}, "phone",
                             actor=LI, now=clock(), tz=TZ)
    repair = report(store, clock)
    clock.now += timedelta(minutes=1)
    emergency = report(store, clock, category="emergency")
    order = [r.number for r in queue.build(store, clock(), TZ)]
    assert order == [emergency["number"], repair["number"], inquiry["number"]]
    actions.acknowledge(store, emergency["id"], actor=LI, now=clock())
    rows = queue.build(store, clock(), TZ)
    assert not any(r.alarm for r in rows)


def test_queue_marks_a_repair_late_after_thirty_minutes(store, clock):
    report(store, clock)
    assert queue.build(store, clock(), TZ)[0].due_state == "ok"
    clock.now += timedelta(minutes=25)
    assert queue.build(store, clock(), TZ)[0].due_state == "soon"
    clock.now += timedelta(minutes=6)
    assert queue.build(store, clock(), TZ)[0].due_state == "late"


@pytest.mark.parametrize("filters, expected", [
    ({"category": "complaint"}, ["C"]), ({"q": "王"}, ["C"]), ({"q": "5678"}, ["R", "C"]),
    ({"place": "DEMO-GYM"}, ["C"]), ({"status": "open"}, []), ({"date": "2026-11-28"}, ["R", "C"]),
    ({"date": "2026-11-27"}, []),
])
def test_queue_filters(store, clock, filters, expected):
    report(store, clock)
    report(store, clock, category="complaint", location="DEMO-GYM", name="王老师")
    rows = queue.build(store, clock(), TZ, filters)
    assert sorted(r.number[0] for r in rows) == sorted(expected)


def test_queue_summaries_leave_out_the_timeline_and_are_copies(store, clock):
    ticket = report(store, clock)
    (summary,) = store.open_summaries()
    assert "events" not in summary and summary["number"] == ticket["number"]
    summary["status"] = "closed"
    assert store.ticket(ticket["id"])["status"] == "new"
