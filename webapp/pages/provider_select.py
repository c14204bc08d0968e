"""``provider_select``: pick the energy provider from the list Connect found for the address."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from flask_babel import lazy_gettext as _l

from webapp.pages.base import FORM_ERROR, Errors, PageAdapter, PageObject, Rerender, Submit
from webapp.pages.common import (
    address_of,
    filter_items,
    has_address,
    looks_like_id,
    message_for,
    safe_logo_url,
    text,
)


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


class ProviderSelect(PageAdapter):
    routes: ClassVar[tuple[str, ...]] = ("provider_select",)
    template: ClassVar[str] = "pages/provider_select.html"
    title: ClassVar[Any] = _l("Your energy provider")

    def context(
        self,
        page: PageObject,
        values: Mapping[str, Any] | None = None,
        errors: Errors | None = None,
        query: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        ctx = super().context(page, values, errors, query)
        providers = providers_of(ctx["data"])
        q = " ".join(str((query or {}).get("q") or ctx["values"].get("q") or "").split())[:100]
        ctx["q"] = q
        ctx["providers"] = filter_items(providers, q, "display_name")
        ctx["provider_total"] = len(providers)
        ctx["address"] = address_of(ctx["data"])
        ctx["show_address"] = has_address(ctx["address"])
        return ctx

    def parse(self, page: PageObject, form: Mapping[str, str]) -> Submit | Rerender:
        if form.get("action"):
            return super().parse(page, form)
        provider_id = text(form, "provider_id", 80)
        if not provider_id:
            return Rerender(
                values={"q": text(form, "q", 100)},
                errors={FORM_ERROR: message_for("provider_id_missing")},
            )
        if not looks_like_id(provider_id):
            return Rerender(errors={FORM_ERROR: message_for("data_json_invalid")})
        return Submit(data={"provider": {"id": provider_id}})
