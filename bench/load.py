"""The customer driver: many customers at once through complete flows, on one asyncio loop.

It runs in a process of its own (``python -m bench.load``, started by ``bench.run``) so that the
process sampling memory and printing stays out of its way, and it is cheap: aiohttp, and
``devstack.forms`` (a few regular expressions) instead of a full HTML parser.

Two targets, the same flows, the same customers and duration:

* ``app``: what a browser with htmx sends. The partner's backend creates a connect token on the
  sandbox API (not counted as an app request); the customer opens ``/connect?fp_cot=…`` (a
  whole-page navigation, then the redirect to ``/connect/flow``), and posts address, provider,
  tariff, contract term and SAVE as htmx requests (``HX-Request``, ``HX-Current-URL``,
  ``HX-Target``, ``X-CSRFToken`` and ``X-Connect-Flow`` from the page's ``hx-headers``, the
  form's fields including the hidden ones, the pressed button, the session cookie), follows the
  ``HX-Redirect`` to the callback, which exchanges the token and redirects to the done page,
  and the driver checks the ids the app stored in Redis.
  Every request says ``Accept-Encoding: gzip, br`` and carries what a TLS-terminating load
  balancer adds: ``X-Forwarded-Proto: https``, ``X-Forwarded-Host`` and the customer's own
  ``X-Forwarded-For`` (a new address per flow: each flow is a new customer).
* ``direct``: the Connect JSON the app itself sends for the same flow, straight at the sandbox:
  ``session_restore``, each step, SAVE, then the exchange (``GET /connect/tariff/token``).

Flows alternate a fixed tariff (Northwind Fixed 12M) and a time-of-day one (Northwind Economy 7),
so both summaries are exercised. Customers have no think time: the next request leaves when the
last answer arrived, and a customer starts a new flow when one finishes, so the server is
saturated and the two targets' throughputs compare like for like. Starts are spread over the
first second so 200 customers do not arrive in the same millisecond.

Output (stdout): one JSON object with every request's kind, status and seconds, each flow's end
time, and the failures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp

from devstack.forms import (
    Form,
    find_button,
    find_form,
    flow_state_of,
    hx_headers_of,
    parse_forms,
    route_of,
)
from devstack.stack import SANDBOX_ACCOUNT_ID, SANDBOX_API_KEY

# Only ever a name in URLs and cookies: the driver connects to loopback and says this host in
# X-Forwarded-Host, as a load balancer would.
PUBLIC_HOST = "connect.bench.invalid"
PUBLIC_URL = f"https://{PUBLIC_HOST}"

ADDRESS = {
    "address_line1": "1 Test Street",
    "city": "London",
    "post_code": "SW1A 1AA",
    "country_code": "GB",
}
PROVIDER = "Northwind Energy"
TARIFFS = ("Northwind Fixed 12M", "Northwind Economy 7")  # fixed, time of day
SUMMARIES = ("summary_fixed_confirm", "summary_tou_confirm")
NO_END_DATE = "0001-01-01T00:00:00Z"  # what the app sends for "no end date"
REQUEST_TIMEOUT = 60.0

APP_KINDS = ("entry", "show", "address", "provider", "tariff", "contract", "save", "done")
DIRECT_KINDS = ("restore", "address", "provider", "tariff", "contract", "save", "exchange")


class FlowFailed(Exception):
    """A flow did not reach its end; the message says where and why."""


# -- reading pages ---------------------------------------------------------------------------


def post_forms(page: str) -> list[Form]:
    return [form for form in parse_forms(page) if form.is_post]


def form_with(
    forms: list[Form],
    names: tuple[str, ...],
    route: str | None,
    *,
    button: tuple[str, str] | None = None,
) -> Form:
    form = find_form(forms, names=names, button=button)
    if form is None:
        raise FlowFailed(f"{route}: no form with {names or button}")
    return form


def button(forms: list[Form], name: str, label: str, route: str | None) -> tuple[Form, str]:
    found = find_button(forms, name, label)
    if found is None:
        raise FlowFailed(f"{route}: no {name} button labelled {label!r}")
    return found


def submission(form: Form, overrides: dict[str, str]) -> list[tuple[str, str]]:
    """The form's fields with ``overrides`` replacing same-named ones (or added)."""
    kept = [(key, value) for key, value in form.fields if key not in overrides]
    return kept + list(overrides.items())


