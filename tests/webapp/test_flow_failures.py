"""When things go wrong mid-flow: upstream down, slow or answering garbage; Connect validation
errors; a route we cannot render; a form from a stale tab. Nothing typed is lost."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from devstack.stack import RedisServer
from tests.webapp.conftest import GB_ADDRESS, Browser, app_config
from webapp import create_app
from webapp.flow import respond
from webapp.page import Page


def started(client: FlaskClient) -> Browser:
    browser = Browser(client)
    browser.get("/")
    browser.submit(button=("mode", "connect"))
    return browser


def faulty_app(redis_server: RedisServer, sandbox_factory, **faults: str) -> Flask:
    """The same app (same Redis, same secret) talking to a sandbox that misbehaves."""
    bad = sandbox_factory(**faults)
    config = app_config(redis_server, bad, FLATPEAK_READ_TIMEOUT=0.5)
    return create_app(config)


def move_session(source: FlaskClient, target: FlaskClient) -> None:
    target.set_cookie("fpconnect", source.get_cookie("fpconnect").value)


@pytest.mark.parametrize(
    ("faults", "status"),
    [
        ({"SANDBOX_FAULT_ERROR_RATE": "1"}, 503),
        ({"SANDBOX_FAULT_GARBAGE_RATE": "1"}, 503),
        ({"SANDBOX_FAULT_DROP_RATE": "1"}, 503),
        ({"SANDBOX_FAULT_LATENCY_MS": "1500"}, 504),
    ],
)
def test_step_failure_keeps_typed_values_and_retry_succeeds(
    client: FlaskClient, redis_server: RedisServer, sandbox_factory, faults, status
) -> None:
    browser = started(client)
    bad_client = faulty_app(redis_server, sandbox_factory, **faults).test_client()
    move_session(client, bad_client)
    bad = Browser(bad_client)
    bad.page = browser.page
    typed = {**GB_ADDRESS, "address_line1": "1 Test Street, Flat 2"}
    page = bad.submit(typed)
    assert page.status == status
    assert page.route == "postal_address_capture"
    assert page.form_with(names=("address_line1",)).value("address_line1") == typed["address_line1"]
    assert "Your answers are still here" in page.html or "taking too long" in page.html
    assert "Traceback" not in page.html
    # The retry, once FlatPeak is back, goes through from the same page.
    browser.page = page
    assert browser.submit(typed).route == "provider_select"


def test_refresh_while_upstream_is_down_says_so_with_a_retry(
    client: FlaskClient, redis_server: RedisServer, sandbox_factory
) -> None:
    started(client)
    bad_client = faulty_app(
        redis_server, sandbox_factory, SANDBOX_FAULT_ERROR_RATE="1"
    ).test_client()
    move_session(client, bad_client)
    page = Browser(bad_client).get("/connect/flow")
    assert page.status == 503 and page.state == "unavailable"
    # The retry link carries a launch code, so it works even in a frame that gets no cookie.
    assert 'href="/connect/flow?launch=' in page.html
    assert Browser(client).get("/connect/flow").route == "postal_address_capture"


def test_partner_start_while_upstream_is_down(redis_server: RedisServer, sandbox_factory) -> None:
    bad = faulty_app(redis_server, sandbox_factory, SANDBOX_FAULT_ERROR_RATE="1")
    browser = Browser(bad.test_client())
    browser.get("/")
    page = browser.submit(button=("mode", "connect"))
    assert page.status == 503 and page.state == "unavailable"


@pytest.mark.parametrize(
    ("typed", "marker", "message"),
    [
        # Caught by Connect (timezone_not_found: the address was not found), in our words.
        ({"post_code": "XX0 0XX"}, 'id="error-summary"', "find that address"),
        # Caught by us first, in the same words Connect's code gets, next to the field.
        ({"city": ""}, 'id="f-city-error"', "Enter your town or city."),
    ],
)
def test_connect_validation_error_shows_inline_with_typed_values(
    client: FlaskClient, typed, marker, message
) -> None:
    browser = started(client)
    values = {**GB_ADDRESS, **typed}
    page = browser.submit(values)
    assert page.status == 422
    form = page.form_with(names=tuple(GB_ADDRESS))
    for name, value in values.items():
        assert form.value(name) == value
    assert marker in page.html
    assert message in page.html


def test_unknown_route_gets_a_clear_page(client: FlaskClient) -> None:
    started(client)
    with client.session_transaction() as session:
        session["page"] = {"route": "mystery_route", "data": {}}
        session["fresh"] = True
    response = client.get("/connect/flow")
    text = response.get_data(as_text=True)
    assert response.status_code == 502
    assert "mystery_route" in text and 'data-flow-state="unknown-route"' in text


def test_legacy_error_route_gets_an_error_page(app: Flask, client: FlaskClient) -> None:
    started(client)
    with app.test_request_context():
        with client.session_transaction() as session:
            token = session["token"]
        from flask import session as flask_session

        flask_session["token"] = token
        page = Page.from_connect({"route": "error", "error_code": "x", "error_message": "Broken."})
        response = respond(page)
    assert response.status_code == 502
    text = response.get_data(as_text=True)
    # Our words, never Connect's developer-facing text.
    assert "couldn't continue with this connection" in text and "Broken." not in text


def test_stale_form_shows_the_current_page_with_a_notice(client: FlaskClient) -> None:
    browser = started(client)
    stale = browser.page
    browser.submit(GB_ADDRESS)  # the flow moves on to provider_select
    browser.page = stale
    page = browser.submit(GB_ADDRESS)  # the old tab posts its address form again
    assert page.route == "provider_select"
    assert "nothing was sent" in page.html


def test_refresh_and_second_tab_show_the_current_page(client: FlaskClient) -> None:
    browser = started(client)
    browser.submit(GB_ADDRESS)
    browser.provider("Northwind Energy")
    assert Browser(client).get("/connect/flow").route == "tariff_select"
    assert Browser(client).get("/connect/flow").route == "tariff_select"


def test_no_flow(client: FlaskClient) -> None:
    page = Browser(client).get("/connect/flow")
    assert page.status == 404 and page.state == "no-flow"
    response = client.post("/connect/flow", data={})
    assert response.status_code == 400  # no CSRF token: refused before anything else


def test_a_completion_stranded_by_an_upstream_error_does_not_leak_into_the_next_flow(
    client: FlaskClient, redis_server: RedisServer, sandbox, sandbox_factory
) -> None:
    """The exchange fails after Connect completed the flow; the customer then starts afresh in
    the same browser. The new flow opens on its first page, with no exchange attempted for it."""
    browser = started(client)
    browser.submit(GB_ADDRESS)
    browser.provider("Northwind Energy")
    browser.tariff("Northwind Fixed 12M")
    page = browser.submit({"term": "none"})
    assert page.route == "summary_fixed_confirm"
    # Same Redis and Connect, but FlatPeak's REST API (the exchange) answers 503.
    broken_api = sandbox_factory(SANDBOX_FAULT_ERROR_RATE="1")
    config = app_config(redis_server, sandbox, FLATPEAK_API_URL=broken_api.url)
    stranded = create_app(config).test_client()
    move_session(client, stranded)
    saving = Browser(stranded)
    saving.page = page
    failed = saving.action("SAVE")
    assert failed.status == 503 and "Traceback" not in failed.html
    move_session(stranded, client)

    client.get("/")
    start = client.post("/demo/start", data=started_form(client))
    assert start.status_code == 303
    first = client.get(start.headers["Location"])
    assert first.status_code == 200, first.headers.get("Location")
    assert 'data-route="postal_address_capture"' in first.text


def started_form(client: FlaskClient) -> dict[str, str]:
    """The demo page's "Connect your tariff" form, as the browser would post it."""
    browser = Browser(client)
    page = browser.get("/")
    form = page.form_with(button=("mode", "connect"))
    return {**dict(form.fields), "mode": "connect"}
