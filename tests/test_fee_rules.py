"""Every fee rule (R25) on hand-built cases with answers worked out by hand: per m², per
household, by reading, tiered, a change of standard in the middle of a period, pro rata by
days, rounding half up to the fen, and each figure that cannot be computed."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from kiosk.fees import rules

D = Decimal
NOV = rules.month_period(2026, 11)


def version(rate, valid_from="2026-01-01", basis="area", seq=1, kind="", tiers=()):
    return {"item_code": "x", "name_zh": "费", "basis": basis, "meter_kind": kind,
            "rate": rate, "tiers": list(tiers), "valid_from": valid_from, "seq": seq}


def water(**days):
    """A household's one water meter W-1 with {day: reading}."""
    return {"water": {"W-1": {d.replace("_", "-")[1:]: D(r) for d, r in days.items()}}}


def lines(computation):
    return [[(line.quantity, line.rate, line.amount) for line in part.lines]
            for part in computation.parts]


def test_per_square_metre_for_a_month():
    c = rules.compute([version("2.80")], *NOV, area="89.5")
    assert lines(c) == [[(D("89.50"), D("2.80"), D("250.60"))]]
    assert rules.months_text(c.parts[0].lines[0].months) == "1" and c.total == D("250.60")


def test_per_household_over_three_whole_months():
    c = rules.compute([version("15.00", basis="household")], date(2026, 1, 1),
                      date(2026, 3, 31))
    assert c.total == D("45.00") and rules.months_text(c.parts[0].lines[0].months) == "3"


def test_part_of_a_month_counts_its_days_over_the_days_of_that_month():
    c = rules.compute([version("2.00")], date(2026, 11, 15), date(2026, 11, 30), area="100")
    assert rules.months_text(c.parts[0].lines[0].months) == "16/30"
    assert c.total == D("106.67")  # 100 × 2.00 × 16/30 = 106.666…
    leap = rules.compute([version("29.00", basis="household")], date(2028, 1, 17),
                         date(2028, 2, 14))  # 15/31 of January, 14/29 of February 2028
    assert rules.months_text(leap.parts[0].lines[0].months) == "15/31 + 14/29"
    assert leap.total == D("28.03")  # 29 × (15/31 + 14/29) = 14.0322… + 14 = 28.0322…


def test_a_change_in_the_middle_splits_the_period_pro_rata_with_each_standard():
    versions = [version("2.80"), version("3.10", valid_from="2026-11-16", seq=2)]
    c = rules.compute(versions, *NOV, area="89.50")
    assert [(p.start, p.end, p.standard["rate"]) for p in c.parts] == [
        (date(2026, 11, 1), date(2026, 11, 15), "2.80"),
        (date(2026, 11, 16), date(2026, 11, 30), "3.10")]
    assert lines(c) == [[(D("89.50"), D("2.80"), D("125.30"))],   # × 15/30
                        [(D("89.50"), D("3.10"), D("138.73"))]]   # 138.725, half up
    assert c.total == D("264.03")
    # a month before the change is still computed with the standard of then
    assert rules.compute(versions, *rules.month_period(2026, 10), area="89.50").total == D(
        "250.60")


def test_the_later_saved_of_two_versions_of_the_same_day_counts():
    versions = [version("2.80", seq=1), version("2.90", seq=5)]
    assert rules.compute(versions, *NOV, area="10").total == D("29.00")


def test_by_reading_the_end_minus_the_start():
    c = rules.compute([version("3.50", basis="reading", kind="water")], *NOV,
                      meters=water(_2026_11_01="1200.0", _2026_11_30="1234.5"))
    part = c.parts[0]
    assert (part.first, part.last, part.consumption) == (D("1200.0"), D("1234.5"), D("34.5"))
    assert lines(c) == [[(D("34.5"), D("3.50"), D("120.75"))]]


