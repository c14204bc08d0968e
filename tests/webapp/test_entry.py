"""Entry points: signed start links (and the CLI that prints them), external tokens."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask
from flask.testing import FlaskClient

from devstack.stack import RedisServer, SandboxServer
from tests.webapp.conftest import PARTNER_RETURN, PUBLIC_URL, Browser, app_config
from webapp import create_app
from webapp.entry import sign_start


def test_cli_prints_a_signed_link_that_starts_a_flow(app: Flask, client: FlaskClient) -> None:
    result = app.test_cli_runner().invoke(args=["connect-link", "cli-customer-1"])
    assert result.exit_code == 0, result.output
    link = result.output.strip()
    assert link.startswith(f"{PUBLIC_URL}/start/")
    page = Browser(client).get(urlsplit(link).path)
    assert page.route == "postal_address_capture"
    with client.session_transaction() as session:
        assert session["entry"]["customer_ref"] == "cli-customer-1"


def test_cli_refuses_a_return_url_outside_the_allowlist(app: Flask) -> None:
    runner = app.test_cli_runner()
    bad = runner.invoke(args=["connect-link", "c2", "--return-url", "https://evil.example/"])
    assert bad.exit_code != 0
    good = runner.invoke(args=["connect-link", "c2", "--return-url", PARTNER_RETURN])
    assert good.exit_code == 0


def test_tampered_start_link_is_refused(app: Flask, client: FlaskClient) -> None:
    with app.test_request_context():
        signed = sign_start("someone")
    page = Browser(client).get(f"/start/{signed[:-2]}xx")
    assert page.status == 400 and page.state == "invalid-link"
    page = Browser(client).get("/start/not-a-link")
    assert page.status == 400


def test_expired_start_link(redis_server: RedisServer, sandbox: SandboxServer) -> None:
    app = create_app(app_config(redis_server, sandbox, START_LINK_MAX_AGE=-1))
    with app.test_request_context():
        signed = sign_start("late-customer")
    page = Browser(app.test_client()).get(f"/start/{signed}")
    assert page.status == 410 and page.state == "link-expired"


def test_return_url_outside_the_allowlist_is_dropped(app: Flask, client: FlaskClient) -> None:
    with app.test_request_context():
        signed = sign_start("c3", return_url="https://evil.example/steal")
    Browser(client).get(f"/start/{signed}")
    with client.session_transaction() as session:
        assert session["entry"]["return_url"] is None


def test_external_token_entry(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        token = (
            app.extensions["flatpeak"]
            .create_token(
                callback_uri=f"{PUBLIC_URL}/connect/callback",
                connect_web_uri=f"{PUBLIC_URL}/connect/provider-return",
            )
            .connect_token
        )
    response = client.get(f"/connect?fp_cot={token}")
    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).path == "/connect/flow"
    with client.session_transaction() as session:
        assert session["token"] == token and session["entry"]["kind"] == "external"


def test_external_entry_rejects_malformed_tokens(client: FlaskClient) -> None:
    for query in ("", "?fp_cot=", "?fp_cot=abc", "?fp_cot=cot_<script>"):
        page = Browser(client).get(f"/connect{query}")
        assert page.status == 400 and page.state == "invalid-link", query


def test_callback_with_an_unknown_token_is_refused(client: FlaskClient) -> None:
    page = Browser(client).get("/connect/callback?fp_cot=cot_ffffffffffffffffffffffff")
    assert page.status == 400 and page.state == "invalid-link"