# -- recording ------------------------------------------------------------------------------


@dataclass
class Record:
    requests: list[tuple[str, int, float]] = field(default_factory=list)  # kind, status, s
    flow_ends: list[float] = field(default_factory=list)  # seconds since start
    flow_seconds: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    transport_errors: Counter[str] = field(default_factory=Counter)
    flows_started: int = 0
    token_seconds: list[float] = field(default_factory=list)


# -- the partner's backend ------------------------------------------------------------------


class Partner:
    """Creates connect tokens on the sandbox API with one cached bearer token."""

    def __init__(self, http: aiohttp.ClientSession, sandbox_url: str) -> None:
        self.http = http
        self.sandbox_url = sandbox_url
        self._bearer: str | None = None
        self._lock = asyncio.Lock()

    async def bearer(self) -> str:
        async with self._lock:
            if self._bearer is None:
                auth = aiohttp.BasicAuth(SANDBOX_ACCOUNT_ID, SANDBOX_API_KEY)
                async with self.http.get(f"{self.sandbox_url}/login", auth=auth) as response:
                    if response.status != 200:
                        raise FlowFailed(f"partner login answered {response.status}")
                    self._bearer = str((await response.json())["bearer_token"])
            return self._bearer

    async def create_token(self, customer_ref: str) -> str:
        body = {
            "callback_uri": f"{PUBLIC_URL}/connect/callback",
            "connect_web_uri": f"{PUBLIC_URL}/connect/provider-return",
            "customer_reference_id": customer_ref,
            "direction": "IMPORT",
            "type": "COMMODITY",
        }
        headers = {"Authorization": f"Bearer {await self.bearer()}"}
        async with self.http.post(
            f"{self.sandbox_url}/connect/tariff/token", json=body, headers=headers
        ) as response:
            if response.status != 200:
                raise FlowFailed(f"partner token create answered {response.status}")
            return str((await response.json())["connect_token"])

    async def timed_token(self, customer_ref: str, record: Record) -> str:
        """A token for one flow; its time is recorded apart (the partner's work, not a step)."""
        started = time.perf_counter()
        token = await self.create_token(customer_ref)
        record.token_seconds.append(time.perf_counter() - started)
        return token


# -- one customer in the app ----------------------------------------------------------------


