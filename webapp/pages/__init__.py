"""Page adapters, one per Connect route, looked up by the route a page object names.

``ROUTES`` maps every route we can render (the 14 zero pages plus the anode names that map onto
the same templates) to its adapter. A route that is not here is one we cannot render; the flow
shows its own "unknown page" error for it instead of guessing.

An adapter class says everything about its routes (names, template, title, stage), so a new
route is one adapter added to ``_ADAPTERS``.
"""

from __future__ import annotations

from webapp.pages.base import FORM_ERROR, PageAdapter, Rerender, Submit
from webapp.pages.contract_term_capture import ContractTermCapture
from webapp.pages.market_surcharge_capture import (
    MarketSurchargeCapture,
    RegionSelect,
    SurchargeCapture,
)
from webapp.pages.postal_address_capture import PostalAddressCapture
from webapp.pages.progress import Progress
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


def adapter_for(route: str | None) -> PageAdapter | None:
    """The adapter that renders ``route``, or ``None`` for a route we do not know."""
    if not route:
        return None
    return ROUTES.get(route)


__all__ = [
    "FORM_ERROR",
    "ROUTES",
    "PageAdapter",
    "Progress",
    "Rerender",
    "Submit",
    "adapter_for",
]
