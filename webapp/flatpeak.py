"""The FlatPeak client: bearer login, connect tokens, Connect steps and the token exchange.

Design choices, each for a reason:

* One pooled ``requests.Session`` per process, shared by every app and thread: a connection pool
  per request would pay a TCP (and TLS) handshake on every step. Requests are prepared on their
  own and handed to ``Session.send``, which skips the session's per-call merging of cookies,
  headers and environment settings, and the session keeps no cookies: one process serves
  every customer, so nothing an upstream sets may follow a call.
* Every call has an explicit (connect, read) timeout; ``requests`` has none by default, and a hung
  upstream must never hang a worker.
* urllib3 retries only what cannot double-submit: connection failures (the request never left)
  on any method, and 429/502/503/504 only on GETs (``/login`` and the exchange). A Connect POST
  that may have reached the server is never re-sent; the customer retries instead, and
  ``session_restore`` (a pure read) is retried once by hand.
* Redirects are not followed: an API that redirects is misconfigured, and following it could
  send the bearer somewhere else.
* Connect validation errors are a normal part of the flow, so they come back as a value
  (:class:`ConnectError`); transport and protocol failures raise typed exceptions (both in
  :mod:`webapp.upstream_errors`).
* Tokens and keys never reach a log line unmasked (:func:`mask`).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.cookiejar
import json
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import redis
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from webapp.page import Page
from webapp.upstream_errors import (
    AuthFailed,
    ConnectError,
    ExchangeNotReady,
    LocationNotFound,
    RatesPending,
    TariffNotConnected,
    TokenNotFound,
    UpstreamBadResponse,
    UpstreamTimeout,
    UpstreamUnavailable,
)

log = logging.getLogger(__name__)

# Refresh the bearer this long before FlatPeak says it expires, so no call races its expiry.
BEARER_EXPIRY_MARGIN = 60
# How long a worker reuses a bearer it found in the shared cache before looking again: no longer
# than the margin, so even a copy taken just before the shared entry lapsed is still valid.
SHARED_BEARER_REUSE = BEARER_EXPIRY_MARGIN
USER_AGENT = "flatpeak-connect-htmx/0.1"
BASE_HEADERS = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate", "Accept": "*/*"}


@dataclass(frozen=True)
class ConnectToken:
    connect_token: str
    expires_in: int
    live_mode: bool


@dataclass(frozen=True)
class Exchange:
    """What the exchange tells the partner: the permanent ids for the customer's tariff."""

    customer_id: str | None
    location_id: str | None
    customer_reference_id: str | None
    complete_action: str | None
    is_tariff_processed: bool
    live_mode: bool


def mask(secret: str | None) -> str:
    """``cot_0123456789abcdef…`` -> ``cot_…#1a2b3c``: recognisable in logs, useless to a reader."""
    if not secret:
        return "-"
    digest = hashlib.sha256(secret.encode()).hexdigest()[:6]
    return f"{secret[:4]}…#{digest}"


_pool_lock = threading.Lock()
_pool: requests.Session | None = None