class Browser:
    """One customer's browser for one flow: its cookies, its address, htmx's headers."""

    def __init__(self, http: aiohttp.ClientSession, app_url: str, record: Record, ip: str):
        self.http = http
        self.app_url = app_url
        self.record = record
        self.cookies: dict[str, str] = {}
        self.hx_headers: dict[str, str] = {}
        self.base = {
            "Accept-Encoding": "gzip, br",
            "User-Agent": "flow-bench (htmx 2.0.11)",
            "X-Forwarded-For": ip,
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": PUBLIC_HOST,
        }

    def _keep_cookies(self, response: aiohttp.ClientResponse) -> None:
        for raw in response.headers.getall("Set-Cookie", []):
            jar: SimpleCookie = SimpleCookie()
            jar.load(raw)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    async def send(
        self,
        kind: str,
        method: str,
        path: str,
        *,
        headers: dict[str, str],
        data: list[tuple[str, str]] | None = None,
        allowed: tuple[int, ...] = (200,),
    ) -> tuple[aiohttp.ClientResponse, str]:
        sent = {**self.base, **headers}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = urlencode(data) if data is not None else None
        if body is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        async with self.http.request(
            method, self.app_url + path, data=body, headers=sent, allow_redirects=False
        ) as response:
            text = await response.text()
        self.record.requests.append((kind, response.status, time.perf_counter() - started))
        self._keep_cookies(response)
        if response.status not in allowed:
            raise FlowFailed(f"{kind} {method} {urlsplit(path).path} answered {response.status}")
        return response, text

    async def navigate(self, kind: str, path: str) -> tuple[aiohttp.ClientResponse, str]:
        """A whole-page load (address bar, link, HX-Redirect), following redirects by hand."""
        headers = {
            "Accept": "text/html,application/xhtml+xml",
            "Sec-Fetch-Dest": "document",
            "Sec-Fetch-Mode": "navigate",
        }
        response, text = await self.send(kind, "GET", path, headers=headers, allowed=(200, 303))
        hops = 0
        while response.status == 303:
            hops += 1
            if hops > 4:
                raise FlowFailed(f"{kind}: too many redirects")
            location = response.headers["Location"]
            parts = urlsplit(location)
            if parts.netloc and parts.netloc != PUBLIC_HOST:
                raise FlowFailed(f"{kind}: redirected off the app to {parts.netloc}")
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            response, text = await self.send("show", "GET", path, headers=headers)
        self.hx_headers = hx_headers_of(text) or self.hx_headers
        return response, text

    async def htmx_post(
        self, kind: str, form: Form, overrides: dict[str, str]
    ) -> tuple[aiohttp.ClientResponse, str]:
        headers = {
            "HX-Request": "true",
            "HX-Current-URL": f"{PUBLIC_URL}/connect/flow",
            "HX-Target": "page",
            "Accept": "*/*",
            "Origin": PUBLIC_URL,
            "Sec-Fetch-Dest": "empty",
            "Sec-Fetch-Mode": "cors",
            **self.hx_headers,
        }
        path = form.hx_post or form.action or "/connect/flow"
        return await self.send(
            kind, "POST", path, headers=headers, data=submission(form, overrides)
        )


async def app_flow(
    http: aiohttp.ClientSession,
    app_url: str,
    partner: Partner,
    redis_client: Any,
    record: Record,
    number: int,
    ref: str,
    ip: str,
) -> None:
    tariff, summary = TARIFFS[number % 2], SUMMARIES[number % 2]
    token = await partner.timed_token(ref, record)
    browser = Browser(http, app_url, record, ip)

    began = time.perf_counter()
    _response, page = await browser.navigate("entry", f"/connect?fp_cot={token}")
    route = expect_route(page, "postal_address_capture")
    if not browser.hx_headers.get("X-CSRFToken"):
        raise FlowFailed("first page has no X-CSRFToken in hx-headers")

    forms = post_forms(page)
    _r, page = await browser.htmx_post("address", form_with(forms, tuple(ADDRESS), route), ADDRESS)
    route = expect_route(page, "provider_select")

    forms = post_forms(page)
    form, value = button(forms, "provider_id", PROVIDER, route)
    _r, page = await browser.htmx_post("provider", form, {"provider_id": value})
    route = expect_route(page, "tariff_select")

    form, value = button(post_forms(page), "tariff_id", tariff, route)
    _r, page = await browser.htmx_post("tariff", form, {"tariff_id": value})
    route = expect_route(page, "contract_term_capture")

    form = form_with(post_forms(page), ("term",), route)
    _r, page = await browser.htmx_post("contract", form, {"term": "none"})
    route = expect_route(page, summary)

    form = form_with(post_forms(page), (), route, button=("action", "SAVE"))
    response, _text = await browser.htmx_post("save", form, {"action": "SAVE"})
    target = response.headers.get("HX-Redirect", "")
    if not target.split("?")[0].endswith("/connect/callback") or "fp_cot" in target:
        raise FlowFailed(f"SAVE answered HX-Redirect {target!r}, not our callback")
    parts = urlsplit(target)
    # The callback exchanges the token and redirects to the done page.
    _response, page = await browser.navigate("done", parts.path + f"?{parts.query}")
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
) -> None:
    tariff, summary = TARIFFS[number % 2], SUMMARIES[number % 2]
    token = await partner.timed_token(ref, record)
    headers = {"Accept-Encoding": "gzip, br", "Content-Type": "application/json"}

    async def connect(kind: str, body: dict[str, Any]) -> dict[str, Any]:
        began = time.perf_counter()
        payload = json.dumps({"connect_token": token, **body})
        async with http.post(sandbox_url + "/", data=payload, headers=headers) as response:
            answer = await response.json(content_type=None)
        record.requests.append((kind, response.status, time.perf_counter() - began))
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
    record.requests.append(("exchange", response.status, time.perf_counter() - exchange_began))
    if response.status != 200:
        raise FlowFailed(f"exchange answered {response.status}")
    if not (
        str(answer.get("customer_id") or "").startswith("cus_")
        and str(answer.get("location_id") or "").startswith("loc_")
    ):
        raise FlowFailed("exchange has no ids")
    record.flow_seconds.append(time.perf_counter() - began)


