"""One customer's flow, on either target: the same flow, the same steps.

* ``app``: what a browser with htmx sends. The partner's backend creates a connect token on the
  sandbox API (not counted as an app request); the customer opens ``/connect?fp_cot=…`` (a
  whole-page navigation, then the redirect to ``/connect/flow``), and posts address, provider,
  tariff, contract term and SAVE as htmx requests (``HX-Request``, ``HX-Current-URL``,
  ``HX-Target``, ``X-CSRFToken`` and ``X-Connect-Flow`` from the page's ``hx-headers``, the
  form's fields including the hidden ones, the pressed button, the session cookie), follows the
  ``HX-Redirect`` to the callback, which exchanges the token and redirects to the done page,
  and the driver checks the ids the app stored in Redis.
  Every request also carries what a load balancer adds (see ``bench.browser``).
* ``direct``: the Connect JSON the app itself sends for the same flow, straight at the sandbox:
  ``session_restore``, each step, SAVE, then the exchange (``GET /connect/tariff/token``).

Flows alternate a fixed tariff (Northwind Fixed 12M) and a time-of-day one (Northwind Economy 7),
so both summaries are exercised.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from bench.browser import (
    ADDRESS,
    IN_FLIGHT,
    NO_END_DATE,
    PROVIDER,
    SUMMARIES,
    TARIFFS,
    Browser,
    FlowFailed,
    Partner,
    Record,
    Think,
    button,
    form_with,
    no_think,
    post_forms,
)
from devstack.forms import flow_state_of, route_of


async def app_flow(
    http: aiohttp.ClientSession,
    app_url: str,
    partner: Partner,
    redis_client: Any,
    record: Record,
    number: int,
    ref: str,
    ip: str,
    session_mode: str = "cookie",
    think: Think = no_think,
) -> None:
    """One customer's flow through the app; ``think`` is awaited before each step's post (the
    pause before the entry link is the caller's, between flows)."""
    tariff, summary = TARIFFS[number % 2], SUMMARIES[number % 2]
    token = await partner.timed_token(ref, record)
    browser = Browser(http, app_url, record, ip, session_mode)

    began = time.perf_counter()
    _response, page = await browser.navigate("entry", f"/connect?fp_cot={token}")
    route = expect_route(page, "postal_address_capture")
    if not browser.hx_headers.get("X-CSRFToken"):
        raise FlowFailed("first page has no X-CSRFToken in hx-headers")

    forms = post_forms(page)
    await think()
    _r, page = await browser.htmx_post("address", form_with(forms, tuple(ADDRESS), route), ADDRESS)
    route = expect_route(page, "provider_select")

    forms = post_forms(page)
    form, value = button(forms, "provider_id", PROVIDER, route)
    await think()
    _r, page = await browser.htmx_post("provider", form, {"provider_id": value})
    route = expect_route(page, "tariff_select")

    form, value = button(post_forms(page), "tariff_id", tariff, route)
    await think()
    _r, page = await browser.htmx_post("tariff", form, {"tariff_id": value})
    route = expect_route(page, "contract_term_capture")

    form = form_with(post_forms(page), ("term",), route)
    await think()
    _r, page = await browser.htmx_post("contract", form, {"term": "none"})
    route = expect_route(page, summary)

    form = form_with(post_forms(page), (), route, button=("action", "SAVE"))
    await think()
    response, _text = await browser.htmx_post("save", form, {"action": "SAVE"})
    target = response.headers.get("HX-Redirect", "")
    if not target.split("?")[0].endswith("/connect/callback") or "fp_cot" in target:
        raise FlowFailed(f"SAVE answered HX-Redirect {target!r}, not our callback")
    parts = urlsplit(target)
    # The callback exchanges the token and redirects to the done page.
    _response, page = await browser.navigate(
        "callback", parts.path + f"?{parts.query}", then="done"
    )
    if flow_state_of(page) != "done" or 'data-outcome="connected"' not in page:
        raise FlowFailed("done page does not say connected")
    raw = await redis_client.get(f"connect:result:{ref}")
    stored = json.loads(raw) if raw else {}
    if not (
        str(stored.get("customer_id") or "").startswith("cus_")
        and str(stored.get("location_id") or "").startswith("loc_")
        and stored.get("complete_action") == "SAVE"
    ):
        raise FlowFailed(f"no stored ids for {ref}: {stored!r}")
    record.flow_seconds.append(time.perf_counter() - began)


def expect_route(page: str, route: str) -> str:
    found = route_of(page)
    if found != route:
        raise FlowFailed(f"expected {route}, got {found or flow_state_of(page)}")
    return route


# -- the same flow straight at the sandbox ---------------------------------------------------


async def direct_flow(
    http: aiohttp.ClientSession,
    sandbox_url: str,
    partner: Partner,
    record: Record,
    number: int,
    ref: str,
    think: Think = no_think,
) -> None:
    """The same flow as Connect JSON; ``think`` before each step, as in ``app_flow``."""
    tariff, summary = TARIFFS[number % 2], SUMMARIES[number % 2]
    token = await partner.timed_token(ref, record)
    headers = {"Accept-Encoding": "gzip, br", "Content-Type": "application/json"}

    async def connect(kind: str, body: dict[str, Any]) -> dict[str, Any]:
        if kind != "restore":
            await think()
        payload = json.dumps({"connect_token": token, **body})
        record.in_flight_peak = max(record.in_flight_peak, IN_FLIGHT.inc())
        began = time.perf_counter()
        try:
            async with http.post(sandbox_url + "/", data=payload, headers=headers) as response:
                answer = await response.json(content_type=None)
        finally:
            IN_FLIGHT.dec()
        ended = time.perf_counter()
        record.requests.append((kind, response.status, ended - began))
        record.request_ends.append(ended - record.began)
        if response.status != 200:
            raise FlowFailed(f"{kind} answered {response.status}")
        if not isinstance(answer, dict) or answer.get("object") == "error":
            raise FlowFailed(f"{kind} answered an error object")
        return answer

    def expect(page: dict[str, Any], route: str) -> dict[str, Any]:
        if page.get("route") != route:
            raise FlowFailed(f"expected {route}, got {page.get('route')}")
        return page

    began = time.perf_counter()
    page = expect(await connect("restore", {"route": "session_restore"}), "postal_address_capture")
    page = await connect(
        "address", {"route": "postal_address_capture", "data": {"postal_address": ADDRESS}}
    )
    page = expect(page, "provider_select")
    provider = next(
        (p for p in page["data"]["providers"] if p.get("display_name") == PROVIDER), None
    )
    if provider is None:
        raise FlowFailed(f"provider_select does not list {PROVIDER}")
    page = await connect(
        "provider", {"route": "provider_select", "data": {"provider": {"id": provider["id"]}}}
    )
    page = expect(page, "tariff_select")
    chosen = next((t for t in page["data"]["tariffs"] if t.get("name") == tariff), None)
    if chosen is None:
        raise FlowFailed(f"tariff_select does not list {tariff}")
    page = await connect(
        "tariff", {"route": "tariff_select", "data": {"tariff": {"id": chosen["id"]}}}
    )
    page = expect(page, "contract_term_capture")
    page = await connect(
        "contract",
        {"route": "contract_term_capture", "data": {"contract_end_date": NO_END_DATE}},
    )
    expect(page, summary)
    expect(await connect("save", {"route": summary, "action": "SAVE"}), "session_complete")

    bearer = await partner.bearer()
    exchange_began = time.perf_counter()
    async with http.get(
        f"{sandbox_url}/connect/tariff/token",
        params={"connect_token": token},
        headers={"Authorization": f"Bearer {bearer}", "Accept-Encoding": "gzip, br"},
    ) as response:
        answer = await response.json(content_type=None)
    ended = time.perf_counter()
    record.requests.append(("exchange", response.status, ended - exchange_began))
    record.request_ends.append(ended - record.began)
    if response.status != 200:
        raise FlowFailed(f"exchange answered {response.status}")
    if not (
        str(answer.get("customer_id") or "").startswith("cus_")
        and str(answer.get("location_id") or "").startswith("loc_")
    ):
        raise FlowFailed("exchange has no ids")
    record.flow_seconds.append(time.perf_counter() - began)
