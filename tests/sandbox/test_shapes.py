"""FlatPeak's documented example page objects validate against what the sandbox really sends.

``tests/fixtures/reference_pages.json`` holds those examples keyed by route (docs/protocol.md §4,
§5 and §6.1); the webapp renders every page from it. Here every one of them is compared with a live
page of the same route: the same keys with the same JSON types, recursively. The sandbox may add a
few keys, listed below with the reason, and nothing else.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from devstack.stack import SANDBOX_DB, SandboxServer
from tests.protocol import ZERO_ROUTES
from tests.sandbox.conftest import GB_ADDRESS, HEARTH, NORTHWIND, TIDAL, VOLTAIC, Connect

REFERENCE = json.loads(
    (Path(__file__).parent.parent / "fixtures" / "reference_pages.json").read_text()
)

# Keys the sandbox sends beyond the documented examples (path inside the page object).
EXTRA_KEYS = {
    "tariff_select": {"data.postal_address"},  # the client types allow it; ADDRESS_CHANGE needs it
    "summary_fixed_confirm": {"data.rates", "data.market_rates_source", "data.connection_type"},
    "summary_tou_confirm": {"data.connection_type"},
}


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def compare(reference: Any, actual: Any, path: str, extras: set[str], problems: list[str]) -> None:
    if actual is None and path.endswith("_date"):
        return  # contract dates are documented as "RFC 3339, or null when unknown"
    if _kind(reference) != _kind(actual):
        problems.append(f"{path or '<root>'}: {_kind(reference)} in the reference, {_kind(actual)}")
        return
    if isinstance(reference, dict):
        for key in reference.keys() - actual.keys():
            problems.append(f"{path}.{key}: missing".lstrip("."))
        for key in actual.keys() - reference.keys():
            if f"{path}.{key}".lstrip(".") not in extras:
                problems.append(f"{path}.{key}: not in the reference".lstrip("."))
        for key in reference.keys() & actual.keys():
            compare(reference[key], actual[key], f"{path}.{key}".lstrip("."), extras, problems)
    elif isinstance(reference, list) and reference and actual:
        for item in actual:
            compare(reference[0], item, f"{path}[]", extras, problems)


@pytest.fixture(scope="module")
def live_pages(redis_server, tmp_path_factory) -> dict[str, dict[str, Any]]:
    """One live page object per route, collected from a sandbox that also offers ADVANCED."""
    server = SandboxServer(
        tmp_path_factory.mktemp("sandbox"),
        redis_server.url(SANDBOX_DB),
        settings={"SANDBOX_OFFER_ADVANCED": "1"},
    )
    server.start()
    pages: dict[str, dict[str, Any]] = {}
    try:
        with requests.Session() as http:

            def new(**fields: Any) -> Connect:
                return Connect(server, http, **fields)

            def keep(page: dict[str, Any]) -> dict[str, Any]:
                pages.setdefault(page.get("route", "error"), page)
                return page

            flow = new()
            keep(flow.restore())
            keep(flow.step("postal_address_capture", data={"postal_address": GB_ADDRESS}))
            keep(flow.step("provider_select", action="PROVIDER_MISSING"))
            keep(flow.step("provider_name_capture", data={"provider": {"name": "Acme"}}))
            keep(flow.step("tariff_structure_select", data={"options": ["FIXED"]}))
            keep(flow.step("rate_fixed_capture", data={"cost": 0.25}))
            keep(flow.step("tariff_name_capture", data={"tariff": {"name": "Acme Fixed"}}))
            keep(flow.step("contract_term_capture", data={"contract_end_date": "2027-01-01"}))
            keep(flow.step("summary_fixed_confirm", action="SAVE"))
            keep(flow.error("session_restore"))

            flow = new()
            keep(flow.pick(NORTHWIND))
            flow = new()
            flow.pick(HEARTH)
            keep(flow.step("tariff_structure_select", data={"options": ["TIME_OF_DAY"]}))
            flow = new()
            flow.pick(HEARTH)
            keep(flow.step("tariff_structure_select", data={"options": ["ADVANCED"]}))

            flow = new(postal_address={**GB_ADDRESS, "post_code": "TD15 1AA"})
            flow.restore()
            flow.step("provider_select", data={"provider": {"id": TIDAL}})
            keep(flow.step("tariff_structure_select", data={"options": ["MARKET"]}))
            flow.step(
                "market_surcharge_capture",
                data={"surcharge": {"fixed": 0.01, "percentage": 5}, "region": "South Scotland"},
            )
            flow.step("tariff_name_capture", data={"tariff": {"name": "Tidal"}})
            keep(flow.step("contract_term_capture", data={"contract_end_date": "2027-01-01"}))

            flow = new()
            keep(flow.pick(VOLTAIC))
            flow.provider_login("pending")
            keep(flow.restore())
            flow = new()
            flow.pick(VOLTAIC)
            flow.provider_login("fail")
            keep(flow.restore())
    finally:
        server.stop()
    return pages


@pytest.mark.parametrize("route", sorted(REFERENCE))
def test_reference_example_matches_live_shape(live_pages, route):
    assert route in live_pages, f"the sandbox produced no {route} page"
    problems: list[str] = []
    compare(REFERENCE[route], live_pages[route], "", EXTRA_KEYS.get(route, set()), problems)
    assert not problems, f"{route}: " + "; ".join(problems)


@pytest.mark.unit
def test_reference_has_every_zero_page():
    zero_pages = set(ZERO_ROUTES)
    assert zero_pages <= set(REFERENCE)
    assert {"session_redirect", "session_complete", "error"} <= set(REFERENCE)
    for route, page in REFERENCE.items():
        if route != "error":
            assert page["route"] == route
            assert page["connect_token"] == "cot_000000000000000000000001"
