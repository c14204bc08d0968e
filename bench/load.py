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

How the app finds the customer's session (``--session``):

* ``cookie`` (default): a browser that keeps the app's production cookie (``__Host-fpconnect``,
  ``Secure; SameSite=None; Partitioned``) and sends it back, as one does over https or in a
  partner's iframe with CHIPS. The driver reads ``Set-Cookie`` itself (``parse_set_cookie``):
  Python 3.11's ``http.cookies.SimpleCookie`` silently drops a cookie that carries
  ``Partitioned``, so a driver built on it never sent the cookie and every flow took the
  cookie-less path without saying so. Each request that carried the cookie is counted, and so
  is each whose answer set the very same cookie again: the app refreshes the cookie only for a
  session it opened from that cookie (one opened by a flow handle or launch code gets no
  ``Set-Cookie``), so that count proves the cookie path was taken.
* ``handle``: a browser that blocks the cookie (Safari, or third-party cookies blocked in a
  partner's iframe): it keeps no cookie at all, and the app opens the session from the flow
  handle (``X-Connect-Flow``) and the entry's launch code.

Flows alternate a fixed tariff (Northwind Fixed 12M) and a time-of-day one (Northwind Economy 7),
so both summaries are exercised. Without ``--think`` customers have no think time: the next
request leaves when the last answer arrived, and a customer starts a new flow when one finishes,
so the server is saturated and the two targets' throughputs compare like for like. Starts are
spread over ``--ramp`` (1 s) so 200 customers do not arrive in the same millisecond.

With ``--think LO-HI`` each customer pauses a uniformly random LO..HI seconds (one seeded
generator per customer, ``--seed``) before each thing a person does: opening the entry link,
and each step's post (the callback and the done page follow SAVE at once, as a browser follows
``HX-Redirect``). Each customer does one flow at a time; starts are staggered over ``--ramp``,
by default the length of one flow (six mean pauses), so arrivals are steady from the start. No
flow starts after ``--duration``; flows under way then are finished.

The driver measures itself too (its CPU, how late its event loop wakes up, the most requests in
flight at once), so a driver that became the bottleneck shows in its own numbers. It raises its
soft limit on open files when the customers could need more, and runs at nice -5 when allowed,
so that servers keeping every core busy do not delay the driver's own clock readings.

Output (stdout): one JSON object with every request's kind, status and seconds, each flow's end
time, the failures and the driver's own figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import random
import resource
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, fields
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
# The production cookie's name (``__Host-`` because PUBLIC_URL is https).
SESSION_COOKIE = "__Host-fpconnect"
SESSION_MODES = ("cookie", "handle")
# A person's actions in a flow, each preceded by a pause in think-time mode: the entry link and
# five step posts.
PAUSES_PER_FLOW = 6

# entry: /connect?fp_cot=… (a 303); show: the first page it redirects to; callback: the
# HX-Redirect after SAVE (a 303); done: the page it redirects to.
APP_KINDS = (
    "entry", "show", "address", "provider", "tariff", "contract", "save", "callback", "done",
)  # fmt: skip
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


def parse_set_cookie(raw: str) -> tuple[str, str, bool] | None:
    """``(name, value, removed)`` from one ``Set-Cookie`` header, or None if it names nothing.

    Not ``http.cookies.SimpleCookie``: Python 3.11's drops the whole cookie when it meets an
    attribute it does not know, and ``Partitioned`` (CHIPS) is one. A browser keeps any cookie
    whose name=value it can read; attributes only scope it, and the driver is one site's only
    client, so the only attribute that matters here is the one that removes the cookie
    (``Max-Age`` zero or less, or an ``Expires`` in the past: Flask writes both, 1970).
    """
    pair, _sep, attributes = raw.partition(";")
    name, equals, value = pair.partition("=")
    name, value = name.strip(), value.strip()
    if not equals or not name:
        return None
    removed = not value
    for attribute in attributes.split(";"):
        key, _eq, setting = attribute.partition("=")
        key = key.strip().lower()
        if key == "max-age" and setting.strip().lstrip("-").isdigit():
            removed = removed or int(setting) <= 0
        elif key == "expires" and "1970" in setting:
            removed = True
    return name, value, removed


# -- recording ------------------------------------------------------------------------------


