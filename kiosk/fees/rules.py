"""How a fee is computed from the site's fee standards (收费标准, R25): pure Python, no
Flask, no store.

A standard is one version of an item: ``basis`` "area" (rate per m² of the unit's area per
month), "household" (rate per household per month) or "reading" (rate per unit read on
the meter of ``meter_kind``, optionally in tiers), ``rate`` and ``tiers`` as decimal
strings, ``valid_from`` an ISO day. A change is a new version; the version in force on a
day is the one with the latest ``valid_from`` on or before it (of two saved for the same
day, the later saved).

The rules, each part of the explanation shown step by step:

- A period is a list of whole days, both ends included. It is split at each change of
  standard: each part is computed with the standard in force on its days.
- Monthly bases (area, household) count months pro rata by days: a calendar month the
  part covers wholly counts 1, a month it covers for ``d`` of its ``n`` days counts
  ``d/n``. Amount = base × rate × months.
- Readings: consumption = the meter's reading on the period's last day minus its reading
  on its first day. At a change of standard the reading of the change day closes one part
  and opens the next (so a split needs it). A missing reading is an error naming the day
  and the nearest readings, never a guess.
- Tiers: ``rate`` applies up to the first tier's ``above`` units, each tier's rate above
  its threshold; the thresholds apply to the consumption of each part.
- Every line (a part, or a tier of a part) is rounded to the fen, half up; the total is
  the sum of the rounded lines.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

from common.messages import N_, Message

BASES = ("area", "household", "reading")
#: What each kind of meter counts, as the explanation writes it.
READING_UNITS = {"water": "m³", "electricity": "kWh", "gas": "m³"}
FEN = Decimal("0.01")

NO_STANDARD = N_("No standard of this item is in force on %(day)s: the first one is valid "
                 "from %(first)s.")
NO_AREA = N_("The archive has no area for this unit: a manager enters it on the "
             "household's page.")
NO_READING = N_("No reading of meter %(meter)s on %(day)s. Please record it on the meter "
                "readings page first; the nearest are: %(nearest)s.")
NO_METER = N_("This household has no meter of this kind with readings: record its readings "
               "on the meter readings page with the household picked.")
SEVERAL_METERS = N_("This household has several meters of this kind (%(meters)s): the "
                    "figure cannot tell which to use.")
LESS_THAN_BEFORE = N_("Meter %(meter)s shows less on %(end)s (%(last)s) than on %(start)s "
                      "(%(first)s): it was replaced or rolled over. Please compute by hand.")


class FeeError(ValueError):
    """The figure cannot be computed; ``message`` says why (a Message)."""

    def __init__(self, text: str, params: dict | None = None):
        super().__init__(text)
        self.message = Message(text, params or {})


@dataclass
class Line:
    """One step of the explanation: ``quantity`` × ``rate`` (× ``months``) = ``amount``."""

    quantity: Decimal
    rate: Decimal
    amount: Decimal
    months: list[tuple[int, int]] = field(default_factory=list)  # (days, of days) per month


@dataclass
class Part:
    """The days ``start``..``end`` computed with one ``standard``."""

    start: date
    end: date
    standard: dict
    lines: list[Line]
    first: Decimal | None = None  # readings: on ``start`` and on ``read_to``
    last: Decimal | None = None
    read_to: date | None = None  # the change day that ends the part, else ``end``

    @property
    def amount(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    @property
    def consumption(self) -> Decimal | None:
        return None if self.first is None else self.last - self.first


@dataclass
class Computation:
    """A figure and how it was reached: one part per standard in force."""

    parts: list[Part]

    @property
    def total(self) -> Decimal:
        return sum((part.amount for part in self.parts), Decimal("0.00"))


def fen(value: Fraction) -> Decimal:
    """Round an exact non-negative amount to the fen, half up."""
    with localcontext() as ctx:
        ctx.prec = 60
        return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
            FEN, rounding=ROUND_HALF_UP)


def month_period(year: int, month: int) -> tuple[date, date]:
    """Return the first and last day of a calendar month."""
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def in_force(versions: list[dict], day: date) -> dict | None:
    """Return the version in force on ``day`` (latest ``valid_from``, then latest saved)."""
    valid = [v for v in versions if v["valid_from"] <= day.isoformat()]
    return max(valid, key=lambda v: (v["valid_from"], v["seq"])) if valid else None


def split(versions: list[dict], start: date, end: date) -> list[tuple[date, date, dict]]:
    """Split ``start``..``end`` at each change of standard: (first day, last day, version).

    :raises FeeError: no version is in force on ``start``.
    """
    first = in_force(versions, start)
    if first is None:
        raise FeeError(NO_STANDARD, {"day": start.isoformat(), "first": min(
            (v["valid_from"] for v in versions), default="—")})
    changes = sorted({v["valid_from"] for v in versions
                      if start.isoformat() < v["valid_from"] <= end.isoformat()})
    bounds = [start, *(date.fromisoformat(c) for c in changes)]
    parts = []
    for i, begin in enumerate(bounds):
        last = bounds[i + 1] - timedelta(days=1) if i + 1 < len(bounds) else end
        parts.append((begin, last, in_force(versions, begin)))
    return parts


def months(start: date, end: date) -> list[tuple[int, int]]:
    """Return (days covered, days in the month) for each calendar month of start..end."""
    out, day = [], start
    while True:
        last = month_period(day.year, day.month)[1]
        stop = min(last, end)
        out.append(((stop - day).days + 1, last.day))
        if stop == end:
            return out
        day = stop + timedelta(days=1)


def months_text(covered: list[tuple[int, int]]) -> str:
    """Write the months of ``months`` as the explanation shows them: "1", "3", "16/30",
    "1 + 16/30" (whole months counted together, then each part of a month)."""
    whole = sum(1 for d, n in covered if d == n)
    parts = ([str(whole)] if whole else []) + [f"{d}/{n}" for d, n in covered if d != n]
    return " + ".join(parts)


def monthly(base: Decimal, rate: Decimal, start: date, end: date) -> Line:
    """base × rate × months, the months pro rata by days."""
    covered = months(start, end)
    count = sum((Fraction(d, n) for d, n in covered), Fraction(0))
    return Line(base, rate, fen(Fraction(base) * Fraction(rate) * count), covered)


def tiered(consumption: Decimal, rate: Decimal, tiers: list[dict]) -> list[Line]:
    """One line per tier the consumption reaches: the base rate up to the first
    threshold, each tier's rate above its own."""
    steps = [(Decimal(0), rate), *((Decimal(t["above"]), Decimal(t["rate"])) for t in tiers)]
    lines = []
    for i, (above, tier_rate) in enumerate(steps):
        upper = steps[i + 1][0] if i + 1 < len(steps) else None
        amount = (min(consumption, upper) if upper is not None else consumption) - above
        if amount > 0 or i == 0:
            amount = max(amount, Decimal(0))
            lines.append(Line(amount, tier_rate, fen(Fraction(amount) * Fraction(tier_rate))))
    return lines


