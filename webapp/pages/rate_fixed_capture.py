"""``rate_fixed_capture``: one price per kWh, typed in the familiar unit, sent in major units."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from webapp.formatting import tax_kind
from webapp.i18n import lazy_gettext as _l
from webapp.money import price_band, to_major
from webapp.page import Page
from webapp.pages.base import PageAdapter, Rerender, Submit
from webapp.pages.common import error_field
from webapp.pages.rates import (
    PRICE_INTROS,
    check_rate,
    confirm_checks,
    confirm_name,
    display_text,
    is_confirmed,
    typed_price_doubt,
    unit_of,
)


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
        unit = unit_of(page.data)
        doubt = typed_price_doubt(unit, price_band(unit.currency))
        return {
            "unit": unit,
            "intro": str(PRICE_INTROS[tax_kind(unit.currency)]),
            "checks": confirm_checks(ctx["values"], ctx["errors"], [("cost", doubt)]),
        }

    def parse(self, page: Page, form: Mapping[str, str]) -> Submit | Rerender:
        if form.get("action"):
            return super().parse(page, form)
        typed = (form.get("cost") or "").strip()[:20]
        unit = unit_of(page.data)
        confirmed = is_confirmed(form, "cost", typed)
        value, problem = check_rate(typed, unit, confirmed=confirmed)
        if problem or value is None:
            values = {"cost": typed}
            if confirmed:
                values[confirm_name("cost")] = typed
            return Rerender(values=values, errors={"cost": problem or ""})
        return Submit(data={"cost": to_major(value, unit)})

    def field_for_error(self, code: str) -> str:
        return error_field(self.routes[0], code)
