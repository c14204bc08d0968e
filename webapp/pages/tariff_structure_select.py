"""``tariff_structure_select``: what shapes the price (flat, by time of day, or the market)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from webapp.i18n import lazy_gettext as _l
from webapp.page import Page
from webapp.pages.base import FORM_ERROR, PageAdapter, Rerender, Submit

# The options we have pages for, with what the customer sees. ADVANCED leads to
# rate_advanced_capture, which is not one of the 14 pages: we do not offer a dead end.
OPTION_LABELS: dict[str, tuple[Any, Any]] = {
    "FIXED": (
        _l("One price all day"),
        _l("You pay the same price per kWh at any time of day."),
    ),
    "TIME_OF_DAY": (
        _l("Different prices at different times"),
        _l("For example a cheaper night rate, like Economy 7."),
    ),
    "MARKET": (
        _l("Price follows the market"),
        _l("An agile or tracker tariff whose price changes with the wholesale market."),
    ),
}


class TariffStructureSelect(PageAdapter):
    routes: ClassVar[tuple[str, ...]] = ("tariff_structure_select",)
    template: ClassVar[str] = "pages/tariff_structure_select.html"
    title: ClassVar[Any] = _l("How your price works")
    stage: ClassVar[int] = 3

    def extra_context(
        self, page: Page, ctx: Mapping[str, Any], query: Mapping[str, str]
    ) -> dict[str, Any]:
        return {
            "options": [
                {"value": option, "label": str(label), "hint": str(hint)}
                for option in self._offered(page)
                for label, hint in [OPTION_LABELS[option]]
            ]
        }

    @staticmethod
    def _offered(page: Page) -> list[str]:
        options = page.data.get("options") or []
        return [o for o in options if isinstance(o, str) and o in OPTION_LABELS]

    def parse(self, page: Page, form: Mapping[str, str]) -> Submit | Rerender:
        if form.get("action"):
            return super().parse(page, form)
        option = (form.get("option") or "").strip().upper()
        if option not in self._offered(page):
            return Rerender(errors={FORM_ERROR: str(_l("Choose how your price works."))})
        return Submit(data={"options": [option]})
