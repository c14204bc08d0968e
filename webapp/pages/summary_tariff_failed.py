"""``summary_tariff_failed`` (anode ``tariff_connection_failed``): Connect can no longer read
the tariff from the provider; the customer can reconnect or disconnect."""

from __future__ import annotations

from typing import Any, ClassVar

from webapp.i18n import lazy_gettext as _l
from webapp.pages.base import PageAdapter


class SummaryTariffFailed(PageAdapter):
    routes: ClassVar[tuple[str, ...]] = ("summary_tariff_failed", "tariff_connection_failed")
    template: ClassVar[str] = "pages/summary_tariff_failed.html"
    title: ClassVar[Any] = _l("We couldn't read your tariff")
    stage: ClassVar[int] = 6
