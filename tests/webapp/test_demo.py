"""The demo partner page, the results store and the health check."""

from __future__ import annotations

import redis
from flask import Flask
from flask.testing import FlaskClient

from webapp import results


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
