"""A flow inside a partner's frame: the DIRECT provider login opens in a tab of its own, and the
frame carries on once the customer is back, without the token ever appearing in our markup."""

from __future__ import annotations

import re

from flask import Flask

from devstack.forms import Form
from tests.webapp.conftest import Browser, Page
from tests.webapp.test_flow_paths import assert_saved, finish_summary, to_provider_select


def framed(browser: Browser) -> Browser:
    # What Chromium sends on every navigation inside an <iframe>.
    browser.client.environ_base["HTTP_SEC_FETCH_DEST"] = "iframe"
    return browser


def carry_on(page: Page) -> Form:
    """The no-JS "I've logged in, carry on" form."""
    form = next((f for f in page.forms if f.action == "/connect/provider-wait"), None)
    assert form is not None, "no carry-on button on the page"
    return form


def open_login_tab(app: Flask, page: Page) -> Browser:
    """Press the frame's "Log in" button: its form posts into a new tab, a browsing context
    with no cookie of the frame's, carrying the frame's flow handle and CSRF token."""
    form = next((f for f in page.forms if f.action == "/connect/provider-login"), None)
    assert form is not None, "no login button on the page"
    assert re.search(r'<form[^>]*action="/connect/provider-login"[^>]*target="_blank"', page.html)
    tab = Browser(app.test_client())
    tab.page = page
    tab.submit(form=form)
    return tab


def test_framed_direct_login_opens_in_a_new_tab_and_the_frame_carries_on(
    app: Flask, browser: Browser
) -> None:
    to_provider_select(framed(browser))
    page = browser.provider("Voltaic Direct")
    # The frame stays ours: a page with a link that opens the login in a new tab.
    assert page.status == 200
    assert 'data-flow-state="provider-login"' in page.html
    assert "cot_" not in page.html
    assert "/connect/provider-login" not in re.findall(r'href="([^"]*)"', page.html)

    # Nothing to do yet: the poll answers 204 while the customer is away.
    assert browser.client.get("/connect/provider-wait").status_code == 204

    tab = open_login_tab(app, page)
    assert "/provider-login/" in tab.page.url and "fp_cot=cot_" in tab.page.url
    back = tab.provider_login("approve")
    assert 'data-flow-state="provider-returned"' in back.html
    assert "cot_" not in back.html

    # The frame's next poll brings the summary in.
    summary = browser.get("/connect/provider-wait")
    assert summary.route in ("summary_fixed_confirm", "summary_tou_confirm")
    assert_saved(finish_summary(browser, summary.route, app))


def test_framed_direct_login_button_without_javascript(app: Flask, browser: Browser) -> None:
    to_provider_select(framed(browser))
    page = browser.provider("Voltaic Direct")
    # Pressed too early: still waiting, the same page again.
    early = browser.submit(form=carry_on(page))
    assert 'data-flow-state="provider-login"' in early.html
    tab = open_login_tab(app, early)
    tab.provider_login("pending")
    after = browser.submit(form=carry_on(early))
    assert after.route == "summary_tariff_inprogress"
    assert page.status == 200


def test_the_login_button_of_no_flow_goes_nowhere(app: Flask) -> None:
    """Without this flow's form (its handle or cookie) the login posts lead nowhere: there is
    no link to the provider login, with the token in it, to replay."""
    stranger = app.test_client()
    assert stranger.get("/connect/provider-login").status_code in (404, 405)
    token_page = stranger.get("/")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', token_page.text)
    assert csrf
    response = stranger.post("/connect/provider-login", data={"csrf_token": csrf[1]})
    assert response.status_code == 404 and "cot_" not in response.text


def test_the_framed_login_page_names_the_provider_in_an_htmx_answer(browser: Browser) -> None:
    """htmx answers render the title and page blocks alone: both still name the provider."""
    to_provider_select(framed(browser))
    browser.htmx = True
    page = browser.provider("Voltaic Direct")
    assert page.html.startswith("<title>Log in to Voltaic Direct")
    assert "Log in to Voltaic Direct" in re.sub(r"<[^>]+>", "", page.html.split("</title>", 1)[1])
