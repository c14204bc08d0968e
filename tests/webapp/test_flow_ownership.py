"""Who owns a flow: a flow handle or a launch code lets a browser that gets no cookie carry on
with its own flow, but never plants that flow in another browser; a new flow gets a new CSRF
secret; the framed provider login is no replayable link; and the provider return switches a
browser only onto a flow it started. Each test performs the attack (or the customer's action)
against the real sandbox and Redis."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import requests
from flask import Flask
from flask.testing import FlaskClient

from devstack.stack import RedisServer, SandboxServer
from tests.webapp.conftest import GB_ADDRESS, Browser, Page, app_config
from webapp import create_app
from webapp.start_links import sign_start

COOKIE = "fpconnect"


def start(app: Flask, client: FlaskClient, ref: str) -> Browser:
    with app.test_request_context():
        signed = sign_start(ref)
    browser = Browser(client)
    assert browser.get(f"/start/{signed}").route == "postal_address_capture"
    return browser


def hidden(page: Page, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page.html)
    assert match, f"no hidden {name} on {page.route}"
    return match[1]


def step_form(page: Page, **typed: str) -> dict[str, str]:
    """The address page's form as the page rendered it (every hidden field), with ``typed``."""
    form = page.form_with(names=("address_line1",))
    return {**dict(form.fields), **typed}


def session_cookies(response) -> list[str]:
    return [c for c in response.headers.getlist("Set-Cookie") if c.startswith(COOKIE + "=")]


def test_a_flow_handle_posted_cross_site_plants_no_session(app: Flask, client: FlaskClient) -> None:
    """The attacker's own flow, posted from the attacker's site into a victim's browser (no
    cookie of ours yet) with the attacker's handle and CSRF token: the step is the attacker's
    to take, but the victim's browser is never handed the attacker's session."""
    attacker = start(app, client, "attacker-1")
    victim = app.test_client()
    response = victim.post("/connect/flow", data=step_form(attacker.page, **GB_ADDRESS))
    assert response.status_code in (200, 303)
    assert session_cookies(response) == []
    assert victim.get_cookie(COOKIE) is None


def test_a_launch_code_plants_no_session(app: Flask) -> None:
    """A launch code (single use, two minutes) opens its flow for a browser without cookies,
    and that browser only: it is never turned into a cookie."""
    cookieless = app.test_client(use_cookies=False)
    with app.test_request_context():
        signed = sign_start("launch-owner")
    entry = cookieless.get(f"/start/{signed}")
    assert entry.status_code == 303
    launch = parse_qs(urlsplit(entry.headers["Location"]).query)["launch"][0]
    victim = app.test_client()
    shown = victim.get(f"/connect/flow?launch={launch}")
    assert shown.status_code == 200 and 'data-route="postal_address_capture"' in shown.text
    assert session_cookies(shown) == []
    assert victim.get_cookie(COOKIE) is None


def test_a_csrf_token_read_before_a_flow_began_is_refused_in_it(
    app: Flask, client: FlaskClient, sandbox: SandboxServer
) -> None:
    """Whoever read this browser's CSRF token before its flow began (for instance through a
    session they planted) cannot post into the flow that follows."""
    browser = Browser(client)
    before = browser.get("/")
    old_token = hidden(before, "csrf_token")
    browser.submit(button=("mode", "connect"))
    page = browser.page
    assert page is not None and page.route == "postal_address_capture"
    assert hidden(page, "csrf_token") != old_token
    forged = client.post(
        "/connect/flow", data={**step_form(page, **GB_ADDRESS), "csrf_token": old_token}
    )
    assert forged.status_code == 400
    # The flow is untouched: its own form still goes through.
    assert browser.submit(GB_ADDRESS).route == "provider_select"


def provider_return_link(browser: Browser) -> str:
    """Approve the sandbox's provider login, and keep the link back to us instead of following
    it: what an attacker would send a victim."""
    page = browser.page
    assert page is not None and "/provider-login/" in page.url, page.url
    form = page.form_with(button=("outcome", "approve"))
    base = urlsplit(page.url)
    action = form.action if "://" in form.action else f"{base.scheme}://{base.netloc}{form.action}"
    data = {**dict(form.fields), "outcome": "approve"}
    answer = requests.post(action, data=data, allow_redirects=False, timeout=10)
    location = answer.headers["Location"]
    assert "/connect/provider-return?" in location and "fp_cot=cot_" in location
    return location[location.index("/connect/") :]


def test_a_provider_return_link_switches_no_one_elses_browser(
    app: Flask, client: FlaskClient
) -> None:
    """Login CSRF: an attacker sends the return link of their own provider login to a victim
    who is midway through their own flow. The victim's flow stays theirs."""
    attacker = start(app, app.test_client(), "attacker-2")
    attacker.submit(GB_ADDRESS)
    attacker.provider("Voltaic Direct")
    attacker.leave_for_login()
    link = provider_return_link(attacker)

    victim = start(app, client, "victim-2")
    with client.session_transaction() as session:
        own_token = session["token"]
    response = client.get(link)
    assert response.status_code == 200
    assert 'data-flow-state="provider-unmatched"' in response.text
    with client.session_transaction() as session:
        assert session["token"] == own_token
    assert victim.submit(GB_ADDRESS).route == "provider_select"


def test_the_browser_that_left_for_the_login_comes_back_without_its_session_cookie(
    app: Flask, client: FlaskClient
) -> None:
    """An in-app browser that dropped the session cookie on the way to the provider still
    carries the login cookie set when it left: its own flow resumes."""
    browser = start(app, client, "returner-1")
    browser.submit(GB_ADDRESS)
    browser.provider("Voltaic Direct")
    browser.leave_for_login()
    client.delete_cookie(COOKIE)
    page = browser.provider_login("approve")
    assert page.route in ("summary_fixed_confirm", "summary_tou_confirm")


