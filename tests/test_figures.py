"""Every figure of the customer feedback report and the monthly statistics
(kiosk/tickets/figures.py) on hand-built tickets whose right answers are known: ties,
empty periods, tickets across the period's edges, reopened tickets, and a period over a
daylight-saving change."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from itertools import count
from zoneinfo import ZoneInfo

import pytest

from kiosk.tickets import figures, model, rules

TZ = ZoneInfo("Asia/Shanghai")
NOV = figures.period("last_month", date(2026, 12, 2), TZ)  # 2026-11-01 .. 2026-11-30
_ids = count(1)


def at(day: int, hh: int = 10, mm: int = 0, month: int = 11, tz=TZ) -> datetime:
    return datetime(2026, month, day, hh, mm, tzinfo=tz)


def ticket(category: str, reported: datetime, *steps, channel: str = "phone",
           location: str = "LIB", due: datetime | None = None) -> dict:
    """A ticket folded from a report and ``steps``: (type, minutes after the report, data)."""
    n = next(_ids)
    due = due or rules.due_at(category, channel, reported, TZ)
    t = model.apply(None, {
        "ticket_id": f"T{n}", "seq": 1, "type": "reported", "at": reported.isoformat(),
        "actor": {"role": "visitor"},
        "data": {"number": f"{rules.CATEGORIES[category].letter}-{n:03d}", "token": f"tok{n}",
                 "day": reported.date().isoformat(), "category": category, "channel": channel,
                 "location": location, "due_at": due.isoformat()}})
    for kind, after, data in steps:
        t = model.apply(t, {"ticket_id": t["id"], "seq": t["seq"] + 1, "type": kind,
                            "at": (reported + timedelta(minutes=after)).isoformat(),
                            "actor": {"role": "receptionist", "id": "s", "name": "Li"},
                            "data": data})
    return t


def repair(reported, arrive_after, *more, how="verified", agreed=None, fee=None):
    steps = [("dispatched", 2, {"department": "maintenance"})]
    if agreed:
        steps.append(("deadline_agreed", 3, {"due_at": (reported + timedelta(minutes=agreed))
                                             .isoformat(), "reason": "parts"}))
    steps.append(("arrived", arrive_after, {"how": how}))
    return ticket("repair", reported, *steps, *more)


def completed(after, fee=None, result="done"):
    return ("completed", after, {"result": result, "fee": fee,
                                 "revisit_due": at(28).isoformat()})


# -- periods ---------------------------------------------------------------------------
def test_the_presets_are_whole_site_days():
    today = date(2026, 12, 2)
    assert (NOV.first, NOV.last, NOV.key) == (date(2026, 11, 1), date(2026, 11, 30), "2026-11")
    two = figures.period("last_two_months", today, TZ)
    assert (two.first, two.last, two.key) == (date(2026, 10, 1), date(2026, 11, 30),
                                              "2026-10..2026-11")
    now = figures.period("this_month", today, TZ)
    assert (now.first, now.last) == (date(2026, 12, 1), date(2026, 12, 2))
    assert NOV.start == at(1, 0, 0) and NOV.end == datetime(2026, 12, 1, tzinfo=TZ)
    assert NOV.start.tzinfo is timezone.utc
    assert NOV.previous().key == "2026-10" and two.previous().key == "2026-08..2026-09"
    custom = figures.period("custom", today, TZ, date(2026, 11, 10), date(2026, 11, 19))
    assert (custom.previous().first, custom.previous().last) == (date(2026, 10, 31),
                                                                 date(2026, 11, 9))
    for bad in ((None, None), (date(2026, 11, 2), date(2026, 11, 1)),
                (date(2025, 1, 1), date(2026, 11, 1))):
        with pytest.raises(ValueError):
            figures.period("custom", today, TZ, *bad)
    assert figures.period_ended(today, TZ, 1).key == "2026-11"
    assert figures.period_ended(today, TZ, 2).key == "2026-09..2026-10"  # Nov-Dec not over
    assert figures.period_ended(date(2027, 1, 5), TZ, 2).key == "2026-11..2026-12"


def test_a_period_over_a_daylight_saving_change_keeps_whole_local_days():
    berlin = ZoneInfo("Europe/Berlin")  # clocks go back on Sunday 25 October 2026
    october = figures.period("last_month", date(2026, 11, 5), berlin)
    assert october.end - october.start == timedelta(days=31, hours=1)  # one 25-hour day
    late = ticket("inquiry", datetime(2026, 10, 25, 23, 30, tzinfo=berlin))  # after the change
    first = ticket("inquiry", datetime(2026, 10, 1, 0, 10, tzinfo=berlin))
    outside = ticket("inquiry", datetime(2026, 10, 31, 23, 30, tzinfo=timezone.utc))  # Nov 1 00:30
    days = dict(figures.daily(figures.reported_in([late, first, outside], october), october))
    assert len(days) == 31 and days["2026-10-25"] == 1 and days["2026-10-01"] == 1
    assert sum(days.values()) == 2


# -- totals, change, days, places ---------------------------------------------------------
def test_totals_count_only_what_was_reported_in_the_period_with_the_change():
    inside = [ticket("repair", at(1, 0, 0)), ticket("inquiry", at(30, 23, 59), channel="kiosk"),
              ticket("complaint", at(15))]
    edges = [ticket("repair", at(31, 23, 59, month=10)), ticket("inquiry", at(1, 0, 0, month=12))]
    october = [ticket("repair", at(5, month=10)), ticket("repair", at(6, month=10))]
    report = figures.report(inside + edges + october, NOV)
    assert report["total"] == 3 and report["previous_total"] == 3  # the edge is October's
    assert report["change"] == 0
    assert report["by_category"]["repair"] == 1 and report["by_category"]["emergency"] == 0
    assert report["by_channel"] == {"kiosk": 1, "qr": 0, "phone": 2, "walk_in": 0}
    assert figures.change(11, 10) == pytest.approx(0.1) and figures.change(5, 0) is None


def test_an_empty_period_has_zeros_and_no_shares():
    report = figures.report([], NOV)
    assert report["total"] == 0 and report["change"] is None
    assert report["repairs"]["arrival_median"] is None and report["repairs"]["in_time_share"] is None
    assert report["complaints"]["signed_off_share"] is None and report["same_day"]["share"] is None
    assert report["revisits"] == {"done": 0, "satisfied": 0, "satisfied_share": None,
                                  "unsatisfied": []}
    assert len(report["daily"]) == 30 and {n for _, n in report["daily"]} == {0}
    assert report["places"] == {"top": [], "repeats": []} and report["carried_over"] == []


def test_top_places_break_ties_by_code_and_repeats_are_one_category_at_one_place():
    tickets = [ticket("repair", at(2), location="GYM"), ticket("repair", at(3), location="GYM"),
               ticket("inquiry", at(4), location="GYM"), ticket("repair", at(5), location="ART"),
               ticket("complaint", at(6), location="ART"), ticket("repair", at(7), location="")]
    places = figures.places(tickets, top=2)
    assert places["top"] == [["GYM", 3], ["ART", 2]]
    assert places["repeats"] == [{"location": "GYM", "category": "repair", "count": 2}]


# -- repairs ----------------------------------------------------------------------------
def test_repairs_arrival_median_p90_in_time_share_and_agreed_deadlines_apart():
    tickets = [repair(at(2), 10), repair(at(3), 20, how="declared"), repair(at(4), 30),
               repair(at(5), 40, how="phone"),
               repair(at(6), 120, agreed=180),  # late against 30 minutes, in time as agreed
               repair(at(7), 200, agreed=180),  # late even as agreed
               ticket("repair", at(8), ("dispatched", 2, {"department": "maintenance"}))]
    r = figures.repairs(tickets)
    assert (r["count"], r["arrived"]) == (7, 6)
    assert r["arrival_median"] == 35  # (30 + 40) / 2: an even count
    assert r["arrival_p90"] == 200  # nearest rank: the 6th of 6
    assert (r["in_time"], r["in_time_share"]) == (3, 0.75)  # 10, 20, 30 of 10..40
    assert (r["agreed"], r["agreed_in_time"]) == (2, 1)
    assert (r["verified"], r["declared"], r["by_phone"]) == (4, 1, 1)


def test_completion_is_timed_to_the_first_completion_even_when_reopened():
    reopened = repair(at(2), 10, completed(60),
                      ("revisited", 100, {"outcome": "unsatisfied", "comment": "Still drips"}),
                      completed(500), ("revisited", 600, {"outcome": "satisfied"}))
    once = repair(at(3), 10, completed(90))
    r = figures.repairs([reopened, once])
    assert r["completed"] == 2 and r["completion_median"] == 75
    revisits = figures.revisits([reopened, once])
    assert (revisits["done"], revisits["satisfied"], revisits["satisfied_share"]) == (2, 1, 0.5)
    assert [u["comment"] for u in revisits["unsatisfied"]] == ["Still drips"]


# -- complaints, same day, emergencies, carried over -----------------------------------------
def test_complaints_signed_off_by_department_fed_back_and_time_to_close():
    def complaint(day, *steps):
        return ticket("complaint", at(day), *steps)
    full = complaint(2, ("investigated", 5, {"facts": "f"}), ("signed_off", 10, {}),
                     ("transferred", 20, {"department": "security"}),
                     ("resolved", 60, {"result": "r"}), ("fed_back", 70, {"how": "phone"}),
                     ("closed", 120, {"reason": "done"}))
    signed = complaint(3, ("investigated", 5, {"facts": "f"}), ("signed_off", 10, {}),
                       ("transferred", 20, {"department": "cleaning"}))
    raw = complaint(4)
    spam = complaint(5, ("closed", 30, {"reason": "spam"}))
    c = figures.complaints([full, signed, raw, spam])
    assert c["count"] == 4 and c["signed_off_share"] == 0.5 and c["fed_back_share"] == 0.25
    assert c["by_department"] == {"cleaning": 1, "security": 1}  # a tie: by code
    assert c["close_median"] == 75  # (120 + 30) / 2


def test_same_day_counts_phone_and_walk_in_records_handled_by_the_end_of_their_day():
    on_time = ticket("inquiry", at(2, 17, 0), ("resolved", 30, {"result": "r"}))  # 17:30
    late = ticket("inquiry", at(3, 17, 0), ("transferred", 90, {"person": "Wang"}))  # 18:30
    evening = ticket("inquiry", at(4, 19, 0), channel="walk_in")  # due 5th 18:00, never handled
    kiosk = ticket("inquiry", at(5), ("confirmed", 1, {}), ("resolved", 5, {"result": "r"}),
                   channel="kiosk")
    assert figures.same_day([on_time, late, evening, kiosk]) == {"count": 3, "handled": 1,
                                                                "share": pytest.approx(1 / 3)}


def test_emergencies_list_who_was_told_when_and_who_acknowledged():
    emergency = ticket("emergency", at(9, 8, 0), ("escalated", 1, {"level": 0, "name": "Zhou"}),
                       ("escalated", 6, {"level": 1, "name": "Qian"}),
                       ("acknowledged", 7, {"level": 1, "by": "Qian"}))
    raised = ticket("inquiry", at(10), ("raised", 30, {"reason": "water"}),
                    ("acknowledged", 34, {"level": 0, "by": "Zhou"}))
    listed = figures.emergencies([raised, ticket("repair", at(11)), emergency])
    assert [e["number"] for e in listed] == [emergency["number"], raised["number"]]
    assert [(t["level"], t["minutes"]) for t in listed[0]["told"]] == [(0, 1), (1, 6)]
    assert (listed[0]["acknowledged_by"], listed[0]["acknowledged_minutes"]) == ("Qian", 7)
    assert listed[1]["acknowledged_minutes"] == 4  # from when it was raised


def test_carried_over_are_those_still_open_when_the_period_ended():
    closed_inside = ticket("inquiry", at(29), ("closed", 60, {"reason": "spam"}))
    closed_after = ticket("inquiry", at(30, 23, 0), ("closed", 120, {"reason": "spam"}))
    still_open = ticket("repair", at(20))
    assert figures.carried_over([closed_inside, closed_after, still_open], NOV) == sorted(
        [closed_after["number"], still_open["number"]])


# -- the summary, the monthly statistics -------------------------------------------------------
def test_the_summary_is_built_from_the_figures_in_the_pages_language():
    tickets = [repair(at(2), 10), repair(at(3), 50), ticket("inquiry", at(4))]
    before = [ticket("inquiry", at(4, month=10)), ticket("inquiry", at(5, month=10))]
    report = figures.report(tickets + before, NOV)
    english = figures.summary(report, lambda s: s)
    assert english == ["3 matters in all, 50% more than the period before.",
                       "Most were Repair: 2.",
                       "50% of repairs had maintenance on site within 30 minutes."]
    marked = figures.summary(report, lambda s: f"<{s}>")  # every text goes through gettext
    assert marked[1] == "<Most were <Repair>: 2.>"
    assert figures.summary(figures.report(before, NOV), str)[0] == "0 matters in all, 100% fewer than the period before."


def test_monthly_dispatch_statistics_per_department_and_the_paid_services():
    a = repair(at(2), 10, completed(50, fee="35.00", result="tap"))
    b = repair(at(3), 45, completed(100))  # late on site
    c = ticket("repair", at(4), ("dispatched", 2, {"department": "energy"}))  # never arrived
    outside = repair(at(2, month=10), 10, completed(30, fee="99.00"))
    rows = {r["department"]: r for r in figures.dispatch_statistics([a, b, c, outside], NOV)}
    assert rows["maintenance"] == {"department": "maintenance", "received": 2, "completed": 2,
                                   "late": 1, "arrival_median": 25.5, "completion_median": 75}
    assert rows["energy"]["late"] == 1 and rows["energy"]["completed"] == 0
    paid = figures.paid_services([a, b, c, outside], NOV)
    assert [r["number"] for r in paid["rows"]] == [a["number"]] and paid["total"] == "35.00"


@pytest.mark.parametrize("values, q, expected", [([], 0.5, None), ([5], 0.9, 5),
                                                 ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9, 9),
                                                 ([3, 1, 2], 0.5, 2)])
def test_percentiles_are_nearest_rank(values, q, expected):
    assert figures.percentile(values, q) == expected


def test_the_median_of_ties_and_even_counts():
    assert figures.median([4, 4, 4, 9]) == 4 and figures.median([1, 2]) == 1.5
    assert figures.median([]) is None
