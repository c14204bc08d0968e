"""Every path through Connect, driven to completion against the real sandbox over HTTP with plain
form posts (no JavaScript), each ending with the exchange result stored in Redis or the right
error page."""

from __future__ import annotations

import requests
from flask import Flask

from devstack.stack import SandboxServer
from tests.webapp.conftest import GB_ADDRESS, PUBLIC_URL, Browser
from webapp import results
from webapp.start_links import sign_start

DEMO_REF = "demo-customer-0001"


def start_demo(browser: Browser) -> None:
    browser.get("/")
    page = browser.submit(button=("mode", "connect"))
    assert page.route == "postal_address_capture", page.text()[:400]


def to_provider_select(browser: Browser, address: dict[str, str] = GB_ADDRESS) -> None:
    start_demo(browser)
    page = browser.submit(address)
    assert page.route == "provider_select", page.text()[:400]


def finish_summary(browser: Browser, summary_route: str, app: Flask, action: str = "SAVE"):
    assert browser.page is not None and browser.page.route == summary_route, browser.page.text()[
        :500
    ]
    page = browser.action(action)
    assert page.status == 200
    with app.app_context():
        return results.get(app.extensions["connect_redis"], DEMO_REF)


def name_and_term(browser: Browser, name: str = "My tariff") -> None:
    page = browser.submit({"tariff_name": name})
    assert page.route == "contract_term_capture", page.text()[:400]
    browser.submit({"term": "date", "contract_end_date": "2099-06-30"})


def assert_saved(result, action: str = "SAVE") -> None:
    assert result is not None
    assert result.customer_id and result.customer_id.startswith("cus_")
    assert result.location_id and result.location_id.startswith("loc_")
    assert result.complete_action == action


def test_library_tariff(app: Flask, browser: Browser) -> None:
    to_provider_select(browser)
    page = browser.provider("Northwind Energy")
    assert page.route == "tariff_select"
    page = browser.tariff("Northwind Fixed 12M")
    assert page.route == "contract_term_capture"
    page = browser.submit({"term": "none"})
    result = finish_summary(browser, "summary_fixed_confirm", app)
    assert_saved(result)
    assert result.is_tariff_processed
    # The demo partner page is the return URL: it now shows the stored ids.
    assert browser.page.url.startswith("/?connect=connected")
    assert result.location_id in browser.page.html
    assert result.customer_id in browser.page.html


def test_manual_fixed(app: Flask, browser: Browser) -> None:
    to_provider_select(browser)
    page = browser.provider("Hearth & Home Electric")
    assert page.route == "tariff_structure_select"
    page = browser.submit(button=("option", "FIXED"))
    assert page.route == "rate_fixed_capture"
    page = browser.submit({"cost": "24.5"})
    assert page.route == "tariff_name_capture"
    name_and_term(browser, "Hearth Fixed")
    summary = browser.page
    assert "Hearth Fixed" in summary.html
    assert "24.5" in summary.text()  # shown in pence, as typed
    assert_saved(finish_summary(browser, "summary_fixed_confirm", app))


def test_time_of_day(app: Flask, browser: Browser) -> None:
    to_provider_select(browser)
    browser.provider("Hearth & Home Electric")
    page = browser.submit(button=("option", "TIME_OF_DAY"))
    assert page.route == "rate_tod_capture"
    # Add a third period, then fill day / evening / night so the three cover 24 h.
    page = browser.submit(button=("edit", "add"))
    assert page.route == "rate_tod_capture"
    assert page.form_with(names=("from_2",)).value("periods") == "3"
    periods = {
        "from_0": "07:00", "to_0": "16:00", "cost_0": "30",
        "from_1": "16:00", "to_1": "23:00", "cost_1": "40",
        "from_2": "23:00", "to_2": "07:00", "cost_2": "9.5",
    }  # fmt: skip
    page = browser.submit(periods)
    assert page.route == "tariff_name_capture", page.text()[:600]
    name_and_term(browser, "Three Rate")
    assert_saved(finish_summary(browser, "summary_tou_confirm", app))


