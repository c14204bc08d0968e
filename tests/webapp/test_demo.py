"""The demo partner page, the results store and the health check."""

from __future__ import annotations

import re
from datetime import datetime
from html import unescape

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from devstack.stack import RedisServer, SandboxServer
from tests.webapp.conftest import APP_DB, app_config
from webapp import create_app, results


def test_demo_page_offers_connect_with_csrf(client: FlaskClient) -> None:
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'action="/demo/start"' in html and 'name="csrf_token"' in html
    assert "Connect your tariff" in html
    assert "None yet" in html


def test_demo_page_shows_stored_ids(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        results.save(
            app.extensions["connect_redis"],
            app.config["DEMO_CUSTOMER_REF"],
            customer_id="cus_0000000000000000000000aa",
            location_id="loc_0000000000000000000000bb",
            complete_action="SAVE",
            is_tariff_processed=True,
            live_mode=False,
        )
    html = client.get("/").get_data(as_text=True)
    assert "cus_0000000000000000000000aa" in html and "loc_0000000000000000000000bb" in html
    assert 'value="manage"' in html
    # FlatPeak's value marked as such, and the time in words (the locale's) with its zone.
    assert '<dd data-result="complete_action"><code>SAVE</code></dd>' in html
    moment = re.search(r'<time datetime="([^"]+)">([^<]+)</time>', html)
    assert moment, "no completion time"
    completed = datetime.fromisoformat(moment[1])
    shown = unescape(moment[2])
    assert shown.endswith(" UTC") and str(completed.year) in shown
    assert not re.search(r"\dT\d", shown), shown  # not the ISO form


def store_demo_result(app: Flask, *, action: str = "SAVE", processed: bool = True) -> None:
    with app.app_context():
        results.save(
            app.extensions["connect_redis"],
            app.config["DEMO_CUSTOMER_REF"],
            customer_id="cus_0000000000000000000000aa",
            location_id="loc_0000000000000000000000bb",
            complete_action=action,
            is_tariff_processed=processed,
            live_mode=False,
        )


def notice(html: str) -> str:
    match = re.search(r'<p class="notice" role="status"[^>]*>([^<]*)</p>', html)
    assert match, "no notice on the page"
    return unescape(match[1])


def test_demo_page_after_a_connection(app: Flask, client: FlaskClient) -> None:
    store_demo_result(app)
    html = client.get("/?connect=connected").get_data(as_text=True)
    assert notice(html) == "Your tariff is connected."
    assert 'value="manage"' in html and "Manage your connected tariff" in html


def test_demo_page_after_a_pending_connection_says_the_data_is_on_its_way(
    app: Flask, client: FlaskClient
) -> None:
    """Connected, but the provider has not sent the tariff yet: the page must not say
    "connected" and, next to it, "Tariff data available: Not yet" without explaining."""
    store_demo_result(app, processed=False)
    html = client.get("/?connect=pending").get_data(as_text=True)
    assert notice(html) == (
        "Your tariff is connected. Your energy provider hasn't sent its details yet; "
        "they will appear here when they arrive."
    )
    assert "Connected; tariff details on their way" in html
    assert 'value="manage"' in html


def test_demo_page_after_a_disconnect_offers_to_connect_again(
    app: Flask, client: FlaskClient
) -> None:
    store_demo_result(app, action="DISCONNECT", processed=False)
    html = client.get("/?connect=disconnected").get_data(as_text=True)
    assert notice(html) == "Your tariff was disconnected."
    assert "Connect a tariff again" in html
    assert 'value="manage"' not in html and "Manage your connected tariff" not in html
    # The same on a later visit, without the query string.
    later = client.get("/").get_data(as_text=True)
    assert 'value="manage"' not in later and "Disconnected" in later


def test_demo_notice_follows_the_stored_result_not_the_query(
    app: Flask, client: FlaskClient
) -> None:
    """``?connect=`` is anyone's to edit: after a disconnect, ``?connect=connected`` still says
    what the stored result says."""
    store_demo_result(app, action="DISCONNECT", processed=False)
    html = client.get("/?connect=connected").get_data(as_text=True)
    assert notice(html) == "Your tariff was disconnected."


def test_results_round_trip_without_expiry(app_redis: redis.Redis) -> None:
    saved = results.save(
        app_redis, "ref-1", customer_id="cus_1", location_id="loc_1",
        complete_action="DISCONNECT", is_tariff_processed=False, live_mode=False,
    )  # fmt: skip
    assert results.get(app_redis, "ref-1") == saved
    assert app_redis.ttl("connect:result:ref-1") == -1
    assert results.get(app_redis, "nobody") is None


def test_healthz(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


# -- the demo is off unless asked for ----------------------------------------------------------


@pytest.fixture
def demo_off(redis_server: RedisServer, sandbox: SandboxServer) -> FlaskClient:
    """The app as deployed: nothing sets DEMO_ENABLED."""
    redis_server.client(APP_DB).flushdb()
    config = app_config(redis_server, sandbox)
    config.pop("DEMO_ENABLED", None)
    return create_app(config).test_client()


def test_demo_page_is_not_served_unless_enabled(
    demo_off: FlaskClient, app_redis: redis.Redis
) -> None:
    """A visitor of an ordinary deployment sees no demo customer's ids and no start button."""
    response = demo_off.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "Page not found" in html
    assert "demo-customer-0001" not in html and "/demo/start" not in html


def test_demo_start_is_not_served_unless_enabled(
    demo_off: FlaskClient, app_redis: redis.Redis
) -> None:
    """Posting the demo's start form (with or without a CSRF token) mints no connect token on
    the partner's account: the route is a 404 before CSRF or a rate limit looks at it."""
    for data in ({"mode": "connect"}, {"mode": "manage", "csrf_token": "anything"}):
        response = demo_off.post("/demo/start", data=data)
        assert response.status_code == 404
        assert "Page not found" in response.get_data(as_text=True)
    assert not list(app_redis.scan_iter("connect:cot:*"))
    assert not list(app_redis.scan_iter("connect:sess:*"))
