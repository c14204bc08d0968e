"""``contract_term_capture``: when the contract ends, that there is no end date, or that the
customer does not know (then Connect gets no data at all, as the reference client sends)."""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

from webapp.i18n import gettext as _
from webapp.i18n import lazy_gettext as _l
from webapp.page import Page
from webapp.pages.base import PageAdapter, Rerender, Submit
from webapp.pages.common import error_field

NO_END_DATE = "0001-01-01T00:00:00Z"
_DATE_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


def parse_date(typed: str) -> date | None:
    """YYYY-MM-DD (what a date input sends) -> date; ``None`` for anything else."""
    match = _DATE_RE.match(typed.strip())
    if not match:
        return None
    try:
        value = date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None
    return value if 2000 <= value.year <= 2100 else None


def _real_date(typed: str) -> bool:
    """YYYY-MM-DD naming a day the calendar has, whatever its year."""
    try:
        date.fromisoformat(typed.strip())
    except ValueError:
        return False
    return True


def date_of(rfc3339: Any) -> date | None:
    """Connect's RFC 3339 date-time (with or without fractions) -> the calendar date."""
    if not isinstance(rfc3339, str) or not rfc3339:
        return None
    try:
        return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def example_end(today: date) -> date:
    """An end date for examples that is always ahead: the last day of this month next year.
    A fixed example goes stale (this page's said 2026-06-30 long after that day)."""
    year = today.year + 1
    return date(year, today.month, calendar.monthrange(year, today.month)[1])


class ContractTermCapture(PageAdapter):
    routes: ClassVar[tuple[str, ...]] = ("contract_term_capture",)
    template: ClassVar[str] = "pages/contract_term_capture.html"
    title: ClassVar[Any] = _l("When your contract ends")
    stage: ClassVar[int] = 5

    def today(self) -> date:
        """Today (UTC), for the example date and the earliest end date; tests pin it."""
        return datetime.now(UTC).date()

    def earliest_end(self) -> date:
        """The earliest end date taken: yesterday in UTC, so that the customer's own today is
        never refused wherever they are (UTC-12 is still on UTC's yesterday). A contract that
        has already ended has no end date to remind anyone of; the customer is on a rolling
        tariff, which is the "no end date" choice."""
        return self.today() - timedelta(days=1)

    def extra_context(
        self, page: Page, ctx: Mapping[str, Any], query: Mapping[str, str]
    ) -> dict[str, Any]:
        # The date picker greys out days before it, as the reference client's calendar does.
        return {"earliest_end": self.earliest_end().isoformat()}

    def initial_values(self, data: Mapping[str, Any]) -> dict[str, Any]:
        raw = data.get("contract_end_date")
        end = date_of(raw)
        if isinstance(raw, str) and raw.startswith("0001-01-01"):
            return {"term": "none", "contract_end_date": ""}
        if end:
            return {"term": "date", "contract_end_date": end.isoformat()}
        return {"term": "", "contract_end_date": ""}

    def parse(self, page: Page, form: Mapping[str, str]) -> Submit | Rerender:
        if form.get("action"):
            return super().parse(page, form)
        typed = (form.get("contract_end_date") or "").strip()[:20]
        term = (form.get("term") or "").strip()
        if not term and typed:
            term = "date"  # a date typed with no choice made still means "it ends then"
        values = {"term": term, "contract_end_date": typed}
        if term == "none":
            return Submit(data={"contract_end_date": NO_END_DATE})
        if term == "unknown":
            return Submit()
        if term != "date":
            return Rerender(values=values, errors={"term": _("Choose when your contract ends.")})
        if not typed:
            return Rerender(
                values=values, errors={"contract_end_date": _("Enter your contract's end date.")}
            )
        end = parse_date(typed)
        if end is None and _DATE_RE.match(typed) and _real_date(typed):
            # A real date, in the picker's format, but a year no contract has.
            return Rerender(
                values=values,
                errors={"contract_end_date": _("Enter a date between 2000 and 2100.")},
            )
        if end is None:
            # A date picker cannot post a malformed date, so this is a browser that shows a text
            # box instead: tell it the one format the box takes.
            return Rerender(
                values=values,
                errors={
                    "contract_end_date": _(
                        "Enter a real date as year-month-day, for example %(example)s.",
                        example=example_end(self.today()).isoformat(),
                    )
                },
            )
        if end < self.earliest_end():
            return Rerender(
                values=values,
                errors={
                    "contract_end_date": _(
                        "That date has passed. Enter a date from today on, or, if your contract "
                        "has already ended, choose no end date."
                    )
                },
            )
        return Submit(data={"contract_end_date": f"{end.isoformat()}T00:00:00Z"})

    def field_for_error(self, code: str) -> str:
        return error_field(self.routes[0], code)
