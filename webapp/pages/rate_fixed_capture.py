"""``rate_fixed_capture``: one price per kWh, typed in the familiar unit, sent in major units."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from webapp.i18n import lazy_gettext as _l
from webapp.money import to_major
from webapp.page import Page
from webapp.pages.base import FORM_ERROR, PageAdapter, Rerender, Submit
from webapp.pages.rates import check_rate, display_text, unit_of


class RateFixedCapture(PageAdapter):
    routes: ClassVar[tuple[str, ...]] = ("rate_fixed_capture",)
    template: ClassVar[str] = "pages/rate_fixed_capture.html"
    title: ClassVar[Any] = _l("Your price per kWh")
    stage: ClassVar[int] = 4

    def initial_values(self, data: Mapping[str, Any]) -> dict[str, Any]:
        return {"cost": display_text(data.get("cost"), unit_of(data))}

    def extra_context(
        self, page: Page, ctx: Mapping[str, Any], query: Mapping[str, str]
    ) -> dict[str, Any]:
        return {"unit": unit_of(page.data)}

    def parse(self, page: Page, form: Mapping[str, str]) -> Submit | Rerender:
        if form.get("action"):
            return super().parse(page, form)
        typed = (form.get("cost") or "").strip()[:20]
        value, problem = check_rate(typed)
        if problem or value is None:
            return Rerender(values={"cost": typed}, errors={"cost": problem or ""})
        return Submit(data={"cost": to_major(value, unit_of(page.data))})

    def field_for_error(self, code: str) -> str:
        if code in {"cost_value_zero", "cost_value_negative"}:
            return "cost"
        return FORM_ERROR
