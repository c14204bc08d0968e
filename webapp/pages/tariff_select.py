"""``tariff_select``: pick the tariff from FlatPeak's library for the chosen provider."""

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
    text,
)


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


class TariffSelect(PageAdapter):
    routes: ClassVar[tuple[str, ...]] = ("tariff_select",)
    template: ClassVar[str] = "pages/tariff_select.html"
    title: ClassVar[Any] = _l("Your tariff")

    def context(
        self,
        page: PageObject,
        values: Mapping[str, Any] | None = None,
        errors: Errors | None = None,
        query: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        ctx = super().context(page, values, errors, query)
        tariffs = tariffs_of(ctx["data"])
        q = " ".join(str((query or {}).get("q") or ctx["values"].get("q") or "").split())[:100]
        ctx["q"] = q
        ctx["tariffs"] = filter_items(tariffs, q, "name", "description")
        ctx["tariff_total"] = len(tariffs)
        ctx["address"] = address_of(ctx["data"])
        ctx["show_address"] = has_address(ctx["address"])
        return ctx

    def parse(self, page: PageObject, form: Mapping[str, str]) -> Submit | Rerender:
        if form.get("action"):
            return super().parse(page, form)
        tariff_id = text(form, "tariff_id", 80)
        if not tariff_id:
            return Rerender(
                values={"q": text(form, "q", 100)},
                errors={FORM_ERROR: message_for("tariff_id_missing")},
            )
        if not looks_like_id(tariff_id):
            return Rerender(errors={FORM_ERROR: message_for("data_json_invalid")})
        return Submit(data={"tariff": {"id": tariff_id}})
