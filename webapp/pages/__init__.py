"""Page adapters, one per Connect route, looked up by the route a page object names.

``ROUTES`` maps every route we can render (the 14 zero pages plus the anode names that map onto
the same templates) to its adapter. A route that is not here is one we cannot render; the flow
shows its own "unknown page" error for it instead of guessing.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from webapp.pages.base import FORM_ERROR, PageAdapter, Rerender, Submit
from webapp.pages.common import action_hint, action_label
from webapp.pages.contract_term_capture import ContractTermCapture
from webapp.pages.market_surcharge_capture import (
    MarketSurchargeCapture,
    RegionSelect,
    SurchargeCapture,
)
from webapp.pages.postal_address_capture import PostalAddressCapture
from webapp.pages.progress import Progress, progress_for
from webapp.pages.provider_name_capture import ProviderNameCapture
from webapp.pages.provider_select import ProviderSelect
from webapp.pages.rate_fixed_capture import RateFixedCapture
from webapp.pages.rate_tod_capture import RateTodCapture
from webapp.pages.summary_fixed_confirm import SummaryFixedConfirm, TariffSummary
from webapp.pages.summary_tariff_failed import SummaryTariffFailed
from webapp.pages.summary_tariff_inprogress import SummaryTariffInprogress
from webapp.pages.summary_tou_confirm import SummaryTouConfirm
from webapp.pages.tariff_name_capture import TariffNameCapture
from webapp.pages.tariff_select import TariffSelect
from webapp.pages.tariff_structure_select import TariffStructureSelect

_ADAPTERS: tuple[PageAdapter, ...] = (
    PostalAddressCapture(),
    ProviderSelect(),
    ProviderNameCapture(),
    TariffSelect(),
    TariffStructureSelect(),
    RateFixedCapture(),
    RateTodCapture(),
    MarketSurchargeCapture(),
    SurchargeCapture(),
    RegionSelect(),
    TariffNameCapture(),
    ContractTermCapture(),
    SummaryFixedConfirm(),
    SummaryTouConfirm(),
    TariffSummary(),
    SummaryTariffInprogress(),
    SummaryTariffFailed(),
)

#: Every renderable route -> its adapter (zero names and anode aliases).
ROUTES: dict[str, PageAdapter] = {
    route: adapter for adapter in _ADAPTERS for route in adapter.routes
}

#: The 14 zero page routes, in flow order.
ZERO_ROUTES: tuple[str, ...] = (
    "postal_address_capture",
    "provider_select",
    "provider_name_capture",
    "tariff_select",
    "tariff_structure_select",
    "rate_fixed_capture",
    "rate_tod_capture",
    "market_surcharge_capture",
    "tariff_name_capture",
    "contract_term_capture",
    "summary_fixed_confirm",
    "summary_tou_confirm",
    "summary_tariff_inprogress",
    "summary_tariff_failed",
)


def adapter_for(route: str | None) -> PageAdapter | None:
    """The adapter that renders ``route``, or ``None`` for a route we do not know."""
    if not route:
        return None
    return ROUTES.get(route)


__all__ = [
    "FORM_ERROR",
    "ROUTES",
    "ZERO_ROUTES",
    "PageAdapter",
    "Progress",
    "Rerender",
    "Submit",
    "adapter_for",
    "init_templates",
    "progress_for",
]


def init_templates(
    app: Flask,
    flow_handle: Callable[[], str | None],
    launch_code: Callable[[], str | None] = lambda: None,
) -> None:
    """The globals the shared page partials need. They are globals rather than context because
    the partials are imported without context, so Jinja builds each module once instead of on
    every render (which was a sixth of a step's rendering time). ``launch_code`` gives a plain
    GET link or form its way back into the flow when the browser sends no cookie."""
    app.jinja_env.globals.update(
        current_flow_handle=flow_handle,
        cookieless_launch_code=launch_code,
        action_label=action_label,
        action_hint=action_hint,
    )
