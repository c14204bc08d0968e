"""``provider_name_capture``: the customer types a provider that was not in the list."""

from __future__ import annotations

from typing import Any, ClassVar

from webapp.i18n import lazy_gettext as _l
from webapp.pages.name_capture import NameCapture


class ProviderNameCapture(NameCapture):
    routes: ClassVar[tuple[str, ...]] = ("provider_name_capture",)
    template: ClassVar[str] = "pages/provider_name_capture.html"
    title: ClassVar[Any] = _l("Your provider's name")
    stage: ClassVar[int] = 2
    item: ClassVar[str] = "provider"
    max_length: ClassVar[int] = 100
