"""``rate_tod_capture``: prices that change by time of day, as periods that cover 24 hours.

The form is flat (``periods`` = N, then ``from_i``/``to_i``/``cost_i``) so that typed values
survive a round trip through the flow unchanged. Adding and removing periods is a local edit
(``edit=add`` / ``edit=remove_i``) answered with :class:`Rerender`, so it works without JS; both
edits keep the day covered, so the customer only has to adjust times, never repair gaps.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from webapp.i18n import gettext as _
from webapp.i18n import lazy_gettext as _l
from webapp.money import to_major
from webapp.page import Page
from webapp.pages.base import FORM_ERROR, Errors, PageAdapter, Rerender, Submit
from webapp.pages.common import message_for
from webapp.pages.rates import check_rate, display_text, unit_of

DAY = 24 * 60
MAX_PERIODS = 12
_TIME_RE = re.compile(r"^(\d{1,2})(?:[:.h]?(\d{2}))?(?::(\d{2}))?$")


def parse_time(typed: str) -> int | None:
    """ "07:00", "7:00", "0700", "7", "07:00:00" -> minutes after midnight; "24:00" -> 0
    (the end of the day is midnight). ``None`` when it is not a time."""
    match = _TIME_RE.match(typed.strip().lower().replace(" ", ""))
    if not match:
        return None
    hours, minutes = int(match[1]), int(match[2] or 0)
    seconds = int(match[3] or 0)
    if hours == 24 and minutes == 0 and seconds == 0:
        return 0
    if hours > 23 or minutes > 59 or seconds > 59:
        return None
    return hours * 60 + minutes


def hhmm(minutes: int) -> str:
    minutes %= DAY
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def span(start: int, end: int) -> list[int]:
    """The minutes a period covers; end <= start wraps past midnight, start == end is all day."""
    if end == start:
        return list(range(DAY))
    if end > start:
        return list(range(start, end))
    return list(range(start, DAY)) + list(range(end))


@dataclass(frozen=True)
class CoverageProblem:
    code: str  # gap_in_time_period | overlap | incomplete_time_period
    start: int
    end: int


def coverage_problem(periods: list[tuple[int, int]]) -> CoverageProblem | None:
    """The first gap or overlap in a set of periods, walking the clock from midnight."""
    if not periods:
        return CoverageProblem("incomplete_time_period", 0, 0)
    if len(periods) > 1 and any(start == end for start, end in periods):
        # A 24-hour period next to others must overlap them.
        return CoverageProblem("overlap", 0, 0)
    count = [0] * DAY
    for start, end in periods:
        for minute in span(start, end):
            count[minute] += 1
    for wanted, code in ((0, "gap_in_time_period"), (2, "overlap")):
        run = _first_run(count, lambda c, w=wanted: c == w if w == 0 else c >= w)
        if run:
            return CoverageProblem(code, *run)
    return None


def _first_run(count: list[int], bad: Any) -> tuple[int, int] | None:
    """The first stretch of minutes where ``bad`` holds, as (start, end) minutes, joined across
    midnight so a gap from 23:00 to 01:00 is reported as one gap."""
    if not any(bad(c) for c in count):
        return None
    if all(bad(c) for c in count):
        return (0, 0)
    # Start the scan at a good minute so a run crossing midnight is not split in two.
    origin = next(i for i, c in enumerate(count) if not bad(c))
    for step in range(DAY):
        minute = (origin + step) % DAY
        if bad(count[minute]):
            end = minute
            while bad(count[end % DAY]):
                end += 1
            return (minute, end % DAY)
    return None


def _default_periods() -> list[dict[str, str]]:
    # Day and night, as most time-of-day tariffs (Economy 7 and friends) are written.
    return [
        {"from": "07:00", "to": "00:00", "cost": ""},
        {"from": "00:00", "to": "07:00", "cost": ""},
    ]


class RateTodCapture(PageAdapter):
    routes: ClassVar[tuple[str, ...]] = ("rate_tod_capture",)
    template: ClassVar[str] = "pages/rate_tod_capture.html"
    title: ClassVar[Any] = _l("Your prices by time of day")
    stage: ClassVar[int] = 4

    # -- reading --------------------------------------------------------------------------

    @staticmethod
    def periods_from_form(form: Mapping[str, Any]) -> list[dict[str, str]]:
        try:
            count = int(str(form.get("periods") or "0"))
        except ValueError:
            count = 0
        count = max(0, min(count, MAX_PERIODS))
        return [
            {
                "from": str(form.get(f"from_{i}") or "").strip()[:8],
                "to": str(form.get(f"to_{i}") or "").strip()[:8],
                "cost": str(form.get(f"cost_{i}") or "").strip()[:20],
            }
            for i in range(count)
        ]

    @staticmethod
    def periods_from_data(data: Mapping[str, Any]) -> list[dict[str, str]]:
        hours = data.get("hours") or []
        unit = unit_of(dict(data))
        periods = []
        for item in hours if isinstance(hours, list) else []:
            if not isinstance(item, Mapping):
                continue
            start = parse_time(str(item.get("valid_from") or ""))
            end = parse_time(str(item.get("valid_to") or ""))
            if start is None or end is None:
                continue
            periods.append(
                {"from": hhmm(start), "to": hhmm(end), "cost": display_text(item.get("cost"), unit)}
            )
        # Connect's blank page is one free 00:00-00:00 period; day/night is a better start.
        if not periods or (len(periods) == 1 and not periods[0]["cost"]):
            return _default_periods()
        return periods

    @staticmethod
    def flatten(periods: list[dict[str, str]]) -> dict[str, str]:
        values = {"periods": str(len(periods))}
        for i, period in enumerate(periods):
            values[f"from_{i}"] = period["from"]
            values[f"to_{i}"] = period["to"]
            values[f"cost_{i}"] = period["cost"]
        return values

    def extra_context(
        self, page: Page, ctx: Mapping[str, Any], query: Mapping[str, str]
    ) -> dict[str, Any]:
        # Values given (a re-render) carry the periods as typed; otherwise Connect's hours.
        values = ctx["values"]
        if values.get("periods"):
            periods = self.periods_from_form(values)
        else:
            periods = self.periods_from_data(page.data)
        return {
            "values": {**values, **self.flatten(periods)},
            "periods": periods,
            "unit": unit_of(page.data),
            "can_add": len(periods) < MAX_PERIODS,
            "can_remove": len(periods) > 1,
        }

    # -- local edits ----------------------------------------------------------------------

    @staticmethod
    def add_period(periods: list[dict[str, str]]) -> list[dict[str, str]]:
        """Split the last period in two at its midpoint (to the half hour), so the day stays
        covered; the new half gets an empty price for the customer to fill in."""
        if not periods:
            return _default_periods()
        last = periods[-1]
        start, end = parse_time(last["from"]), parse_time(last["to"])
        if start is None or end is None:
            return [*periods, {"from": "", "to": "", "cost": ""}]
        length = len(span(start, end))
        middle = (start + (length // 2) // 30 * 30) % DAY
        if middle == start:  # a period of under an hour: split at its minute midpoint
            middle = (start + length // 2) % DAY
        return [
            *periods[:-1],
            {**last, "to": hhmm(middle)},
            {"from": hhmm(middle), "to": hhmm(end), "cost": ""},
        ]

    @staticmethod
    def remove_period(periods: list[dict[str, str]], index: int) -> list[dict[str, str]]:
        """Drop a period and let the one before it (round the clock) take over its hours."""
        if len(periods) <= 1 or not 0 <= index < len(periods):
            return periods
        removed = periods[index]
        remaining = [p for i, p in enumerate(periods) if i != index]
        previous = (index - 1) % len(periods)
        if previous != index:
            target = previous if previous < index else previous - 1
            remaining[target] = {**remaining[target], "to": removed["to"]}
        return remaining

    # -- submitting -----------------------------------------------------------------------

    def parse(self, page: Page, form: Mapping[str, str]) -> Submit | Rerender:
        if form.get("action"):
            return super().parse(page, form)
        periods = self.periods_from_form(form)
        edit = (form.get("edit") or "").strip()
        if edit == "add":
            return Rerender(values=self.flatten(self.add_period(periods)))
        if edit.startswith("remove_") and edit[7:].isdigit():
            return Rerender(values=self.flatten(self.remove_period(periods, int(edit[7:]))))

        errors: Errors = {}
        parsed: list[tuple[int, int]] = []
        hours = []
        unit = unit_of(page.data)
        for i, period in enumerate(periods):
            start, end = parse_time(period["from"]), parse_time(period["to"])
            if start is None:
                errors[f"from_{i}"] = _("Enter the start time as HH:MM, for example 07:00.")
            if end is None:
                errors[f"to_{i}"] = _("Enter the end time as HH:MM, for example 23:00.")
            cost, problem = check_rate(period["cost"])
            if problem:
                errors[f"cost_{i}"] = problem
            if start is not None and end is not None:
                parsed.append((start, end))
                if cost is not None:
                    hours.append(
                        {
                            "valid_from": f"{hhmm(start)}:00",
                            "valid_to": f"{hhmm(end)}:00",
                            "cost": to_major(cost, unit),
                        }
                    )
        if not periods:
            errors["periods"] = message_for("incomplete_time_period")
        elif len(parsed) == len(periods):
            problem = coverage_problem(parsed)
            if problem:
                errors["periods"] = self.coverage_message(problem)
        if errors:
            return Rerender(values=self.flatten(periods), errors=errors)
        return Submit(data={"hours": hours})

    @staticmethod
    def coverage_message(problem: CoverageProblem) -> str:
        if problem.code == "gap_in_time_period":
            # Connect's message, with times a customer reads.
            return _(
                "Gap between %(start)s and %(end)s is found in the time period.",
                start=hhmm(problem.start),
                end=hhmm(problem.end),
            )
        if problem.code == "overlap":
            if problem.start == problem.end:
                return _("Time periods overlap. Each time of day must be in one period only.")
            return _(
                "Time periods overlap between %(start)s and %(end)s. "
                "Each time of day must be in one period only.",
                start=hhmm(problem.start),
                end=hhmm(problem.end),
            )
        return message_for("incomplete_time_period")

    def field_for_error(self, code: str) -> str:
        if code in {
            "gap_in_time_period",
            "incomplete_time_period",
            "valid_from_invalid",
            "valid_to_invalid",
            "cost_value_zero",
            "cost_value_negative",
        }:
            return "periods"
        return FORM_ERROR
