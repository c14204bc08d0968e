"""Entry points: signed start links (and the CLI that prints them), external tokens."""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from devstack.stack import RedisServer, SandboxServer
from tests.webapp.conftest import GB_ADDRESS, PARTNER_RETURN, PUBLIC_URL, Browser, app_config
from webapp import create_app
from webapp.config import ConfigError
from webapp.start_links import sign_start


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


# -- a browser that already holds a live flow --------------------------------------------------


def partner_token(app: Flask, **fields: Any) -> str:
    with app.app_context():
        return (
            app.extensions["flatpeak"]
            .create_token(
                callback_uri=fields.pop("callback_uri", f"{PUBLIC_URL}/connect/callback"),
                connect_web_uri=f"{PUBLIC_URL}/connect/provider-return",
                **fields,
            )
            .connect_token
        )


def started(app: Flask, client: FlaskClient, ref: str, **options: Any) -> Browser:
    with app.test_request_context():
        signed = sign_start(ref, **options)
    browser = Browser(client)
    assert browser.get(f"/start/{signed}").route == "postal_address_capture"
    return browser


def session_of(client: FlaskClient) -> dict[str, Any]:
    with client.session_transaction() as session:
        return dict(session)


def minted(app: Flask) -> int:
    return len(list(app.extensions["connect_redis"].scan_iter("connect:cot:*")))


def test_the_same_customers_start_resumes_the_flow_in_progress(
    app: Flask, client: FlaskClient
) -> None:
    """Back from mid-flow lands on the partner's page; pressing "Connect your tariff" there
    again (a fresh start link for the same customer) shows the flow where it was."""
    browser = started(app, client, "resume-customer")
    token = session_of(client)["token"]
    assert browser.submit(GB_ADDRESS).route == "provider_select"
    count = minted(app)
    with app.test_request_context():
        again = sign_start("resume-customer")
    page = browser.get(f"/start/{again}")
    assert page.route == "provider_select", page.text()[:300]
    assert session_of(client)["token"] == token and minted(app) == count
    # The same for the token this browser already holds, opened again.
    page = browser.get(f"/connect?fp_cot={token}")
    assert page.route == "provider_select"
    assert session_of(client)["token"] == token and minted(app) == count


def test_the_demo_button_again_resumes_the_demo_customers_flow(
    app: Flask, client: FlaskClient
) -> None:
    browser = Browser(client)
    browser.get("/")
    assert browser.submit(button=("mode", "connect")).route == "postal_address_capture"
    token = session_of(client)["token"]
    assert browser.submit(GB_ADDRESS).route == "provider_select"
    browser.get("/")  # Back to the partner page
    page = browser.submit(button=("mode", "connect"))
    assert page.route == "provider_select", page.text()[:300]
    assert session_of(client)["token"] == token


def stored_location(sandbox: SandboxServer) -> str:
    """A location with a connected fixed tariff, as a manage link names one."""
    return requests.post(
        f"{sandbox.url}/_sandbox/locations",
        json={"state": "connected_fixed", "country_code": "GB"},
        timeout=10,
    ).json()["location_id"]


def test_a_start_for_the_same_customer_in_another_mode_asks_first(
    app: Flask, client: FlaskClient, sandbox: SandboxServer
) -> None:
    """Managing a stored location is another flow than connecting a new tariff: asked."""
    location = stored_location(sandbox)
    browser = started(app, client, "mode-customer")
    with app.test_request_context():
        manage = sign_start("mode-customer", location_id=location)
    page = browser.get(f"/start/{manage}")
    assert page.state == "switch"
    page = browser.submit(button=("choice", "new"))
    assert page.route == "summary_fixed_confirm", page.text()[:300]
    assert session_of(client)["entry"]["location_id"] == location


