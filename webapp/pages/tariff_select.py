"""``tariff_select``: pick the tariff from FlatPeak's library for the chosen provider."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from webapp.i18n import lazy_gettext as _l
from webapp.pages.list_select import ListSelect


def tariffs_of(data: Mapping[str, Any]) -> list[dict[str, str]]:
    tariffs = data.get("tariffs") or []
    rows = []
    for item in tariffs if isinstance(tariffs, list) else []:
        if not isinstance(item, Mapping) or not item.get("id"):
            continue
        rows.append(
            {
                "id": str(item["id"]),
                "name": str(item.get("name") or item["id"]),
                "description": str(item.get("description") or ""),
            }
        )
    return rows


class TariffSelect(ListSelect):
    routes: ClassVar[tuple[str, ...]] = ("tariff_select",)
    template: ClassVar[str] = "pages/tariff_select.html"
    title: ClassVar[Any] = _l("Your tariff")
    stage: ClassVar[int] = 3
    data_key: ClassVar[str] = "tariff"
    id_field: ClassVar[str] = "tariff_id"
    missing_code: ClassVar[str] = "tariff_id_missing"
    list_name: ClassVar[str] = "tariffs"
    total_name: ClassVar[str] = "tariff_total"
    search_keys: ClassVar[tuple[str, ...]] = ("name", "description")

    def rows(self, data: Mapping[str, Any]) -> list[dict[str, str]]:
        return tariffs_of(data)
