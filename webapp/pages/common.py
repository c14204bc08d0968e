"""Helpers shared by several page adapters: our words for Connect's error codes, the provider and
address sub-objects, list filtering and reading typed form values."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app, has_request_context, request

from webapp.config import origin_of
from webapp.i18n import lazy_gettext as _l
from webapp.pages.base import FORM_ERROR, Errors


@dataclass(frozen=True)
class ErrorCopy:
    """Our words for one Connect error code on one page, and the fields they belong to."""

    message: Any  # a lazy string, translated when shown
    #: The form fields to mark; the first carries ``message``, the others ``also``. Empty: the
    #: page as a whole (the error summary), for codes no field of the form can fix.
    fields: tuple[str, ...] = ()
    also: Any = None


ANY_PAGE = "*"
_CHECK_THIS = _l("Check this is right.")
_ADDRESS_NOT_FOUND = ErrorCopy(
    # Connect's text ("provide at least country_code and city") blames fields the customer
    # filled in; what failed is finding the address, and the typed parts are what to check.
    _l(
        "We couldn't find that address. Check that the town or city and the postcode or ZIP "
        "code are right."
    ),
    ("city", "post_code"),
    _CHECK_THIS,
)
_PRICE_ZERO = _l("The price can't be zero. Enter the price per kWh from your bill.")
_PRICE_NEGATIVE = _l("The price can't be negative. Enter the price per kWh from your bill.")

# Every error code of docs/protocol.md §6.3 and §6.4, per page: what the customer reads and next
# to which field. Connect's own messages are English, written for developers and sometimes name
# ids or JSON fields; none of them ever reaches a customer (message_for). The §6.5 codes answer
# the partner's create-token call and never reach a page.
ERRORS: dict[str, dict[str, ErrorCopy]] = {
    "postal_address_capture": {
        "address_line1_missing": ErrorCopy(
            _l("Enter the first line of your address."), ("address_line1",)
        ),
        "city_missing": ErrorCopy(_l("Enter your town or city."), ("city",)),
        "post_code_missing": ErrorCopy(_l("Enter your postcode or ZIP code."), ("post_code",)),
        "country_code_missing": ErrorCopy(_l("Choose your country."), ("country_code",)),
        "country_code_invalid": ErrorCopy(
            _l("Choose your country from the list."), ("country_code",)
        ),
        "timezone_not_found": _ADDRESS_NOT_FOUND,
        "geo_location_not_found": _ADDRESS_NOT_FOUND,
    },
    "provider_select": {
        "provider_id_missing": ErrorCopy(_l("Choose your provider from the list.")),
        "provider_not_found": ErrorCopy(
            _l("We couldn't find that provider. Choose yours from the list.")
        ),
        "provider_id_invalid": ErrorCopy(
            _l(
                "That provider doesn't supply your address. Choose another from the list, or "
                "change your address."
            )
        ),
    },
    "provider_name_capture": {
        "provider_name_missing": ErrorCopy(
            _l("Enter the name of your provider."), ("provider_name",)
        ),
    },
    "tariff_select": {
        "tariff_id_missing": ErrorCopy(_l("Choose your tariff from the list.")),
        "tariff_not_found": ErrorCopy(
            _l("We couldn't find that tariff. Choose yours from the list.")
        ),
        "tariff_id_invalid": ErrorCopy(
            _l("That tariff isn't one of your provider's. Choose yours from the list.")
        ),
    },
    "tariff_structure_select": {
        "option_invalid": ErrorCopy(_l("Choose one of the options.")),
        "option_not_supported": ErrorCopy(
            _l("That option isn't available for your provider. Choose another.")
        ),
    },
    "rate_fixed_capture": {
        "cost_value_zero": ErrorCopy(_PRICE_ZERO, ("cost",)),
        "cost_value_negative": ErrorCopy(_PRICE_NEGATIVE, ("cost",)),
    },
    # Connect names no period; RateTodCapture.errors_for finds the one to fix when it can.
    "rate_tod_capture": {
        "cost_value_zero": ErrorCopy(
            _l("A price can't be zero. Enter each period's price per kWh from your bill."),
            ("periods",),
        ),
        "cost_value_negative": ErrorCopy(
            _l("A price can't be negative. Enter each period's price per kWh from your bill."),
            ("periods",),
        ),
        "valid_from_invalid": ErrorCopy(
            _l("Check the start times: each must be a time of day."), ("periods",)
        ),
        "valid_to_invalid": ErrorCopy(
            _l("Check the end times: each must be a time of day."), ("periods",)
        ),
        "gap_in_time_period": ErrorCopy(
            _l("There's a gap between your periods. Together they must cover all 24 hours."),
            ("periods",),
        ),
        # Also the sandbox's answer to overlapping periods (docs/protocol.md §4.7).
        "incomplete_time_period": ErrorCopy(
            _l(
                "Together your periods must cover all 24 hours, each time of day once. Check "
                "the start and end times."
            ),
            ("periods",),
        ),
    },
    "market_surcharge_capture": {
        "surcharge_percentage_invalid": ErrorCopy(
            _l("The percentage can't be negative. Leave it empty if your provider adds none."),
            ("surcharge_percentage",),
        ),
        # Not the address page's meaning: the address was found, its market was not. Nothing
        # on this page can fix it.
        "geo_location_not_found": ErrorCopy(
            _l(
                "We couldn't find the electricity market for your address. Please try again; "
                "if it keeps happening, contact the company that sent you here."
            )
        ),
        "market_region_invalid": ErrorCopy(_l("Choose your region from the list."), ("region",)),
    },
    "tariff_name_capture": {
        "tariff_name_missing": ErrorCopy(_l("Enter your tariff's name."), ("tariff_name",)),
    },
    "contract_term_capture": {
        "date_format_invalid": ErrorCopy(
            _l("Enter a real date for the end of your contract."), ("contract_end_date",)
        ),
    },
    # Codes any page can get. The flow acts on the token and route codes itself (a new page,
    # the expired page) before it shows a message; these words are for anything that slips by.
    ANY_PAGE: {
        "action_missing": ErrorCopy(_l("Choose one of the options on this page.")),
        "action_invalid": ErrorCopy(
            _l("That option isn't available on this page. Choose one of the options shown.")
        ),
        "data_json_invalid": ErrorCopy(_l("We couldn't read your answer. Check it and try again.")),
        "token_expired": ErrorCopy(
            _l("This connection has expired. Start again from the company that sent you here.")
        ),
        "session_completed": ErrorCopy(_l("This connection is already finished.")),
        "connect_token_missing": ErrorCopy(
            _l("This connection isn't valid. Start again from the company that sent you here.")
        ),
        "token_not_found": ErrorCopy(
            _l("This connection isn't valid. Start again from the company that sent you here.")
        ),
        "connect_token_invalid": ErrorCopy(
            _l("This connection isn't valid. Start again from the company that sent you here.")
        ),
        "route_missing": ErrorCopy(
            _l("This page had moved on, so nothing was sent. Check it and try again.")
        ),
        "route_invalid": ErrorCopy(
            _l("This page had moved on, so nothing was sent. Check it and try again.")
        ),
        "internal_error": ErrorCopy(
            _l("The tariff service had a problem. Nothing was saved; please try again.")
        ),
        "unexpected_error": ErrorCopy(
            _l("The tariff service had a problem. Nothing was saved; please try again.")
        ),
    },
}

# Anode's routes that render a zero page (docs/protocol.md §1.2) share its errors.
_ROUTE_ALIASES = {
    "surcharge_capture": "market_surcharge_capture",
    "region_select": "market_surcharge_capture",
}

#: What a code we have no words for says: ours, never Connect's text.
GENERAL_ERROR = _l("Something went wrong on this step. Check your answers and try again.")


def error_copy(route: str | None, code: str) -> ErrorCopy | None:
    """Our copy for a code on a page; without a route, the first page that knows the code (the
    same words wherever a local check reuses them). ``None`` for a code nobody documented."""
    if route:
        route = _ROUTE_ALIASES.get(route, route)
        found = ERRORS.get(route, {}).get(code)
        if found is not None:
            return found
        return ERRORS[ANY_PAGE].get(code)
    for table in ERRORS.values():
        if code in table:
            return table[code]
    return None


def message_for(code: str, upstream_message: str | None = None, route: str | None = None) -> str:
    """The customer-facing text for a Connect error code, translated. ``upstream_message`` is
    Connect's English text: accepted so callers can pass what they got, and never shown, since
    it is written for developers (it names JSON fields and ids); an unknown code gets our
    general message."""
    copy = error_copy(route, code)
    return str(copy.message if copy is not None else GENERAL_ERROR)


def error_field(route: str | None, code: str) -> str:
    """The field a Connect error code belongs to on a page (the first, if several are to be
    checked); FORM_ERROR for the page as a whole."""
    copy = error_copy(route, code)
    return copy.fields[0] if copy is not None and copy.fields else FORM_ERROR


def error_marks(route: str | None, code: str, field: str, message: str) -> Errors:
    """``{field: message}`` plus, when the code's copy marks several fields and ``field`` is its
    first, a pointer on each of the others ("Check this is right.") so every field to check is
    marked and listed in the error summary."""
    errors: Errors = {field: message}
    copy = error_copy(route, code)
    if copy is not None and copy.fields and copy.fields[0] == field:
        for other in copy.fields[1:]:
            errors[other] = str(copy.also or _CHECK_THIS)
    return errors


def text(form: Mapping[str, str], name: str, max_length: int = 200) -> str:
    """A typed text value, trimmed and capped so a pasted novel cannot reach Connect."""
    value = form.get(name) or ""
    return " ".join(value.split())[:max_length]


def provider_of(data: Mapping[str, Any]) -> dict[str, str]:
    """The page's provider with the keys templates rely on, whatever Connect left out."""
    provider = data.get("provider") or {}
    if not isinstance(provider, Mapping):
        provider = {}
    return {
        "id": str(provider.get("id") or ""),
        "display_name": str(provider.get("display_name") or provider.get("name") or ""),
        "logo_url": safe_logo_url(provider.get("logo_url")),
    }


