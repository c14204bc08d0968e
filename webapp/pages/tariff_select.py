"""``tariff_select``: pick the tariff from FlatPeak's library for the chosen provider."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from webapp.i18n import lazy_gettext as _l
from webapp.pages.list_select import ListSelect


class TariffSelect(ListSelect):
    routes: ClassVar[tuple[str, ...]] = ("tariff_select",)
    template: ClassVar[str] = "pages/tariff_select.html"
    title: ClassVar[Any] = _l("Your tariff")
    stage: ClassVar[int] = 3
    item: ClassVar[str] = "tariff"
    search_keys: ClassVar[tuple[str, ...]] = ("name", "description")

    def row(self, listed: Mapping[str, Any]) -> dict[str, str]:
        return {
            "id": str(listed["id"]),
            "name": str(listed.get("name") or listed["id"]),
            "description": str(listed.get("description") or ""),
        }
