"""The named attacks on the web app, each against the real sandbox and Redis.

Every test asserts the status and words the customer (or attacker) sees, and that nothing
changed upstream: the sandbox's own view of the connect token (``/_sandbox/tokens/<token>``)
is the same before and after. What ``test_security`` and ``test_entry`` already pin (a POST
without any CSRF token on the demo, a truncated start link, an expired one, a malformed or
unknown ``fp_cot`` at the entry) is not repeated; this module covers the stronger variants.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

from devstack.stack import SandboxServer
from tests.webapp.conftest import GB_ADDRESS, PARTNER_RETURN, Browser, Page, app_config
from webapp import create_app, results
from webapp.links import return_url_allowed
from webapp.start_links import sign_start

# -- helpers ---------------------------------------------------------------------------------


def upstream(sandbox: SandboxServer, token: str) -> dict[str, Any]:
    """The sandbox's state of a connect token, without the bookkeeping that moves on reads."""
    response = requests.get(f"{sandbox.url}/_sandbox/tokens/{token}", timeout=10)
    assert response.status_code == 200, response.text
    state = response.json()
    for key in ("updated_at", "last_seen", "accessed_at"):
        state.pop(key, None)
    return state


def start(app: Flask, client: FlaskClient, ref: str, **options: Any) -> tuple[Browser, str]:
    """A partner flow for ``ref`` on its address page; returns the browser and its token."""
    with app.test_request_context():
        signed = sign_start(ref, **options)
    browser = Browser(client)
    page = browser.get(f"/start/{signed}")
    assert page.route == "postal_address_capture", page.text()[:300]
    with client.session_transaction() as session:
        token = session["token"]
    return browser, token


def hidden(page: Page, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page.html)
    assert match, f"no hidden {name} on {page.route}"
    return match[1]


def session_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("fpconnect")
    assert cookie is not None
    return cookie.value


def address_post(page: Page, **overrides: str) -> dict[str, str]:
    return {
        "route": "postal_address_capture",
        "version": hidden(page, "version"),
        "csrf_token": hidden(page, "csrf_token"),
        "flow": hidden(page, "flow"),
        **GB_ADDRESS,
        **overrides,
    }


# -- CSRF --------------------------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("variant", ["missing", "wrong", "other-session"])
def test_step_with_a_bad_csrf_token_sends_nothing(
    app: Flask, sandbox: SandboxServer, htmx: bool, variant: str
) -> None:
    victim = app.test_client()
    browser, token = start(app, victim, "csrf-victim")
    before = upstream(sandbox, token)
    form = address_post(browser.page)
    if variant == "missing":
        form.pop("csrf_token")
    elif variant == "wrong":
        form["csrf_token"] = form["csrf_token"][:-4] + "AAAA"
    else:
        # A perfectly valid token, minted for the attacker's own session.
        attacker, _ = start(app, app.test_client(), "csrf-attacker")
        form["csrf_token"] = hidden(attacker.page, "csrf_token")
    headers = {"HX-Request": "true"} if htmx else {}
    response = victim.post("/connect/flow", data=form, headers=headers)

    assert response.status_code == 400
    assert "could not be checked" in response.get_data(as_text=True)
    assert "Nothing was sent" in response.get_data(as_text=True)
    if htmx:
        assert response.headers["HX-Redirect"].startswith("/connect/flow")
    assert upstream(sandbox, token) == before
    # The victim's flow is intact: the page still shows the address step.
    assert Browser(victim).get("/connect/flow").route == "postal_address_capture"


def test_csrf_header_from_another_session_is_refused(app: Flask, sandbox: SandboxServer) -> None:
    victim = app.test_client()
    browser, token = start(app, victim, "csrf-header-victim")
    attacker, _ = start(app, app.test_client(), "csrf-header-attacker")
    before = upstream(sandbox, token)
    form = address_post(browser.page)
    form.pop("csrf_token")
    response = victim.post(
        "/connect/flow",
        data=form,
        headers={"HX-Request": "true", "X-CSRFToken": hidden(attacker.page, "csrf_token")},
    )
    assert response.status_code == 400
    assert upstream(sandbox, token) == before


# -- forged and expired start links ------------------------------------------------------------