def http_session(pool_size: int = 10) -> requests.Session:
    """The process-wide pooled session (created on first use, after any gunicorn fork)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            retry = Retry(
                total=3,
                connect=2,
                read=0,
                status=2,
                other=0,
                allowed_methods=frozenset({"GET"}),
                status_forcelist=frozenset({429, 502, 503, 504}),
                backoff_factor=0.2,
                respect_retry_after_header=True,
                raise_on_status=False,
            )
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=retry)
            session = requests.Session()
            # Proxy settings come from the environment once, per client (FlatPeakClient), not
            # on every call: requests would otherwise re-read and re-parse os.environ per request.
            session.trust_env = False
            session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers["User-Agent"] = USER_AGENT
            _pool = session
        return _pool


class FlatPeakClient:
    """Talks to the FlatPeak REST API and the Connect endpoint for one partner account."""

    def __init__(
        self,
        *,
        api_url: str,
        connect_url: str,
        account_id: str,
        api_key: str,
        connect_timeout: float = 3.05,
        read_timeout: float = 10.0,
        pool_size: int = 10,
        cache: redis.Redis | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.connect_url = connect_url.rstrip("/")
        self.account_id = account_id
        self._api_key = api_key
        self.timeout = (connect_timeout, read_timeout)
        self.pool_size = pool_size
        self._cache = cache
        fingerprint = hashlib.sha256(f"{self.api_url}|{account_id}|{api_key}".encode()).hexdigest()
        self._bearer_key = f"connect:bearer:{fingerprint[:24]}"
        self._local_bearer: tuple[str, float] | None = None
        # What trust_env would find (HTTPS_PROXY, NO_PROXY, ...), read once: both hosts are fixed.
        self._proxies = {
            base: requests.utils.get_environ_proxies(base)
            for base in (self.api_url, self.connect_url)
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any], cache: redis.Redis | None) -> FlatPeakClient:
        return cls(
            api_url=config["FLATPEAK_API_URL"],
            connect_url=config["FLATPEAK_CONNECT_URL"],
            account_id=config["FLATPEAK_ACCOUNT_ID"],
            api_key=config["FLATPEAK_API_KEY"],
            connect_timeout=float(config["FLATPEAK_CONNECT_TIMEOUT"]),
            read_timeout=float(config["FLATPEAK_READ_TIMEOUT"]),
            pool_size=int(config.get("FLATPEAK_POOL_SIZE", 10)),
            cache=cache,
        )

    # -- transport ---------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        url: str,
        what: str,
        *,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        started = time.monotonic()
        try:
            prepared = requests.PreparedRequest()
            prepared.prepare(
                method=method, url=url, headers={**BASE_HEADERS, **(headers or {})}, **kwargs
            )
            response = http_session(self.pool_size).send(
                prepared,
                timeout=self.timeout,
                allow_redirects=False,
                proxies=self._proxies_for(url),
            )
        except requests.exceptions.ConnectTimeout as exc:
            log.warning("flatpeak %s: connect timeout", what)
            raise UpstreamUnavailable(f"{what}: connect timeout") from exc
        except requests.exceptions.ReadTimeout as exc:
            log.warning("flatpeak %s: no answer within %.1fs", what, self.timeout[1])
            raise UpstreamTimeout(f"{what}: read timeout") from exc
        except requests.exceptions.RequestException as exc:
            # The exception text can contain the URL (and so a token): log only its type.
            log.warning("flatpeak %s: %s", what, type(exc).__name__)
            raise UpstreamUnavailable(f"{what}: {type(exc).__name__}") from exc
        elapsed = (time.monotonic() - started) * 1000
        log.info("flatpeak %s: HTTP %s in %.0f ms", what, response.status_code, elapsed)
        return response

    def _proxies_for(self, url: str) -> dict[str, str]:
        base = self.connect_url if url.startswith(self.connect_url) else self.api_url
        return self._proxies[base]

    @staticmethod
    def _json(response: requests.Response, what: str) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            if response.status_code >= 500:
                raise UpstreamUnavailable(f"{what}: HTTP {response.status_code}") from exc
            raise UpstreamBadResponse(f"{what}: body is not JSON") from exc

    # -- bearer ------------------------------------------------------------------------------

    def _cached_bearer(self) -> str | None:
        # This process's copy first (no round trip), then the cache every worker shares, which
        # spares each of them a login. A copy taken from the shared cache is kept a minute: a
        # bearer FlatPeak stops accepting meanwhile is renewed on its first 401 anyway.
        now = time.monotonic()
        if self._local_bearer and self._local_bearer[1] > now:
            return self._local_bearer[0]
        if self._cache is None:
            return None
        try:
            value = self._cache.get(self._bearer_key)
        except redis.RedisError:
            return None
        if not value:
            return None
        token = value.decode() if isinstance(value, bytes) else str(value)
        self._local_bearer = (token, now + SHARED_BEARER_REUSE)
        return token

    def _forget_bearer(self) -> None:
        self._local_bearer = None
        if self._cache is not None:
            with contextlib.suppress(redis.RedisError):
                self._cache.delete(self._bearer_key)

    def bearer(self) -> str:
        """A valid bearer token, from the shared cache or a fresh ``GET /login``."""
        cached = self._cached_bearer()
        if cached:
            return cached
        response = self._send(
            "GET", f"{self.api_url}/login", "login", auth=(self.account_id, self._api_key)
        )
        if response.status_code in (401, 403):
            raise AuthFailed("FlatPeak refused the account id / API key")
        if response.status_code >= 500:
            raise UpstreamUnavailable(f"login: HTTP {response.status_code}")
        body = self._json(response, "login")
        token = body.get("bearer_token") if isinstance(body, dict) else None
        if response.status_code != 200 or not isinstance(token, str) or not token:
            raise UpstreamBadResponse(f"login: unexpected answer (HTTP {response.status_code})")
        try:
            expires_in = int(body.get("expires_in") or 3600)
        except (TypeError, ValueError):
            expires_in = 3600
        ttl = max(1, expires_in - BEARER_EXPIRY_MARGIN)
        if self._cache is not None:
            try:
                self._cache.set(self._bearer_key, token, ex=ttl)
            except redis.RedisError:
                log.warning("bearer cache unavailable; using the token uncached")
        self._local_bearer = (token, time.monotonic() + ttl)
        return token

    def _authorised(self, method: str, path: str, what: str, **kwargs: Any) -> requests.Response:
        """A bearer-authenticated REST call; a refused bearer is renewed once."""
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self.bearer()}"}
            response = self._send(method, f"{self.api_url}{path}", what, headers=headers, **kwargs)
            if response.status_code == 401 and attempt == 1:
                self._forget_bearer()
                continue
            if response.status_code == 403:
                self._forget_bearer()
                raise AuthFailed(f"{what}: bearer refused")
            return response
        return response

    # -- REST API ----------------------------------------------------------------------------

    def create_token(
        self,
        *,
        callback_uri: str,
        connect_web_uri: str,
        customer_reference_id: str | None = None,
        customer_id: str | None = None,
        location_id: str | None = None,
        postal_address: Mapping[str, str] | None = None,
        direction: str = "IMPORT",
        tariff_type: str = "COMMODITY",
    ) -> ConnectToken:
        """``POST /connect/tariff/token``: a single-use token for one Connect session."""
        body: dict[str, Any] = {
            "callback_uri": callback_uri,
            "connect_web_uri": connect_web_uri,
            "direction": direction,
            "type": tariff_type,
        }
        optional = {
            "customer_reference_id": customer_reference_id,
            "customer_id": customer_id,
            "location_id": location_id,
            "postal_address": dict(postal_address) if postal_address else None,
        }
        body.update({key: value for key, value in optional.items() if value})
        response = self._authorised("POST", "/connect/tariff/token", "create token", json=body)
        if response.status_code >= 500:
            raise UpstreamUnavailable(f"create token: HTTP {response.status_code}")
        payload = self._json(response, "create token")
        token = payload.get("connect_token") if isinstance(payload, dict) else None
        if response.status_code != 200 or not isinstance(token, str) or not token:
            raise UpstreamBadResponse(
                f"create token: unexpected answer (HTTP {response.status_code})"
            )
        log.info("flatpeak created connect token %s", mask(token))
        return ConnectToken(
            connect_token=token,
            expires_in=int(payload.get("expires_in") or 86400),
            live_mode=bool(payload.get("live_mode")),
        )

    def exchange(self, connect_token: str) -> Exchange:
        """``GET /connect/tariff/token``: the permanent ids once the session has completed."""
        response = self._authorised(
            "GET",
            "/connect/tariff/token",
            f"exchange {mask(connect_token)}",
            params={"connect_token": connect_token},
        )
        if response.status_code == 404:
            raise TokenNotFound("exchange: token not found")
        if response.status_code == 422:
            raise ExchangeNotReady("exchange: data not available yet")
        if response.status_code >= 500:
            raise UpstreamUnavailable(f"exchange: HTTP {response.status_code}")
        body = self._json(response, "exchange")
        if response.status_code != 200 or not isinstance(body, dict):
            raise UpstreamBadResponse(f"exchange: unexpected answer (HTTP {response.status_code})")
        if body.get("object") == "error":
            raise ExchangeNotReady(f"exchange: {body.get('code', 'error')}")
        if not body.get("location_id") and not body.get("customer_id"):
            raise UpstreamBadResponse("exchange: no customer_id or location_id in the answer")
        return Exchange(
            customer_id=body.get("customer_id"),
            location_id=body.get("location_id"),
            customer_reference_id=body.get("customer_reference_id") or None,
            complete_action=body.get("complete_action") or None,
            is_tariff_processed=bool(body.get("is_tariff_processed")),
            live_mode=bool(body.get("live_mode")),
        )

    def location_status(self, location_id: str) -> dict[str, Any]:
        """``GET /locations/{id}/status``: the ``tariff_status`` of each kind, live.

        Returns the ``tariff_status`` object (kind -> entry); an entry that is not an object
        is dropped here, so the page reads only dicts.
        """
        what = "location status"
        response = self._authorised("GET", f"/locations/{quote(location_id, safe='')}/status", what)
        if response.status_code == 404:
            raise LocationNotFound(f"{what}: location not found")
        if response.status_code >= 500:
            raise UpstreamUnavailable(f"{what}: HTTP {response.status_code}")
        body = self._json(response, what)
        if response.status_code != 200 or not isinstance(body, dict):
            raise UpstreamBadResponse(f"{what}: unexpected answer (HTTP {response.status_code})")
        statuses = body.get("tariff_status")
        if not isinstance(statuses, dict):
            raise UpstreamBadResponse(f"{what}: no tariff_status object")
        return {kind: entry for kind, entry in statuses.items() if isinstance(entry, dict)}

    def tariff_rates(
        self, location_id: str, start: str, end: str, direction: str = "IMPORT"
    ) -> dict[str, Any]:
        """``GET /tariffs/rates/{location_id}`` with the tariff included: the ``tariff_rate``
        object. ``start`` and ``end`` are RFC 3339 times (FlatPeak allows at most 90 days)."""
        what = "tariff rates"
        response = self._authorised(
            "GET",
            f"/tariffs/rates/{quote(location_id, safe='')}",
            what,
            params={
                "start_time": start,
                "end_time": end,
                "direction": direction,
                "include_tariff": "true",
            },
        )
        if response.status_code == 404:
            raise LocationNotFound(f"{what}: location not found")
        if response.status_code >= 500:
            raise UpstreamUnavailable(f"{what}: HTTP {response.status_code}")
        body = self._json(response, what)
        if isinstance(body, dict) and body.get("object") == "error":
            code = str(body.get("code") or "error")
            if code == "pending_connect":
                raise RatesPending(f"{what}: pending_connect")
            if response.status_code == 422:
                raise TariffNotConnected(f"{what}: {code}")
            raise UpstreamBadResponse(f"{what}: {code}")
        if (
            response.status_code != 200
            or not isinstance(body, dict)
            or not isinstance(body.get("data"), list)
        ):
            raise UpstreamBadResponse(f"{what}: unexpected answer (HTTP {response.status_code})")
        return body

    # -- Connect -----------------------------------------------------------------------------

    def submit(
        self,
        connect_token: str,
        route: str,
        *,
        data: Mapping[str, Any] | None = None,
        action: str | None = None,
    ) -> Page | ConnectError:
        """POST one step to Connect: the next page object, or the error Connect answered."""
        body: dict[str, Any] = {"connect_token": connect_token, "route": route}
        if data is not None:
            body["data"] = dict(data)
        if action is not None:
            body["action"] = action
        what = f"connect {route}" + (f" {action}" if action else "")
        response = self._send(
            "POST",
            f"{self.connect_url}/",
            what,
            data=json.dumps(body),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        payload = self._json(response, what)
        # Connect's status codes are undocumented: branch on the body, as its own client does.
        if isinstance(payload, dict) and payload.get("object") == "error":
            if response.status_code >= 500 or payload.get("type") == "api_error":
                raise UpstreamUnavailable(f"{what}: {payload.get('code', 'api_error')}")
            return ConnectError(
                code=str(payload.get("code") or "unknown_error"),
                message=str(payload.get("message") or ""),
            )
        if response.status_code >= 500:
            raise UpstreamUnavailable(f"{what}: HTTP {response.status_code}")
        if (
            not isinstance(payload, dict)
            or not isinstance(payload.get("route"), str)
            or not payload["route"]
            or not isinstance(payload.get("data", {}), dict | None)
            or not isinstance(payload.get("actions", []), list | None)
        ):
            raise UpstreamBadResponse(f"{what}: not a page object")
        # Cleaned once, here: everything downstream reads the page's typed fields.
        return Page.from_connect(payload)

    def restore(self, connect_token: str) -> Page | ConnectError:
        """Start or resume the session: the current page. A pure read, so one retry is safe."""
        try:
            return self.submit(connect_token, "session_restore")
        except UpstreamUnavailable:
            time.sleep(0.1)
            return self.submit(connect_token, "session_restore")
