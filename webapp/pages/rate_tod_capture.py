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
from datetime import time
from typing import Any, ClassVar

from webapp.formatting import format_time_of_day, tax_kind
from webapp.i18n import gettext as _
from webapp.i18n import lazy_gettext as _l
from webapp.money import parse_decimal, price_band, to_major
from webapp.page import Page
from webapp.pages.base import Errors, PageAdapter, Rerender, Submit
from webapp.pages.common import error_field, message_for
from webapp.pages.rates import (
    PERIOD_INTROS,
    check_rate,
    confirm_checks,
    confirm_name,
    display_text,
    is_confirmed,
    typed_price_doubt,
    unit_of,
)

DAY = 24 * 60
MAX_PERIODS = 12
_TIME_RE = re.compile(r"^(\d{1,2})(?:[:.h]?(\d{2}))?(?::(\d{2}))?(am|pm)?$")
# The times in Connect's gap message ("Gap between 15:00:00 and 16:00:00 ..."): only the times
# are used, in our own sentence.
_MESSAGE_TIMES = re.compile(r"\b(\d{1,2}:\d{2})(?::\d{2})?\b")


def parse_time(typed: str) -> int | None:
    """ "07:00", "7:00", "0700", "7", "07:00:00", "7:00 PM", "7pm" -> minutes after midnight;
    "24:00" -> 0 (the end of the day is midnight). ``None`` when it is not a time. A time input
    always posts 24-hour HH:MM; the 12-hour forms are for a browser that shows a text box, where
    a customer types what our examples show in their locale."""
    cleaned = re.sub(r"[\s\u00a0\u202f.]", "", typed.strip().lower())
    match = _TIME_RE.match(cleaned) if cleaned else None
    if not match:
        return None
    hours, minutes = int(match[1]), int(match[2] or 0)
    seconds = int(match[3] or 0)
    if match[4]:
        if not 1 <= hours <= 12:
            return None
        hours = hours % 12 + (12 if match[4] == "pm" else 0)
    if hours == 24 and minutes == 0 and seconds == 0:
        return 0
    if hours > 23 or minutes > 59 or seconds > 59:
        return None
    return hours * 60 + minutes


