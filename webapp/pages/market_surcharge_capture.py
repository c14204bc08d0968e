"""``market_surcharge_capture``: a market tariff's extra fees, and its region when Connect could
not find it from the address. Anode splits this page into ``region_select`` and
``surcharge_capture``; both render the same template with only their part of the form."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

from webapp.i18n import gettext as _
from webapp.i18n import lazy_gettext as _l
from webapp.money import finite_decimal, parse_decimal, surcharge_band, to_major
from webapp.page import Page
from webapp.pages.base import Errors, PageAdapter, Rerender, Submit
from webapp.pages.common import error_field, message_for, text
from webapp.pages.rates import (
    check_surcharge,
    confirm_checks,
    confirm_name,
    display_text,
    doubt_about_percentage,
    is_confirmed,
    typed_percentage_doubt,
    typed_price_doubt,
    unit_of,
)

ROUTE = "market_surcharge_capture"


def regions_of(data: Mapping[str, Any]) -> list[str]:
    regions = data.get("regions") or []
    return [r for r in regions if isinstance(r, str) and r] if isinstance(regions, list) else []


class MarketSurchargeCapture(PageAdapter):
    routes: ClassVar[tuple[str, ...]] = ("market_surcharge_capture",)
    template: ClassVar[str] = "pages/market_surcharge_capture.html"
    title: ClassVar[Any] = _l("Your provider's extra charges")
    stage: ClassVar[int] = 4
    #: Which parts of the page this route shows.
    asks_surcharge: ClassVar[bool] = True
    asks_region: ClassVar[bool] = True

    def initial_values(self, data: Mapping[str, Any]) -> dict[str, Any]:
        surcharge = data.get("surcharge") if isinstance(data.get("surcharge"), Mapping) else {}
        # Connect's JSON number, not typed text: str(0.00001) is "1e-05".
        percentage = finite_decimal(surcharge.get("percentage"))
        return {
            "surcharge_fixed": display_text(surcharge.get("fixed"), unit_of(data)),
            "surcharge_percentage": format(percentage, "f") if percentage else "",
            "region": str(data.get("region") or ""),
        }

    def extra_context(
        self, page: Page, ctx: Mapping[str, Any], query: Mapping[str, str]
    ) -> dict[str, Any]:
        unit = unit_of(page.data)
        fields = [
            (
                "surcharge_fixed",
                typed_price_doubt(unit, surcharge_band(unit.currency), surcharge=True),
            ),
            ("surcharge_percentage", typed_percentage_doubt),
        ]
        return {
            "unit": unit,
            "regions": regions_of(page.data) if self.asks_region else [],
            "asks_surcharge": self.asks_surcharge,
            "checks": confirm_checks(ctx["values"], ctx["errors"], fields)
            if self.asks_surcharge
            else {},
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
            unit = unit_of(data)
            confirmed = {
                name: is_confirmed(form, name, values[name])
                for name in ("surcharge_fixed", "surcharge_percentage")
            }
            values.update(
                {confirm_name(name): values[name] for name, yes in confirmed.items() if yes}
            )
            fixed, problem = check_surcharge(
                values["surcharge_fixed"], unit, confirmed=confirmed["surcharge_fixed"]
            )
            if problem:
                errors["surcharge_fixed"] = problem
            percentage = self._number(values["surcharge_percentage"])
            if percentage is None:
                errors["surcharge_percentage"] = _(
                    "Enter the percentage as a number, for example 5."
                )
            elif percentage < 0:
                errors["surcharge_percentage"] = message_for(
                    "surcharge_percentage_invalid", route=ROUTE
                )
            elif percentage > 1000:
                # Past any plausible markup: not a value a customer can confirm.
                errors["surcharge_percentage"] = _("That percentage looks too high.")
            elif not confirmed["surcharge_percentage"]:
                doubt = doubt_about_percentage(percentage)
                if doubt is not None:
                    errors["surcharge_percentage"] = doubt.message
            if fixed is not None and percentage is not None and not errors:
                payload["surcharge"] = {
                    "fixed": to_major(fixed, unit),
                    "percentage": float(percentage),
                }

        regions = regions_of(data) if self.asks_region else []
        if regions:
            if not values["region"]:
                errors["region"] = _("Choose your region.")
            elif values["region"] not in regions:
                errors["region"] = message_for("market_region_invalid", route=ROUTE)
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
        return error_field(ROUTE, code)


class SurchargeCapture(MarketSurchargeCapture):
    """Anode's surcharge page: the same fees, no region."""

    routes: ClassVar[tuple[str, ...]] = ("surcharge_capture",)
    asks_region: ClassVar[bool] = False


class RegionSelect(MarketSurchargeCapture):
    """Anode's region page: only the region."""

    routes: ClassVar[tuple[str, ...]] = ("region_select",)
    title: ClassVar[Any] = _l("Your region")
    asks_surcharge: ClassVar[bool] = False
