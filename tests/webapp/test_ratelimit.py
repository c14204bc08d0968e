"""Rate limits (webapp/ratelimit.py) against the real app, Redis and sandbox.

Each test builds an app with small limits so a few requests reach them; the counters live in the
app's Redis database, which the tests flush first. Clients are told apart by ``REMOTE_ADDR``
(what a request's address is without a proxy) or, behind ProxyFix, by ``X-Forwarded-For``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from devstack.stack import RedisServer, SandboxServer, free_port
from tests.webapp.conftest import APP_DB, GB_ADDRESS, Browser, Page, app_config
from webapp import create_app
from webapp.config import ConfigError
from webapp.ratelimit import LIMIT_SETTINGS

GENEROUS = "1000/minute"
# A post the address page's own checks refuse (no street): a step that never calls upstream.
INCOMPLETE_ADDRESS = {**GB_ADDRESS, "address_line1": "", "city": "Typed City Name"}

AppFactory = Callable[..., Flask]


@pytest.fixture
def make_app(redis_server: RedisServer, sandbox: SandboxServer) -> AppFactory:
    def make(**limits: Any) -> Flask:
        redis_server.client(APP_DB).flushdb()
        settings = {**dict.fromkeys(LIMIT_SETTINGS, GENEROUS), **limits}
        return create_app(app_config(redis_server, sandbox, **settings))

    return make


def customer(app: Flask, address: str = "198.51.100.10") -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def start_demo_flow(client: FlaskClient) -> Browser:
    """A flow started the way the demo partner page does (one start), on the address page."""
    browser = Browser(client)
    browser.get("/")
    page = browser.submit(button=("mode", "connect"))
    assert page.route == "postal_address_capture", page.text()[:300]
    return browser


def partner_token(app: Flask) -> str:
    """A real token of the partner's account: ``/connect?fp_cot=`` refuses any other."""
    with app.app_context():
        created = app.extensions["flatpeak"].create_token(
            callback_uri="http://localhost/connect/callback",
            connect_web_uri="http://localhost/connect/provider-return",
        )
    return created.connect_token


def external_start(client: FlaskClient, token: str | None = None, **headers: str):
    """``/connect?fp_cot=`` with ``token``, or with a new token of the partner's."""
    token = token or partner_token(client.application)
    return client.get(f"/connect?fp_cot={token}", headers=headers)


def retry_after(response_headers: Any) -> int:
    value = int(response_headers["Retry-After"])
    assert 1 <= value <= 60
    return value


def assert_notice(html: str, seconds: int) -> None:
    assert "Too many requests arrived in a short time" in html
    assert "Nothing you entered has been lost" in html
    assert f"try again in {seconds} second" in html
    assert 'role="alert"' in html


# -- starts ----------------------------------------------------------------------------------


def test_starts_are_limited_per_client_address_across_every_entry(make_app: AppFactory) -> None:
    app = make_app(RATELIMIT_STARTS_PER_IP="3/minute")
    client = customer(app)
    start_demo_flow(client)  # start 1: the demo partner's POST /demo/start
    assert external_start(client).status_code == 303  # 2: fp_cot
    assert external_start(client).status_code == 303  # 3

    third = partner_token(app)
    refused = external_start(client, third)
    assert refused.status_code == 429
    seconds = retry_after(refused.headers)
    html = refused.get_data(as_text=True)
    page = Page(429, "/connect", html, dict(refused.headers))
    assert html.lstrip().lower().startswith("<!doctype html>")  # a whole page
    assert page.state == "rate-limited"
    assert len(re.findall(r"<h1\b", html)) == 1 and "Please wait a moment" in html
    assert f"Please try again in {seconds} seconds." in html
    assert "Nothing has been lost or changed" in html
    # The token the refused request carried is not echoed into the page.
    assert third not in html
    assert refused.headers["Cache-Control"] == "no-store"

    # Another customer (another address) is not affected.
    other = customer(app, "198.51.100.11")
    assert external_start(other).status_code == 303


