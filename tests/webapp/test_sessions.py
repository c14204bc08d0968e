"""Server-side sessions: fixation defence, deletion at the end, and the cookie-less flow handle."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urlencode

import redis
from flask.testing import FlaskClient

from tests.webapp.conftest import GB_ADDRESS, Browser, Page
from tests.webapp.test_flow_paths import DEMO_REF
from webapp import results


def _session_cookie(client: FlaskClient) -> str | None:
    cookie = client.get_cookie("fpconnect")
    return cookie.value if cookie else None


def _started(client: FlaskClient) -> Browser:
    browser = Browser(client)
    browser.get("/")
    browser.submit(button=("mode", "connect"))
    return browser


def test_session_id_is_regenerated_when_a_flow_starts(
    client: FlaskClient, app_redis: redis.Redis
) -> None:
    client.get("/")
    before = _session_cookie(client)
    assert before and app_redis.exists(f"connect:sess:{before}")
    _started(client)
    after = _session_cookie(client)
    assert after and after != before
    assert not app_redis.exists(f"connect:sess:{before}")
    assert app_redis.exists(f"connect:sess:{after}")


def test_session_is_deleted_when_the_flow_completes(
    client: FlaskClient, app_redis: redis.Redis
) -> None:
    browser = _started(client)
    sid = _session_cookie(client)
    with client.session_transaction() as session:
        handle = session["flow"]
    browser.submit(GB_ADDRESS)
    browser.provider("Northwind Energy")
    browser.tariff("Northwind Fixed 12M")
    browser.submit({"term": "none"})
    browser.action("SAVE")
    assert not app_redis.exists(f"connect:sess:{sid}")
    assert not app_redis.exists(f"connect:flow:{handle}")
    assert _session_cookie(client) != sid


def test_flow_continues_without_cookies_through_the_hidden_field(
    client: FlaskClient,
) -> None:
    browser = _started(client)
    client.delete_cookie("fpconnect")  # Safari in a partner iframe: no cookie, ever
    page = browser.submit(GB_ADDRESS)
    assert page.status == 200
    assert page.route == "provider_select"


def test_flow_continues_without_cookies_through_the_htmx_header(client: FlaskClient) -> None:
    browser = _started(client)
    form = browser.page.form_with(names=("address_line1",))
    handle = form.value("flow")
    csrf = form.value("csrf_token")
    version = form.value("version")
    client.delete_cookie("fpconnect")
    response = client.post(
        "/connect/flow",
        data={**GB_ADDRESS, "route": "postal_address_capture", "version": version},
        headers={"HX-Request": "true", "X-Connect-Flow": handle, "X-CSRFToken": csrf},
    )
    assert response.status_code == 200
    assert 'data-route="provider_select"' in response.get_data(as_text=True)


def test_no_js_search_finds_the_flow_without_cookies(client: FlaskClient) -> None:
    """A no-JS browser in a frame that blocks cookies: the list search is a plain GET, so the
    form carries a single-use launch code, and each result page offers a fresh one."""
    started = _started(client)
    frame = client.application.test_client(use_cookies=False)  # no cookie is ever kept
    browser = Browser(frame)
    browser.page = started.page
    page = browser.submit(GB_ADDRESS)  # the hidden flow field opens the session
    assert page.route == "provider_select"
    for query in ("Northwind", "Voltaic"):
        search = next(form for form in page.forms if form.method.lower() == "get")
        launch = search.value("launch")
        assert launch, "the search form carries a launch code"
        response = frame.get("/connect/flow?" + urlencode({"q": query, "launch": launch}))
        html = response.get_data(as_text=True)
        assert response.status_code == 200 and 'data-route="provider_select"' in html
        assert f'name="q" value="{query}"' in html and "cot_" not in html
        assert frame.get("/connect/flow?launch=" + launch).status_code == 404  # used up
        page = Page(response.status_code, "/connect/flow", html, dict(response.headers))
    clear = re.search(r'href="(/connect/flow\?launch=[^"]+)"', page.html)
    assert clear, "Clear search links back with a code of its own"
    cleared = frame.get(unescape(clear.group(1))).get_data(as_text=True)
    assert 'data-route="provider_select"' in cleared and 'name="q" value=""' in cleared


def test_a_whole_no_js_flow_without_cookies(client: FlaskClient) -> None:
    """Every step of a plain-form flow in a frame that never keeps a cookie: the posts find the
    flow by their hidden field, and each post/redirect/get by the launch code it carries."""
    started = _started(client)
    browser = Browser(client.application.test_client(use_cookies=False))
    browser.page = started.page
    page = browser.submit(GB_ADDRESS)
    assert page.route == "provider_select", page.text()[:300]
    assert browser.provider("Northwind Energy").route == "tariff_select"
    assert browser.tariff("Northwind Fixed 12M").route == "contract_term_capture"
    assert browser.submit({"term": "none"}).route == "summary_fixed_confirm"
    done = browser.action("SAVE")
    assert done.status == 200 and done.url.startswith("/?connect=connected"), done.url
    app = client.application
    with app.app_context():
        stored = results.get(app.extensions["connect_redis"], DEMO_REF)
    assert stored is not None and stored.complete_action == "SAVE"


def test_search_form_carries_no_launch_code_when_the_cookie_works(client: FlaskClient) -> None:
    page = _started(client).submit(GB_ADDRESS)
    search = next(form for form in page.forms if form.method.lower() == "get")
    assert search.value("launch") is None


def test_flow_handle_in_the_url_is_ignored(client: FlaskClient) -> None:
    browser = _started(client)
    handle = browser.page.form_with(names=("address_line1",)).value("flow")
    client.delete_cookie("fpconnect")
    response = client.get(f"/connect/flow?flow={handle}")
    assert response.status_code == 404
    assert 'data-flow-state="no-flow"' in response.get_data(as_text=True)


def test_launch_code_works_once(client: FlaskClient) -> None:
    client.get("/")
    html = client.get("/").get_data(as_text=True)
    csrf = html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    location = client.post("/demo/start", data={"csrf_token": csrf}).headers["Location"]
    assert "launch=" in location
    client.delete_cookie("fpconnect")
    first = client.get(location)
    assert first.status_code == 200 and "postal_address_capture" in first.get_data(as_text=True)
    client.delete_cookie("fpconnect")
    second = client.get(location)
    assert second.status_code == 404


def test_provider_return_without_the_cookie_resumes_from_the_token(client: FlaskClient) -> None:
    browser = _started(client)
    browser.submit(GB_ADDRESS)
    browser.provider("Voltaic Direct")
    page = browser.leave_for_login()
    assert "/provider-login/" in page.url
    client.delete_cookie("fpconnect")  # e.g. the provider login opened in another browser
    page = browser.provider_login("approve")
    assert page.route in ("summary_fixed_confirm", "summary_tou_confirm")


def test_callback_without_the_cookie_exchanges_and_stores(app, client: FlaskClient) -> None:
    _started(client)
    with client.session_transaction() as session:
        token = session["token"]
    upstream = app.extensions["flatpeak"]
    # The customer finishes elsewhere (another device); FlatPeak knows, our cookie does not.
    page = upstream.submit(token, "postal_address_capture", data={"postal_address": GB_ADDRESS})
    northwind = next(p for p in page.data["providers"] if p["display_name"] == "Northwind Energy")
    page = upstream.submit(token, "provider_select", data={"provider": {"id": northwind["id"]}})
    tariff = page.data["tariffs"][0]["id"]
    page = upstream.submit(token, "tariff_select", data={"tariff": {"id": tariff}})
    while page.route == "contract_term_capture":
        page = upstream.submit(token, page.route)
    page = upstream.submit(token, page.route, action="SAVE")
    assert page.route == "session_complete"

    client.delete_cookie("fpconnect")
    response = client.get(f"/connect/callback?fp_cot={token}")
    assert response.status_code == 303 and token not in response.headers["Location"]
    from webapp import results

    stored = results.get(app.extensions["connect_redis"], app.config["DEMO_CUSTOMER_REF"])
    assert stored is not None and stored.location_id and stored.complete_action == "SAVE"
    # A second visit of the same callback (refresh) lands on the done page again.
    again = client.get(f"/connect/callback?fp_cot={token}")
    assert again.status_code == 303 and "/connect/done" in again.headers["Location"]
