"""The "zero" Connect state machine (docs/protocol.md §7), as plain functions over a session dict.

A session is a JSON-able dict kept in Redis per connect token. Its ``route`` is the page the
customer is on; every page object is rendered from the session's state, so ``session_restore``
returns the current page unchanged however often it is asked (a refresh, a second worker, a
restarted sandbox). Nothing here touches Redis or HTTP: :func:`handle` takes a session and a request
body and returns the next page plus the new session, or raises :class:`ConnectError` leaving the
session as it was.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from sandbox import fixtures, locations, rates
from sandbox.errors import ConnectError, data_json_invalid

# --- route names -------------------------------------------------------------------------------
POSTAL_ADDRESS = "postal_address_capture"
PROVIDER_SELECT = "provider_select"
PROVIDER_NAME = "provider_name_capture"
TARIFF_SELECT = "tariff_select"
STRUCTURE_SELECT = "tariff_structure_select"
RATE_FIXED = "rate_fixed_capture"
RATE_TOD = "rate_tod_capture"
RATE_ADVANCED = "rate_advanced_capture"
MARKET_SURCHARGE = "market_surcharge_capture"
TARIFF_NAME = "tariff_name_capture"
CONTRACT_TERM = "contract_term_capture"
SUMMARY_FIXED = "summary_fixed_confirm"
SUMMARY_TOU = "summary_tou_confirm"
PENDING = "summary_tariff_inprogress"
FAILED = "summary_tariff_failed"
SESSION_RESTORE = "session_restore"
SESSION_START = "session_start"  # anode's name for the same request
SESSION_REDIRECT = "session_redirect"
SESSION_COMPLETE = "session_complete"

PAGES = (
    POSTAL_ADDRESS,
    PROVIDER_SELECT,
    PROVIDER_NAME,
    TARIFF_SELECT,
    STRUCTURE_SELECT,
    RATE_FIXED,
    RATE_TOD,
    MARKET_SURCHARGE,
    TARIFF_NAME,
    CONTRACT_TERM,
    SUMMARY_FIXED,
    SUMMARY_TOU,
    PENDING,
    FAILED,
)
SUMMARIES = (SUMMARY_FIXED, SUMMARY_TOU)

# Actions each page offers (pages not listed offer none).
ACTIONS: dict[str, list[str]] = {
    PROVIDER_SELECT: ["ADDRESS_CHANGE", "PROVIDER_MISSING"],
    PROVIDER_NAME: ["ADDRESS_CHANGE"],
    TARIFF_SELECT: ["TARIFF_MISSING", "ADDRESS_CHANGE"],
    SUMMARY_FIXED: ["SAVE", "EDIT", "DISCONNECT"],
    SUMMARY_TOU: ["SAVE", "EDIT", "DISCONNECT"],
    PENDING: ["SAVE", "DISCONNECT", "DISMISS_DIRECT"],
    FAILED: ["RECONNECT", "DISCONNECT"],
}
ACTION_ONLY = (SUMMARY_FIXED, SUMMARY_TOU, PENDING, FAILED)

# Outcomes of the fake provider login page.
OUTCOMES = ("approve", "pending", "fail", "skip")

# Location states the test hook can create, and what a session started on them shows.
CONNECTED, PENDING_STATUS, FAILED_STATUS, DISCONNECTED = (
    "CONNECTED",
    "PENDING",
    "FAILED",
    "DISCONNECTED",
)

ADDRESS_KEYS = ("address_line1", "address_line2", "city", "state", "post_code", "country_code")
NO_END_DATE = "0001-01-01T00:00:00Z"
EMPTY_ADVANCED = {
    "market_rates": False,
    "contract_start_date": None,
    "contract_end_date": None,
    "schedule": [],
}
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d):([0-5]\d)$")
_DATE_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2}))?$"
)


@dataclass(frozen=True)
class Options:
    """Per-process switches for points FlatPeak leaves open (docs/protocol.md: "sandbox choice")."""

    public_url: str
    offer_advanced: bool = False
    route_mismatch: str = "error"  # "error": route_invalid; "current": answer the current page


@dataclass
class Step:
    """What one Connect request produced."""

    page: dict[str, Any]
    session: dict[str, Any]
    location: dict[str, Any] | None = None  # a location record to persist (on completion)


# --- small helpers -----------------------------------------------------------------------------
def empty_address() -> dict[str, str]:
    return dict.fromkeys(ADDRESS_KEYS, "")


def clean_address(raw: Any) -> dict[str, str]:
    """An address object with every key present, or data_json_invalid if it is not one."""
    if not isinstance(raw, dict):
        raise data_json_invalid()
    address = empty_address()
    for key in ADDRESS_KEYS:
        value = raw.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise data_json_invalid()
        address[key] = value.strip()
    address["country_code"] = address["country_code"].upper()
    return address


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise data_json_invalid()
    return float(value)


def _data(body: dict[str, Any]) -> dict[str, Any]:
    data = body.get("data")
    if not isinstance(data, dict):
        raise data_json_invalid()
    return data


def _seconds(hhmmss: str) -> int:
    h, m, s = (int(part) for part in hhmmss.split(":"))
    return h * 3600 + m * 60 + s


def _hhmm(seconds: int) -> str:
    seconds %= 86400
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def parse_date(value: Any) -> str | None:
    """An RFC 3339 date-time (fractional seconds allowed) or plain date, normalised to UTC ``Z``."""
    if value is None:
        return None
    if not isinstance(value, str) or not _DATE_RE.match(value.strip()):
        raise ConnectError("date_format_invalid", "Incorrect date format.")
    text = value.strip()
    if text.startswith("0001-01-01"):
        return NO_END_DATE
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise ConnectError("date_format_invalid", "Incorrect date format.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def with_fp_cot(uri: str, token: str) -> str:
    """``uri`` with ``fp_cot=<token>`` added to its query (``&`` when it already has one)."""
    parts = urlsplit(uri)
    extra = urlencode({"fp_cot": token})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


# --- reading the session -----------------------------------------------------------------------
def provider_object(session: dict[str, Any], options: Options) -> dict[str, str]:
    chosen = session.get("provider") or {}
    if chosen.get("custom_name"):
        return fixtures.custom_provider(chosen["custom_name"])
    provider = fixtures.PROVIDERS_BY_ID.get(chosen.get("id", ""))
    if provider is None:
        return {"id": "", "display_name": "", "logo_url": ""}
    return provider_listing(provider, options)


def provider_listing(provider: fixtures.Provider, options: Options) -> dict[str, str]:
    logo = f"{options.public_url}/_sandbox/logos/{provider.id}.svg" if provider.has_logo else ""
    return {"id": provider.id, "display_name": provider.name, "logo_url": logo}


def _fixture_provider(session: dict[str, Any]) -> fixtures.Provider | None:
    return fixtures.PROVIDERS_BY_ID.get((session.get("provider") or {}).get("id", ""))


def _country(session: dict[str, Any]) -> fixtures.Country:
    return fixtures.country((session.get("address") or {}).get("country_code") or "GB")


def currency(session: dict[str, Any]) -> str:
    return _country(session).currency


def structure_options(session: dict[str, Any], options: Options) -> list[str]:
    provider = _fixture_provider(session)
    offered = (
        provider.structure_options()
        if provider
        else [fixtures.FIXED, fixtures.TIME_OF_DAY, fixtures.MARKET]
    )
    return [*offered, "ADVANCED"] if options.offer_advanced else offered


def summary_route(session: dict[str, Any]) -> str:
    return SUMMARY_FIXED if session["tariff"]["structure"] == fixtures.FIXED else SUMMARY_TOU


# --- rendering ---------------------------------------------------------------------------------
def render(session: dict[str, Any], options: Options) -> dict[str, Any]:
    """The page object for the session's current route."""
    route = session["route"]
    token = session["token"]
    page: dict[str, Any] = {"connect_token": token, "route": route}
    if route != SESSION_REDIRECT:
        page["direction"] = session["direction"]
    page["live_mode"] = session["live_mode"]
    if route in ACTIONS:
        page["actions"] = list(ACTIONS[route])
    page["data"] = _page_data(session, options)
    return page