def hhmm(minutes: int) -> str:
    """What a time input holds and Connect gets (without the seconds): 24-hour "07:00"."""
    minutes %= DAY
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def shown(minutes: int) -> str:
    """A time of day as the customer reads it, in their locale: "3:00 PM", "15:00"."""
    minutes %= DAY
    return format_time_of_day(time(minutes // 60, minutes % 60))


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
        unit = unit_of(page.data)
        values = {**values, **self.flatten(periods)}
        doubt = typed_price_doubt(unit, price_band(unit.currency))
        return {
            "values": values,
            "periods": periods,
            "unit": unit,
            "intro": str(PERIOD_INTROS[tax_kind(unit.currency)]),
            # The hint's example times in the customer's format, as the time inputs show them.
            "times": {
                "night_from": shown(23 * 60),
                "night_to": shown(7 * 60),
                "midnight": shown(0),
            },
            "checks": confirm_checks(
                values, ctx["errors"], [(f"cost_{i}", doubt) for i in range(len(periods))]
            ),
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
        values = self.flatten(periods)
        for i, period in enumerate(periods):
            start, end = parse_time(period["from"]), parse_time(period["to"])
            if start is None:
                errors[f"from_{i}"] = _(
                    "Enter a start time, for example %(example)s.", example=shown(7 * 60)
                )
            if end is None:
                errors[f"to_{i}"] = _(
                    "Enter an end time, for example %(example)s.", example=shown(23 * 60)
                )
            confirmed = is_confirmed(form, f"cost_{i}", period["cost"])
            if confirmed:
                values[confirm_name(f"cost_{i}")] = period["cost"]
            cost, problem = check_rate(period["cost"], unit, confirmed=confirmed)
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
            errors["periods"] = message_for("incomplete_time_period", route=self.routes[0])
        elif len(parsed) == len(periods):
            problem = coverage_problem(parsed)
            if problem:
                for name, message in self.coverage_errors(problem, parsed).items():
                    errors.setdefault(name, message)
        if errors:
            return Rerender(values=values, errors=errors)
        return Submit(data={"hours": hours})

    def coverage_errors(self, problem: CoverageProblem, parsed: list[tuple[int, int]]) -> Errors:
        """A gap or overlap, on the period to fix (the end or start time that would close it)
        and in the customer's time format; on the group when no one period is to blame."""
        start, end = shown(problem.start), shown(problem.end)
        if problem.code == "gap_in_time_period":
            ending = [i for i, (_s, e) in enumerate(parsed) if e == problem.start]
            if ending:
                return {
                    f"to_{ending[0]}": _(
                        "There's a gap from %(start)s to %(end)s. End this period at %(end)s, "
                        "or start the next one at %(start)s.",
                        start=start,
                        end=end,
                    )
                }
            starting = [i for i, (s, _e) in enumerate(parsed) if s == problem.end]
            if starting:
                return {
                    f"from_{starting[0]}": _(
                        "There's a gap from %(start)s to %(end)s. Start this period at "
                        "%(start)s, or end the one before at %(end)s.",
                        start=start,
                        end=end,
                    )
                }
            return {
                "periods": _(
                    "There's a gap from %(start)s to %(end)s. Together the periods must cover "
                    "all 24 hours.",
                    start=start,
                    end=end,
                )
            }
        if problem.code == "overlap":
            whole_day = [i for i, (s, e) in enumerate(parsed) if s == e]
            if whole_day:
                return {
                    f"from_{whole_day[0]}": _(
                        "This period runs all day, so it overlaps the others. Change its times, "
                        "or remove the other periods."
                    )
                }
            overlapping = _(
                "This period overlaps another from %(start)s to %(end)s. Each time of day must "
                "be in one period only.",
                start=start,
                end=end,
            )
            # The later of two overlapping periods starts inside the earlier one.
            starting = [i for i, (s, _e) in enumerate(parsed) if s == problem.start]
            if starting:
                return {f"from_{starting[-1]}": overlapping}
            ending = [i for i, (_s, e) in enumerate(parsed) if e == problem.end]
            if ending:
                return {f"to_{ending[0]}": overlapping}
            return {
                "periods": _(
                    "Time periods overlap between %(start)s and %(end)s. Each time of day must "
                    "be in one period only.",
                    start=start,
                    end=end,
                )
            }
        return {"periods": message_for("incomplete_time_period", route=self.routes[0])}

    def field_for_error(self, code: str) -> str:
        return error_field(self.routes[0], code)

    def message_for_error(self, code: str, message: str | None = None) -> str:
        # Connect's gap message names the times: ours says them in the customer's format.
        times = _gap_times(message) if code == "gap_in_time_period" else None
        if times is not None:
            return _(
                "There's a gap from %(start)s to %(end)s. Together the periods must cover all "
                "24 hours.",
                start=shown(times[0]),
                end=shown(times[1]),
            )
        return super().message_for_error(code, message)

    def errors_for(
        self, page: Page, code: str, message: str | None, values: Mapping[str, Any]
    ) -> Errors:
        """Connect names no period: find the one to fix from what was posted, as our own check
        does, so its error sits on that period rather than on the group."""
        periods = self.periods_from_form(values)
        parsed = [(parse_time(p["from"]), parse_time(p["to"])) for p in periods]
        complete = [(s, e) for s, e in parsed if s is not None and e is not None]
        times = _gap_times(message) if code == "gap_in_time_period" else None
        if times is not None and periods and len(complete) == len(periods):
            return self.coverage_errors(CoverageProblem(code, *times), complete)
        if code in {"cost_value_zero", "cost_value_negative"}:
            for i, period in enumerate(periods):
                cost = parse_decimal(period["cost"])
                if cost is not None and (cost == 0 if code == "cost_value_zero" else cost < 0):
                    # The single-price wording: this field holds one price.
                    return {f"cost_{i}": message_for(code)}
        return super().errors_for(page, code, message, values)


def _gap_times(message: str | None) -> tuple[int, int] | None:
    """The two times Connect's gap message names, as minutes; ``None`` if it names no two."""
    found = [parse_time(t) for t in _MESSAGE_TIMES.findall(message or "")]
    if len(found) != 2 or found[0] is None or found[1] is None:
        return None
    return found[0], found[1]