@dataclass
class Record:
    requests: list[tuple[str, int, float]] = field(default_factory=list)  # kind, status, s
    # When each of those ended, in seconds since the first customer's start (by index): stalls
    # and waves show as seconds in which few requests end and those that do took long.
    request_ends: list[float] = field(default_factory=list)
    began: float = 0.0  # perf_counter() at the first customer's start
    flow_ends: list[float] = field(default_factory=list)  # seconds since start
    flow_seconds: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    transport_errors: Counter[str] = field(default_factory=Counter)
    flows_started: int = 0
    token_seconds: list[float] = field(default_factory=list)
    # By request kind: requests that carried the session cookie, and those whose answer set the
    # same cookie again (the app opened the session from the cookie: see the module's doc).
    cookie_sent: Counter[str] = field(default_factory=Counter)
    cookie_renewed: Counter[str] = field(default_factory=Counter)
    in_flight_peak: int = 0
    # Each new TCP connection's setup time (aiohttp's connection_create trace): on loopback it
    # is near zero unless the server's accept queue overflowed and the kernel dropped the SYN
    # (then 1 s, 3 s…: the retransmission timer). Requests sent on a pooled connection count
    # in ``connections_reused``.
    connect_seconds: list[float] = field(default_factory=list)
    connections_reused: int = 0
    gc_seconds: list[float] = field(default_factory=list)  # each collection's pause, any gen
    loop_lag: list[float] = field(default_factory=list)  # seconds late, sampled every 0.1 s
    driver_cpu: float = 0.0  # the driver's own user + system seconds
    wall: float = 0.0  # from the first customer's start to the last flow's end


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


class _Gauge:
    """Requests in flight across the driver's one event loop (no lock needed)."""

    def __init__(self) -> None:
        self.value = 0

    def inc(self) -> int:
        self.value += 1
        return self.value

    def dec(self) -> None:
        self.value -= 1


_IN_FLIGHT = _Gauge()

Think = Callable[[], Awaitable[None]]


async def no_think() -> None:
    return None