def _page_data(session: dict[str, Any], options: Options) -> dict[str, Any]:
    route = session["route"]
    address = session.get("address") or session.get("address_draft") or empty_address()
    tariff = session.get("tariff") or {}
    if route == POSTAL_ADDRESS:
        return {"postal_address": dict(session.get("address_draft") or address)}
    if route == PROVIDER_SELECT:
        listing = [provider_listing(p, options) for p in fixtures.providers_for(address)]
        return {"postal_address": dict(address), "providers": listing}
    if route == PROVIDER_NAME:
        name = (session.get("provider") or {}).get("custom_name", "")
        return {"postal_address": dict(address), "provider": {"name": name}}
    provider = provider_object(session, options)
    if route == TARIFF_SELECT:
        chosen = _fixture_provider(session)
        listing = [
            {"id": t.id, "name": t.name, "description": t.description}
            for t in (chosen.tariffs if chosen else ())
        ]
        return {"provider": provider, "tariffs": listing, "postal_address": dict(address)}
    if route == STRUCTURE_SELECT:
        return {"provider": provider, "options": structure_options(session, options)}
    if route == RATE_FIXED:
        return {
            "currency_code": currency(session),
            "provider": provider,
            "cost": tariff.get("cost", 0),
        }
    if route == RATE_TOD:
        hours = tariff.get("hours") or [
            {"cost": 0, "valid_from": "00:00:00", "valid_to": "00:00:00"}
        ]
        return {"currency_code": currency(session), "provider": provider, "hours": hours}
    if route == RATE_ADVANCED:
        return {
            "currency_code": currency(session),
            "provider": provider,
            "tariff": tariff.get("advanced") or EMPTY_ADVANCED,
        }
    if route == MARKET_SURCHARGE:
        data: dict[str, Any] = {
            "currency_code": currency(session),
            "provider": provider,
            "surcharge": tariff.get("surcharge") or {"fixed": 0, "percentage": 0},
        }
        regions = fixtures.market_regions(address)
        if regions:
            data["regions"] = regions
            data["region"] = tariff.get("region", "")
        return data
    if route == TARIFF_NAME:
        return {"provider": provider, "tariff": {"name": tariff.get("name", "")}}
    if route == CONTRACT_TERM:
        return {
            "provider": provider,
            "contract_start_date": tariff.get("contract_start_date"),
            "contract_end_date": tariff.get("contract_end_date"),
        }
    if route in SUMMARIES:
        return _summary_data(session, options, provider)
    if route in (PENDING, FAILED):
        return {"connection_type": session.get("connection_type", "DIRECT"), "provider": provider}
    if route == SESSION_REDIRECT:
        url = f"{options.public_url}/provider-login/{provider['id']}?" + urlencode(
            {"fp_cot": session["token"]}
        )
        return {"redirect_url": url, "redirect_uri": url}
    if route == SESSION_COMPLETE:
        return {"callback_uri": with_fp_cot(session["callback_uri"], session["token"])}
    raise AssertionError(f"no renderer for {route}")