def test_start_link_with_a_swapped_payload_is_refused(app: Flask, client: FlaskClient) -> None:
    """The payload of one link under the signature of another: each half is genuine."""
    with app.test_request_context():
        mine = sign_start("customer-mine")
        theirs = sign_start("customer-theirs", return_url=PARTNER_RETURN)
    forged = theirs.split(".", 1)[0] + "." + mine.split(".", 1)[1]
    page = Browser(client).get(f"/start/{forged}")
    assert page.status == 400 and page.state == "invalid-link"
    assert "token" not in _session(client)


def test_start_link_signed_with_another_secret_is_refused(app: Flask, client: FlaskClient) -> None:
    other = URLSafeTimedSerializer("not-our-secret-" * 4, salt="connect-start-link")
    for forged in (
        other.dumps({"ref": "victim-customer"}),
        # The right salt matters too: our secret with another purpose's salt.
        URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="other").dumps({"ref": "x"}),
    ):
        page = Browser(client).get(f"/start/{forged}")
        assert page.status == 400 and page.state == "invalid-link", forged
        assert "This link doesn" in page.text() and "has been changed" in page.text()
    assert "token" not in _session(client)


def test_start_link_with_a_payload_that_is_not_a_customer(app: Flask, client: FlaskClient) -> None:
    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="connect-start-link")
    for payload in ([], "ref", {"ref": ""}, {"ref": 5}, {"nothing": "here"}):
        page = Browser(client).get(f"/start/{serializer.dumps(payload)}")
        assert page.status == 400 and page.state == "invalid-link", payload


def test_expired_start_link_creates_no_token(
    redis_server, sandbox: SandboxServer, app_redis
) -> None:
    from tests.webapp.conftest import app_config
    from webapp import create_app

    app = create_app(app_config(redis_server, sandbox, START_LINK_MAX_AGE=-1))
    client = app.test_client()
    with app.test_request_context():
        signed = sign_start("late-customer-2")
    page = Browser(client).get(f"/start/{signed}")
    assert page.status == 410 and page.state == "link-expired"
    assert "token" not in _session(client)
    assert not list(app_redis.scan_iter("connect:token:*"))


def _session(client: FlaskClient) -> dict[str, Any]:
    with client.session_transaction() as session:
        return dict(session)


# -- fp_cot at the callback ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "fp_cot",
    ["cot_<script>", "cot_", "cot_" + "a" * 200, "", "cot_ffffffffffffffffffffffffffff"],
    ids=["markup", "empty-suffix", "too-long", "empty", "unknown"],
)
def test_callback_with_a_malformed_or_unknown_token_changes_nothing(
    app: Flask, client: FlaskClient, sandbox: SandboxServer, fp_cot: str
) -> None:
    _browser, token = start(app, client, "callback-victim")
    before = upstream(sandbox, token)
    page = Browser(client).get(f"/connect/callback?fp_cot={fp_cot}")
    assert page.status == 400 and page.state == "invalid-link"
    assert _session(client)["token"] == token
    assert upstream(sandbox, token) == before
    with app.app_context():
        assert results.get(app.extensions["connect_redis"], "callback-victim") is None


def test_callback_with_another_flows_token_keeps_this_flow(
    app: Flask, sandbox: SandboxServer
) -> None:
    victim = app.test_client()
    _, victim_token = start(app, victim, "callback-a")
    _, other_token = start(app, app.test_client(), "callback-b")
    before = upstream(sandbox, other_token)
    page = Browser(victim).get(f"/connect/callback?fp_cot={other_token}")
    assert page.status == 400 and page.state == "invalid-link"
    # This browser still holds its own flow, and the other flow was not touched.
    assert _session(victim)["token"] == victim_token
    assert upstream(sandbox, other_token) == before


