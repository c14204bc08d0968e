"""Where the customer is in the flow, computed from the route alone.

Connect does not tell us how many pages are left (it depends on the provider), so the bar counts
the six stages every path goes through, not pages: a customer on a library tariff skips
"Your rates" and simply sees the bar jump, which is honest about what remains.
"""

from __future__ import annotations

from dataclasses import dataclass

from webapp.i18n import lazy_gettext as _l

_STAGES = (
    _l("Your address"),
    _l("Your provider"),
    _l("Your tariff"),
    _l("Your rates"),
    _l("Tariff details"),
    _l("Check and confirm"),
)

_STAGE_OF_ROUTE: dict[str, int] = {
    "postal_address_capture": 1,
    "provider_select": 2,
    "provider_name_capture": 2,
    "tariff_select": 3,
    "tariff_structure_select": 3,
    "rate_fixed_capture": 4,
    "rate_tod_capture": 4,
    "market_surcharge_capture": 4,
    "surcharge_capture": 4,
    "region_select": 4,
    "tariff_name_capture": 5,
    "contract_term_capture": 5,
    "summary_fixed_confirm": 6,
    "summary_tou_confirm": 6,
    "tariff_summary": 6,
    "summary_tariff_inprogress": 6,
    "tariff_connection_pending": 6,
    "summary_tariff_failed": 6,
    "tariff_connection_failed": 6,
}


@dataclass(frozen=True)
class Progress:
    """Stage ``step`` of ``total``, named ``label``; ``percent`` drives the visual bar."""

    step: int
    total: int
    label: str

    @property
    def percent(self) -> int:
        return round(100 * self.step / self.total)


def progress_for(route: str | None) -> Progress | None:
    """The stage of a route, or ``None`` for routes outside the flow (errors, done)."""
    step = _STAGE_OF_ROUTE.get(route or "")
    if step is None:
        return None
    return Progress(step=step, total=len(_STAGES), label=str(_STAGES[step - 1]))
