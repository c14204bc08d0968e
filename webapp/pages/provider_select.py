"""``provider_select``: pick the energy provider from the list Connect found for the address.

The list is shown A to Z. Connect's order carries no meaning it documents (the sandbox lists one
provider of each kind first), and a customer looking for the name on their bill scans an
alphabetical list, or searches it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from webapp.i18n import lazy_gettext as _l
from webapp.pages.common import fold, safe_logo_url
from webapp.pages.list_select import ListSelect


class ProviderSelect(ListSelect):
    routes: ClassVar[tuple[str, ...]] = ("provider_select",)
    template: ClassVar[str] = "pages/provider_select.html"
    title: ClassVar[Any] = _l("Your energy provider")
    stage: ClassVar[int] = 2
    item: ClassVar[str] = "provider"
    search_keys: ClassVar[tuple[str, ...]] = ("display_name",)

    def row(self, listed: Mapping[str, Any]) -> dict[str, str]:
        return {
            "id": str(listed["id"]),
            "display_name": str(listed.get("display_name") or listed.get("name") or listed["id"]),
            "logo_url": safe_logo_url(listed.get("logo_url")),
        }

    def rows(self, data: Mapping[str, Any]) -> list[dict[str, str]]:
        # Case and accents ignored ("Électricité" among the Es); the id breaks ties so two
        # providers of one name keep a stable order.
        return sorted(super().rows(data), key=lambda row: (fold(row["display_name"]), row["id"]))