def test_the_question_page(app: Flask, client: FlaskClient) -> None:
    """One heading, our own words, two labelled buttons in plain forms with the CSRF token and
    the flow handle; nothing of either flow's token, in the page or its URL."""
    browser = started(app, client, "question-customer")
    held = session_of(client)["token"]
    other = partner_token(app)
    response = client.get(f"/connect?fp_cot={other}")
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith("/connect/switch?launch=") and other not in location
    page = browser.get(location)
    assert page.status == 200 and page.state == "switch"
    assert len(re.findall(r"<h1\b", page.html)) == 1
    assert "You have a tariff connection in progress" in page.text()
    assert other not in page.html and held not in page.html
    handle = session_of(client)["flow"]
    for choice, label in (
        ("continue", "Continue the connection in progress"),
        ("new", "Start the new connection"),
    ):
        form = page.form_with(button=("choice", choice))
        assert form.action == "/connect/switch" and form.method == "post"
        assert form.value("csrf_token") and form.value("flow") == handle
        assert re.search(
            rf'value="{choice}"[^>]*aria-describedby="hint-{choice}">{label}<', page.html
        )
    assert session_of(client)["pending_entry"]["token"] == other


def test_choosing_the_new_connection_starts_it(app: Flask, client: FlaskClient) -> None:
    browser = started(app, client, "switch-new-customer")
    other = partner_token(app, customer_reference_id="switch-new-other")
    assert browser.get(f"/connect?fp_cot={other}").state == "switch"
    page = browser.submit(button=("choice", "new"))
    assert page.route == "postal_address_capture"
    held = session_of(client)
    assert held["token"] == other and held["entry"] == {"kind": "external"}
    assert "pending_entry" not in held


def test_a_pending_start_link_mints_its_token_only_when_chosen(
    app: Flask, client: FlaskClient
) -> None:
    browser = started(app, client, "switch-a")
    with app.test_request_context():
        link = sign_start("switch-b", return_url=PARTNER_RETURN)
    count = minted(app)
    assert browser.get(f"/start/{link}").state == "switch"
    assert minted(app) == count
    page = browser.submit(button=("choice", "new"))
    assert page.route == "postal_address_capture"
    assert minted(app) == count + 1
    entry = session_of(client)["entry"]
    assert entry["customer_ref"] == "switch-b" and entry["return_url"] == PARTNER_RETURN


def test_the_question_works_in_a_frame_without_cookies(app: Flask, client: FlaskClient) -> None:
    """The question's URL carries a launch code and its forms the flow handle, so a browser
    that sends no cookie still gets the page and its answer."""
    started(app, client, "cookieless-customer")
    other = partner_token(app)
    location = client.get(f"/connect?fp_cot={other}").headers["Location"]
    cookieless = app.test_client(use_cookies=False)
    page = Browser(cookieless).get(location)
    assert page.state == "switch", page.text()[:300]
    form = page.form_with(button=("choice", "continue"))
    answer = cookieless.post(form.action, data={**dict(form.fields), "choice": "continue"})
    assert answer.status_code == 303
    assert answer.headers["Location"].startswith("/connect/flow?launch=")
    assert Browser(cookieless).get(answer.headers["Location"]).route == "postal_address_capture"
    assert "pending_entry" not in session_of(client)


def test_the_question_without_a_pending_entry_shows_the_flow(
    app: Flask, client: FlaskClient
) -> None:
    started(app, client, "no-pending-customer")
    page = Browser(client).get("/connect/switch")
    assert page.route == "postal_address_capture"
    assert Browser(app.test_client()).get("/connect/switch").state == "no-flow"


# -- tokens a partner brings -------------------------------------------------------------------


def test_a_completed_token_at_entry_says_the_connection_is_complete(
    app: Flask, client: FlaskClient
) -> None:
    token = partner_token(app)
    browser = Browser(client)
    browser.get(f"/connect?fp_cot={token}")
    browser.submit(GB_ADDRESS)
    browser.provider("Northwind Energy")
    browser.tariff("Northwind Fixed 12M")
    browser.submit({"term": "none"})
    assert browser.action("SAVE").state == "done"
    for visitor in (client, app.test_client()):
        page = Browser(visitor).get(f"/connect?fp_cot={token}")
        assert page.status == 410 and page.state == "already-complete", page.text()[:300]
        assert "already complete" in page.text()
        assert "token" not in session_of(visitor)


