"""Fixtures for the web-app core: the app pointed at the session's real redis-server and sandbox,
and a small form-driven "browser" that walks a flow the way a customer without JavaScript does
(read the page, fill the form it shows, press a button, follow the redirects), through Flask's
test client or, as ``HttpBrowser``, over real HTTP to an app under gunicorn.

Nothing is mocked: the app talks to the sandbox over HTTP, sessions live in Redis, and every
form post carries the CSRF token and flow handle the page rendered.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
import requests
from flask import Flask
from flask.testing import FlaskClient

from devstack.forms import Form, find_button, find_form, flow_state_of, parse_forms, route_of
from devstack.stack import RedisServer, SandboxServer
from webapp import create_app

APP_DB = 3
PUBLIC_URL = "http://localhost"
PARTNER_ORIGIN = "https://partner.example"
PARTNER_RETURN = "https://partner.example/connected"
TEST_SECRET = "test-only-secret-key-0123456789abcdef0123456789"

GB_ADDRESS = {
    "address_line1": "1 Test Street",
    "city": "London",
    "post_code": "SW1A 1AA",
    "country_code": "GB",
}


def app_config(redis_server: RedisServer, sandbox: SandboxServer, **extra: Any) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SECRET_KEY": TEST_SECRET,
        "REDIS_URL": redis_server.url(APP_DB),
        "FLATPEAK_API_URL": sandbox.url,
        "FLATPEAK_CONNECT_URL": sandbox.url,
        "FLATPEAK_ACCOUNT_ID": sandbox.account_id,
        "FLATPEAK_API_KEY": sandbox.api_key,
        "PUBLIC_URL": PUBLIC_URL,
        "PARTNER_ORIGINS": [PARTNER_ORIGIN],
        "PARTNER_RETURN_URLS": [PARTNER_RETURN],
        # Many tests start their flows from the demo partner page, which is off by default.
        "DEMO_ENABLED": True,
        **extra,
    }


@pytest.fixture
def app(redis_server: RedisServer, sandbox: SandboxServer) -> Iterator[Flask]:
    redis_server.client(APP_DB).flushdb()
    yield create_app(app_config(redis_server, sandbox))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def app_redis(redis_server: RedisServer) -> redis.Redis:
    return redis_server.client(APP_DB)


# -- reading pages ---------------------------------------------------------------------------


@dataclass
class Page:
    status: int
    url: str
    html: str
    headers: dict[str, str]

    def __post_init__(self) -> None:
        self.forms = parse_forms(self.html)
        self.route = route_of(self.html)
        self.state = flow_state_of(self.html)

    def form_with(
        self, *, button: tuple[str, str] | None = None, names: tuple[str, ...] = ()
    ) -> Form:
        form = find_form(self.forms, button=button, names=names)
        if form is not None:
            return form
        raise AssertionError(
            f"no form with button={button} fields={names} on {self.route or self.url}:\n"
            + "\n".join(f"  {f.action} {f.fields} {f.buttons}" for f in self.forms)
        )

    def text(self) -> str:
        return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", self.html))


class Browser:
    """Walks the app like a customer: plain form posts (or htmx posts), following redirects,
    including the hop out to the sandbox's provider login and back."""

    def __init__(self, client: FlaskClient, *, htmx: bool = False) -> None:
        self.client = client
        self.htmx = htmx
        self.page: Page | None = None
        self.redirects: list[str] = []  # every Location / HX-Redirect the app answered
        self.requested: list[str] = []  # every URL this browser asked the app for
        self.history: list[Page] = []  # every page of ours this browser was shown

    # navigation
    def _app_response(self, method: str, url: str, **kwargs: Any) -> Any:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        self.requested.append(path)
        headers = kwargs.pop("headers", {})
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def _is_app(self, url: str) -> bool:
        return url.startswith("/") or url.startswith(PUBLIC_URL + "/")

    def open(self, url: str, method: str = "GET", **kwargs: Any) -> Page:
        for _hop in range(10):
            if not self._is_app(url):
                return self._external(url)
            response = self._app_response(method, url, **kwargs)
            target = response.headers.get("Location") or response.headers.get("HX-Redirect")
            if target:
                self.redirects.append(target)
            if response.status_code in (301, 302, 303, 307, 308) or (
                response.headers.get("HX-Redirect")
            ):
                url, method, kwargs = target, "GET", {}
                continue
            self.page = Page(
                response.status_code,
                url,
                response.get_data(as_text=True),
                dict(response.headers),
            )
            self.history.append(self.page)
            return self.page
        raise AssertionError("redirect loop: " + " -> ".join(self.redirects[-10:]))

    def _external(self, url: str) -> Page:
        response = requests.get(url, allow_redirects=False, timeout=10)
        self.page = Page(response.status_code, url, response.text, dict(response.headers))
        return self.page

    def get(self, url: str) -> Page:
        return self.open(url)

    def submit(
        self,
        fields: dict[str, str] | None = None,
        *,
        button: tuple[str, str] | None = None,
        form: Form | None = None,
    ) -> Page:
        """Fill the page's form and press ``button`` (or submit it without one)."""
        assert self.page is not None
        fields = fields or {}
        form = form or self.page.form_with(button=button, names=tuple(fields))
        data: dict[str, Any] = {}
        for key, value in form.fields:
            data.setdefault(key, value)
        data.update(fields)
        if button:
            data[button[0]] = button[1]
        if not self._is_app(self.page.url) or not self._is_app(form.action or "/"):
            return self._external_post(form, data)
        headers = {"HX-Request": "true"} if self.htmx else {}
        return self.open(form.action or self.page.url, "POST", data=data, headers=headers)

    def _external_post(self, form: Form, data: dict[str, Any]) -> Page:
        assert self.page is not None
        base = urlsplit(self.page.url)
        action = (
            form.action if "://" in form.action else f"{base.scheme}://{base.netloc}{form.action}"
        )
        response = requests.post(action, data=data, allow_redirects=False, timeout=10)
        location = response.headers.get("Location")
        if location:
            return self.open(location)
        self.page = Page(response.status_code, action, response.text, dict(response.headers))
        return self.page

    # steps by intent
    def action(self, name: str) -> Page:
        return self.submit(button=("action", name))

    def provider(self, display_name: str) -> Page:
        """Press the provider's button on provider_select."""
        return self.submit(button=("provider_id", self.button_value("provider_id", display_name)))

    def tariff(self, name: str) -> Page:
        return self.submit(button=("tariff_id", self.button_value("tariff_id", name)))

    def button_value(self, field_name: str, label: str) -> str:
        """The value of the ``field_name`` button whose visible text contains ``label``."""
        assert self.page is not None
        found = find_button(self.page.forms, field_name, label)
        if found is not None:
            return found[1]
        raise AssertionError(f"no {field_name} button for {label!r} on {self.page.route}")

    def leave_for_login(self) -> Page:
        """On our page that says where a DIRECT provider's login is, press its button."""
        assert self.page is not None and self.page.state == "provider-login", self.page.url
        form = next((f for f in self.page.forms if f.action == "/connect/provider-login"), None)
        assert form is not None, "no button to the provider's login"
        return self.submit(form=form)

    def provider_login(self, outcome: str) -> Page:
        """On the sandbox's provider login page, choose approve / pending / fail / skip (going
        there first from our page that says where it is, if that is where this browser is)."""
        assert self.page is not None
        if self._is_app(self.page.url) and self.page.state == "provider-login":
            self.leave_for_login()
        assert not self._is_app(self.page.url), self.page.url
        return self.submit(button=("outcome", outcome))