# -- what another site's page can make a browser send (fetch metadata says so) -------------------

CROSS_SITE = {"Sec-Fetch-Site": "cross-site"}


def test_a_flow_handle_from_another_site_opens_nothing(app: Flask, client: FlaskClient) -> None:
    """An auto-submitting form on another site, carrying an attacker's handle and CSRF token,
    is a browser without a session here: refused, nothing planted, nothing sent."""
    attacker = start(app, client, "cross-site-handle")
    victim = app.test_client()
    response = victim.post(
        "/connect/flow", data=step_form(attacker.page, **GB_ADDRESS), headers=CROSS_SITE
    )
    assert response.status_code == 400  # no session: its CSRF token matches nothing
    assert session_cookies(response) == []


def test_the_framed_login_button_from_another_site_leads_nowhere(
    app: Flask, client: FlaskClient
) -> None:
    """The attacker's own "Log in" form, submitted by another site's page in a victim's browser:
    it must neither send the victim to the provider for the attacker's flow nor leave the login
    cookie by which the return would adopt that flow."""
    attacker = start(app, client, "cross-site-login")
    attacker.client.environ_base["HTTP_SEC_FETCH_DEST"] = "iframe"
    attacker.submit(GB_ADDRESS)
    page = attacker.provider("Voltaic Direct")
    form = next(f for f in page.forms if f.action == "/connect/provider-login")
    victim = app.test_client()
    response = victim.post("/connect/provider-login", data=dict(form.fields), headers=CROSS_SITE)
    assert response.status_code != 303
    assert not [c for c in response.headers.getlist("Set-Cookie") if "_login=" in c]


def test_an_in_flow_launch_code_from_another_site_opens_nothing(app: Flask) -> None:
    """A code minted for one of our pages' next navigation (here: the redirect after a plain
    step without cookies) does not open its flow for a link from elsewhere."""
    cookieless = app.test_client(use_cookies=False)
    with app.test_request_context():
        signed = sign_start("cross-site-launch")
    entry = cookieless.get(f"/start/{signed}")
    first = cookieless.get(entry.headers["Location"])
    handle = re.search(r'name="flow" value="([^"]+)"', first.text)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', first.text)
    version = re.search(r'name="version" value="([^"]+)"', first.text)
    assert handle and csrf and version
    posted = cookieless.post(
        "/connect/flow",
        data={
            **GB_ADDRESS,
            "route": "postal_address_capture",
            "flow": handle[1],
            "csrf_token": csrf[1],
            "version": version[1],
        },
    )
    assert posted.status_code == 303 and "launch=" in posted.headers["Location"]
    victim = app.test_client()
    shown = victim.get(posted.headers["Location"], headers=CROSS_SITE)
    assert 'data-route="provider_select"' not in shown.text
    assert session_cookies(shown) == []


def test_a_spent_token_link_puts_no_browser_into_its_flow(
    redis_server: RedisServer, sandbox: SandboxServer
) -> None:
    """A token link once entered (its customer can read the token in the provider login's URL)
    is refused in any browser that does not already hold its flow (past the grace below)."""
    app = create_app(app_config(redis_server, sandbox, START_LINK_REUSE_GRACE=0))
    owner = app.test_client()
    token = partner_token(app)
    assert owner.get(f"/connect?fp_cot={token}").status_code == 303
    stranger = app.test_client()
    again = stranger.get(f"/connect?fp_cot={token}")
    assert again.status_code == 410 and 'data-flow-state="link-used"' in again.text
    assert session_cookies(again) == []


def test_a_token_link_repeated_at_once_lands_on_its_untouched_first_page(app: Flask) -> None:
    """Within START_LINK_REUSE_GRACE (as for a start link) the same link again (a double
    click, or nginx repeating the request on another instance when the first died before its
    answer and cookie reached the browser) opens the flow, but only while nothing has been
    sent from its first page; once a step has, even a moment later, it is refused."""
    token = partner_token(app)
    lost = app.test_client()  # the answer to this one never arrives
    assert lost.get(f"/connect?fp_cot={token}").status_code == 303
    retried = Browser(app.test_client())
    page = retried.get(f"/connect?fp_cot={token}")
    assert page.route == "postal_address_capture", page.text()[:300]
    assert retried.submit(GB_ADDRESS).route == "provider_select"
    late = app.test_client().get(f"/connect?fp_cot={token}")
    assert late.status_code == 410 and 'data-flow-state="link-used"' in late.text


def test_a_callback_link_adopts_no_unfinished_flow(app: Flask, client: FlaskClient) -> None:
    """``/connect/callback?fp_cot=`` for a flow Connect has not completed: nothing adopted."""
    start(app, client, "callback-adoption")
    with client.session_transaction() as session:
        token = session["token"]
    stranger = app.test_client()
    response = stranger.get(f"/connect/callback?fp_cot={token}")
    assert response.status_code == 400
    assert session_cookies(response) == []
    assert stranger.get("/connect/flow").status_code == 404  # no flow in this browser


def partner_token(app: Flask) -> str:
    """A connect token the partner's backend created on its own account."""
    with app.app_context():
        return (
            app.extensions["flatpeak"]
            .create_token(
                callback_uri="http://localhost/connect/callback",
                connect_web_uri="http://localhost/connect/provider-return",
            )
            .connect_token
        )