def _summary_data(
    session: dict[str, Any], options: Options, provider: dict[str, str]
) -> dict[str, Any]:
    tariff = session["tariff"]
    home = _country(session)
    summary_tariff = {
        "name": tariff.get("name", ""),
        "contract_end_date": tariff.get("contract_end_date"),
        "structure_type": tariff["structure"],
        "tiered": bool(tariff.get("tiered")),
    }
    day_rates = rates.summary_rates(
        tariff,
        session.get("timezone") or home.timezone,
        tariff.get("region", ""),
        home.market_base,
    )
    data: dict[str, Any] = {"currency_code": home.currency}
    if tariff["structure"] == fixtures.FIXED:
        data["cost"] = round(float(tariff["cost"]), 5)
    data["market_rates_source"] = tariff["structure"] == fixtures.MARKET
    data["provider"] = provider
    data["tariff"] = summary_tariff
    data["rates"] = day_rates
    data["connection_type"] = session.get("connection_type", "MANUAL")
    return data


# --- starting a session ------------------------------------------------------------------------
def new_session(
    token: str,
    fields: dict[str, Any],
    *,
    live_mode: bool,
    created: float,
    expires_in: int,
    customer_id: str,
    location_id: str,
    location: dict[str, Any] | None,
) -> dict[str, Any]:
    """The session for a freshly created token (not yet started: ``route`` is None)."""
    session: dict[str, Any] = {
        "token": token,
        "live_mode": live_mode,
        "created": created,
        "expires_at": created + expires_in,
        "direction": fields.get("direction") or "IMPORT",
        "type": fields.get("type") or "COMMODITY",
        "callback_uri": fields["callback_uri"],
        "connect_web_uri": fields.get("connect_web_uri") or "",
        "customer_id": customer_id,
        "customer_reference_id": fields.get("customer_reference_id") or "",
        "location_id": location_id,
        "location_reference_id": fields.get("location_reference_id") or "",
        "tariff_id": fields.get("tariff_id") or "",
        "token_address": fields.get("postal_address"),
        "route": None,
        "status": "open",
        "suppressed_direct": [],
        "exchanged": False,
    }
    if location:
        # The session works on one kind of tariff: it starts from that kind's element only.
        found = locations.element(
            location, locations.kind_key(session["type"], session["direction"])
        )
        session["location_status"] = found["status"]
        for key in ("address", "timezone"):
            session[key] = copy.deepcopy(location.get(key))
        for key in ("provider", "connection_type", "tariff"):
            session[key] = copy.deepcopy(found[key])
        if not found["status"] and not session["token_address"] and location.get("address"):
            session["token_address"] = copy.deepcopy(location["address"])  # never connected
    return session


