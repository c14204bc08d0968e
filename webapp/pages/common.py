"""Helpers shared by several page adapters: Connect's error messages, the provider and address
sub-objects, list filtering and reading typed form values."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from flask import current_app, has_request_context, request

from webapp.config import origin_of
from webapp.i18n import lazy_gettext as _l

# Connect's own messages (docs/protocol.md §6.3), marked for translation. Our local checks use the
# same text, so a customer sees the same words whichever side caught the mistake. Messages that
# embed ids (provider_not_found ...) are shown as Connect sent them, since only Connect knows them.
ERROR_MESSAGES: dict[str, Any] = {
    "address_line1_missing": _l("First line of address is required."),
    "city_missing": _l("City name is required."),
    "post_code_missing": _l("Postal (zip) code is required."),
    "country_code_missing": _l("Country code is required."),
    "country_code_invalid": _l("Country code must be in two-letter ISO 3166-1 alpha-2 format."),
    "timezone_not_found": _l(
        "Unable to detect location timezone, provide at least country_code and city."
    ),
    "geo_location_not_found": _l("Unable to resolve geo location, provide complete address."),
    "provider_id_missing": _l("Provider ID is required."),
    "provider_name_missing": _l("Provider name is required."),
    "tariff_id_missing": _l("Tariff ID is required."),
    "option_invalid": _l("The options array can only contain one item."),
    "cost_value_zero": _l("Tariff rate (cost) cannot be zero."),
    "cost_value_negative": _l("Tariff rate (cost) must be greater than zero."),
    "valid_from_invalid": _l("Time period start must be in format HH:mm:ss."),
    "valid_to_invalid": _l("Time period end must be in format HH:mm:ss."),
    "incomplete_time_period": _l("Time period must cover the full 24 hours."),
    "surcharge_percentage_invalid": _l("Surcharge percentage must be larger than zero."),
    "market_region_invalid": _l("Specified region is invalid."),
    "tariff_name_missing": _l("Tariff name is required."),
    "date_format_invalid": _l("Incorrect date format."),
    "action_missing": _l("Action parameter is required."),
    "data_json_invalid": _l("Data does not conform to the JSON schema."),
}


def message_for(code: str, upstream_message: str | None = None) -> str:
    """The customer-facing text for a Connect error code: our translated copy when we know the
    code and its text carries no ids, else Connect's own message."""
    known = ERROR_MESSAGES.get(code)
    if known is not None:
        return str(known)
    return (upstream_message or "").strip() or str(_l("Something went wrong on this step."))


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
