"""``tariff_name_capture``: the tariff's name, as it appears on the customer's bill."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from flask_babel import lazy_gettext as _l

from webapp.pages.base import FORM_ERROR, Errors, PageAdapter, PageObject, Rerender, Submit
from webapp.pages.common import message_for, text


class TariffNameCapture(PageAdapter):
    routes: ClassVar[tuple[str, ...]] = ("tariff_name_capture",)
    template: ClassVar[str] = "pages/tariff_name_capture.html"
    title: ClassVar[Any] = _l("Your tariff's name")

    def context(
        self,
        page: PageObject,
        values: Mapping[str, Any] | None = None,
        errors: Errors | None = None,
        query: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        ctx = super().context(page, values, errors, query)
        if not values:
            tariff = ctx["data"].get("tariff")
            name = tariff.get("name") if isinstance(tariff, Mapping) else ""
            ctx["values"] = {"tariff_name": str(name or "")}
        return ctx

    def parse(self, page: PageObject, form: Mapping[str, str]) -> Submit | Rerender:
        if form.get("action"):
            return super().parse(page, form)
        name = text(form, "tariff_name", 120)
        if not name:
            return Rerender(
                values={"tariff_name": name},
                errors={"tariff_name": message_for("tariff_name_missing")},
            )
        return Submit(data={"tariff": {"name": name}})

    def field_for_error(self, code: str) -> str:
        return "tariff_name" if code == "tariff_name_missing" else FORM_ERROR