def test_an_unchecked_token_is_never_accepted_while_flatpeak_is_down(
    redis_server: RedisServer, sandbox: SandboxServer, sandbox_factory: Any
) -> None:
    """The exchange that says whose a token is fails: the unavailable page, with a retry that
    is this same entry URL (``href=""``), never the token written into the page."""
    failing = sandbox_factory(SANDBOX_FAULT_ERROR_RATE="1")
    app = create_app(app_config(redis_server, sandbox, FLATPEAK_API_URL=failing.url))
    token = partner_token(create_app(app_config(redis_server, sandbox)))
    client = app.test_client()
    page = Browser(client).get(f"/connect?fp_cot={token}")
    assert page.status == 503 and page.state == "unavailable"
    assert token not in page.html and 'href=""' in page.html
    assert "token" not in session_of(client)


def test_an_allowlisted_partner_callback_is_handed_the_token(
    redis_server: RedisServer, sandbox: SandboxServer
) -> None:
    callback = "https://partner.example/flatpeak/callback"
    app = create_app(app_config(redis_server, sandbox, PARTNER_CALLBACK_URLS=[callback]))
    client = app.test_client()
    token = partner_token(app, callback_uri=callback + "?from=connect")
    browser = Browser(client, htmx=True)
    assert browser.get(f"/connect?fp_cot={token}").route == "postal_address_capture"
    browser.submit(GB_ADDRESS)
    browser.provider("Northwind Energy")
    browser.tariff("Northwind Fixed 12M")
    page = browser.submit({"term": "none"})
    form = page.form_with(button=("action", "SAVE"))
    response = client.post(
        form.action, data={**dict(form.fields), "action": "SAVE"}, headers={"HX-Request": "true"}
    )
    target = response.headers["HX-Redirect"]
    assert target.startswith(callback + "?from=connect&") and f"fp_cot={token}" in target
    assert "token" not in session_of(client)


def test_partner_callback_urls_must_be_absolute(
    redis_server: RedisServer, sandbox: SandboxServer
) -> None:
    for bad in ("/connect/callback", "partner.example/cb", "javascript:alert(1)"):
        with pytest.raises(ConfigError, match="PARTNER_CALLBACK_URLS"):
            create_app(app_config(redis_server, sandbox, PARTNER_CALLBACK_URLS=[bad]))


# -- start links: single use, and short-lived for managing a location --------------------------


def signed_earlier(app: Flask, payload: dict[str, str], seconds: int) -> str:
    """A start link as the app would have signed it ``seconds`` ago."""

    class Earlier(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - seconds

    serializer = URLSafeTimedSerializer(
        app.config["SECRET_KEY"], salt="connect-start-link", signer=Earlier
    )
    return serializer.dumps(payload)


def test_a_manage_link_older_than_its_max_age_is_refused(
    app: Flask, client: FlaskClient, sandbox: SandboxServer
) -> None:
    location = stored_location(sandbox)
    two_hours = 2 * 3600
    assert app.config["MANAGE_LINK_MAX_AGE"] == 3600 < two_hours
    count = minted(app)
    manage = {"ref": "old-manage", "loc": location, "n": "nonce-old-manage-0001"}
    page = Browser(client).get(f"/start/{signed_earlier(app, manage, two_hours)}")
    assert page.status == 410 and page.state == "link-expired"
    assert minted(app) == count and "token" not in session_of(client)
    # A connect link of the same age is well within its week.
    connect = {"ref": "old-connect", "n": "nonce-old-connect-001"}
    page = Browser(app.test_client()).get(f"/start/{signed_earlier(app, connect, two_hours)}")
    assert page.route == "postal_address_capture"
    fresh = {**manage, "n": "nonce-new-manage-0001"}
    page = Browser(app.test_client()).get(f"/start/{signed_earlier(app, fresh, 60)}")
    assert page.route == "summary_fixed_confirm"


def test_a_double_click_on_a_start_link_starts_one_flow(app: Flask, client: FlaskClient) -> None:
    with app.test_request_context():
        link = sign_start("double-click-customer")
    count = minted(app)
    assert Browser(client).get(f"/start/{link}").route == "postal_address_capture"
    token = session_of(client)["token"]
    assert Browser(client).get(f"/start/{link}").route == "postal_address_capture"
    assert session_of(client)["token"] == token and minted(app) == count + 1
    # The first answer never arrived (no cookie came back): within the grace, the second
    # click starts as the first did.
    again = Browser(app.test_client()).get(f"/start/{link}")
    assert again.route == "postal_address_capture"
