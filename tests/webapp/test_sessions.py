"""Server-side sessions: fixation defence, deletion at the end, and the cookie-less flow handle."""

from __future__ import annotations

import redis
from flask.testing import FlaskClient

from tests.webapp.conftest import GB_ADDRESS, Browser


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
    client.delete_cookie("fpconnect")
    response = client.post(
        "/connect/flow",
        data={**GB_ADDRESS, "route": "postal_address_capture"},
        headers={"HX-Request": "true", "X-Connect-Flow": handle, "X-CSRFToken": csrf},
    )
    assert response.status_code == 200
    assert 'data-route="provider_select"' in response.get_data(as_text=True)


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
