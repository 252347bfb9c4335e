"""Ticket rules in plain Python: transitions, due times, phone numbers."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from kiosk.tickets import model, rules, service

TZ = ZoneInfo("Asia/Shanghai")
NOON = datetime(2026, 11, 28, 4, 0, tzinfo=timezone.utc)  # 12:00 in Shanghai


def reported(channel="kiosk", category="complaint"):
    return model.apply(None, {"ticket_id": "T1", "seq": 1, "type": "reported", "at": NOON.isoformat(),
                              "actor": {"role": "visitor"},
                              "data": {"number": "C-1128-001", "token": "x", "day": "2026-11-28",
                                       "category": category, "channel": channel}})


def event(seq, kind, **data):
    return {"ticket_id": "T1", "seq": seq, "type": kind, "at": NOON.isoformat(),
            "actor": {"role": "receptionist", "id": "s1", "name": "Li"}, "data": data}


def test_visitor_entries_wait_for_confirmation_and_staff_records_do_not():
    assert reported("kiosk")["status"] == "new"
    assert reported("phone")["status"] == "open"


def test_a_complaint_moves_on_only_after_the_manager_signed_it_off():
    ticket = model.apply(reported("phone"), event(2, "noted", text="called"))
    with pytest.raises(rules.RuleError):
        model.apply(ticket, event(3, "transferred"))
    ticket = model.apply(ticket, event(3, "signed_off"))
    assert model.apply(ticket, event(4, "transferred"))["status"] == "in_progress"


def test_an_amendment_keeps_the_old_value_in_the_timeline():
    ticket = model.apply(reported("phone"), event(2, "amended",
                                                  description={"old": None, "new": "Leak"}))
    assert ticket["description"] == "Leak"
    assert ticket["events"][-1]["data"]["description"]["old"] is None


def test_replaying_an_applied_event_changes_nothing():
    ticket = model.apply(reported("phone"), event(2, "closed", reason="spam"))
    assert model.apply(ticket, event(2, "closed", reason="spam")) is ticket


def test_a_closed_ticket_takes_no_more_steps():
    ticket = model.apply(reported("phone"), event(2, "closed", reason="duplicate"))
    with pytest.raises(rules.RuleError):
        model.apply(ticket, event(3, "confirmed"))


def test_the_public_timeline_hides_notes_and_amendments():
    ticket = model.apply(reported("kiosk"), event(2, "noted", text="internal"))
    ticket = model.apply(ticket, event(3, "confirmed"))
    assert [s["type"] for s in model.public_timeline(ticket)] == ["reported", "confirmed"]


@pytest.mark.parametrize("category, channel, due", [
    ("repair", "kiosk", NOON + timedelta(minutes=30)),
    ("emergency", "kiosk", NOON),
    ("inquiry", "phone", datetime(2026, 11, 28, 23, 59, 59, tzinfo=TZ)),
    ("complaint", "walk_in", datetime(2026, 11, 28, 23, 59, 59, tzinfo=TZ)),
])
def test_due_times(category, channel, due):
    assert rules.due_at(category, channel, NOON, TZ) == due


def test_same_day_is_the_sites_day_not_utcs():
    late = datetime(2026, 11, 28, 17, 0, tzinfo=timezone.utc)  # 01:00 on the 29th in Shanghai
    assert rules.due_at("inquiry", "phone", late, TZ) == datetime(2026, 11, 29, 23, 59, 59,
                                                                  tzinfo=TZ)


def test_a_preferred_repair_time_in_the_future_sets_the_due_time():
    later = NOON + timedelta(hours=3)
    assert rules.due_at("repair", "kiosk", NOON, TZ, later) == later


@pytest.mark.parametrize("raw, masked", [("13812345678", "*******5678"),
                                         ("01062751234", "*******1234"), ("", "")])
def test_phone_masking(raw, masked):
    assert service.mask_phone(raw) == masked