def start(session: dict[str, Any]) -> None:
    """Decide the first page (docs/protocol.md §7.1)."""
    status = session.get("location_status")
    if status == CONNECTED and session.get("tariff"):
        session["route"] = summary_route(session)
    elif status == PENDING_STATUS:
        session["route"] = PENDING
    elif status == FAILED_STATUS:
        session["route"] = FAILED
    elif status == DISCONNECTED and session.get("address"):
        session["route"] = PROVIDER_SELECT
    else:
        given = session.get("token_address") or {}
        address = clean_address(given) if given else empty_address()
        if address["city"] and address["country_code"] and _resolves(address):
            _set_address(session, address)
            session["route"] = PROVIDER_SELECT
        else:
            session["address_draft"] = address
            session["route"] = POSTAL_ADDRESS


def _resolves(address: dict[str, str]) -> bool:
    return fixtures.is_country_code(address["country_code"]) and bool(
        fixtures.timezone_for(address)
    )


def _set_address(session: dict[str, Any], address: dict[str, str]) -> None:
    session["address"] = address
    session["timezone"] = fixtures.timezone_for(address)
    session.pop("address_draft", None)


# --- the request handler -----------------------------------------------------------------------
def handle(session: dict[str, Any], body: dict[str, Any], options: Options) -> Step:
    """Answer one Connect request for a live (not expired, not completed) session."""
    session = copy.deepcopy(session)
    route = body.get("route")
    if route is None or route == "":
        raise ConnectError("route_missing", "Route parameter is required.")
    if not isinstance(route, str):
        raise data_json_invalid()
    if route in (SESSION_RESTORE, SESSION_START):
        if session["route"] is None:
            start(session)
        return Step(render(session, options), session)
    if route != session["route"]:
        if options.route_mismatch == "current" and session["route"] is not None:
            return Step(render(session, options), session)
        current = session["route"] or SESSION_RESTORE
        raise ConnectError(
            "route_invalid",
            f"Route {route} is not this session's current page; the current page is {current}.",
        )
    action = body.get("action")
    if action is not None and not isinstance(action, str):
        raise data_json_invalid()
    if action:
        return _act(session, route, action, options)
    if route in ACTION_ONLY:
        raise ConnectError("action_missing", "Action parameter is required.")
    location = _submit(session, route, body, options)
    return Step(render(session, options), session, location)