def test_time_of_day_gap_is_caught_before_connect(browser: Browser) -> None:
    to_provider_select(browser)
    browser.provider("Hearth & Home Electric")
    browser.submit(button=("option", "TIME_OF_DAY"))
    typed = {"from_0": "07:00", "to_0": "20:00", "cost_0": "31", "from_1": "23:00",
             "to_1": "07:00", "cost_1": "9"}  # fmt: skip
    page = browser.submit(typed)
    assert page.status == 422
    assert page.route == "rate_tod_capture"
    form = page.form_with(names=("from_0",))
    assert form.value("to_0") == "20:00" and form.value("cost_0") == "31"
    assert 'class="error"' in page.html


def test_market_with_surcharge_and_region(app: Flask, browser: Browser) -> None:
    address = {**GB_ADDRESS, "city": "Berwick-upon-Tweed", "post_code": "TD15 1AA"}
    to_provider_select(browser, address)
    page = browser.provider("Tidal Market Power")
    assert page.route == "tariff_structure_select"
    page = browser.submit(button=("option", "MARKET"))
    assert page.route == "market_surcharge_capture"
    form = page.form_with(names=("region",))
    regions = [v for v in form.radios.get("region", [])] or _options(page.html, "region")
    assert regions, "the TD post code must make Connect ask for the market region"
    page = browser.submit(
        {"region": regions[0], "surcharge_fixed": "2.5", "surcharge_percentage": "5"}
    )
    assert page.route == "tariff_name_capture", page.text()[:600]
    name_and_term(browser, "Tidal Tracker")
    assert_saved(finish_summary(browser, "summary_tou_confirm", app))


def _options(html: str, name: str) -> list[str]:
    import re

    select = re.search(r'<select[^>]*name="' + name + r'".*?</select>', html, re.S)
    return (
        [v for v in re.findall(r'<option value="([^"]*)"', select.group(0)) if v] if select else []
    )


def test_provider_missing(app: Flask, browser: Browser) -> None:
    to_provider_select(browser)
    page = browser.action("PROVIDER_MISSING")
    assert page.route == "provider_name_capture"
    page = browser.submit({"provider_name": "Acme Power"})
    assert page.route == "tariff_structure_select"
    browser.submit(button=("option", "FIXED"))
    browser.submit({"cost": "27"})
    name_and_term(browser)
    assert_saved(finish_summary(browser, "summary_fixed_confirm", app))


def test_address_change(app: Flask, browser: Browser) -> None:
    to_provider_select(browser)
    page = browser.action("ADDRESS_CHANGE")
    assert page.route == "postal_address_capture"
    # The known address is pre-filled; change it to the German test address.
    assert page.form_with(names=("city",)).value("city") == "London"
    germany = {"address_line1": "Teststraße 1", "city": "Berlin", "post_code": "10115",
               "country_code": "DE"}  # fmt: skip
    page = browser.submit(germany)
    assert page.route == "provider_select"
    assert "Berlin" in page.html
    assert "Northwind Energy" not in page.html


def _direct(browser: Browser, outcome: str):
    to_provider_select(browser)
    page = browser.provider("Voltaic Direct")
    # First our page that says where the login is and why; its button goes there.
    assert page.state == "provider-login" and "Voltaic Direct" in page.text()
    page = browser.leave_for_login()
    # The whole browser went to the provider's login, with fp_cot so it can come back.
    assert "/provider-login/" in page.url and "fp_cot=cot_" in page.url
    assert browser.redirects[-1] == page.url
    return browser.provider_login(outcome)


def test_direct_approve(app: Flask, browser: Browser) -> None:
    page = _direct(browser, "approve")
    # Back through our provider-return route, which strips the token from the URL.
    assert browser.requested[-2].startswith("/connect/provider-return?fp_cot=cot_")
    assert "fp_cot" not in browser.requested[-1]
    assert page.route in ("summary_fixed_confirm", "summary_tou_confirm")
    assert_saved(finish_summary(browser, page.route, app))


def test_direct_pending(app: Flask, browser: Browser) -> None:
    page = _direct(browser, "pending")
    assert page.route == "summary_tariff_inprogress"
    result = finish_summary(browser, "summary_tariff_inprogress", app)
    assert_saved(result)
    assert result.is_tariff_processed is False
    assert browser.page.url.startswith("/?connect=pending")


def test_direct_pending_dismiss(browser: Browser) -> None:
    _direct(browser, "pending")
    page = browser.action("DISMISS_DIRECT")
    assert page.route in ("tariff_select", "tariff_structure_select")


def test_direct_fail(app: Flask, browser: Browser) -> None:
    page = _direct(browser, "fail")
    assert page.route == "summary_tariff_failed"
    page = browser.action("RECONNECT")
    assert page.route == "provider_select"


