"""A tiny HTTP client for the sandbox, so contract tests read like the protocol they check."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from devstack.stack import SandboxServer

GB_ADDRESS = {
    "address_line1": "1 Test Street",
    "city": "London",
    "post_code": "SW1A 1AA",
    "country_code": "GB",
}
VOLTAIC = "prv_0000000000000000000000a1"
NORTHWIND = "prv_0000000000000000000000a2"
TIDAL = "prv_0000000000000000000000a3"
HEARTH = "prv_0000000000000000000000a4"
ISLESTONE = "prv_0000000000000000000000ac"
NORTHWIND_FIXED = "trt_000000000000000000000201"
NORTHWIND_E7 = "trt_000000000000000000000202"
NORTHWIND_AGILE = "trt_000000000000000000000203"


class Connect:
    """One connect token's session, driven over HTTP exactly as the webapp drives it."""

    def __init__(self, server: SandboxServer, http: requests.Session, **token_fields: Any) -> None:
        self.server = server
        self.http = http
        self.bearer = login(server, http)
        body = {
            "callback_uri": "https://app.example.test/done",
            "connect_web_uri": "https://app.example.test/provider-return",
            **token_fields,
        }
        response = http.post(
            f"{server.url}/connect/tariff/token", json=body, headers=self.auth, timeout=10
        )
        assert response.status_code == 200, response.text
        self.token: str = response.json()["connect_token"]
        self.last: dict[str, Any] = {}
        self.status = 0

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.bearer}"}

    def post(self, route: str, **body: Any) -> dict[str, Any]:
        response = self.http.post(
            f"{self.server.url}/",
            json={"connect_token": self.token, "route": route, **body},
            timeout=10,
        )
        self.status = response.status_code
        self.last = response.json()
        return self.last

    def step(self, route: str, **body: Any) -> dict[str, Any]:
        """Post and insist on a page (not an error) coming back."""
        page = self.post(route, **body)
        assert self.status == 200 and page.get("object") != "error", page
        return page

    def error(self, route: str, **body: Any) -> dict[str, Any]:
        """Post and insist on an error object coming back."""
        page = self.post(route, **body)
        assert page.get("object") == "error", page
        return page

    def restore(self) -> dict[str, Any]:
        return self.step("session_restore")

    def to_provider_select(self) -> dict[str, Any]:
        page = self.restore()
        if page["route"] == "postal_address_capture":
            page = self.step("postal_address_capture", data={"postal_address": GB_ADDRESS})
        assert page["route"] == "provider_select", page
        return page

    def pick(self, provider_id: str) -> dict[str, Any]:
        self.to_provider_select()
        return self.step("provider_select", data={"provider": {"id": provider_id}})

    def provider_login(self, outcome: str) -> requests.Response:
        """Follow session_redirect to the fake provider and press one outcome button."""
        redirect = self.last["data"]["redirect_url"]
        page = self.http.get(redirect, timeout=10)
        assert page.status_code == 200
        assert f'value="{outcome}"' in page.text
        return self.http.post(
            redirect.split("?")[0],
            data={"fp_cot": self.token, "outcome": outcome},
            allow_redirects=False,
            timeout=10,
        )

    def exchange(self) -> requests.Response:
        return self.http.get(
            f"{self.server.url}/connect/tariff/token",
            params={"connect_token": self.token},
            headers=self.auth,
            timeout=10,
        )


def login(server: SandboxServer, http: requests.Session) -> str:
    response = http.get(f"{server.url}/login", auth=(server.account_id, server.api_key), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["bearer_token"]


@pytest.fixture
def http() -> Any:
    with requests.Session() as session:
        yield session


@pytest.fixture
def connect(sandbox: SandboxServer, http: requests.Session) -> Any:
    """Factory: ``connect(**token_fields)`` creates a token and returns its session driver."""

    def make(server: SandboxServer | None = None, **token_fields: Any) -> Connect:
        return Connect(server or sandbox, http, **token_fields)

    return make
