"""``postal_address_capture``: the property's address, which drives everything after it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from babel import Locale
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from webapp.pages.base import FORM_ERROR, Errors, PageAdapter, PageObject, Rerender, Submit
from webapp.pages.common import ADDRESS_FIELDS, address_of, message_for, text
from webapp.pages.regions import STATES

_COUNTRY_RE = re.compile(r"^[A-Z]{2}$")


def country_names() -> dict[str, str]:
    """ISO 3166-1 alpha-2 code -> name in the customer's locale, sorted by name. Babel's
    territory list also holds continents ("001") and pseudo-regions ("ZZ"), which we drop."""
    try:
        locale = get_locale() or Locale("en")
    except RuntimeError:  # outside a request: tests of the adapter alone
        locale = Locale("en")
    names = {
        code: name
        for code, name in locale.territories.items()
        if _COUNTRY_RE.match(code) and code not in {"ZZ", "QO", "EU", "EZ", "UN", "XA", "XB"}
    }
    return dict(sorted(names.items(), key=lambda item: item[1].casefold()))


class PostalAddressCapture(PageAdapter):
    routes: ClassVar[tuple[str, ...]] = ("postal_address_capture",)
    template: ClassVar[str] = "pages/postal_address_capture.html"
    title: ClassVar[Any] = _l("Your address")

    def initial_values(self, data: Mapping[str, Any]) -> dict[str, Any]:
        return address_of(data)

    def context(
        self,
        page: PageObject,
        values: Mapping[str, Any] | None = None,
        errors: Errors | None = None,
        query: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        ctx = super().context(page, values, errors, query)
        country = str(ctx["values"].get("country_code") or "").strip().upper()
        # A GET with ?country_code= (the country select changed, with JS) picks the state list.
        if query and query.get("country_code"):
            country = str(query["country_code"]).strip().upper()[:2]
            ctx["values"]["country_code"] = country
        ctx["values"]["country_code"] = country
        ctx["countries"] = country_names()
        ctx["states"] = STATES.get(country)
        ctx["state_lists"] = STATES
        return ctx

    def parse(self, page: PageObject, form: Mapping[str, str]) -> Submit | Rerender:
        values = {name: text(form, name, 120) for name in ADDRESS_FIELDS}
        values["country_code"] = values["country_code"].upper()
        if form.get("action"):
            return super().parse(page, form)
        if form.get("edit") == "country":
            # No-JS "update the list of states" button: show the state select for the country.
            return Rerender(values=values)

        errors: Errors = {}
        for name, code in (
            ("address_line1", "address_line1_missing"),
            ("city", "city_missing"),
            ("post_code", "post_code_missing"),
            ("country_code", "country_code_missing"),
        ):
            if not values[name]:
                errors[name] = message_for(code)
        country = values["country_code"]
        if country and (not _COUNTRY_RE.match(country) or country not in country_names()):
            errors["country_code"] = message_for("country_code_invalid")
        states = STATES.get(country)
        if states is not None:
            if not values["state"]:
                errors["state"] = _("Choose your state or province.")
            elif values["state"] not in states:
                errors["state"] = _("Choose your state or province from the list.")
        if errors:
            return Rerender(values=values, errors=errors)

        address = {name: value for name, value in values.items() if value}
        return Submit(data={"postal_address": address})

    def field_for_error(self, code: str) -> str:
        return {
            "address_line1_missing": "address_line1",
            "city_missing": "city",
            "post_code_missing": "post_code",
            "country_code_missing": "country_code",
            "country_code_invalid": "country_code",
        }.get(code, FORM_ERROR)