def test_direct_fail_disconnect(app: Flask, browser: Browser) -> None:
    _direct(browser, "fail")
    result = finish_summary(browser, "summary_tariff_failed", app, action="DISCONNECT")
    assert result is not None and result.complete_action == "DISCONNECT"
    assert browser.page.url.startswith("/?connect=disconnected")


def test_direct_skip_falls_back_to_library(browser: Browser) -> None:
    page = _direct(browser, "skip")
    assert page.route == "tariff_select"
    assert "Voltaic" in page.html


def test_summary_edit_and_disconnect(app: Flask, browser: Browser) -> None:
    to_provider_select(browser)
    browser.provider("Northwind Energy")
    browser.tariff("Northwind Economy 7")
    browser.submit({"term": "unknown"})
    assert browser.page.route == "summary_tou_confirm"
    page = browser.action("EDIT")
    assert page.route == "provider_select"
    browser.provider("Northwind Energy")
    browser.tariff("Northwind Fixed 12M")
    browser.submit({"term": "none"})
    result = finish_summary(browser, "summary_fixed_confirm", app, action="DISCONNECT")
    assert result is not None and result.complete_action == "DISCONNECT"


def test_location_id_start(app: Flask, browser: Browser, sandbox: SandboxServer) -> None:
    created = requests.post(
        f"{sandbox.url}/_sandbox/locations",
        json={"state": "connected_fixed", "country_code": "GB"},
        timeout=10,
    ).json()
    with app.test_request_context():
        signed = sign_start("loc-customer-7", location_id=created["location_id"])
    page = browser.get(f"/start/{signed}")
    assert page.route == "summary_fixed_confirm", page.text()[:500]
    page = browser.action("SAVE")
    with app.app_context():
        result = results.get(app.extensions["connect_redis"], "loc-customer-7")
    assert result is not None and result.location_id == created["location_id"]
    assert page.route is None and page.state == "done"


def test_expired_token_partner_start_offers_start_again(
    app: Flask, browser: Browser, sandbox: SandboxServer
) -> None:
    start_demo(browser)
    with browser.client.session_transaction() as session:
        token = session["token"]
    requests.post(f"{sandbox.url}/_sandbox/tokens/{token}/expire", timeout=10)
    page = browser.get("/connect/flow")
    assert page.status == 410
    assert page.state == "expired"
    page = browser.submit(form=page.form_with())
    assert page.route == "postal_address_capture"
    with browser.client.session_transaction() as session:
        assert session["token"] != token


def test_expired_token_during_a_step(browser: Browser, sandbox: SandboxServer) -> None:
    start_demo(browser)
    with browser.client.session_transaction() as session:
        token = session["token"]
    requests.post(f"{sandbox.url}/_sandbox/tokens/{token}/expire", timeout=10)
    page = browser.submit(GB_ADDRESS)
    assert page.status == 410 and page.state == "expired"


def test_expired_external_token_asks_for_a_new_link(
    app: Flask, browser: Browser, sandbox: SandboxServer
) -> None:
    with app.app_context():
        created = app.extensions["flatpeak"].create_token(
            callback_uri=f"{PUBLIC_URL}/connect/callback",
            connect_web_uri=f"{PUBLIC_URL}/connect/provider-return",
        )
    requests.post(f"{sandbox.url}/_sandbox/tokens/{created.connect_token}/expire", timeout=10)
    page = browser.get(f"/connect?fp_cot={created.connect_token}")
    assert page.status == 410 and page.state == "expired"
    assert "ask the company that sent you this link for a new one" in page.text()
    assert not [f for f in page.forms if f.method == "post"]


def test_cancelling_a_new_connection_keeps_the_tariff_already_connected(
    app: Flask, browser: Browser
) -> None:
    """A customer with a connected tariff starts again, then presses "Cancel without saving"
    on the summary: nothing new was connected, and the connection they had stays stored."""

    def to_summary() -> None:
        to_provider_select(browser)
        browser.provider("Northwind Energy")
        browser.tariff("Northwind Fixed 12M")
        browser.submit({"term": "none"})

    to_summary()
    connected = finish_summary(browser, "summary_fixed_confirm", app)
    assert_saved(connected)
    to_summary()
    after = finish_summary(browser, "summary_fixed_confirm", app, action="DISCONNECT")
    assert after == connected