def test_tiers_charge_each_band_at_its_rate():
    tiered = version("3.00", basis="reading", kind="water",
                     tiers=[{"above": "10", "rate": "4.50"}, {"above": "30", "rate": "6.00"}])
    c = rules.compute([tiered], *NOV, meters=water(_2026_11_01="1200", _2026_11_30="1234.5"))
    assert lines(c) == [[(D("10"), D("3.00"), D("30.00")), (D("20"), D("4.50"), D("90.00")),
                         (D("4.5"), D("6.00"), D("27.00"))]]
    assert c.total == D("147.00")
    small = rules.compute([tiered], *NOV, meters=water(_2026_11_01="100", _2026_11_30="108"))
    assert lines(small) == [[(D("8"), D("3.00"), D("24.00"))]]


def test_a_change_during_a_reading_period_splits_at_the_change_days_reading():
    versions = [version("3.00", basis="reading", kind="water"),
                version("3.50", valid_from="2026-11-16", basis="reading", kind="water", seq=2)]
    c = rules.compute(versions, *NOV, meters=water(
        _2026_11_01="100", _2026_11_16="130", _2026_11_30="150"))
    assert [(p.first, p.last, p.read_to) for p in c.parts] == [
        (D("100"), D("130"), date(2026, 11, 16)), (D("130"), D("150"), date(2026, 11, 30))]
    assert lines(c) == [[(D("30"), D("3.00"), D("90.00"))], [(D("20"), D("3.50"), D("70.00"))]]
    with pytest.raises(rules.FeeError) as missing:  # no reading of the change day: no guess
        rules.compute(versions, *NOV, meters=water(_2026_11_01="100", _2026_11_30="150"))
    assert missing.value.message.params["day"] == "2026-11-16"


@pytest.mark.parametrize("used, rate, amount", [
    ("1", "0.1250", "0.13"),    # half up, where half-even would give 0.12
    ("5", "0.5250", "2.63"),    # 2.625
    ("3", "0.5875", "1.76"),    # 1.7625
    ("7", "0.0014", "0.01"),    # 0.0098
])
def test_each_line_is_rounded_half_up_to_the_fen(used, rate, amount):
    c = rules.compute([version(rate, basis="reading", kind="electricity")], *NOV,
                      meters={"electricity": {"E-1": {"2026-11-01": D(0),
                                                      "2026-11-30": D(used)}}})
    assert c.total == D(amount)


def test_the_total_is_the_sum_of_the_rounded_lines():
    versions = [version("1.005", basis="household"),
                version("1.005", valid_from="2026-11-16", basis="household", seq=2)]
    c = rules.compute(versions, *NOV)  # 1.005 × 15/30 = 0.5025 → 0.50, twice
    assert [p.amount for p in c.parts] == [D("0.50"), D("0.50")] and c.total == D("1.00")


def test_a_missing_reading_names_the_day_and_the_nearest_readings():
    with pytest.raises(rules.FeeError) as exc:
        rules.compute([version("3.50", basis="reading", kind="water")], *NOV,
                      meters=water(_2026_10_31="1190", _2026_11_30="1234.5"))
    assert exc.value.message.text == rules.NO_READING
    assert exc.value.message.params == {"meter": "W-1", "day": "2026-11-01",
                                        "nearest": "2026-10-31 (1190), 2026-11-30 (1234.5)"}


@pytest.mark.parametrize("meters, message", [
    ({}, rules.NO_METER),
    ({"water": {"W-1": {}, "W-2": {}}}, rules.SEVERAL_METERS),
    (water(_2026_11_01="900", _2026_11_30="12"), rules.LESS_THAN_BEFORE),
])
def test_a_reading_figure_that_cannot_be_told_is_an_error(meters, message):
    with pytest.raises(rules.FeeError) as exc:
        rules.compute([version("3.50", basis="reading", kind="water")], *NOV, meters=meters)
    assert exc.value.message.text == message


def test_no_area_or_no_standard_yet_is_an_error():
    with pytest.raises(rules.FeeError) as exc:
        rules.compute([version("2.80")], *NOV, area="")
    assert exc.value.message.text == rules.NO_AREA
    with pytest.raises(rules.FeeError) as exc:
        rules.compute([version("2.80", valid_from="2026-11-10")], *NOV, area="80")
    assert exc.value.message.params == {"day": "2026-11-01", "first": "2026-11-10"}