def test_callback_with_another_flows_token_never_mixes_the_flows(
    app: Flask, sandbox: SandboxServer
) -> None:
    """What holds today: the other flow is not exchanged (it has not completed), nothing is
    stored for either customer, and this browser never ends up half in one flow, half in the
    other."""
    victim = app.test_client()
    _, victim_token = start(app, victim, "callback-c")
    _, other_token = start(app, app.test_client(), "callback-d")
    before_victim, before_other = upstream(sandbox, victim_token), upstream(sandbox, other_token)
    response = victim.get(f"/connect/callback?fp_cot={other_token}")
    assert response.status_code in (303, 400)
    assert upstream(sandbox, victim_token) == before_victim
    assert upstream(sandbox, other_token)["route"] == before_other["route"]
    with app.app_context():
        store = app.extensions["connect_redis"]
        assert results.get(store, "callback-c") is None
        assert results.get(store, "callback-d") is None
    session = _session(victim)
    if session.get("token") == other_token:
        assert session["entry"]["customer_ref"] == "callback-d"
    else:
        assert session.get("token") == victim_token
        assert session["entry"]["customer_ref"] == "callback-c"


# -- return URLs --------------------------------------------------------------------------------

EVIL_RETURNS = [
    "https://evil.example/",
    "http://evil.example/connected",
    "//evil.example/connected",
    "///evil.example/connected",
    "/\\evil.example",
    "\\\\evil.example",
    "javascript:alert(document.domain)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "https://partner.example@evil.example/connected",
    "https://partner.example.evil.example/connected",
    PARTNER_RETURN + ".evil.example",
    PARTNER_RETURN + "@evil.example",
    PARTNER_RETURN.upper(),
    "HTTPS://PARTNER.EXAMPLE/connected",
    " " + PARTNER_RETURN,
    PARTNER_RETURN + "\n",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "https:evil.example",
]


@pytest.mark.parametrize("url", EVIL_RETURNS)
def test_return_url_outside_the_allowlist_is_never_kept(
    app: Flask, client: FlaskClient, url: str
) -> None:
    _, _token = start(app, client, "return-customer", return_url=url)
    assert _session(client)["entry"]["return_url"] is None


@pytest.mark.parametrize("url", EVIL_RETURNS)
def test_return_url_check_refuses(app: Flask, url: str) -> None:
    with app.test_request_context():
        assert not return_url_allowed(url)


def test_completed_flow_with_a_forged_return_url_ends_on_our_page(
    app: Flask, client: FlaskClient
) -> None:
    browser, _token = start(app, client, "return-complete", return_url="//evil.example/x")
    browser.submit(GB_ADDRESS)
    browser.provider("Northwind Energy")
    browser.tariff("Northwind Fixed 12M")
    page = browser.submit({"term": "none"})
    assert page.route == "summary_fixed_confirm"
    page = browser.action("SAVE")
    assert page.status == 200 and "/connect/done" in page.url
    assert not any("evil" in target for target in browser.redirects)


# -- oversized bodies ---------------------------------------------------------------------------


def _oversized_bodies(form: dict[str, str], limits: dict[str, int]) -> dict[str, dict[str, Any]]:
    body, field, parts = (
        limits["MAX_CONTENT_LENGTH"],
        limits["MAX_FORM_MEMORY_SIZE"],
        limits["MAX_FORM_PARTS"],
    )
    return {
        "over-max-content-length": {"data": {**form, "address_line1": "x" * (body + 1)}},
        "one-huge-multipart-field": {
            "data": {**form, "address_line2": "y" * (field + 1)},
            "content_type": "multipart/form-data",
        },
        "too-many-parts": {
            "data": {**form, **{f"f{i}": "1" for i in range(parts + 1)}},
            "content_type": "multipart/form-data",
        },
        "raw-body-over-limit": {
            "data": b"a=" + b"z" * (body * 2),
            "content_type": "application/x-www-form-urlencoded",
        },
    }


OVERSIZED = [
    "over-max-content-length",
    "one-huge-multipart-field",
    "too-many-parts",
    "raw-body-over-limit",
]


@pytest.mark.parametrize("kind", OVERSIZED)
@pytest.mark.parametrize("cookie", [True, False], ids=["cookie", "flow-handle"])
def test_oversized_bodies_get_a_friendly_413(
    app: Flask, client: FlaskClient, sandbox: SandboxServer, kind: str, cookie: bool
) -> None:
    browser, token = start(app, client, f"big-{kind}-{cookie}")
    before = upstream(sandbox, token)
    form = address_post(browser.page)
    sender = client if cookie else app.test_client()  # no cookie: the session comes from the form
    response = sender.post("/connect/flow", **_oversized_bodies(form, app.config)[kind])
    body = response.get_data(as_text=True)
    assert response.status_code == 413, body[:300]
    assert "too much to send" in body and "nothing has changed" in body
    assert "Traceback" not in body and 'data-flow-state="too-large"' in body
    assert upstream(sandbox, token) == before


