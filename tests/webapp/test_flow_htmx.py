"""The same flow with htmx: fragments for steps, whole-page navigation for leaving the flow."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.webapp.conftest import GB_ADDRESS, Browser
from webapp import results


def test_htmx_steps_get_fragments_and_completion_is_a_full_navigation(
    app: Flask, client: FlaskClient
) -> None:
    plain = Browser(client)
    plain.get("/")
    plain.submit(button=("mode", "connect"))
    htmx = Browser(client, htmx=True)
    htmx.page = plain.page

    page = htmx.submit(GB_ADDRESS)
    assert page.route == "provider_select"
    assert page.status == 200
    # A fragment: the new <title> plus the page block, no document around it.
    assert page.html.lstrip().startswith("<title>")
    assert "<html" not in page.html and "<body" not in page.html
    assert "Vary" in page.headers and "HX-Request" in page.headers["Vary"]
    assert page.headers["Cache-Control"] == "no-store"

    htmx.provider("Northwind Energy")
    htmx.tariff("Northwind Fixed 12M")
    page = htmx.submit({"term": "none"})
    assert page.route == "summary_fixed_confirm"
    assert "<html" not in page.html

    redirects_before = len(htmx.redirects)
    page = htmx.action("SAVE")
    # SAVE ends the flow with HX-Redirect (a whole-page navigation), not a swapped fragment:
    # to our callback, without the token (the session has it), which exchanges and sends the
    # customer on.
    to_callback, onwards = htmx.redirects[redirects_before : redirects_before + 2]
    assert to_callback.startswith("/connect/callback") and "fp_cot" not in to_callback
    assert onwards.startswith("/?connect=connected")
    assert "<html" in page.html
    with app.app_context():
        stored = results.get(app.extensions["connect_redis"], app.config["DEMO_CUSTOMER_REF"])
    assert stored is not None and stored.complete_action == "SAVE"


def test_htmx_validation_error_is_422_fragment_with_typed_values(client: FlaskClient) -> None:
    browser = Browser(client)
    browser.get("/")
    browser.submit(button=("mode", "connect"))
    browser.htmx = True
    typed = {**GB_ADDRESS, "post_code": "XX0 0XX", "address_line1": "7 Nowhere Lane"}
    page = browser.submit(typed)
    assert page.status == 422
    assert "<html" not in page.html
    form = page.form_with(names=("address_line1",))
    assert form.value("address_line1") == "7 Nowhere Lane"
    assert form.value("post_code") == "XX0 0XX"
    assert "find that address" in page.html


def test_plain_get_of_the_flow_is_a_whole_page(client: FlaskClient) -> None:
    browser = Browser(client)
    browser.get("/")
    browser.submit(button=("mode", "connect"))
    page = browser.get("/connect/flow")
    assert page.html.lstrip().lower().startswith("<!doctype html>")
    assert page.route == "postal_address_capture"
