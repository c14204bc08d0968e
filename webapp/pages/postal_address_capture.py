"""``postal_address_capture``: the property's address, which drives everything after it.

The country comes first and is chosen for the customer where we can tell: Connect's own
``country_code`` (the token's address, which carries the start link's country, see
``webapp/entry.py``), else the partner's ``DEFAULT_COUNTRY``, else the region of the browser's
preferred language. The fields after it follow the country (:mod:`webapp.pages.regions`): a
state list only where the address needs one, and the post code under its local name.

When the customer picks another country, those fields change: with JS, htmx posts the form as
the no-JS button does (``edit=country``, a re-render that sends nothing to Connect) and swaps
in the state field and the post code's label only, so nothing being typed is replaced.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

from babel import Locale
from flask import current_app, has_request_context, request
from flask_babel import get_locale
from jinja2_fragments.flask import render_block
from markupsafe import Markup

from webapp.config import NOT_COUNTRIES
from webapp.i18n import gettext as _
from webapp.i18n import lazy_gettext as _l
from webapp.page import Page
from webapp.pages.base import Errors, PageAdapter, Rerender, Submit
from webapp.pages.common import ADDRESS_FIELDS, address_of, message_for, text
from webapp.pages.regions import address_format

_COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
# A language tag's region: "en-GB", "zh-Hant-TW", "de_AT" (not "es-419", a continent).
_REGION_RE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z]{4})?[-_]([A-Za-z]{2})(?:[-_]|$)")


OPTIONS_TEMPLATE = "_partials/address_options.html"

# Per locale: the country list, and its option markup. Both are the same for every customer
# with that locale, and the markup (about 250 countries) was most of the address page's
# rendering time, so each is built once per worker.
_countries: dict[str, Mapping[str, str]] = {}
_markup: dict[str, str] = {}


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
            if _COUNTRY_RE.match(code) and code not in NOT_COUNTRIES
        }
        found = MappingProxyType(dict(sorted(names.items(), key=lambda item: item[1].casefold())))
        _countries[key] = found
    return found


def _option_markup() -> str:
    """The country options (none selected), for this locale."""
    key = str(_locale())
    found = _markup.get(key)
    if found is None:
        # Autoescaped template output, so already safe markup.
        found = render_block(OPTIONS_TEMPLATE, "countries", countries=country_names().items())
        _markup[key] = found
    return found


def country_options(selected: str) -> Markup:
    """Every country as an <option>, ``selected`` (a code we list) marked as chosen."""
    options = _option_markup()
    if selected in country_names():  # so two capital letters, nothing to escape
        tag = f'<option value="{selected}">'
        options = options.replace(tag, f'<option value="{selected}" selected>', 1)
    return Markup(options)  # noqa: S704 - autoescaped template output (see _option_markup)


def region_of(language_tag: str) -> str:
    """The country of a language tag ("en-GB" -> "GB"); "" when it names none ("en")."""
    found = _REGION_RE.match(language_tag.strip())
    return found.group(1).upper() if found else ""


def guessed_country() -> str:
    """The country to choose for a customer Connect knows none for: the partner's
    ``DEFAULT_COUNTRY``, else the first region among the browser's languages, in order of
    preference (``en-GB,en;q=0.9`` -> GB). A language alone says nothing about a country
    (English, French and Spanish are spoken in dozens), so "en" guesses nothing. "" when
    neither names a country we list."""
    if not has_request_context():
        return ""
    listed = country_names()
    default = str(current_app.config.get("DEFAULT_COUNTRY") or "").strip().upper()
    if default in listed:
        return default
    for tag, _quality in request.accept_languages:
        region = region_of(tag)
        if region in listed:
            return region
    return ""


class PostalAddressCapture(PageAdapter):
    routes: ClassVar[tuple[str, ...]] = ("postal_address_capture",)
    template: ClassVar[str] = "pages/postal_address_capture.html"
    title: ClassVar[Any] = _l("Your address")
    stage: ClassVar[int] = 1

    def initial_values(self, data: Mapping[str, Any]) -> dict[str, Any]:
        # Connect's country wins; only an address without one gets our guess.
        values = address_of(data)
        if not values["country_code"]:
            values["country_code"] = guessed_country()
        return values

    def extra_context(
        self, page: Page, ctx: Mapping[str, Any], query: Mapping[str, str]
    ) -> dict[str, Any]:
        country = str(ctx["values"].get("country_code") or "").strip().upper()
        # A GET with ?country_code= shows the form for that country (a link can ask for it).
        if query.get("country_code"):
            country = str(query["country_code"]).strip().upper()[:2]
        return {
            "values": {**ctx["values"], "country_code": country},
            "country_options": country_options(country),
            "address_format": address_format(country),
        }

    def parse(self, page: Page, form: Mapping[str, str]) -> Submit | Rerender:
        values = {name: text(form, name, 120) for name in ADDRESS_FIELDS}
        values["country_code"] = values["country_code"].upper()
        if form.get("action"):
            return super().parse(page, form)
        if form.get("edit") == "country":
            # The country changed (the no-JS button beside it, or htmx on change): show the
            # form for that country with what was typed, sending nothing to Connect.
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
        form_of = address_format(country)
        if form_of.states is None:
            # The form asked for no state (one posted was chosen for another country, before
            # the country changed without JS): Connect needs none here.
            values["state"] = ""
        elif not values["state"]:
            errors["state"] = form_of.state_missing
        elif values["state"] not in form_of.states:
            errors["state"] = _("Choose one from the list.")
        if errors:
            return Rerender(values=values, errors=errors)

        address = {name: value for name, value in values.items() if value}
        return Submit(data={"postal_address": address})
