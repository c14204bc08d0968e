"""``tariff_structure_select``: what shapes the price (flat, by time of day, or the market).

When Connect offers a single structure (a market-only provider offers ``["MARKET"]``), there is
nothing to choose: the page says how the price works and has one button, which posts that
option like the choice would (``docs/page-forms.md``)."""

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

# The only option on offer, stated rather than offered: the page's title and what comes next.
CONFIRMATIONS: dict[str, tuple[Any, Any]] = {
    "FIXED": (
        _l("You pay one price all day"),
        _l("Next, enter the price per kWh from your bill."),
    ),
    "TIME_OF_DAY": (
        _l("Your price changes with the time of day"),
        _l("Next, enter each time period and its price from your bill."),
    ),
    "MARKET": (
        _l("Your price follows the market"),
        _l(
            "It changes with the wholesale electricity price. Next, tell us what your provider "
            "adds on top of the market price."
        ),
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
        offered = self._offered(page)
        options = [
            {"value": option, "label": str(label), "hint": str(hint)}
            for option in offered
            for label, hint in [OPTION_LABELS[option]]
        ]
        if len(offered) != 1:
            return {"options": options, "only": None}
        title, lead = CONFIRMATIONS[offered[0]]
        return {"options": options, "only": {**options[0], "lead": str(lead)}, "title": str(title)}

    @staticmethod
    def _offered(page: Page) -> list[str]:
        options = page.data.get("options")
        known = [o for o in options or [] if isinstance(o, str) and o in OPTION_LABELS]
        return list(dict.fromkeys(known))  # once each, in Connect's order

    def parse(self, page: Page, form: Mapping[str, str]) -> Submit | Rerender:
        if form.get("action"):
            return super().parse(page, form)
        option = (form.get("option") or "").strip().upper()
        if option not in self._offered(page):
            return Rerender(errors={FORM_ERROR: str(_l("Choose how your price works."))})
        return Submit(data={"options": [option]})