class Browser:
    """One customer's browser for one flow: its cookies, its address, htmx's headers."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        app_url: str,
        record: Record,
        ip: str,
        session_mode: str = "cookie",
    ):
        self.http = http
        self.app_url = app_url
        self.record = record
        self.keeps_cookies = session_mode == "cookie"
        self.cookies: dict[str, str] = {}
        self.hx_headers: dict[str, str] = {}
        self.base = {
            "Accept-Encoding": "gzip, br",
            "User-Agent": "flow-bench (htmx 2.0.11)",
            "X-Forwarded-For": ip,
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": PUBLIC_HOST,
        }

    def _keep_cookies(self, kind: str, sent: str | None, response: aiohttp.ClientResponse) -> None:
        """Keep what the answer set (unless this browser blocks cookies), and count whether
        the session cookie this request carried came back unchanged (refreshed)."""
        for raw in response.headers.getall("Set-Cookie", []):
            parsed = parse_set_cookie(raw)
            if parsed is None:
                continue
            name, value, removed = parsed
            if name == SESSION_COOKIE and sent is not None and value == sent and not removed:
                self.record.cookie_renewed[kind] += 1
            if not self.keeps_cookies:
                continue
            if removed:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

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
        session_cookie = self.cookies.get(SESSION_COOKIE)
        if session_cookie is not None:
            self.record.cookie_sent[kind] += 1
        body = urlencode(data) if data is not None else None
        if body is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        record = self.record
        record.in_flight_peak = max(record.in_flight_peak, _IN_FLIGHT.inc())
        started = time.perf_counter()
        try:
            async with self.http.request(
                method, self.app_url + path, data=body, headers=sent, allow_redirects=False
            ) as response:
                text = await response.text()
        finally:
            _IN_FLIGHT.dec()
        ended = time.perf_counter()
        record.requests.append((kind, response.status, ended - started))
        record.request_ends.append(ended - record.began)
        self._keep_cookies(kind, session_cookie, response)
        if response.status not in allowed:
            raise FlowFailed(f"{kind} {method} {urlsplit(path).path} answered {response.status}")
        return response, text

    async def navigate(
        self, kind: str, path: str, then: str = "show"
    ) -> tuple[aiohttp.ClientResponse, str]:
        """A whole-page load (address bar, link, HX-Redirect), following redirects by hand; the
        pages it is redirected to are recorded as ``then``."""
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
            response, text = await self.send(then, "GET", path, headers=headers)
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
        record.in_flight_peak = max(record.in_flight_peak, _IN_FLIGHT.inc())
        began = time.perf_counter()
        try:
            async with http.post(sandbox_url + "/", data=payload, headers=headers) as response:
                answer = await response.json(content_type=None)
        finally:
            _IN_FLIGHT.dec()
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


# -- the run ---------------------------------------------------------------------------------


def customer_ip(number: int) -> str:
    """A distinct address per flow, in 10.0.0.0/8 (a new customer each time)."""
    number += 1
    return f"10.{(number >> 16) & 255}.{(number >> 8) & 255}.{number & 255}"


def prefer_driver() -> int:
    """Nice -5 for the driver when allowed (root): on a machine where the servers keep every core
    busy, a driver scheduled late stamps a request's end late and reads as server latency. It
    needs a tenth of a core, so the servers lose little. Returns the niceness in force."""
    # Not permitted (not root): measure at equal priority; the loop lag line shows the effect.
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, 0, -5)
    return os.getpriority(os.PRIO_PROCESS, 0)


def raise_open_files(customers: int) -> int:
    """The soft limit on open files, raised to the hard limit when the customers could need
    more than it allows (a connection each at worst, plus Redis, the log and Python's own);
    the limit in force is returned for the report."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2 * customers + 256
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        if new > soft:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
            soft = new
    return int(soft)


async def watch_loop(record: Record, stop: asyncio.Event, every: float = 0.1) -> None:
    """How late the event loop wakes a sleeper: if the driver were the bottleneck, its own
    requests would wait on it and this lag would grow with them."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        due = loop.time() + every
        await asyncio.sleep(every)
        record.loop_lag.append(max(0.0, loop.time() - due))


@contextlib.contextmanager
def gc_timed(record: Record) -> Iterator[None]:
    """Time the driver's garbage collections (a pause of the whole event loop) and make them
    rarer: what was allocated before the run (imports, the loop) is frozen out of them, and a
    young generation of 50,000 objects instead of 700 spares thousands of customers' pages and
    forms from being walked again and again."""
    began = 0.0

    def timer(phase: str, _info: dict[str, int]) -> None:
        nonlocal began
        if phase == "start":
            began = time.perf_counter()
        else:
            record.gc_seconds.append(time.perf_counter() - began)

    gc.collect()
    gc.freeze()
    thresholds = gc.get_threshold()
    gc.set_threshold(50_000, 20, 20)
    gc.callbacks.append(timer)
    try:
        yield
    finally:
        gc.callbacks.remove(timer)
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def thinker(think: tuple[float, float] | None, seed: int, slot: int) -> Think:
    """One customer's pauses: uniform in ``think`` seconds, from a generator of its own seeded
    by (seed, slot), so a run's pauses repeat whatever order the customers get scheduled in."""
    if think is None:
        return no_think
    low, high = think
    rng = random.Random(seed * 1_000_003 + slot)

    async def pause() -> None:
        await asyncio.sleep(rng.uniform(low, high))

    return pause


def default_ramp(think: tuple[float, float] | None) -> float:
    """One second at saturation; with think time, the length of one flow, so that the starts
    (and so every later step) arrive at a steady rate instead of as one wave."""
    if think is None:
        return 1.0
    return PAUSES_PER_FLOW * (think[0] + think[1]) / 2


async def drive(
    target: str,
    url: str,
    sandbox_url: str,
    redis_url: str,
    customers: int,
    duration: float,
    ramp: float,
    *,
    session_mode: str = "cookie",
    think: tuple[float, float] | None = None,
    seed: int = 1,
) -> dict[str, Any]:
    record = Record()
    open_files = raise_open_files(customers)
    niceness = prefer_driver()
    cpu_began = resource.getrusage(resource.RUSAGE_SELF)
    # No connection limit: each customer has at most one request in flight (as a browser
    # does over HTTP/1.1 for these sequential pages), so a limit could only make customers
    # queue inside the driver, and that wait would count as the server's latency.
    connector = aiohttp.TCPConnector(limit=0, force_close=False, keepalive_timeout=4)
    trace = aiohttp.TraceConfig()

    async def created(_session: Any, context: Any, _params: Any) -> None:
        context.began = time.perf_counter()

    async def connected(_session: Any, context: Any, _params: Any) -> None:
        record.connect_seconds.append(time.perf_counter() - context.began)

    async def reused(_session: Any, _context: Any, _params: Any) -> None:
        record.connections_reused += 1

    trace.on_connection_create_start.append(created)
    trace.on_connection_create_end.append(connected)
    trace.on_connection_reuseconn.append(reused)
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
    stop_watch = asyncio.Event()
    watcher = asyncio.create_task(watch_loop(record, stop_watch))
    with gc_timed(record):
        await _run_customers(
            record, connector, timeout, jar, trace, target, url, sandbox_url, redis_client,
            customers, duration, ramp, session_mode, think, seed,
        )  # fmt: skip
    stop_watch.set()
    await watcher
    if redis_client is not None:
        await redis_client.aclose()
    cpu_ended = resource.getrusage(resource.RUSAGE_SELF)
    record.driver_cpu = (cpu_ended.ru_utime - cpu_began.ru_utime) + (
        cpu_ended.ru_stime - cpu_began.ru_stime
    )
    return {
        "target": target,
        "customers": customers,
        "duration": duration,
        "session": session_mode if target == "app" else None,
        "think": list(think) if think else None,
        "ramp": ramp,
        "open_files_limit": open_files,
        "niceness": niceness,
        # Not dataclasses.asdict: it rebuilds a Counter from its (key, count) pairs, which
        # counts the pairs, so any failure would have made the output unwritable.
        **{item.name: getattr(record, item.name) for item in fields(record)},
    }


async def _run_customers(
    record: Record,
    connector: aiohttp.TCPConnector,
    timeout: aiohttp.ClientTimeout,
    jar: aiohttp.DummyCookieJar,
    trace: aiohttp.TraceConfig,
    target: str,
    url: str,
    sandbox_url: str,
    redis_client: Any,
    customers: int,
    duration: float,
    ramp: float,
    session_mode: str,
    think: tuple[float, float] | None,
    seed: int,
) -> None:
    """Every customer, from the first start to the last flow's end; sets ``record.wall``."""
    counter = iter(range(10**9))
    run_id = f"{int(time.time())}-{id(record) % 10000}"
    async with aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        cookie_jar=jar,
        auto_decompress=True,
        trace_configs=[trace],
    ) as http:
        partner = Partner(http, sandbox_url)
        await partner.bearer()
        start = record.began = time.perf_counter()
        deadline = start + duration

        async def customer(slot: int) -> None:
            pause = thinker(think, seed, slot)
            await asyncio.sleep(ramp * slot / max(customers, 1))
            first = True
            while time.perf_counter() < deadline:
                if not first:
                    await pause()  # before opening the next entry link
                    if time.perf_counter() >= deadline:
                        break
                first = False
                number = next(counter)
                ref = f"bench-{target}-{run_id}-{number:06d}"
                record.flows_started += 1
                try:
                    if target == "app":
                        await app_flow(
                            http, url, partner, redis_client, record, number, ref,
                            customer_ip(number), session_mode, pause,
                        )  # fmt: skip
                    else:
                        await direct_flow(http, url, partner, record, number, ref, pause)
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
        record.wall = time.perf_counter() - start