def _act(session: dict[str, Any], route: str, action: str, options: Options) -> Step:
    if action not in ACTIONS.get(route, []):
        raise ConnectError("action_invalid", f"Action parameter {action} is not supported.")
    location = None
    if action == "ADDRESS_CHANGE":
        session["address_draft"] = dict(session.get("address") or empty_address())
        session["route"] = POSTAL_ADDRESS
    elif action == "PROVIDER_MISSING":
        session["route"] = PROVIDER_NAME
    elif action == "TARIFF_MISSING":
        session["tariff"] = {}
        session["route"] = STRUCTURE_SELECT
    elif action in ("EDIT", "RECONNECT") or (route == PENDING and action == "DISCONNECT"):
        _forget_tariff(session)
        session["route"] = PROVIDER_SELECT
    elif action == "DISMISS_DIRECT":
        provider = _fixture_provider(session)
        if provider:
            session["suppressed_direct"] = [*session["suppressed_direct"], provider.id]
            _choose_provider(session, provider)
        else:
            session["route"] = STRUCTURE_SELECT
    elif action == "SAVE":
        location = _complete(session, "SAVE", processed=route != PENDING)
    elif action == "DISCONNECT":
        location = _complete(session, "DISCONNECT", processed=False)
    return Step(render(session, options), session, location)


def _forget_tariff(session: dict[str, Any]) -> None:
    session["tariff"] = {}
    session["provider"] = None
    session.pop("connection_type", None)
    session.pop("location_status", None)