def safe_logo_url(url: Any) -> str:
    """A provider logo we may show, else "" (the name alone is shown): an https URL, a path on
    our own origin, or a URL on FlatPeak's origin as configured (see :func:`_flatpeak_origins`).
    Anything else (``javascript:``, ``data:``, plain http elsewhere) falls back to text."""
    if not isinstance(url, str):
        return ""
    url = url.strip()
    if url.startswith("https://") or (url.startswith("/") and not url.startswith("//")):
        return url
    if url.startswith("http://") and origin_of(url) in _flatpeak_origins():
        return url
    return ""


def _flatpeak_origins() -> frozenset[str]:
    """The configured FlatPeak origins (``FLATPEAK_API_URL``, ``FLATPEAK_CONNECT_URL``) whose
    plain-http logos may be shown: CSP ``img-src`` already allows them (webapp/security.py).

    This is how a sandbox running on http://127.0.0.1:8010 shows its logos, which it serves from
    its own origin. It holds only while our pages are plain http too: an https page would block
    an http image as mixed content, so there the name stands alone, as for any other http logo.
    Outside a request (an adapter tested on its own) no origin is trusted."""
    if not has_request_context():
        return frozenset()
    config = current_app.config
    if str(config.get("PUBLIC_URL") or request.host_url).startswith("https://"):
        return frozenset()
    origins = (config.get("FLATPEAK_API_URL"), config.get("FLATPEAK_CONNECT_URL"))
    return frozenset(origin_of(str(url)) for url in origins if url) - {""}


