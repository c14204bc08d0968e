"""What ``provider_select`` and ``tariff_select`` share: a searchable list of Connect items, one
of which the customer picks by id; ``?q=`` filters the list without JS.

Connect names both pages' parts after the thing picked (``item``, ``provider`` or ``tariff``):
the page data lists ``<item>s``, each with an ``id``; the step sends ``{<item>: {"id": ...}}``
and is refused with ``<item>_id_missing``. The form posts the id as ``<item>_id``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from webapp.page import Page
from webapp.pages.base import FORM_ERROR, PageAdapter, Rerender, Submit
from webapp.pages.common import filter_items, looks_like_id, message_for, search_query, text


class ListSelect(PageAdapter):
    #: What the customer picks: ``provider`` or ``tariff``.
    item: ClassVar[str] = ""
    #: Row keys the search looks in.
    search_keys: ClassVar[tuple[str, ...]] = ()

    def row(self, listed: Mapping[str, Any]) -> dict[str, str]:
        """One listed item (a mapping with an id), as the template shows it."""
        raise NotImplementedError

    def rows(self, data: Mapping[str, Any]) -> list[dict[str, str]]:
        listed = data.get(f"{self.item}s")
        return [
            self.row(entry)
            for entry in (listed if isinstance(listed, list) else [])
            if isinstance(entry, Mapping) and entry.get("id")
        ]

    def extra_context(
        self, page: Page, ctx: Mapping[str, Any], query: Mapping[str, str]
    ) -> dict[str, Any]:
        """``rows`` are the items the search leaves, ``total`` how many are listed at all."""
        rows = self.rows(page.data)
        q = search_query(query, ctx["values"])
        return {"q": q, "rows": filter_items(rows, q, *self.search_keys), "total": len(rows)}

    def parse(self, page: Page, form: Mapping[str, str]) -> Submit | Rerender:
        if form.get("action"):
            return super().parse(page, form)
        chosen = text(form, f"{self.item}_id", 80)
        if not chosen:
            return Rerender(
                values={"q": text(form, "q", 100)},
                errors={FORM_ERROR: message_for(f"{self.item}_id_missing")},
            )
        if not looks_like_id(chosen):
            return Rerender(errors={FORM_ERROR: message_for("data_json_invalid")})
        return Submit(data={self.item: {"id": chosen}})