def test_a_refused_start_post_points_back_to_the_flow(make_app: AppFactory) -> None:
    app = make_app(RATELIMIT_STARTS_PER_IP="1/minute")
    client = customer(app)
    browser = start_demo_flow(client)
    browser.get("/")
    refused = client.post("/demo/start", data={"mode": "connect", **csrf_of(browser.page)})
    assert refused.status_code == 429
    html = refused.get_data(as_text=True)
    assert "Back to your tariff connection" in html
    assert re.search(r'href="/connect/flow\?launch=[\w-]+"', html)


def csrf_of(page: Page | None) -> dict[str, str]:
    assert page is not None
    form = page.form_with(names=("csrf_token",))
    return {"csrf_token": form.value("csrf_token") or ""}


def test_returning_to_ones_own_flow_is_not_a_start_but_adopting_one_is(
    make_app: AppFactory,
) -> None:
    app = make_app(RATELIMIT_STARTS_PER_IP="1/minute")
    client = customer(app)
    token = partner_token(app)
    assert external_start(client, token).status_code == 303  # the one start
    # The same browser back from the provider login, several times: its own flow, not a start.
    for _ in range(3):
        back = client.get(f"/connect/provider-return?fp_cot={token}")
        assert back.status_code == 303, back.get_data(as_text=True)[:300]
    # A browser without the cookie (another client, same address) adopting the flow is a start.
    cookieless = customer(app)
    adopted = cookieless.get(f"/connect/provider-return?fp_cot={token}")
    assert adopted.status_code == 429
    retry_after(adopted.headers)


# -- steps -----------------------------------------------------------------------------------


def test_steps_are_limited_per_flow_and_two_flows_count_apart(make_app: AppFactory) -> None:
    app = make_app(RATELIMIT_STEPS_PER_FLOW="3/minute")
    first = start_demo_flow(customer(app))
    second = start_demo_flow(customer(app))  # same address, its own flow
    for _ in range(3):
        assert first.submit(INCOMPLETE_ADDRESS).status == 422
    assert first.submit(INCOMPLETE_ADDRESS).status == 429
    # The other flow from the same address has its own allowance.
    for _ in range(3):
        assert second.submit(INCOMPLETE_ADDRESS).status == 422
    assert second.submit(INCOMPLETE_ADDRESS).status == 429


def test_steps_are_limited_per_client_address(make_app: AppFactory) -> None:
    app = make_app(RATELIMIT_STEPS_PER_IP="4/minute")
    first = start_demo_flow(customer(app))
    second = start_demo_flow(customer(app))
    elsewhere = start_demo_flow(customer(app, "198.51.100.99"))
    assert first.submit(INCOMPLETE_ADDRESS).status == 422
    assert first.submit(INCOMPLETE_ADDRESS).status == 422
    assert second.submit(INCOMPLETE_ADDRESS).status == 422
    assert second.submit(INCOMPLETE_ADDRESS).status == 422
    assert second.submit(INCOMPLETE_ADDRESS).status == 429
    assert first.submit(INCOMPLETE_ADDRESS).status == 429
    assert elsewhere.submit(INCOMPLETE_ADDRESS).status == 422


def test_a_plain_step_post_gets_its_page_back_with_what_was_typed(make_app: AppFactory) -> None:
    app = make_app(RATELIMIT_STEPS_PER_FLOW="1/minute")
    browser = start_demo_flow(customer(app))
    browser.submit(INCOMPLETE_ADDRESS)
    typed = {**GB_ADDRESS, "address_line1": "12 Typed Street", "city": "Typedtown"}
    page = browser.submit(typed)
    assert page.status == 429
    seconds = retry_after(page.headers)
    assert page.html.lstrip().lower().startswith("<!doctype html>")  # a whole page
    assert page.route == "postal_address_capture"
    form = page.form_with(names=("address_line1",))
    assert form.value("address_line1") == "12 Typed Street"
    assert form.value("city") == "Typedtown"
    assert_notice(page.html, seconds)
    # The page still works: once the window has room, the same form goes through.
    app.extensions["connect_limiter"].reset()
    assert browser.submit(typed).route == "provider_select"


