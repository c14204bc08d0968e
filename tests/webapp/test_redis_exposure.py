"""What a copy of the app's Redis gives away, and that docs/redis.md says so.

Hashing the token into key names keeps it out of *names*; the values of other keys still hold
the connect token, the partner's bearer token and the customer's address in clear. An operator
who believes a dump "does not hand out live tokens" protects Redis less than it needs. This
takes a dump in the middle of a real flow and checks that every key holding a credential or
personal data is listed in the documentation's exposure section.
"""

from __future__ import annotations

import re
from pathlib import Path

import redis
import requests
from flask import Flask
from flask.testing import FlaskClient

from devstack.stack import ROOT, SandboxServer
from tests.webapp.conftest import GB_ADDRESS, Browser
from webapp import tokens
from webapp.start_links import sign_start

DOC = ROOT / "docs" / "redis.md"


def dump(client: redis.Redis) -> dict[str, str]:
    """Every key and its value as text, the way a copy of the database would read."""
    values: dict[str, str] = {}
    for key in client.scan_iter("*"):
        kind = client.type(key)
        if kind == "string":
            values[key] = str(client.get(key))
        elif kind == "hash":
            values[key] = str(client.hgetall(key))
        elif kind == "list":
            values[key] = str(client.lrange(key, 0, -1))
    return values


def pattern_of(key: str) -> str:
    """``connect:sess:abc`` -> ``connect:sess:``."""
    return key.rsplit(":", 1)[0] + ":"


def exposure_section() -> str:
    text = Path(DOC).read_text()
    match = re.search(r"^## What a copy of the database exposes\n(.*?)(?=^## )", text, re.M | re.S)
    assert match, "docs/redis.md has no section saying what a copy of the database exposes"
    return match[1]


def test_every_secret_in_a_redis_dump_is_documented(
    app: Flask, client: FlaskClient, app_redis: redis.Redis, sandbox: SandboxServer
) -> None:
    with app.test_request_context():
        signed = sign_start("dump-customer")
    browser = Browser(client)
    browser.get(f"/start/{signed}")
    page = browser.submit(GB_ADDRESS)
    assert page.route == "provider_select"
    with client.session_transaction() as session:
        token, handle = session["token"], session["flow"]
    copy = dump(app_redis)
    secrets = {
        "the connect token": token,
        "the customer's address": GB_ADDRESS["address_line1"],
        "a session id (the cookie)": client.get_cookie("fpconnect").value,  # type: ignore[union-attr]
        "the flow handle": handle,
    }
    exposed: dict[str, set[str]] = {}
    for key, value in copy.items():
        for what, secret in secrets.items():
            if secret in value or secret in key.split(":", 2)[-1]:
                exposed.setdefault(pattern_of(key), set()).add(what)
        if key.startswith("connect:bearer:"):
            exposed.setdefault("connect:bearer:", set()).add("the partner's bearer token")
    # The dump does hold live credentials: the token, and a bearer that mints tokens on the
    # partner's account for whoever holds the copy.
    assert "the connect token" in exposed["connect:sess:"]
    assert "the customer's address" in exposed["connect:sess:"]
    bearer = next(value for key, value in copy.items() if key.startswith("connect:bearer:"))
    minted = requests.post(
        f"{sandbox.url}/connect/tariff/token",
        json={"callback_uri": "https://attacker.example/callback"},
        headers={"Authorization": f"Bearer {bearer}"},
        timeout=10,
    )
    assert minted.status_code == 200 and minted.json()["connect_token"].startswith("cot_")

    section = exposure_section()
    for pattern, what in sorted(exposed.items()):
        assert f"`{pattern}" in section, f"{pattern} holds {sorted(what)}, undocumented"
    assert "credential store" in section
    # And the module whose docstring once said a dump hands out no live tokens now says so.
    assert "connect:sess:" in (tokens.__doc__ or "")
    assert "does not hand out live tokens" not in (tokens.__doc__ or "")
