"""``provider_select``: pick the energy provider from the list Connect found for the address."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from webapp.i18n import lazy_gettext as _l
from webapp.pages.common import safe_logo_url
from webapp.pages.list_select import ListSelect


def providers_of(data: Mapping[str, Any]) -> list[dict[str, str]]:
    providers = data.get("providers") or []
    rows = []
    for item in providers if isinstance(providers, list) else []:
        if not isinstance(item, Mapping) or not item.get("id"):
            continue
        rows.append(
            {
                "id": str(item["id"]),
                "display_name": str(item.get("display_name") or item.get("name") or item["id"]),
                "logo_url": safe_logo_url(item.get("logo_url")),
            }
        )
    return rows


class ProviderSelect(ListSelect):
    routes: ClassVar[tuple[str, ...]] = ("provider_select",)
    template: ClassVar[str] = "pages/provider_select.html"
    title: ClassVar[Any] = _l("Your energy provider")
    stage: ClassVar[int] = 2
    data_key: ClassVar[str] = "provider"
    id_field: ClassVar[str] = "provider_id"
    missing_code: ClassVar[str] = "provider_id_missing"
    list_name: ClassVar[str] = "providers"
    total_name: ClassVar[str] = "provider_total"
    search_keys: ClassVar[tuple[str, ...]] = ("display_name",)

    def rows(self, data: Mapping[str, Any]) -> list[dict[str, str]]:
        return providers_of(data)