def test_an_htmx_step_gets_429_and_the_notice_lands_above_the_form(make_app: AppFactory) -> None:
    app = make_app(RATELIMIT_STEPS_PER_FLOW="1/minute")
    client = customer(app)
    browser = start_demo_flow(client)
    browser.htmx = True
    browser.submit(INCOMPLETE_ADDRESS)
    form = browser.page.form_with(names=("address_line1",))
    data = {key: value for key, value in form.fields}
    data.update({**GB_ADDRESS, "address_line1": "12 Typed Street"})

    refused = client.post("/connect/flow", data=data, headers={"HX-Request": "true"})
    assert refused.status_code == 429
    seconds = retry_after(refused.headers)
    assert "HX-Request" in refused.headers["Vary"]
    # htmx does not swap a 429, and nothing replaces the form (what was typed stays in the
    # browser): HX-Location loads the notice into the top of #page, without a history entry.
    assert "HX-Redirect" not in refused.headers
    location = json.loads(refused.headers["HX-Location"])
    assert location["target"] == "#page"
    assert location["swap"] == "afterbegin"
    assert location["push"] == "false"
    assert location["path"].startswith("/connect/slow-down?")

    notice = client.get(location["path"], headers={"HX-Request": "true"})
    assert notice.status_code == 200
    assert notice.headers["HX-Push-Url"] == "false"
    html = notice.get_data(as_text=True)
    assert "<html" not in html and "<h1" not in html  # a fragment for the top of the page
    assert 'class="error-summary"' in html  # app.js focuses the page's error summary
    # A later notice empties earlier ones rather than stacking (checked in Chromium: one
    # notice, focused, typed values kept, no history entry, no console error).
    assert 'hx-swap-oob="innerHTML:[data-rate-limited],#live"' in html
    assert_notice(html, seconds)


def test_provider_wait_polling_has_its_own_limits(make_app: AppFactory) -> None:
    app = make_app(RATELIMIT_POLLS_PER_FLOW="2/minute", RATELIMIT_STEPS_PER_FLOW="2/minute")
    client = customer(app)
    browser = start_demo_flow(client)
    headers = {"HX-Request": "true"}
    for _ in range(2):
        assert client.get("/connect/provider-wait", headers=headers).status_code != 429
    assert client.get("/connect/provider-wait", headers=headers).status_code == 429
    # Polling did not use up the flow's steps.
    assert browser.submit(INCOMPLETE_ADDRESS).status == 422


# -- what is never limited, and failing open -------------------------------------------------


def test_showing_the_flow_is_limited_per_flow_apart_from_steps(make_app: AppFactory) -> None:
    app = make_app(RATELIMIT_VIEWS_PER_FLOW="3/minute")
    client = customer(app)
    browser = start_demo_flow(client)  # its redirect to the flow was the first view
    for _ in range(2):
        assert client.get("/connect/flow").status_code == 200
    refused = client.get("/connect/flow")
    assert refused.status_code == 429 and refused.headers["Retry-After"].isdigit()
    html = refused.get_data(as_text=True)
    assert "Nothing has been lost or changed" in html and "Try again" in html
    assert f"try again in {refused.headers['Retry-After']} second" in html
    # Reloads did not use up the flow's steps, and another flow has its own count.
    assert browser.submit(INCOMPLETE_ADDRESS).status == 422
    other = customer(app)
    start_demo_flow(other)
    assert other.get("/connect/flow").status_code == 200


def test_showing_the_flow_is_limited_per_client_address(make_app: AppFactory) -> None:
    app = make_app(RATELIMIT_VIEWS_PER_IP="2/minute")
    first, second = customer(app), customer(app)
    start_demo_flow(first)
    assert first.get("/connect/flow").status_code == 200
    assert second.get("/connect/flow").status_code == 429  # same address, no flow of its own


