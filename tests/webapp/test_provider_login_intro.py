"""Before a DIRECT provider's login takes the customer to another site, a page of ours says in one
sentence where they are going and why, with one button that goes there (issue 12, item 11).

Unframed, the page itself then goes to the login; framed, the login opens in a new tab (its own
tests are in test_flow_framed.py). Nothing leaves for the provider until the button is pressed,
and the page works as a plain form.
"""

from __future__ import annotations

import re

from flask import Flask

from tests.webapp.conftest import Browser
from tests.webapp.test_flow_framed import framed
from tests.webapp.test_flow_paths import to_provider_select

LOGIN_COOKIE = "fpconnect_login"


def _sentence(html: str) -> str:
    """The page's explanation: the paragraph under its heading, without markup."""
    main = html.split('id="page"', 1)[1]
    first = re.search(r"<p>(.*?)</p>", main, re.S)
    assert first, "no sentence on the page"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", first.group(1))).strip()


def test_choosing_a_direct_provider_says_where_the_login_is_before_going(
    app: Flask, browser: Browser
) -> None:
    to_provider_select(browser)
    page = browser.provider("Voltaic Direct")
    # Still on our own page: nothing has left for the provider yet.
    assert page.url.startswith("/connect/flow"), page.url
    assert page.state == "provider-login" and page.status == 200
    assert not any("/provider-login/" in url for url in browser.redirects), browser.redirects
    assert browser.client.get_cookie(LOGIN_COOKIE) is None
    assert re.search(r"<h1[^>]*>\s*Log in to Voltaic Direct\s*</h1>", page.html)
    sentence = _sentence(page.html)
    # Where (the provider's own website), why (to share the tariff), and that they come back.
    assert "Voltaic Direct" in sentence and "own website" in sentence, sentence
    assert "share your tariff" in sentence and "come back here" in sentence, sentence
    assert sentence.count(". ") == 0, f"one sentence, not several: {sentence!r}"
    assert "new tab" not in sentence, "unframed, the login does not open in a new tab"
    assert "cot_" not in page.html

    # One button, a plain form of this flow's (no link that stands for the login), same tab.
    forms = [f for f in page.forms if f.action == "/connect/provider-login"]
    assert len(forms) == 1 and forms[0].method.lower() == "post"
    assert re.search(r'<form[^>]*action="/connect/provider-login"', page.html)
    assert not re.search(r'<form[^>]*action="/connect/provider-login"[^>]*target=', page.html)
    assert re.search(r">\s*Continue to Voltaic Direct\s*</button>", page.html)
    assert "/connect/provider-login" not in re.findall(r'href="([^"]*)"', page.html)

    at_provider = browser.leave_for_login()
    assert "/provider-login/" in at_provider.url and "fp_cot=cot_" in at_provider.url
    assert browser.client.get_cookie(LOGIN_COOKIE) is not None, "the login cookie is set"
    back = browser.provider_login("approve")
    assert back.route in ("summary_fixed_confirm", "summary_tou_confirm")


def test_htmx_choice_swaps_in_the_page_instead_of_leaving(htmx_browser: Browser) -> None:
    to_provider_select(htmx_browser)
    page = htmx_browser.provider("Voltaic Direct")
    assert "HX-Redirect" not in page.headers
    assert page.html.startswith("<title>Log in to Voltaic Direct")
    assert 'data-flow-state="provider-login"' in page.html


def test_back_from_the_provider_shows_the_page_again_not_a_redirect_out(
    browser: Browser,
) -> None:
    """Back (or a reload) while Connect waits for the login: the page, still naming the
    provider (Connect's session_redirect does not), instead of bouncing straight back out to
    the provider's site."""
    to_provider_select(browser)
    browser.provider("Voltaic Direct")
    browser.leave_for_login()
    again = browser.get("/connect/flow")
    assert again.url == "/connect/flow" and again.state == "provider-login"
    assert "Continue to Voltaic Direct" in again.text()
    assert "Voltaic Direct" in _sentence(again.html)


def test_the_framed_page_says_where_and_why_in_one_sentence(browser: Browser) -> None:
    to_provider_select(framed(browser))
    page = browser.provider("Voltaic Direct")
    sentence = _sentence(page.html)
    assert "Voltaic Direct" in sentence and "own website" in sentence, sentence
    assert "share your tariff" in sentence and "new tab" in sentence, sentence
    assert sentence.count(". ") == 0, f"one sentence, not several: {sentence!r}"
    reloaded = browser.get("/connect/flow")
    assert "Log in to Voltaic Direct" in reloaded.text()
