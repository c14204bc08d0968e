"""The partner chooses the language (issue 13): a start link's ``locale``, ``connect-link
--locale``, ``/connect?fp_cot=…&locale=``, ``DEFAULT_LOCALE``, else the browser's
Accept-Language; the choice holds for the whole flow, cookies or not, and ``<html lang>``
follows it. en_US and en_GB are the languages shipped with this test; each language a
translator adds is one more catalogue, chosen the same way."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from devstack.stack import RedisServer, SandboxServer
from tests.webapp.conftest import GB_ADDRESS, Browser, Page, app_config
from tests.webapp.test_entry import partner_token
from tests.webapp.test_flow_framed import open_login_tab
from webapp import create_app
from webapp.config import ConfigError
from webapp.i18n import resolve_locale
from webapp.start_links import sign_start

US_MISSING = "Enter your ZIP code."
GB_MISSING = "Enter your postcode."
# An address without its postcode: Connect answers post_code_missing. British, so that the form
# is the same whichever English the browser asks for (the links below name the country).
NO_POSTCODE = {
    "address_line1": "1 Test Street",
    "city": "London",
    "post_code": "",
    "country_code": "GB",
}


def lang(page: Page) -> str:
    found = re.search(r'<html[^>]*\blang="([^"]+)"', page.html)
    assert found, "no <html lang>"
    return found.group(1)


def start(app: Flask, client: FlaskClient, ref: str, **options: Any) -> Browser:
    options.setdefault("country", "GB")
    with app.test_request_context():
        signed = sign_start(ref, **options)
    browser = Browser(client)
    page = browser.get(f"/start/{signed}")
    assert page.route == "postal_address_capture", page.text()[:300]
    return browser


def missing_zip(browser: Browser) -> Page:
    """Send the address without its postcode: the error names it in the flow's English."""
    page = browser.submit(NO_POSTCODE)
    assert page.route == "postal_address_capture", page.text()[:300]
    return page


def test_resolve_locale() -> None:
    available = ["en", "en_GB", "en_US"]
    assert resolve_locale("en-US", available) == "en_US"
    assert resolve_locale("en_gb", available) == "en_GB"
    assert resolve_locale("en-AU", available) == "en"  # no catalogue of its own: its language
    assert resolve_locale("de", available) is None  # a language we do not speak (yet)
    for junk in (None, "", "english", "en-US-x-private", "<script>", 42):
        assert resolve_locale(junk, available) is None


@pytest.mark.parametrize(
    ("link", "browser_asks", "expected_lang", "expected_error"),
    [
        ("en_US", "en-GB,en;q=0.9", "en-US", US_MISSING),
        ("en-GB", "en-US,en;q=0.9", "en-GB", GB_MISSING),
    ],
)
def test_a_start_link_locale_wins_over_the_browser_for_the_whole_flow(
    app: Flask,
    client: FlaskClient,
    link: str,
    browser_asks: str,
    expected_lang: str,
    expected_error: str,
) -> None:
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = browser_asks
    browser = start(app, client, f"locale-link-{link}", locale=link)
    assert lang(browser.page) == expected_lang
    page = missing_zip(browser)
    assert lang(page) == expected_lang
    assert expected_error in page.text()
    # A later whole-page load, the browser still asking for the other English.
    assert lang(browser.get("/connect/flow")) == expected_lang


def test_the_choice_holds_in_a_frame_without_cookies(app: Flask) -> None:
    cookieless = app.test_client(use_cookies=False)
    cookieless.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-GB"
    browser = start(app, cookieless, "locale-cookieless", locale="en_US")
    assert lang(browser.page) == "en-US"
    page = missing_zip(browser)  # the post finds the session by its flow handle alone
    assert lang(page) == "en-US" and US_MISSING in page.text()


def test_the_browser_decides_when_nobody_chose(app: Flask, client: FlaskClient) -> None:
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-GB,en;q=0.9"
    browser = start(app, client, "locale-browser-gb")
    assert lang(browser.page) == "en-GB"
    assert GB_MISSING in missing_zip(browser).text()
    other = app.test_client()
    other.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-US"
    assert US_MISSING in missing_zip(start(app, other, "locale-browser-us")).text()
    # A language we have no catalogue for yet gets the source English.
    third = app.test_client()
    third.environ_base["HTTP_ACCEPT_LANGUAGE"] = "pt-BR"
    assert lang(start(app, third, "locale-browser-pt").page) == "en"


def test_cli_link_with_a_locale(app: Flask, client: FlaskClient) -> None:
    runner = app.test_cli_runner()
    link = ["connect-link", "cli-locale-1", "--locale", "en-us", "--country", "GB"]
    result = runner.invoke(args=link)
    assert result.exit_code == 0, result.output
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-GB"
    page = Browser(client).get(urlsplit(result.output.strip()).path)
    assert page.route == "postal_address_capture" and lang(page) == "en-US"
    for bad in ("xx", "english", "en-US-posix"):
        refused = runner.invoke(args=["connect-link", "cli-locale-2", "--locale", bad])
        assert refused.exit_code != 0 and "--locale" in refused.output


def test_a_partner_token_entry_names_the_locale(app: Flask, client: FlaskClient) -> None:
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-GB"
    token = partner_token(app, postal_address={"country_code": "GB"})
    browser = Browser(client)
    page = browser.get(f"/connect?fp_cot={token}&locale=en-US")
    assert page.route == "postal_address_capture" and lang(page) == "en-US"
    assert US_MISSING in missing_zip(browser).text()


def test_default_locale_from_configuration(
    redis_server: RedisServer, sandbox: SandboxServer
) -> None:
    app = create_app(app_config(redis_server, sandbox, DEFAULT_LOCALE="en_US"))
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-GB"
    browser = start(app, client, "locale-default")
    assert lang(browser.page) == "en-US"
    # A link's own choice still wins over the deployment's default.
    assert lang(start(app, app.test_client(), "locale-default-2", locale="en_GB").page) == "en-GB"


def test_default_locale_must_be_available(
    redis_server: RedisServer, sandbox: SandboxServer
) -> None:
    with pytest.raises(ConfigError, match="DEFAULT_LOCALE"):
        create_app(app_config(redis_server, sandbox, DEFAULT_LOCALE="xx"))


def test_the_tab_back_from_a_provider_login_keeps_the_flows_language(app: Flask) -> None:
    """A framed flow's DIRECT login runs in a tab of its own, which comes back without the
    frame's cookie and adopts the flow from the token's record: in the flow's language."""
    frame = app.test_client()
    frame.environ_base["HTTP_SEC_FETCH_DEST"] = "iframe"
    frame.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-GB"
    browser = start(app, frame, "locale-login-tab", locale="en_US")
    browser.submit(GB_ADDRESS)
    page = browser.provider("Voltaic Direct")
    assert 'data-flow-state="provider-login"' in page.html and lang(page) == "en-US"
    tab = open_login_tab(app, page)  # a browser of its own that asks for no language
    back = tab.provider_login("approve")
    assert 'data-flow-state="provider-returned"' in back.html
    assert lang(back) == "en-US"
