"""Where the customer is in the flow: the stage of the page's adapter.

Connect does not tell us how many pages are left (it depends on the provider), so the bar counts
the six stages every path goes through, not pages: a customer on a library tariff skips
"Your rates" and simply sees the bar jump, which is honest about what remains.
"""

from __future__ import annotations

from dataclasses import dataclass

from webapp.i18n import lazy_gettext as _l

#: The stages, in flow order; an adapter's ``stage`` is its place here, counted from 1.
STAGES = (
    _l("Your address"),
    _l("Your provider"),
    _l("Your tariff"),
    _l("Your rates"),
    _l("Tariff details"),
    _l("Check and confirm"),
)


@dataclass(frozen=True)
class Progress:
    """Stage ``step`` of ``total``, named ``label``; ``percent`` drives the visual bar."""

    step: int
    total: int
    label: str

    @property
    def percent(self) -> int:
        return round(100 * self.step / self.total)


def progress_at(stage: int) -> Progress:
    """The bar for ``stage`` (1 to 6, a page adapter's ``stage``)."""
    return Progress(step=stage, total=len(STAGES), label=str(STAGES[stage - 1]))
