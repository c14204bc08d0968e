"""What ``provider_name_capture`` and ``tariff_name_capture`` share: one required name, typed by
the customer, sent to Connect as ``{<data key>: {"name": ...}}``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from webapp.page import Page
from webapp.pages.base import FORM_ERROR, PageAdapter, Rerender, Submit
from webapp.pages.common import message_for, text


class NameCapture(PageAdapter):
    #: The form field the name is typed into.
    field: ClassVar[str] = ""
    #: The page data object holding the name, and the one sent back (``provider``, ``tariff``).
    data_key: ClassVar[str] = ""
    #: Connect's error code for a missing name.
    missing_code: ClassVar[str] = ""
    #: How much of the typed name is kept.
    max_length: ClassVar[int] = 100

    def initial_values(self, data: Mapping[str, Any]) -> dict[str, Any]:
        holder = data.get(self.data_key)
        name = holder.get("name") if isinstance(holder, Mapping) else ""
        return {self.field: str(name or "")}

    def parse(self, page: Page, form: Mapping[str, str]) -> Submit | Rerender:
        if form.get("action"):
            return super().parse(page, form)
        name = text(form, self.field, self.max_length)
        if not name:
            return Rerender(
                values={self.field: name},
                errors={self.field: message_for(self.missing_code)},
            )
        return Submit(data={self.data_key: {"name": name}})

    def field_for_error(self, code: str) -> str:
        return self.field if code == self.missing_code else FORM_ERROR
