"""What a partner's backend does with FlatPeak before the customer's browser gets involved.

Tests create connect tokens on the sandbox's REST API exactly as a partner would (``GET /login``
with Basic auth, then ``POST /connect/tariff/token``), so the external ``/connect?fp_cot=`` entry
is exercised with a token the app did not create itself.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

from devstack.stack import SandboxServer

LONDON = {
    "address_line1": "1 Test Street",
    "city": "London",
    "post_code": "SW1A 1AA",
    "country_code": "GB",
}
BERWICK = {
    "address_line1": "1 Test Street",
    "city": "Berwick-upon-Tweed",
    "post_code": "TD15 1AA",
    "country_code": "GB",
}


def bearer(sandbox: SandboxServer) -> str:
    auth = (sandbox.account_id, sandbox.api_key)
    resp = requests.get(f"{sandbox.url}/login", auth=auth, timeout=10)
    resp.raise_for_status()
    return resp.json()["bearer_token"]


def create_connect_token(sandbox: SandboxServer, app_url: str, **fields: Any) -> str:
    """A fresh connect token whose callbacks point at the app under test."""
    body = {
        "callback_uri": f"{app_url}/connect/callback",
        "connect_web_uri": f"{app_url}/connect/provider-return",
        **fields,
    }
    resp = requests.post(
        f"{sandbox.url}/connect/tariff/token",
        json=body,
        headers={"Authorization": f"Bearer {bearer(sandbox)}"},
        timeout=10,
    )
    resp.raise_for_status()
    return resp.json()["connect_token"]


def external_start_url(
    sandbox: SandboxServer, app_url: str, origin: str | None = None, **fields: Any
) -> str:
    """The URL a partner sends the customer to (or frames) with a token it created itself;
    ``origin`` is the partner origin that frames it, when it does."""
    url = f"{app_url}/connect?fp_cot={create_connect_token(sandbox, app_url, **fields)}"
    return url + (f"&origin={quote(origin, safe='')}" if origin else "")