def test_oversized_htmx_post_sends_the_frame_to_the_current_step(
    app: Flask, client: FlaskClient
) -> None:
    browser, _token = start(app, client, "big-htmx")
    form = address_post(browser.page, address_line1="x" * app.config["MAX_CONTENT_LENGTH"])
    response = client.post("/connect/flow", data=form, headers={"HX-Request": "true"})
    assert response.status_code == 413
    # The same way back as after a CSRF failure: the flow page, with a launch code that opens
    # this flow even for a frame that gets no cookie.
    target = response.headers["HX-Redirect"]
    assert target.startswith("/connect/flow?launch=")
    fresh = app.test_client()  # no cookie at all
    back = fresh.get(target)
    assert back.status_code == 200 and 'data-route="postal_address_capture"' in back.text


def test_largest_real_form_is_well_under_the_limits(app: Flask, client: FlaskClient) -> None:
    """Twelve time-of-day periods with long typed values still go through (no false 413)."""
    browser, _token = start(app, client, "big-but-fine")
    form = address_post(browser.page, address_line1="1 " + "Long Street Name " * 30)
    form.update({f"from_{i}": "07:00:00" for i in range(12)})
    response = client.post("/connect/flow", data=form)
    assert response.status_code in (200, 303, 422)


# -- a session cookie from another flow ---------------------------------------------------------


def test_cookie_of_one_flow_with_the_handle_and_form_of_another(
    app: Flask, sandbox: SandboxServer
) -> None:
    """Customer B's browser (B's cookie) posts customer A's form: A's flow handle and CSRF
    token. The cookie wins, A's CSRF token does not fit B's session, nothing reaches either
    flow upstream."""
    a_client, b_client = app.test_client(), app.test_client()
    a_browser, a_token = start(app, a_client, "mix-a")
    _, b_token = start(app, b_client, "mix-b")
    before_a, before_b = upstream(sandbox, a_token), upstream(sandbox, b_token)
    form = address_post(a_browser.page)
    for headers in ({}, {"HX-Request": "true", "X-Connect-Flow": form["flow"]}):
        response = b_client.post("/connect/flow", data=form, headers=headers)
        assert response.status_code == 400
    assert upstream(sandbox, a_token) == before_a
    assert upstream(sandbox, b_token) == before_b
    assert _session(b_client)["token"] == b_token
    assert _session(a_client)["token"] == a_token


def test_cookie_of_one_flow_with_the_launch_code_of_another(
    app: Flask, sandbox: SandboxServer
) -> None:
    """B's browser opens the launch URL minted for A: B's cookie wins (B sees B's own flow),
    and A's code is spent, so nobody can use it afterwards."""
    a_client, b_client = app.test_client(), app.test_client()
    with app.test_request_context():
        signed = sign_start("launch-a")
    a_launch = a_client.get(f"/start/{signed}").headers["Location"]
    assert "launch=" in a_launch
    _, b_token = start(app, b_client, "launch-b")
    page = Browser(b_client).get(a_launch)
    assert page.route == "postal_address_capture"
    assert _session(b_client)["token"] == b_token
    assert _session(b_client)["entry"]["customer_ref"] == "launch-b"
    stranger = Browser(app.test_client()).get(a_launch)
    assert stranger.status == 404 and stranger.state == "no-flow"


def test_launch_code_reused_without_a_cookie(app: Flask, sandbox: SandboxServer) -> None:
    client = app.test_client()
    with app.test_request_context():
        signed = sign_start("launch-reuse")
    location = client.get(f"/start/{signed}").headers["Location"]
    assert "launch=" in location
    first = Browser(app.test_client()).get(location)
    assert first.route == "postal_address_capture"
    second = Browser(app.test_client()).get(location)
    assert second.status == 404 and second.state == "no-flow"
    assert "postal_address_capture" not in second.html


