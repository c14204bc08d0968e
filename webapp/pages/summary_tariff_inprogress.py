"""``summary_tariff_inprogress`` (anode ``tariff_connection_pending``): the provider has not
sent the tariff yet; the customer can keep waiting, disconnect, or enter it another way."""

from __future__ import annotations

from typing import Any, ClassVar

from webapp.i18n import lazy_gettext as _l
from webapp.pages.base import PageAdapter


class SummaryTariffInprogress(PageAdapter):
    routes: ClassVar[tuple[str, ...]] = ("summary_tariff_inprogress", "tariff_connection_pending")
    template: ClassVar[str] = "pages/summary_tariff_inprogress.html"
    title: ClassVar[Any] = _l("Your tariff is on its way")
    stage: ClassVar[int] = 6
