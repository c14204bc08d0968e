"""Where the customer is in the flow: the stage of the page's adapter.

Connect does not say how many pages are left, and the number depends on the provider: a
provider login can go straight from the provider list to the summary, a library tariff comes
with its rates, and the contract page only appears when Connect lacks the term. A count ("Step 3
of 6") would be a promise the path then breaks, so the bar names the stage the customer is in
and fills up as far as that stage is along the way, without a number.

An adapter's ``stage`` says which part of the flow its page belongs to (one of :data:`PARTS`,
counted from 1). The bar shows fewer stages than there are parts: entering the rates belongs to
"Your tariff", so a library tariff, which has no rates to enter, skips no stage on its way to
"Tariff details". Only a provider login skips stages (it reads the tariff itself); the bar then
fills up in one go, which is what happened.
"""

from __future__ import annotations

from dataclasses import dataclass

from webapp.i18n import lazy_gettext as _l

#: The parts of the flow, in flow order; an adapter's ``stage`` is its place here, from 1.
PARTS = ("address", "provider", "tariff", "rates", "details", "confirm")

#: The stages the bar names, in flow order.
STAGES = (
    _l("Your address"),
    _l("Your provider"),
    _l("Your tariff"),
    _l("Tariff details"),
    _l("Check and confirm"),
)

#: Each part's stage, counted from 1 (the rates are part of "Your tariff").
STAGE_OF_PART = {
    "address": 1,
    "provider": 2,
    "tariff": 3,
    "rates": 3,
    "details": 4,
    "confirm": 5,
}


@dataclass(frozen=True)
class Progress:
    """Stage ``step`` of ``total``, named ``label``. Only the bar shows the position; the text
    names the stage, since the number of stages left depends on the path."""

    step: int
    total: int
    label: str

    @property
    def percent(self) -> int:
        return round(100 * self.step / self.total)


def stage_of(part: int) -> int:
    """The stage (1 to ``len(STAGES)``) of an adapter's ``stage`` (1 to ``len(PARTS)``)."""
    return STAGE_OF_PART[PARTS[part - 1]]


def progress_at(part: int) -> Progress:
    """The bar for a page of ``part`` (an adapter's ``stage``, 1 to 6)."""
    step = stage_of(part)
    return Progress(step=step, total=len(STAGES), label=str(STAGES[step - 1]))