# -- login CSRF: a link to someone else's flow while one is live ---------------------------------


def partner_token(app: Flask, **fields: Any) -> str:
    """A connect token created on the partner's own account, as its backend would."""
    with app.app_context():
        return (
            app.extensions["flatpeak"]
            .create_token(
                callback_uri=fields.pop("callback_uri", "http://localhost/connect/callback"),
                connect_web_uri="http://localhost/connect/provider-return",
                **fields,
            )
            .connect_token
        )


def tokens_minted(app: Flask) -> int:
    """Connect tokens the app has created or accepted (one ``connect:cot:`` record each)."""
    return len(list(app.extensions["connect_redis"].scan_iter("connect:cot:*")))


def test_attackers_token_link_does_not_take_over_a_live_flow(
    app: Flask, sandbox: SandboxServer
) -> None:
    """The attacker, a customer of the partner, sends the victim ``/connect?fp_cot=`` with the
    token of a flow of the attacker's. The victim's browser keeps the victim's flow, and what the
    victim types next lands there, never in the attacker's. A token whose link is spent (one
    the attacker already entered, or one made for a start link) is refused outright; a fresh
    one meets the question page."""
    victim = app.test_client()
    browser, victim_token = start(app, victim, "login-csrf-victim")
    _, entered_token = start(app, app.test_client(), "login-csrf-attacker")
    spent = browser.get(f"/connect?fp_cot={entered_token}")
    assert spent.status == 410 and spent.state == "link-used", spent.text()[:300]
    assert _session(victim)["token"] == victim_token

    attacker_token = partner_token(app)
    attacker_before = upstream(sandbox, attacker_token)
    page = browser.get(f"/connect?fp_cot={attacker_token}")
    assert page.status == 200 and page.state == "switch", page.text()[:300]
    assert attacker_token not in page.html and attacker_token not in page.url
    assert _session(victim)["token"] == victim_token
    # The victim, not reading closely, goes back to the flow and types the address there.
    page = Browser(victim).get("/connect/flow")
    assert page.route == "postal_address_capture"
    page = Browser(victim).open(
        "/connect/flow", "POST", data=address_post(page, address_line1="7 Victim Road")
    )
    assert page.route == "provider_select"
    assert upstream(sandbox, attacker_token) == attacker_before
    assert upstream(sandbox, victim_token)["route"] == "provider_select"


def test_attackers_start_link_does_not_take_over_a_live_flow(
    app: Flask, sandbox: SandboxServer
) -> None:
    """The same with a start link the partner emailed to the attacker: no token is minted for
    it, and the victim's flow stays this browser's until the victim chooses otherwise."""
    victim = app.test_client()
    browser, victim_token = start(app, victim, "start-csrf-victim")
    with app.test_request_context():
        attackers_link = sign_start("start-csrf-attacker")
    minted = tokens_minted(app)
    page = browser.get(f"/start/{attackers_link}")
    assert page.status == 200 and page.state == "switch", page.text()[:300]
    assert "/start/" not in page.url
    assert tokens_minted(app) == minted
    assert _session(victim)["token"] == victim_token
    page = browser.submit(button=("choice", "continue"))
    assert page.route == "postal_address_capture"
    assert _session(victim)["token"] == victim_token
    assert "pending_entry" not in _session(victim)
    assert tokens_minted(app) == minted


# -- foreign connect tokens ----------------------------------------------------------------------

OTHER_ACCOUNT = "acc_0000000000000000000000ff"
OTHER_KEY = "sk_test_sandbox_0000000000000000000000ff"


def other_accounts_token(sandbox_factory: Any, **fields: Any) -> str:
    """A connect token created by another FlatPeak account (a sandbox that knows a second
    account and shares the store with the app's)."""
    other = sandbox_factory(SANDBOX_ACCOUNTS=f"{OTHER_ACCOUNT}:{OTHER_KEY}")
    login = requests.get(f"{other.url}/login", auth=(OTHER_ACCOUNT, OTHER_KEY), timeout=10)
    assert login.status_code == 200, "the sandbox knows a second account"
    created = requests.post(
        f"{other.url}/connect/tariff/token",
        json={"callback_uri": "https://evil.test/phish", **fields},
        headers={"Authorization": f"Bearer {login.json()['bearer_token']}"},
        timeout=10,
    )
    assert created.status_code == 200, created.text
    return created.json()["connect_token"]


