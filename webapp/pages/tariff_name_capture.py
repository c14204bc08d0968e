"""``tariff_name_capture``: the tariff's name, as it appears on the customer's bill."""

from __future__ import annotations

from typing import Any, ClassVar

from webapp.i18n import lazy_gettext as _l
from webapp.pages.name_capture import NameCapture


class TariffNameCapture(NameCapture):
    routes: ClassVar[tuple[str, ...]] = ("tariff_name_capture",)
    template: ClassVar[str] = "pages/tariff_name_capture.html"
    title: ClassVar[Any] = _l("Your tariff's name")
    stage: ClassVar[int] = 5
    item: ClassVar[str] = "tariff"
    max_length: ClassVar[int] = 120