def reading_on(readings: dict[str, Decimal], meter: str, day: date) -> Decimal:
    """Return the meter's reading of ``day``, or raise naming the nearest ones."""
    if day.isoformat() in readings:
        return readings[day.isoformat()]
    before = [d for d in readings if d < day.isoformat()]
    after = [d for d in readings if d > day.isoformat()]
    nearest = [d for d in (max(before, default=None), min(after, default=None)) if d]
    raise FeeError(NO_READING, {"meter": meter, "day": day.isoformat(), "nearest": ", ".join(
        f"{d} ({readings[d]})" for d in nearest) or "—"})


def compute(versions: list[dict], start: date, end: date, *, area: str = "",
            meters: dict[str, dict[str, dict[str, Decimal]]] | None = None) -> Computation:
    """Compute one item's fee for start..end (both included) from its ``versions``.

    ``area``: the unit's area in m² (area basis); ``meters``: for a reading basis, the
    household's meters, {kind: {meter code: {ISO day: reading}}}.
    :raises FeeError: no standard in force, no area, no meter or a missing reading.
    """
    parts, pieces = [], split(versions, start, end)
    for i, (begin, last, standard) in enumerate(pieces):
        rate, basis = Decimal(standard["rate"]), standard["basis"]
        if basis == "area":
            if not area:
                raise FeeError(NO_AREA)
            base = Decimal(area).quantize(FEN)  # the archive keeps at most 2 decimals
            parts.append(Part(begin, last, standard, [monthly(base, rate, begin, last)]))
        elif basis == "household":
            parts.append(Part(begin, last, standard, [monthly(Decimal(1), rate, begin, last)]))
        else:
            meter, readings = _meter((meters or {}).get(standard["meter_kind"], {}))
            close = pieces[i + 1][0] if i + 1 < len(pieces) else last  # the change day
            first, final = reading_on(readings, meter, begin), reading_on(readings, meter, close)
            if final < first:
                raise FeeError(LESS_THAN_BEFORE, {"meter": meter, "start": begin.isoformat(),
                                                  "end": close.isoformat(), "first": first,
                                                  "last": final})
            parts.append(Part(begin, last, {**standard, "meter": meter},
                              tiered(final - first, rate, standard.get("tiers") or []),
                              first, final, close))
    return Computation(parts)


def _meter(meters: dict[str, dict]) -> tuple[str, dict]:
    if not meters:
        raise FeeError(NO_METER)
    if len(meters) > 1:
        raise FeeError(SEVERAL_METERS, {"meters": ", ".join(sorted(meters))})
    return next(iter(meters.items()))
