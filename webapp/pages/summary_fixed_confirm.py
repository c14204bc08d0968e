"""``summary_fixed_confirm`` (a flat tariff) and anode's ``tariff_summary`` (any structure)."""

from __future__ import annotations

from typing import ClassVar

from webapp.pages.summary import SummaryAdapter


class SummaryFixedConfirm(SummaryAdapter):
    routes: ClassVar[tuple[str, ...]] = ("summary_fixed_confirm",)
    template: ClassVar[str] = "pages/summary_fixed_confirm.html"
    layout: ClassVar[str] = "fixed"


class TariffSummary(SummaryAdapter):
    """Anode's one summary route: the zero summary page, laid out by the tariff's structure."""

    routes: ClassVar[tuple[str, ...]] = ("tariff_summary", "tariffs_summary")
    template: ClassVar[str] = "pages/summary_tou_confirm.html"