def think_range(text: str) -> tuple[float, float]:
    """``LO-HI`` seconds (``3-10``, ``0.1-0.3``) or one number for a fixed pause."""
    low, _sep, high = text.partition("-")
    try:
        pair = (float(low), float(high or low))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--think takes LO-HI seconds, not {text!r}") from None
    if not 0 <= pair[0] <= pair[1]:
        raise argparse.ArgumentTypeError(f"--think needs 0 <= LO <= HI, not {text!r}")
    return pair


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("target", choices=("app", "direct"))
    parser.add_argument("--url", required=True, help="the app (app) or the sandbox (direct)")
    parser.add_argument("--sandbox-url", required=True, help="where the partner creates tokens")
    parser.add_argument("--redis-url", default="", help="the app's Redis, to check stored ids")
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument(
        "--ramp", type=float, default=None, help="seconds to spread starts over (see above)"
    )
    parser.add_argument("--session", choices=SESSION_MODES, default="cookie")
    parser.add_argument("--think", type=think_range, default=None, help="LO-HI seconds")
    parser.add_argument("--seed", type=int, default=1, help="for the think-time pauses")
    args = parser.parse_args(argv)
    result = asyncio.run(
        drive(
            args.target,
            args.url.rstrip("/"),
            args.sandbox_url.rstrip("/"),
            args.redis_url,
            args.customers,
            args.duration,
            args.ramp if args.ramp is not None else default_ramp(args.think),
            session_mode=args.session,
            think=args.think,
            seed=args.seed,
        )
    )
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