class _HttpResponse:
    """The bits of a Flask test response that :class:`Browser` reads, from ``requests``."""

    def __init__(self, response: requests.Response) -> None:
        self.raw = response
        self.status_code = response.status_code
        self.headers = response.headers

    def get_data(self, as_text: bool = False) -> str | bytes:
        return self.raw.text if as_text else self.raw.content


class HttpClient:
    """A browser's cookie jar and connection, talking to the app over real HTTP."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()
        self.responses: list[requests.Response] = []

    def open(self, path: str, method: str = "GET", **kwargs: Any) -> _HttpResponse:
        response = self.http.request(
            method, self.base_url + path, allow_redirects=False, timeout=20, **kwargs
        )
        self.responses.append(response)
        return _HttpResponse(response)


class HttpBrowser(Browser):
    """:class:`Browser` over HTTP to a live app (absolute URLs of the app count as ours)."""

    def __init__(self, base_url: str, *, htmx: bool = False) -> None:
        super().__init__(HttpClient(base_url), htmx=htmx)  # type: ignore[arg-type]
        self.base_url = base_url

    @property
    def http(self) -> HttpClient:
        return self.client  # type: ignore[return-value]

    def _is_app(self, url: str) -> bool:
        return url.startswith("/") or url.startswith(self.base_url + "/")

    def _app_response(self, method: str, url: str, **kwargs: Any) -> Any:
        if url.startswith(self.base_url):
            url = url[len(self.base_url) :] or "/"
        return super()._app_response(method, url, **kwargs)


@pytest.fixture
def browser(client: FlaskClient) -> Browser:
    return Browser(client)


@pytest.fixture
def htmx_browser(client: FlaskClient) -> Browser:
    return Browser(client, htmx=True)
