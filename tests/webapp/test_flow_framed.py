"""A flow inside a partner's frame: the DIRECT provider login opens in a tab of its own, and the
frame carries on once the customer is back, without the token ever appearing in our markup."""

from __future__ import annotations

import re

from flask import Flask

from tests.webapp.conftest import Browser
from tests.webapp.test_flow_paths import assert_saved, finish_summary, to_provider_select


def framed(browser: Browser) -> Browser:
    # What Chromium sends on every navigation inside an <iframe>.
    browser.client.environ_base["HTTP_SEC_FETCH_DEST"] = "iframe"
    return browser


def login_link(html: str) -> str:
    match = re.search(r'<a[^>]*href="([^"]+)"[^>]*target="_blank"', html)
    assert match, "no new-tab login link on the page"
    return match.group(1)


def test_framed_direct_login_opens_in_a_new_tab_and_the_frame_carries_on(
    app: Flask, browser: Browser
) -> None:
    to_provider_select(framed(browser))
    page = browser.provider("Voltaic Direct")
    # The frame stays ours: a page with a link that opens the login in a new tab.
    assert page.status == 200
    assert 'data-flow-state="provider-login"' in page.html
    assert "cot_" not in page.html
    link = login_link(page.html)
    assert link.startswith("/connect/provider-login/")

    # Nothing to do yet: the poll answers 204 while the customer is away.
    assert browser.client.get("/connect/provider-wait").status_code == 204

    # The new tab is a different browsing context with no cookie of the frame's.
    tab = Browser(app.test_client())
    login = tab.get(link)
    assert "/provider-login/" in login.url and "fp_cot=cot_" in login.url
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
    early = browser.submit()
    assert 'data-flow-state="provider-login"' in early.html
    tab = Browser(app.test_client())
    tab.get(login_link(early.html))
    tab.provider_login("pending")
    after = browser.submit()
    assert after.route == "summary_tariff_inprogress"
    assert page.status == 200


def test_unknown_provider_link_is_refused(browser: Browser) -> None:
    page = browser.get("/connect/provider-login/not-a-code")
    assert page.status == 400