# -- the run ---------------------------------------------------------------------------------


def customer_ip(number: int) -> str:
    """A distinct address per flow, in 10.0.0.0/8 (a new customer each time)."""
    number += 1
    return f"10.{(number >> 16) & 255}.{(number >> 8) & 255}.{number & 255}"


async def drive(
    target: str,
    url: str,
    sandbox_url: str,
    redis_url: str,
    customers: int,
    duration: float,
    ramp: float,
) -> dict[str, Any]:
    record = Record()
    connector = aiohttp.TCPConnector(limit=0, force_close=False, keepalive_timeout=4)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    jar = aiohttp.DummyCookieJar()  # the app's cookies are kept per customer, by hand
    redis_client = None
    if target == "app":
        import redis.asyncio

        # Blocking: 200 customers share a few connections and wait their turn for one.
        pool = redis.asyncio.BlockingConnectionPool.from_url(
            redis_url, max_connections=16, timeout=REQUEST_TIMEOUT
        )
        redis_client = redis.asyncio.Redis(connection_pool=pool)
    counter = iter(range(10**9))
    run_id = f"{int(time.time())}-{id(record) % 10000}"
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, cookie_jar=jar, auto_decompress=True
    ) as http:
        partner = Partner(http, sandbox_url)
        await partner.bearer()
        start = time.perf_counter()
        deadline = start + duration

        async def customer(slot: int) -> None:
            await asyncio.sleep(ramp * slot / max(customers, 1))
            while time.perf_counter() < deadline:
                number = next(counter)
                ref = f"bench-{target}-{run_id}-{number:06d}"
                record.flows_started += 1
                try:
                    if target == "app":
                        await app_flow(
                            http, url, partner, redis_client, record, number, ref,
                            customer_ip(number),
                        )  # fmt: skip
                    else:
                        await direct_flow(http, url, partner, record, number, ref)
                except FlowFailed as exc:
                    record.failures[str(exc)] += 1
                    continue
                except (TimeoutError, aiohttp.ClientError) as exc:
                    reason = f"{type(exc).__name__}: {exc}"[:160]
                    record.transport_errors[reason] += 1
                    record.failures[f"transport: {type(exc).__name__}"] += 1
                    continue
                except Exception as exc:  # the driver's own trouble still fails only the flow
                    record.failures[f"driver: {type(exc).__name__}: {exc}"[:160]] += 1
                    continue
                record.flow_ends.append(time.perf_counter() - start)

        await asyncio.gather(*(customer(slot) for slot in range(customers)))
        wall = time.perf_counter() - start
    if redis_client is not None:
        await redis_client.aclose()
    return {
        "target": target,
        "customers": customers,
        "duration": duration,
        "wall": wall,
        **{key: value for key, value in asdict(record).items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("target", choices=("app", "direct"))
    parser.add_argument("--url", required=True, help="the app (app) or the sandbox (direct)")
    parser.add_argument("--sandbox-url", required=True, help="where the partner creates tokens")
    parser.add_argument("--redis-url", default="", help="the app's Redis, to check stored ids")
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--ramp", type=float, default=1.0, help="seconds to spread starts over")
    args = parser.parse_args(argv)
    result = asyncio.run(
        drive(
            args.target,
            args.url.rstrip("/"),
            args.sandbox_url.rstrip("/"),
            args.redis_url,
            args.customers,
            args.duration,
            args.ramp,
        )
    )
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
