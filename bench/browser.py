"""A customer's browser and the partner's backend, as the load driver plays them.

``Browser`` sends what a browser with htmx sends to the app; every request says
``Accept-Encoding: gzip, br`` and carries what a TLS-terminating load balancer adds:
``X-Forwarded-Proto: https``, ``X-Forwarded-Host`` and the customer's own ``X-Forwarded-For``
(a new address per flow: each flow is a new customer). ``Partner`` is the partner's backend,
creating connect tokens on the sandbox API (not counted as an app request). ``Record`` holds
what the driver measured.

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
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import aiohttp

from devstack.forms import Form, find_button, find_form, hx_headers_of, parse_forms
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


IN_FLIGHT = _Gauge()

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
        record.in_flight_peak = max(record.in_flight_peak, IN_FLIGHT.inc())
        started = time.perf_counter()
        try:
            async with self.http.request(
                method, self.app_url + path, data=body, headers=sent, allow_redirects=False
            ) as response:
                text = await response.text()
        finally:
            IN_FLIGHT.dec()
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
