"""``provider_name_capture``: the customer types a provider that was not in the list."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from flask_babel import lazy_gettext as _l

from webapp.pages.base import FORM_ERROR, Errors, PageAdapter, PageObject, Rerender, Submit
from webapp.pages.common import address_of, has_address, message_for, text


class ProviderNameCapture(PageAdapter):
    routes: ClassVar[tuple[str, ...]] = ("provider_name_capture",)
    template: ClassVar[str] = "pages/provider_name_capture.html"
    title: ClassVar[Any] = _l("Your provider's name")

    def context(
        self,
        page: PageObject,
        values: Mapping[str, Any] | None = None,
        errors: Errors | None = None,
        query: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        ctx = super().context(page, values, errors, query)
        if not values:
            provider = ctx["data"].get("provider") or {}
            name = provider.get("name") if isinstance(provider, Mapping) else ""
            ctx["values"] = {"provider_name": str(name or "")}
        ctx["address"] = address_of(ctx["data"])
        ctx["show_address"] = has_address(ctx["address"])
        return ctx

    def parse(self, page: PageObject, form: Mapping[str, str]) -> Submit | Rerender:
        if form.get("action"):
            return super().parse(page, form)
        name = text(form, "provider_name", 100)
        if not name:
            return Rerender(
                values={"provider_name": name},
                errors={"provider_name": message_for("provider_name_missing")},
            )
        return Submit(data={"provider": {"name": name}})

    def field_for_error(self, code: str) -> str:
        return "provider_name" if code == "provider_name_missing" else FORM_ERROR
