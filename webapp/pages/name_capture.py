"""What ``provider_name_capture`` and ``tariff_name_capture`` share: one required name, typed by
the customer.

As on the list pages, Connect names the parts after the thing named (``item``, ``provider`` or
``tariff``): the page data holds ``<item>.name``, the step sends ``{<item>: {"name": ...}}`` and
is refused with ``<item>_name_missing``. The form field is ``<item>_name``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from webapp.page import Page
from webapp.pages.base import FORM_ERROR, PageAdapter, Rerender, Submit
from webapp.pages.common import message_for, text


class NameCapture(PageAdapter):
    #: What is named: ``provider`` or ``tariff``.
    item: ClassVar[str] = ""
    #: How much of the typed name is kept.
    max_length: ClassVar[int] = 100

    @property
    def field(self) -> str:
        return f"{self.item}_name"

    def initial_values(self, data: Mapping[str, Any]) -> dict[str, Any]:
        holder = data.get(self.item)
        name = holder.get("name") if isinstance(holder, Mapping) else ""
        return {self.field: str(name or "")}

    def parse(self, page: Page, form: Mapping[str, str]) -> Submit | Rerender:
        if form.get("action"):
            return super().parse(page, form)
        name = text(form, self.field, self.max_length)
        if not name:
            return Rerender(
                values={self.field: name},
                errors={self.field: message_for(f"{self.field}_missing")},
            )
        return Submit(data={self.item: {"name": name}})

    def field_for_error(self, code: str) -> str:
        return self.field if code == f"{self.field}_missing" else FORM_ERROR