def test_health_and_static_are_never_limited(make_app: AppFactory) -> None:
    app = make_app(**dict.fromkeys(LIMIT_SETTINGS, "1/minute"))
    client = customer(app)
    browser = start_demo_flow(client)
    static = re.search(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"', browser.page.html).group(1)
    for _ in range(5):
        assert client.get("/healthz").status_code == 200
        assert client.get(static).status_code in (200, 304)
        assert client.get("/brand.css").status_code == 200
        assert client.get("/connect/slow-down?wait=5").status_code == 200


def test_limiter_storage_down_fails_open(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    app = make_app(
        RATELIMIT_STORAGE_URI=dead,
        RATELIMIT_STARTS_PER_IP="1/minute",
        RATELIMIT_STEPS_PER_FLOW="1/minute",
    )
    client = customer(app)
    for _ in range(3):
        assert external_start(client).status_code == 303
    browser = start_demo_flow(client)
    for _ in range(3):
        assert browser.submit(INCOMPLETE_ADDRESS).status == 422
    assert browser.submit(GB_ADDRESS).route == "provider_select"
    # Said once per request, in one line: no traceback flooding the log during the outage.
    said = [r for r in caplog.records if r.name == "flask-limiter"]
    assert said and all(r.exc_info is None and r.levelname == "WARNING" for r in said)
    assert all("storage unavailable (ConnectionError)" in r.getMessage() for r in said)


def test_disabled_limits_are_not_installed(make_app: AppFactory) -> None:
    app = make_app(RATELIMIT_ENABLED=False, RATELIMIT_STARTS_PER_IP="1/minute")
    client = customer(app)
    for _ in range(3):
        assert external_start(client).status_code == 303
    assert "connect_limiter" not in app.extensions


def test_an_invalid_limit_refuses_to_start(
    redis_server: RedisServer, sandbox: SandboxServer
) -> None:
    with pytest.raises(ConfigError, match="RATELIMIT_STEPS_PER_FLOW"):
        create_app(app_config(redis_server, sandbox, RATELIMIT_STEPS_PER_FLOW="lots"))


# -- whose counter ---------------------------------------------------------------------------


def test_forwarded_for_counts_only_behind_a_trusted_proxy(make_app: AppFactory) -> None:
    behind_proxy = make_app(TRUST_PROXY_HOPS=1, RATELIMIT_STARTS_PER_IP="1/minute")
    client = customer(behind_proxy, "127.0.0.1")
    a = {"X-Forwarded-For": "203.0.113.1"}
    b = {"X-Forwarded-For": "203.0.113.2"}
    assert external_start(client, **a).status_code == 303
    assert external_start(client, **a).status_code == 429
    assert external_start(client, **b).status_code == 303

    direct = make_app(RATELIMIT_STARTS_PER_IP="1/minute")
    client = customer(direct, "127.0.0.1")
    assert external_start(client, **a).status_code == 303
    # Without TRUST_PROXY_HOPS the header is ignored: a new value does not buy a new allowance.
    assert external_start(client, **b).status_code == 429


def test_ipv6_clients_share_a_counter_per_64(make_app: AppFactory) -> None:
    app = make_app(RATELIMIT_STARTS_PER_IP="1/minute")
    assert external_start(customer(app, "2001:db8:1:2::1")).status_code == 303
    same_64 = customer(app, "2001:db8:1:2:ffff::9")
    assert external_start(same_64).status_code == 429
    other_64 = customer(app, "2001:db8:1:3::1")
    assert external_start(other_64).status_code == 303


def test_counters_are_prefixed_and_never_hold_the_token(
    make_app: AppFactory, redis_server: RedisServer
) -> None:
    app = make_app()
    browser = start_demo_flow(customer(app))
    browser.submit(INCOMPLETE_ADDRESS)
    store = redis_server.client(APP_DB)
    tokens = {json.loads(store.get(key)).get("token") for key in store.keys("connect:sess:*")} - {
        None
    }
    assert tokens, "the flow's session holds its token"
    keys = store.keys("*ratelimit*")
    assert any("/flow:" in key for key in keys) and any("/ip:" in key for key in keys), keys
    assert all(key.startswith("connect:ratelimit:") for key in keys)
    assert not any(token in key or token[4:] in key for key in keys for token in tokens)
