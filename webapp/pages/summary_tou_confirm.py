"""``summary_tou_confirm``: a time-of-use, market or dynamic tariff, with the day's rates."""

from __future__ import annotations

from typing import ClassVar

from webapp.pages.summary import SummaryAdapter


class SummaryTouConfirm(SummaryAdapter):
    routes: ClassVar[tuple[str, ...]] = ("summary_tou_confirm",)
    template: ClassVar[str] = "pages/summary_tou_confirm.html"
