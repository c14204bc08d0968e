"""``postal_address_capture``: the property's address, which drives everything after it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

from babel import Locale
from flask_babel import get_locale
from jinja2_fragments.flask import render_block
from markupsafe import Markup

from webapp.i18n import gettext as _
from webapp.i18n import lazy_gettext as _l
from webapp.page import Page
from webapp.pages.base import FORM_ERROR, Errors, PageAdapter, Rerender, Submit
from webapp.pages.common import ADDRESS_FIELDS, address_of, message_for, text
from webapp.pages.regions import STATES

_COUNTRY_RE = re.compile(r"^[A-Z]{2}$")


_HIDDEN_TERRITORIES = frozenset({"ZZ", "QO", "EU", "EZ", "UN", "XA", "XB"})
OPTIONS_TEMPLATE = "_partials/address_options.html"

# Per locale: the country list, and its option markup. Both are the same for every customer
# with that locale, and the markup (about 250 countries plus the state lists) was most of the
# address page's rendering time, so each is built once per worker.
_countries: dict[str, Mapping[str, str]] = {}
_markup: dict[str, tuple[str, Markup]] = {}


def _locale() -> Locale:
    try:
        return get_locale() or Locale("en")
    except RuntimeError:  # outside a request: tests of the adapter alone
        return Locale("en")


def country_names() -> Mapping[str, str]:
    """ISO 3166-1 alpha-2 code -> name in the customer's locale, sorted by name (read-only).
    Babel's territory list also holds continents ("001") and pseudo-regions ("ZZ"): dropped."""
    locale = _locale()
    key = str(locale)
    found = _countries.get(key)
    if found is None:
        names = {
            code: name
            for code, name in locale.territories.items()
            if _COUNTRY_RE.match(code) and code not in _HIDDEN_TERRITORIES
        }
        found = MappingProxyType(dict(sorted(names.items(), key=lambda item: item[1].casefold())))
        _countries[key] = found
    return found


def _option_markup() -> tuple[str, Markup]:
    """The country options (none selected) and the state-list templates, for this locale."""
    key = str(_locale())
    found = _markup.get(key)
    if found is None:
        context = {"countries": country_names().items(), "state_lists": STATES}
        # Autoescaped template output, so already safe markup.
        found = (
            render_block(OPTIONS_TEMPLATE, "countries", **context),
            Markup(render_block(OPTIONS_TEMPLATE, "state_lists", **context)),  # noqa: S704
        )
        _markup[key] = found
    return found


def country_options(selected: str) -> Markup:
    """Every country as an <option>, ``selected`` (a code we list) marked as chosen."""
    options = _option_markup()[0]
    if selected in country_names():  # so two capital letters, nothing to escape
        tag = f'<option value="{selected}">'
        options = options.replace(tag, f'<option value="{selected}" selected>', 1)
    return Markup(options)  # noqa: S704 - autoescaped template output (see _option_markup)


class PostalAddressCapture(PageAdapter):
    routes: ClassVar[tuple[str, ...]] = ("postal_address_capture",)
    template: ClassVar[str] = "pages/postal_address_capture.html"
    title: ClassVar[Any] = _l("Your address")
    stage: ClassVar[int] = 1

    def initial_values(self, data: Mapping[str, Any]) -> dict[str, Any]:
        return address_of(data)

    def extra_context(
        self, page: Page, ctx: Mapping[str, Any], query: Mapping[str, str]
    ) -> dict[str, Any]:
        country = str(ctx["values"].get("country_code") or "").strip().upper()
        # A GET with ?country_code= (the country select changed, with JS) picks the state list.
        if query.get("country_code"):
            country = str(query["country_code"]).strip().upper()[:2]
        return {
            "values": {**ctx["values"], "country_code": country},
            "country_options": country_options(country),
            "states": STATES.get(country),
            "state_templates": _option_markup()[1],
        }

    def parse(self, page: Page, form: Mapping[str, str]) -> Submit | Rerender:
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
