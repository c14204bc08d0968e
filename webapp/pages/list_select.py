"""What ``provider_select`` and ``tariff_select`` share: a searchable list of Connect items, one
of which the customer picks by id; ``?q=`` filters the list without JS."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from webapp.page import Page
from webapp.pages.base import FORM_ERROR, PageAdapter, Rerender, Submit
from webapp.pages.common import filter_items, looks_like_id, message_for, search_query, text


class ListSelect(PageAdapter):
    #: The page data object sent back with the chosen id (``provider``, ``tariff``).
    data_key: ClassVar[str] = ""
    #: The form field carrying the chosen id.
    id_field: ClassVar[str] = ""
    #: Connect's error code for no choice made.
    missing_code: ClassVar[str] = ""
    #: Template variables: the (filtered) rows, and how many there are before filtering.
    list_name: ClassVar[str] = ""
    total_name: ClassVar[str] = ""
    #: Row keys the search looks in.
    search_keys: ClassVar[tuple[str, ...]] = ()

    def rows(self, data: Mapping[str, Any]) -> list[dict[str, str]]:
        """The list's rows, as the template shows them."""
        raise NotImplementedError

    def extra_context(
        self, page: Page, ctx: Mapping[str, Any], query: Mapping[str, str]
    ) -> dict[str, Any]:
        rows = self.rows(page.data)
        q = search_query(query, ctx["values"])
        return {
            "q": q,
            self.list_name: filter_items(rows, q, *self.search_keys),
            self.total_name: len(rows),
        }

    def parse(self, page: Page, form: Mapping[str, str]) -> Submit | Rerender:
        if form.get("action"):
            return super().parse(page, form)
        chosen = text(form, self.id_field, 80)
        if not chosen:
            return Rerender(
                values={"q": text(form, "q", 100)},
                errors={FORM_ERROR: message_for(self.missing_code)},
            )
        if not looks_like_id(chosen):
            return Rerender(errors={FORM_ERROR: message_for("data_json_invalid")})
        return Submit(data={self.data_key: {"id": chosen}})