def test_another_accounts_token_is_refused_at_entry(
    app: Flask, client: FlaskClient, sandbox: SandboxServer, sandbox_factory: Any
) -> None:
    token = other_accounts_token(sandbox_factory)
    before = upstream(sandbox, token)
    minted = tokens_minted(app)
    page = Browser(client).get(f"/connect?fp_cot={token}")
    assert page.status == 400 and page.state == "invalid-link"
    assert "token" not in _session(client)
    assert tokens_minted(app) == minted
    assert upstream(sandbox, token)["status"] == before["status"] == "open"


def test_a_token_with_a_foreign_callback_never_leaves_our_origin_at_save(
    app: Flask, client: FlaskClient
) -> None:
    """A token on the partner's own account (so it is accepted), made with a callback_uri that
    is neither ours nor allowlisted: SAVE finishes the flow here and stores the ids."""
    token = partner_token(
        app, callback_uri="https://evil.test/phish", customer_reference_id="foreign-cb"
    )
    browser = Browser(client, htmx=True)
    page = browser.get(f"/connect?fp_cot={token}")
    assert page.route == "postal_address_capture"
    browser.submit(GB_ADDRESS)
    browser.provider("Northwind Energy")
    browser.tariff("Northwind Fixed 12M")
    page = browser.submit({"term": "none"})
    assert page.route == "summary_fixed_confirm"
    form = page.form_with(button=("action", "SAVE"))
    response = client.post(
        form.action, data={**dict(form.fields), "action": "SAVE"}, headers={"HX-Request": "true"}
    )
    target = response.headers.get("HX-Redirect") or response.headers.get("Location") or ""
    assert target.startswith("/connect/callback"), target
    done = browser.open(target)
    assert done.state == "done"
    offsite = [url for url in browser.redirects if not url.startswith("/")]
    assert offsite == [], offsite
    with app.app_context():
        stored = results.get(app.extensions["connect_redis"], "foreign-cb")
    assert stored is not None and stored.complete_action == "SAVE"


# -- start links are single use ------------------------------------------------------------------


def test_a_used_start_link_cannot_start_again_after_completion(
    redis_server: Any, sandbox: SandboxServer
) -> None:
    """A start link forwarded or leaked after the customer used it: once the grace is over, it
    mints no token and replaces none of the ids stored for the customer."""
    app = create_app(app_config(redis_server, sandbox, START_LINK_REUSE_GRACE=0))
    client = app.test_client()
    with app.test_request_context():
        link = sign_start("single-use-customer")
    browser = Browser(client)
    assert browser.get(f"/start/{link}").route == "postal_address_capture"
    browser.submit(GB_ADDRESS)
    browser.provider("Northwind Energy")
    browser.tariff("Northwind Fixed 12M")
    browser.submit({"term": "none"})
    assert browser.action("SAVE").state == "done"
    with app.app_context():
        stored = results.get(app.extensions["connect_redis"], "single-use-customer")
    assert stored is not None
    minted = tokens_minted(app)

    for reuser in (client, app.test_client()):  # the customer again, or whoever found the link
        page = Browser(reuser).get(f"/start/{link}")
        assert page.status == 410 and page.state == "link-used", page.text()[:300]
        assert "already been used" in page.text() and "new one" in page.text()
        assert "token" not in _session(reuser)
    assert tokens_minted(app) == minted
    with app.app_context():
        assert results.get(app.extensions["connect_redis"], "single-use-customer") == stored


def test_a_start_link_signed_without_a_nonce_is_refused(app: Flask, client: FlaskClient) -> None:
    """Links from before single use (no nonce) are bearer links for a week: refused."""
    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="connect-start-link")
    minted = tokens_minted(app)
    page = Browser(client).get(f"/start/{serializer.dumps({'ref': 'old-link-customer'})}")
    assert page.status == 400 and page.state == "invalid-link"
    assert "token" not in _session(client)
    assert tokens_minted(app) == minted
