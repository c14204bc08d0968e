"""The connect token never lands in a redirect to our own pages, a log line, or the markup of a
page after entry. (It does travel to FlatPeak's provider login, which the protocol requires.)"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from devstack.stack import SandboxServer
from tests.webapp.conftest import GB_ADDRESS, PUBLIC_URL, Browser


def _new_token(app: Flask) -> str:
    with app.app_context():
        return (
            app.extensions["flatpeak"]
            .create_token(
                callback_uri=f"{PUBLIC_URL}/connect/callback",
                connect_web_uri=f"{PUBLIC_URL}/connect/provider-return",
                customer_reference_id="privacy-customer",
            )
            .connect_token
        )


def test_token_stays_out_of_redirects_logs_and_pages(
    app: Flask, client: FlaskClient, sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = _new_token(app)
    browser = Browser(client)

    page = browser.get(f"/connect?fp_cot={token}")
    assert page.route == "postal_address_capture"
    browser.submit(GB_ADDRESS)
    browser.provider("Voltaic Direct")  # out to the provider login and ...
    page = browser.provider_login("approve")  # ... back through /connect/provider-return
    assert page.route in ("summary_fixed_confirm", "summary_tou_confirm")
    browser.action("SAVE")
    assert browser.page.state == "done"

    # Redirects: only the hop to FlatPeak's provider login carries the token.
    for target in browser.redirects:
        parts = urlsplit(target)
        ours = not parts.netloc or f"{parts.scheme}://{parts.netloc}" == PUBLIC_URL
        if ours:
            assert token not in target, target
        else:
            assert target.startswith(sandbox.url + "/provider-login/"), target
    # Pages: nothing of ours rendered after entry contains it (forms, hx-headers, links).
    assert len(browser.history) >= 4
    for shown in browser.history:
        assert token not in shown.html, shown.url
    # Logs: the app logged about this flow, but only ever the masked token.
    assert any("cot_" in record.getMessage() for record in caplog.records)
    assert token not in caplog.text
    for record in caplog.records:
        assert token not in record.getMessage()


def test_each_inbound_token_url_answers_with_a_token_free_redirect(
    app: Flask, client: FlaskClient
) -> None:
    token = _new_token(app)
    response = client.get(f"/connect?fp_cot={token}")
    assert response.status_code == 303
    assert token not in response.headers["Location"]
    assert urlsplit(response.headers["Location"]).path == "/connect/flow"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    page = client.get(response.headers["Location"])
    assert token not in page.get_data(as_text=True)

    response = client.get(f"/connect/provider-return?fp_cot={token}")
    assert response.status_code == 303
    assert token not in response.headers["Location"]


def test_exception_text_with_a_token_is_masked_in_logs(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    token = "cot_0123456789abcdef01234567"
    caplog.set_level(logging.INFO)
    try:
        requests.get(f"http://127.0.0.1:9/x?connect_token={token}", timeout=0.5)
    except requests.RequestException:
        logging.getLogger("webapp.test").exception("upstream call failed")
    logging.getLogger("webapp.test").info("GET /connect?fp_cot=%s", token)
    assert token not in caplog.text
    assert "fp_cot=" in caplog.text
