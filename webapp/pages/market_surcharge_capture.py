"""``market_surcharge_capture``: a market tariff's extra fees, and its region when Connect could
not find it from the address. Anode splits this page into ``region_select`` and
``surcharge_capture``; both render the same template with only their part of the form."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

from webapp.i18n import gettext as _
from webapp.i18n import lazy_gettext as _l
from webapp.money import parse_decimal, to_major
from webapp.page import Page
from webapp.pages.base import FORM_ERROR, Errors, PageAdapter, Rerender, Submit
from webapp.pages.common import message_for, text
from webapp.pages.rates import display_text, unit_of


def regions_of(data: Mapping[str, Any]) -> list[str]:
    regions = data.get("regions") or []
    return [r for r in regions if isinstance(r, str) and r] if isinstance(regions, list) else []


class MarketSurchargeCapture(PageAdapter):
    routes: ClassVar[tuple[str, ...]] = ("market_surcharge_capture",)
    template: ClassVar[str] = "pages/market_surcharge_capture.html"
    title: ClassVar[Any] = _l("Your supplier's extra charges")
    stage: ClassVar[int] = 4
    #: Which parts of the page this route shows.
    asks_surcharge: ClassVar[bool] = True
    asks_region: ClassVar[bool] = True

    def initial_values(self, data: Mapping[str, Any]) -> dict[str, Any]:
        surcharge = data.get("surcharge") if isinstance(data.get("surcharge"), Mapping) else {}
        percentage = parse_decimal(str(surcharge.get("percentage") or ""))
        return {
            "surcharge_fixed": display_text(surcharge.get("fixed"), unit_of(data)),
            "surcharge_percentage": format(percentage, "f") if percentage else "",
            "region": str(data.get("region") or ""),
        }

    def extra_context(
        self, page: Page, ctx: Mapping[str, Any], query: Mapping[str, str]
    ) -> dict[str, Any]:
        return {
            "unit": unit_of(page.data),
            "regions": regions_of(page.data) if self.asks_region else [],
            "asks_surcharge": self.asks_surcharge,
        }

    def parse(self, page: Page, form: Mapping[str, str]) -> Submit | Rerender:
        if form.get("action"):
            return super().parse(page, form)
        data = page.data
        skip = bool(form.get("skip"))
        values = {
            "surcharge_fixed": "" if skip else (form.get("surcharge_fixed") or "").strip()[:20],
            "surcharge_percentage": ""
            if skip
            else (form.get("surcharge_percentage") or "").strip()[:20],
            "region": text(form, "region", 40),
        }
        errors: Errors = {}
        payload: dict[str, Any] = {}

        if self.asks_surcharge:
            fixed = self._number(values["surcharge_fixed"])
            percentage = self._number(values["surcharge_percentage"])
            if fixed is None:
                errors["surcharge_fixed"] = _("Enter the charge as a number, for example 2.5.")
            elif fixed < 0:
                errors["surcharge_fixed"] = _("The charge cannot be negative.")
            if percentage is None:
                errors["surcharge_percentage"] = _(
                    "Enter the percentage as a number, for example 5."
                )
            elif percentage < 0:
                errors["surcharge_percentage"] = message_for("surcharge_percentage_invalid")
            elif percentage > 1000:
                errors["surcharge_percentage"] = _("That percentage looks too high.")
            if fixed is not None and percentage is not None and not errors:
                payload["surcharge"] = {
                    "fixed": to_major(fixed, unit_of(data)),
                    "percentage": float(percentage),
                }

        regions = regions_of(data) if self.asks_region else []
        if regions:
            if not values["region"]:
                errors["region"] = _("Choose your region.")
            elif values["region"] not in regions:
                errors["region"] = message_for("market_region_invalid")
            else:
                payload["region"] = values["region"]

        if errors:
            return Rerender(values=values, errors=errors)
        return Submit(data=payload)

    @staticmethod
    def _number(typed: str) -> Decimal | None:
        """An optional number: blank means no charge."""
        return Decimal(0) if not typed else parse_decimal(typed)

    def field_for_error(self, code: str) -> str:
        return {
            "surcharge_percentage_invalid": "surcharge_percentage",
            "market_region_invalid": "region",
        }.get(code, FORM_ERROR)


class SurchargeCapture(MarketSurchargeCapture):
    """Anode's surcharge page: the same fees, no region."""

    routes: ClassVar[tuple[str, ...]] = ("surcharge_capture",)
    asks_region: ClassVar[bool] = False


class RegionSelect(MarketSurchargeCapture):
    """Anode's region page: only the region."""

    routes: ClassVar[tuple[str, ...]] = ("region_select",)
    title: ClassVar[Any] = _l("Your region")
    asks_surcharge: ClassVar[bool] = False