def _complete(session: dict[str, Any], action: str, *, processed: bool) -> dict[str, Any]:
    """End the session; the returned location record is what the exchange will point at."""
    session["status"] = "complete"
    session["complete_action"] = action
    session["is_tariff_processed"] = processed
    session["time_completed"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    session["route"] = SESSION_COMPLETE
    status = DISCONNECTED if action == "DISCONNECT" else CONNECTED if processed else PENDING_STATUS
    return {
        "id": session["location_id"],
        "customer_id": session["customer_id"],
        "location_reference_id": session["location_reference_id"],
        "status": status,
        "address": session.get("address"),
        "timezone": session.get("timezone"),
        "provider": session.get("provider") if status != DISCONNECTED else None,
        "connection_type": session.get("connection_type"),
        "tariff": session.get("tariff") if status != DISCONNECTED else None,
    }


def _choose_provider(session: dict[str, Any], provider: fixtures.Provider) -> None:
    """Connect tries DIRECT, then the library, then manual capture (docs/protocol.md §7.2)."""
    session["provider"] = {"id": provider.id}
    session["tariff"] = {}
    if provider.kind == fixtures.DIRECT and provider.id not in session["suppressed_direct"]:
        session["connection_type"] = "DIRECT"
        session["route"] = SESSION_REDIRECT
    elif provider.tariffs:
        session["connection_type"] = "LIBRARY"
        session["route"] = TARIFF_SELECT
    else:
        session["connection_type"] = "MARKET" if provider.kind == fixtures.MARKET else "MANUAL"
        session["route"] = STRUCTURE_SELECT


def _submit(
    session: dict[str, Any], route: str, body: dict[str, Any], options: Options
) -> dict[str, Any] | None:
    data = body.get("data")
    if route == CONTRACT_TERM and data is None:
        # FlatPeak's web client posts no data at all for "skip" (docs/protocol.md §4.10).
        _finish_capture(session, None, None)
        return None
    data = _data(body)
    if route == POSTAL_ADDRESS:
        _submit_address(session, data)
    elif route == PROVIDER_SELECT:
        _submit_provider(session, data)
    elif route == PROVIDER_NAME:
        _submit_provider_name(session, data)
    elif route == TARIFF_SELECT:
        _submit_tariff(session, data)
    elif route == STRUCTURE_SELECT:
        _submit_structure(session, data, options)
    elif route == RATE_FIXED:
        cost = _cost(data.get("cost"))
        session["tariff"] = {**session["tariff"], "structure": fixtures.FIXED, "cost": cost}
        session["route"] = TARIFF_NAME
    elif route == RATE_TOD:
        hours = _hours(data.get("hours"))
        session["tariff"] = {**session["tariff"], "structure": fixtures.TIME_OF_DAY, "hours": hours}
        session["route"] = TARIFF_NAME
    elif route == RATE_ADVANCED:
        _submit_advanced(session, data)
    elif route == MARKET_SURCHARGE:
        _submit_surcharge(session, data)
    elif route == TARIFF_NAME:
        _submit_tariff_name(session, data)
    elif route == CONTRACT_TERM:
        start_date = parse_date(data.get("contract_start_date"))
        end_date = parse_date(data.get("contract_end_date"))
        _finish_capture(session, start_date, end_date)
    else:  # session_redirect: only the provider login page moves it on
        raise ConnectError(
            "route_invalid", "Route session_redirect cannot be submitted; open its redirect_url."
        )
    return None


def _submit_address(session: dict[str, Any], data: dict[str, Any]) -> None:
    address = clean_address(data.get("postal_address"))
    session["address_draft"] = address
    checks = (
        ("address_line1", "address_line1_missing", "First line of address is required."),
        ("city", "city_missing", "City name is required."),
        ("post_code", "post_code_missing", "Postal (zip) code is required."),
        ("country_code", "country_code_missing", "Country code is required."),
    )
    for key, code, message in checks:
        if not address[key]:
            raise ConnectError(code, message)
    if not fixtures.is_country_code(address["country_code"]):
        raise ConnectError(
            "country_code_invalid",
            "Country code must be in two-letter ISO 3166-1 alpha-2 format.",
        )
    if not fixtures.timezone_for(address):
        raise ConnectError(
            "timezone_not_found",
            "Unable to detect location timezone, provide at least country_code and city.",
        )
    _set_address(session, address)
    _forget_tariff(session)
    session["route"] = PROVIDER_SELECT


def _submit_provider(session: dict[str, Any], data: dict[str, Any]) -> None:
    chosen = data.get("provider")
    if chosen is None:
        raise ConnectError("provider_id_missing", "Provider ID is required.")
    if not isinstance(chosen, dict) or not isinstance(chosen.get("id", ""), str):
        raise data_json_invalid()
    provider_id = chosen.get("id", "").strip()
    if not provider_id:
        raise ConnectError("provider_id_missing", "Provider ID is required.")
    provider = fixtures.PROVIDERS_BY_ID.get(provider_id)
    if provider is None:
        raise ConnectError("provider_not_found", f"Provider ID {provider_id} not found.")
    address = session["address"]
    if provider not in fixtures.providers_for(address):
        raise ConnectError(
            "provider_id_invalid",
            f"Provider ID {provider_id} is not available at your address "
            f"({address['post_code']}, {address['country_code']}).",
        )
    _choose_provider(session, provider)


def _submit_provider_name(session: dict[str, Any], data: dict[str, Any]) -> None:
    chosen = data.get("provider")
    if chosen is not None and not isinstance(chosen, dict):
        raise data_json_invalid()
    name = (chosen or {}).get("name")
    if name is not None and not isinstance(name, str):
        raise data_json_invalid()
    if not name or not name.strip():
        raise ConnectError("provider_name_missing", "Provider name is required.")
    session["provider"] = {"id": "", "custom_name": name.strip()[:200]}
    session["connection_type"] = "MANUAL"
    session["tariff"] = {}
    session["route"] = STRUCTURE_SELECT


def _submit_tariff(session: dict[str, Any], data: dict[str, Any]) -> None:
    chosen = data.get("tariff")
    if chosen is None:
        raise ConnectError("tariff_id_missing", "Tariff ID is required.")
    if not isinstance(chosen, dict) or not isinstance(chosen.get("id", ""), str):
        raise data_json_invalid()
    tariff_id = chosen.get("id", "").strip()
    if not tariff_id:
        raise ConnectError("tariff_id_missing", "Tariff ID is required.")
    found = fixtures.TARIFFS_BY_ID.get(tariff_id)
    provider = _fixture_provider(session)
    if found is None:
        raise ConnectError("tariff_not_found", f"Tariff ID {tariff_id} not found.")
    if provider is None or found[1] not in provider.tariffs:
        raise ConnectError(
            "tariff_id_invalid",
            f"Provider ID {provider.id if provider else ''} does not support tariff ID "
            f"{tariff_id}.",
        )
    session["tariff"] = {**found[1].answers(), "library_id": tariff_id}
    session["connection_type"] = "LIBRARY"
    session["route"] = CONTRACT_TERM


def _submit_structure(session: dict[str, Any], data: dict[str, Any], options: Options) -> None:
    chosen = data.get("options")
    if not isinstance(chosen, list) or not all(isinstance(o, str) for o in chosen):
        raise data_json_invalid()
    if len(chosen) != 1:
        raise ConnectError("option_invalid", "The options array can only contain one item.")
    option = chosen[0]
    if option not in structure_options(session, options):
        raise ConnectError("option_not_supported", f"Unsupported option parameter {option}.")
    session["tariff"] = {}
    session["connection_type"] = "MARKET" if option == fixtures.MARKET else "MANUAL"
    session["route"] = {
        fixtures.FIXED: RATE_FIXED,
        fixtures.TIME_OF_DAY: RATE_TOD,
        fixtures.MARKET: MARKET_SURCHARGE,
        "ADVANCED": RATE_ADVANCED,
    }[option]


def _cost(value: Any) -> float:
    cost = _number(value)
    if cost == 0:
        raise ConnectError("cost_value_zero", "Tariff rate (cost) cannot be zero.")
    if cost < 0:
        raise ConnectError("cost_value_negative", "Tariff rate (cost) must be greater than zero.")
    return cost


def _hours(value: Any) -> list[dict[str, Any]]:
    """Validated time-of-day periods: each one priced, together covering 24 h exactly once."""
    if not isinstance(value, list) or not value or len(value) > 48:
        raise data_json_invalid()
    periods = []
    for item in value:
        if not isinstance(item, dict):
            raise data_json_invalid()
        valid_from, valid_to = item.get("valid_from"), item.get("valid_to")
        if not isinstance(valid_from, str) or not _TIME_RE.match(valid_from):
            raise ConnectError(
                "valid_from_invalid", "Time period start must be in format HH:mm:ss."
            )
        if not isinstance(valid_to, str) or not _TIME_RE.match(valid_to):
            raise ConnectError("valid_to_invalid", "Time period end must be in format HH:mm:ss.")
        cost = _cost(item.get("cost"))
        periods.append({"valid_from": valid_from, "valid_to": valid_to, "cost": cost})
    spans = []
    for p in periods:
        start = _seconds(p["valid_from"])
        length = (_seconds(p["valid_to"]) - start) % 86400 or 86400
        spans.append((start, start + length))
    spans.sort()
    first_start = spans[0][0]
    for (_, end), (next_start, _) in zip(
        spans, [*spans[1:], (first_start + 86400, 0)], strict=True
    ):
        if end < next_start:
            if len(spans) == 1:
                break
            raise ConnectError(
                "gap_in_time_period",
                f"Gap between {_hhmm(end)} and {_hhmm(next_start)} is found in the time period.",
            )
        if end > next_start:
            # No code is documented for overlapping periods; they fail the 24 h rule.
            raise ConnectError(
                "incomplete_time_period",
                f"Time periods overlap between {_hhmm(next_start)} and {_hhmm(end)}; "
                "they must cover the full 24 hours exactly once.",
            )
    if sum(end - start for start, end in spans) != 86400:
        raise ConnectError("incomplete_time_period", "Time period must cover the full 24 hours.")
    return periods


def _submit_surcharge(session: dict[str, Any], data: dict[str, Any]) -> None:
    surcharge = data.get("surcharge")
    if not isinstance(surcharge, dict):
        raise data_json_invalid()
    fixed = _number(surcharge.get("fixed", 0))
    percentage = _number(surcharge.get("percentage", 0))
    region = data.get("region")
    if region is not None and not isinstance(region, str):
        raise data_json_invalid()
    draft = {"fixed": fixed, "percentage": percentage}
    session["tariff"] = {**session["tariff"], "structure": fixtures.MARKET, "surcharge": draft}
    if percentage < 0:
        raise ConnectError(
            "surcharge_percentage_invalid", "Surcharge percentage must be larger than zero."
        )
    address = session["address"]
    if not fixtures.has_market_region(address):
        raise ConnectError(
            "geo_location_not_found",
            "Unable to find market rates region using geolocation data provided.",
        )
    regions = fixtures.market_regions(address)
    if regions:
        if region not in regions:
            raise ConnectError("market_region_invalid", "Specified region is invalid.")
        session["tariff"]["region"] = region
    else:
        session["tariff"]["region"] = address["country_code"]
    session["connection_type"] = "MARKET"
    session["route"] = TARIFF_NAME


def _submit_advanced(session: dict[str, Any], data: dict[str, Any]) -> None:
    """ADVANCED is off by default (docs/protocol.md §4.15: only a zero preview); when on, the
    schedule's first rate becomes a flat price, which is all the summary pages can show."""
    tariff = data.get("tariff")
    try:
        first = tariff["schedule"][0]["days_and_hours"][0]["hours"][0]["rate"][0]["fixed"]
    except (KeyError, IndexError, TypeError):
        raise data_json_invalid() from None
    session["tariff"] = {"structure": fixtures.FIXED, "cost": _cost(first), "advanced": tariff}
    session["route"] = TARIFF_NAME


def _submit_tariff_name(session: dict[str, Any], data: dict[str, Any]) -> None:
    tariff = data.get("tariff")
    if tariff is not None and not isinstance(tariff, dict):
        raise data_json_invalid()
    name = (tariff or {}).get("name")
    if name is not None and not isinstance(name, str):
        raise data_json_invalid()
    if not name or not name.strip():
        raise ConnectError("tariff_name_missing", "Tariff name is required.")
    session["tariff"] = {**session["tariff"], "name": name.strip()[:200]}
    session["route"] = CONTRACT_TERM


def _finish_capture(session: dict[str, Any], start_date: str | None, end_date: str | None) -> None:
    session["tariff"] = {
        **session["tariff"],
        "contract_start_date": start_date,
        "contract_end_date": end_date,
    }
    session["route"] = summary_route(session)


# --- the fake provider login ---------------------------------------------------------------------
def provider_outcome(session: dict[str, Any], provider_id: str, outcome: str) -> dict[str, Any]:
    """Record the outcome of the DIRECT provider's login; the next session_restore shows it."""
    if (
        session["route"] != SESSION_REDIRECT
        or (session.get("provider") or {}).get("id") != provider_id
    ):
        raise ConnectError(
            "route_invalid", "This provider login is not waiting for an answer in this session."
        )
    if outcome not in OUTCOMES:
        raise ConnectError("outcome_invalid", f"Unknown outcome {outcome}.")
    session = copy.deepcopy(session)
    provider = fixtures.PROVIDERS_BY_ID[provider_id]
    if outcome == "approve" and provider.account_tariff:
        session["tariff"] = {
            **provider.account_tariff.answers(),
            "library_id": provider.account_tariff.id,
            "region": session["address"]["country_code"],
            "contract_start_date": "2025-01-01T00:00:00Z",
            "contract_end_date": "2027-01-01T00:00:00Z",
        }
        session["route"] = summary_route(session)
    elif outcome == "pending":
        session["route"] = PENDING
    elif outcome == "fail":
        session["route"] = FAILED
    else:  # skip: fall back to the next connection method, DIRECT suppressed for this provider
        session["suppressed_direct"] = [*session["suppressed_direct"], provider_id]
        _choose_provider(session, provider)
    return session
