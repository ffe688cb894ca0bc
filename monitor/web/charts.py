"""The geometry of the console's bar charts (alerts per day), drawn as SVG
by a template macro that escapes every label. Pure: counts in, boxes out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from monitor.store.alert_log import DailyAlertCount

CHART_DAYS = 30
WIDTH = 300
HEIGHT = 48
GAP = 2
"""Space between two bars, in the chart's units."""
MIN_BAR = 1.5
"""The height of a day with alerts, however few next to the busiest day: it never vanishes."""


@dataclass(frozen=True)
class Bar:
    """One day's bar, in the chart's units (y grows downwards, as in SVG)."""

    day: date
    count: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class DayChart:
    """Bars for consecutive days ending on ``last_day``, scaled to the busiest."""

    bars: tuple[Bar, ...]
    width: int
    height: int
    peak: int
    total: int

    @property
    def first_day(self) -> date:
        return self.bars[0].day

    @property
    def last_day(self) -> date:
        return self.bars[-1].day


def day_chart(
    counts: Mapping[date, int],
    *,
    last_day: date,
    days: int = CHART_DAYS,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> DayChart:
    """A bar per day for ``days`` days up to ``last_day``; a day missing from
    ``counts`` had none. Counts outside the window are left out."""
    if days < 1:
        raise ValueError(f"a chart needs at least one day (got {days})")
    window = [last_day - timedelta(days=days - 1 - n) for n in range(days)]
    shown = [max(0, counts.get(day, 0)) for day in window]
    peak = max(shown)
    slot = width / days
    bars = []
    for index, (day, count) in enumerate(zip(window, shown, strict=True)):
        tall = 0.0 if count == 0 else max(MIN_BAR, height * count / peak)
        bars.append(
            Bar(
                day=day,
                count=count,
                x=round(index * slot + GAP / 2, 2),
                y=round(height - tall, 2),
                width=round(max(slot - GAP, 1.0), 2),
                height=round(tall, 2),
            )
        )
    return DayChart(bars=tuple(bars), width=width, height=height, peak=peak, total=sum(shown))


def counts_by_rule(rows: Iterable[DailyAlertCount]) -> dict[str, dict[date, int]]:
    """The store's daily counts grouped by rule: rule -> day -> count."""
    grouped: dict[str, dict[date, int]] = {}
    for row in rows:
        days = grouped.setdefault(row.rule_id, {})
        days[row.day] = days.get(row.day, 0) + row.alerts
    return grouped