ADDRESS_FIELDS = ("address_line1", "address_line2", "city", "state", "post_code", "country_code")


def address_of(data: Mapping[str, Any]) -> dict[str, str]:
    """The page's postal address with every field present as a string."""
    address = data.get("postal_address") or {}
    if not isinstance(address, Mapping):
        address = {}
    return {name: str(address.get(name) or "").strip() for name in ADDRESS_FIELDS}


def has_address(address: Mapping[str, str]) -> bool:
    return any(address.get(name) for name in ADDRESS_FIELDS)


def fold(value: str) -> str:
    """Case- and accent-insensitive form for searching: "Électricité" matches "electricite"."""
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def matches(query: str, *fields: str) -> bool:
    """Every word of the query appears in one of the fields."""
    haystack = fold(" ".join(fields))
    return all(word in haystack for word in fold(query).split())


def filter_items(items: Iterable[dict[str, Any]], query: str, *keys: str) -> list[dict[str, Any]]:
    query = query.strip()
    if not query:
        return list(items)
    return [item for item in items if matches(query, *(str(item.get(k) or "") for k in keys))]


def search_query(query: Mapping[str, str] | None, values: Mapping[str, Any]) -> str:
    """The list filter: ``?q=`` from a no-JS GET, else the one typed before a re-render;
    whitespace collapsed and capped like any typed text."""
    return " ".join(str((query or {}).get("q") or values.get("q") or "").split())[:100]


_ID_RE = re.compile(r"^[a-z]{3}_[A-Za-z0-9]{1,64}$")


def looks_like_id(value: str) -> bool:
    """Connect ids are a three-letter prefix and an opaque suffix (``prv_…``, ``trt_…``)."""
    return bool(_ID_RE.match(value))


# What each Connect action button says. Anode's BACK/CLOSE and WRONG_TARIFF are here too, so an
# anode page renders every action it offers.
ACTION_LABELS: dict[str, Any] = {
    "ADDRESS_CHANGE": _l("Change address"),
    "PROVIDER_MISSING": _l("My provider isn't listed"),
    "TARIFF_MISSING": _l("My tariff isn't listed"),
    "SAVE": _l("Confirm and save"),
    "EDIT": _l("Change tariff"),
    "DISCONNECT": _l("Disconnect tariff"),
    "DISMISS_DIRECT": _l("Enter my tariff another way"),
    "RECONNECT": _l("Reconnect"),
    "WRONG_TARIFF": _l("Report a problem"),
    "WRONG_TARIFF_REPORT": _l("Report a problem"),
    "BACK": _l("Back"),
    "CLOSE": _l("Close"),
}

# What each action does, for pages that explain their choices (pending, failed, summaries).
ACTION_HINTS: dict[str, Any] = {
    "SAVE": _l("Saves this tariff and finishes."),
    "EDIT": _l("Starts again from choosing your provider."),
    "DISCONNECT": _l("Removes this tariff; nothing will be saved for it."),
    "DISMISS_DIRECT": _l(
        "Stops waiting for your provider and lets you pick or type your tariff instead."
    ),
    "RECONNECT": _l("Choose your provider again and log in to it once more."),
}


def action_label(action: str) -> str | None:
    """The button text for a Connect action, translated; None for one we have no words for."""
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else None


def action_hint(action: str) -> str | None:
    """What pressing an action's button does, translated, if we say it."""
    hint = ACTION_HINTS.get(action)
    return str(hint) if hint is not None else None
