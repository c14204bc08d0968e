""" "You're connected" recaps what was connected and offers the way back to the partner when the
flow has one (issue 12, item 13).

The done page is shown after the flow's session has ended: what it shows comes from a receipt
named by a random value in its URL (never the token). Unframed, a flow with a return URL still
goes straight to the partner's page; inside a partner's frame it ends on our page, whose way
back takes the whole tab.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import redis
from flask import Flask
from flask.testing import FlaskClient

from tests.webapp.conftest import GB_ADDRESS, PARTNER_RETURN, Browser, Page
from tests.webapp.test_flow_framed import framed
from webapp.start_links import sign_start


def start(app: Flask, browser: Browser, ref: str, **options: str) -> None:
    with app.test_request_context():
        signed = sign_start(ref, **options)
    assert browser.get(f"/start/{signed}").route == "postal_address_capture"


def connect_library_tariff(browser: Browser) -> Page:
    browser.submit(GB_ADDRESS)
    browser.provider("Northwind Energy")
    browser.tariff("Northwind Fixed 12M")
    page = browser.submit({"term": "none"})
    assert page.route == "summary_fixed_confirm"
    return browser.action("SAVE")


def recap(page: Page) -> dict[str, str]:
    rows = re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", page.html)
    return dict(rows)


def back_link(page: Page) -> re.Match[str] | None:
    return re.search(
        r'<a class="button button--primary" href="([^"]*)"([^>]*)>\s*([^<]*?)\s*<', page.html
    )


def test_the_done_page_recaps_provider_and_tariff(app: Flask, browser: Browser) -> None:
    start(app, browser, "done-recap-1")
    page = connect_library_tariff(browser)
    assert page.status == 200 and page.url.startswith("/connect/done?"), page.url
    assert page.state == "done"
    assert recap(page) == {"Provider": "Northwind Energy", "Tariff": "Northwind Fixed 12M"}
    assert "Your prices will now be used" in page.text()
    # No return URL: nothing to go back to, so the customer is told they can close the page.
    assert back_link(page) is None and "You can close this page." in page.text()
    # The URL names a receipt, never the token.
    assert "cot_" not in page.url and "cot_" not in page.html
    assert parse_qs(urlsplit(page.url).query).get("receipt")


def test_the_receipt_holds_no_token_and_expires(
    app: Flask, browser: Browser, app_redis: redis.Redis
) -> None:
    start(app, browser, "done-recap-2")
    page = connect_library_tariff(browser)
    keys = [str(k) for k in app_redis.scan_iter("connect:done:*")]
    assert len(keys) == 1
    receipt = parse_qs(urlsplit(page.url).query)["receipt"][0]
    assert receipt not in keys[0], "the key is the receipt's hash, not the receipt"
    stored = str(app_redis.get(keys[0]))
    assert "cot_" not in stored and "Northwind Fixed 12M" in stored
    assert 0 < app_redis.ttl(keys[0]) <= app.config["SESSION_LIFETIME"]
    # Refreshing the page within that time shows the same recap; the session is long gone.
    again = browser.get(page.url)
    assert recap(again) == recap(page)


def test_an_unknown_or_malformed_receipt_shows_only_the_outcome(client: FlaskClient) -> None:
    for receipt in ("A" * 32, "../../etc", "x" * 200, ""):
        html = client.get(f"/connect/done?outcome=pending&receipt={receipt}").text
        assert "hasn't sent your tariff details yet" in html
        assert "<dl" not in html and "button--primary" not in html


def test_unframed_with_a_return_url_goes_straight_to_the_partner(
    app: Flask, browser: Browser
) -> None:
    start(app, browser, "done-return-1", return_url="/")
    page = connect_library_tariff(browser)
    assert browser.redirects[-1] == "/?connect=connected" and page.url == "/?connect=connected"


def test_framed_with_a_return_url_ends_in_the_frame_with_the_way_back(
    app: Flask, browser: Browser
) -> None:
    """Inside a frame the partner's return page would load inside the partner's own page: the
    flow ends on ours, and its way back takes the whole tab (target=_top)."""
    start(app, framed(browser), "done-return-2", return_url=PARTNER_RETURN)
    page = connect_library_tariff(browser)
    assert page.url.startswith("/connect/done?"), page.url
    assert not any(PARTNER_RETURN in target for target in browser.redirects)
    assert recap(page)["Tariff"] == "Northwind Fixed 12M"
    link = back_link(page)
    assert link is not None, "no way back to the partner"
    assert link[1] == PARTNER_RETURN + "?connect=connected"
    assert 'target="_top"' in link[2]
    assert link[3] == "Back to where you started"
    # In a frame there is no page to close.
    assert "You can close this page." not in page.text()


def test_the_way_back_names_the_partner_and_is_checked_again(app: Flask, browser: Browser) -> None:
    app.config["BRAND_NAME"] = "Acme Energy App"
    start(app, framed(browser), "done-return-3", return_url=PARTNER_RETURN)
    page = connect_library_tariff(browser)
    link = back_link(page)
    assert link is not None and link[3] == "Back to Acme Energy App", page.text()[:600]
    # Taken off the allowlist since: the done page no longer offers it.
    app.config["PARTNER_RETURN_URLS"] = []
    assert back_link(browser.get(page.url)) is None


def test_a_refreshed_callback_shows_the_recap_and_the_way_back(
    app: Flask, client: FlaskClient
) -> None:
    browser = Browser(client)
    start(app, framed(browser), "done-return-4", return_url=PARTNER_RETURN)
    with client.session_transaction() as session:
        token = session["token"]
    connect_library_tariff(browser)
    page = browser.get(f"/connect/callback?fp_cot={token}")
    assert page.url.startswith("/connect/done?")
    assert recap(page) == {"Provider": "Northwind Energy", "Tariff": "Northwind Fixed 12M"}
    assert back_link(page) is not None
    assert "cot_" not in page.url


def test_a_pending_connection_recaps_the_provider(app: Flask, browser: Browser) -> None:
    start(app, browser, "done-pending-1")
    browser.submit(GB_ADDRESS)
    browser.provider("Voltaic Direct")
    page = browser.provider_login("pending")
    assert page.route == "summary_tariff_inprogress"
    done = browser.action("SAVE")
    assert done.url.startswith("/connect/done?")
    assert recap(done) == {"Provider": "Voltaic Direct"}
    assert "hasn't sent your tariff details yet" in done.text()


def test_the_done_page_talks_to_the_flows_own_partner(app: Flask, browser: Browser) -> None:
    """The flow's session has ended when the done page loads: the receipt keeps which partner
    framed it, so "complete" goes to that partner and not to the first allowed origin."""
    app.config["PARTNER_ORIGINS"] = ["https://first.example", "https://partner.example"]
    start(app, framed(browser), "done-origin-1", embed_origin="https://partner.example")
    page = connect_library_tariff(browser)
    assert page.url.startswith("/connect/done?")
    assert 'data-parent-origin="https://partner.example"' in page.html


def test_a_repeated_callback_request_ends_where_the_first_did(
    app: Flask, client: FlaskClient, browser: Browser
) -> None:
    """The callback ends the flow and its session. When the same request comes again (nginx
    retrying it on another instance after the first died before its answer left), it is sent
    to the same end, by the cookie or the single-use code it carried; nobody else is."""
    start(app, browser, "repeat-callback")
    cookie = client.get_cookie("fpconnect")
    assert cookie is not None
    browser.submit(GB_ADDRESS)
    browser.provider("Northwind Energy")
    browser.tariff("Northwind Fixed 12M")
    browser.submit({"term": "none"})
    done = browser.action("SAVE")
    assert done.status == 200 and done.state == "done"
    callback = next(url for url in browser.redirects if "/connect/callback" in url)
    first_end = browser.redirects[browser.redirects.index(callback) + 1]
    assert "launch=" in callback

    # The same request again, as it left the browser: its old cookie and its code.
    again = app.test_client()
    again.set_cookie("fpconnect", cookie.value)
    repeated = again.get(callback)
    assert repeated.status_code == 303 and repeated.headers["Location"] == first_end
    # The code alone (a frame without cookies) ends there too.
    assert app.test_client().get(callback).headers.get("Location") == first_end
    # Another browser with neither is told there is no flow.
    stranger = app.test_client().get("/connect/callback")
    assert stranger.status_code == 404
