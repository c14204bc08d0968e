"""Headers, cookie attributes and CSRF, checked on real responses."""

from __future__ import annotations

import logging

import pytest
from flask import Flask
from flask.testing import FlaskClient

from devstack.stack import RedisServer, SandboxServer
from tests.webapp.conftest import PARTNER_ORIGIN, PARTNER_RETURN, app_config
from webapp import create_app
from webapp.security import mask_secrets
from webapp.start_links import sign_start


def test_strict_csp_with_partner_frame_ancestors(client: FlaskClient, sandbox) -> None:
    response = client.get("/")
    csp = dict(
        part.strip().split(" ", 1)
        for part in response.headers["Content-Security-Policy"].split(";")
    )
    assert csp["script-src"] == "'self'"
    assert csp["style-src"] == "'self'"
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert csp["frame-ancestors"] == f"'self' {PARTNER_ORIGIN}"
    # Form posts may end on the provider login (FlatPeak) or the partner's return URL.
    assert sandbox.url in csp["form-action"]
    assert "https://partner.example" in csp["form-action"]
    assert "X-Frame-Options" not in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_non_html_responses_cannot_be_framed(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_secure_cookie_attributes_over_https(
    redis_server: RedisServer, sandbox: SandboxServer
) -> None:
    app = create_app(
        app_config(redis_server, sandbox, PUBLIC_URL="https://connect.example", DEMO_ENABLED=False)
    )
    client = app.test_client()
    with app.test_request_context():
        signed = sign_start("secure-cookie-customer")
    response = client.get(f"/start/{signed}", base_url="https://connect.example")
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("__Host-"))
    attributes = {part.strip().split("=")[0] for part in cookie.split(";")}
    assert {"Secure", "HttpOnly", "Partitioned"} <= attributes
    assert "SameSite=None" in cookie
    assert "Path=/" in cookie and "Domain" not in cookie


def test_plain_http_dev_falls_back_to_lax_cookie(client: FlaskClient) -> None:
    cookie = client.get("/").headers["Set-Cookie"]
    assert cookie.startswith("fpconnect=")
    assert "SameSite=Lax" in cookie and "Secure" not in cookie and "HttpOnly" in cookie


def test_post_without_csrf_token_is_refused(client: FlaskClient) -> None:
    client.get("/")
    response = client.post("/demo/start", data={"mode": "connect"})
    assert response.status_code == 400
    assert "could not be checked" in response.get_data(as_text=True)


def test_csrf_token_accepted_from_the_htmx_header(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    token = html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post("/demo/start", headers={"X-CSRFToken": token})
    assert response.status_code == 303


def test_production_return_url_is_allowlisted(app: Flask) -> None:
    from webapp.links import return_url_allowed

    with app.test_request_context():
        assert return_url_allowed(PARTNER_RETURN)
        assert return_url_allowed("/")
        assert not return_url_allowed("https://evil.example/")
        assert not return_url_allowed("//evil.example/")
        assert not return_url_allowed("/\\evil.example")
        assert not return_url_allowed(PARTNER_RETURN + ".evil.example")


@pytest.mark.unit
@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ("token cot_0123456789abcdef01234567 expired", "cot_0123456789abcdef01234567"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abc.def", "eyJhbGciOiJIUzI1NiJ9.abc.def"),
        ("key sk_live_abcdef0123456789", "sk_live_abcdef0123456789"),
        ("GET /connect?fp_cot=whatever-value&x=1", "whatever-value"),
    ],
)
def test_mask_secrets(line: str, secret: str) -> None:
    masked = mask_secrets(line)
    assert secret not in masked
    assert "…#" in masked


def test_log_records_are_masked_for_every_handler(app: Flask, caplog) -> None:
    caplog.set_level(logging.INFO)
    logging.getLogger("anything").info("bearer %s", "Bearer abcdefghijklmnop")
    assert "abcdefghijklmnop" not in caplog.text


def test_csrf_failure_under_htmx_sends_the_frame_to_the_flow_page(client) -> None:
    """htmx leaves a 400 unswapped; the customer must land on a page that explains itself."""
    response = client.post("/connect/flow", data={"route": "x"}, headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert response.headers["HX-Redirect"].startswith("/connect/flow")


# -- log injection -------------------------------------------------------------------------------

FORGED = "2026-01-01 00:00:00 ERROR forged line"


def test_a_newline_in_the_path_writes_no_forged_line_into_the_app_log(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    """An oversized post without a cookie to ``/x%0A…`` makes the app log the path ("request
    too large on …"): the line stays one line, with the newline written as ``\\n``."""
    caplog.set_level(logging.INFO)
    response = client.post(
        "/x%0D%0A" + FORGED.replace(" ", "%20"),
        data={"flow": "x", "address_line1": "a" * 20000},
    )
    assert response.status_code == 413
    lines = [record.getMessage() for record in caplog.records]
    assert any("request too large on /x\\r\\n" + FORGED in line for line in lines), lines
    assert not any("\n" in line or "\r" in line for line in lines)
    assert not any(line.startswith(FORGED) for line in caplog.text.splitlines())


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a\nb", "a\\nb"),
        ("a\r\nb", "a\\r\\nb"),
        ("tab\there", "tab\\there"),
        ("\x1b[31mred", "\\x1b[31mred"),
        ("nel\x85next", "nel\\x85next"),
        ("sep\u2028next\u2029", "sep\\u2028next\\u2029"),
        ("café €5 \\n stays", "café €5 \\n stays"),
    ],
)
def test_log_messages_are_escaped_onto_one_line(
    app: Flask, caplog: pytest.LogCaptureFixture, raw: str, escaped: str
) -> None:
    caplog.set_level(logging.INFO)
    logging.getLogger("webapp.anything").warning("step %s", raw)
    assert caplog.records[-1].getMessage() == "step " + escaped
    assert len(caplog.text.strip().splitlines()) == 1


def test_tracebacks_stay_multi_line_and_masked(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    try:
        raise ValueError("token cot_0123456789abcdef01234567 refused")
    except ValueError:
        logging.getLogger("webapp.anything").exception("failed on %s", "/x\nforged")
    record = caplog.records[-1]
    assert record.getMessage() == "failed on /x\\nforged"
    assert "Traceback (most recent call last):\n" in caplog.text
    assert "cot_0123456789abcdef01234567" not in caplog.text


def test_allowlisted_partner_callbacks_may_receive_a_form_redirect() -> None:
    """A no-JS hand-over to a partner's callback is a form post's redirect: the CSP allows it."""
    from webapp.config import load
    from webapp.security import content_security_policy

    config = load({"PARTNER_CALLBACK_URLS": ["https://backend.partner.example/fp/callback"]})
    policy = content_security_policy(config, embeddable=True)
    form_action = next(d for d in policy.split("; ") if d.startswith("form-action"))
    assert "https://backend.partner.example" in form_action.split()
