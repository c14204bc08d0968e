"""The REST API and the Connect envelope: auth, tokens, expiry, exchange, CORS, odd requests."""

from __future__ import annotations

import time

import requests

from devstack.stack import SANDBOX_ACCOUNT_ID
from tests.sandbox.conftest import GB_ADDRESS, NORTHWIND, NORTHWIND_FIXED, Connect, login


def test_login(sandbox, http):
    ok = http.get(f"{sandbox.url}/login", auth=(sandbox.account_id, sandbox.api_key), timeout=10)
    body = ok.json()
    assert ok.status_code == 200 and set(body) == {"bearer_token", "expires_in", "live_mode"}
    assert body["expires_in"] == 3600 and body["live_mode"] is False
    for auth in ((sandbox.account_id, "sk_test_wrong"), ("acc_nobody", sandbox.api_key)):
        bad = http.get(f"{sandbox.url}/login", auth=auth, timeout=10)
        assert bad.status_code == 403 and bad.json() == {"message": "Bad credentials"}
    assert http.get(f"{sandbox.url}/login", timeout=10).status_code == 403


def test_live_key_gives_live_mode(sandbox_factory, http):
    live = sandbox_factory(SANDBOX_API_KEY="sk_live_sandbox_1")
    body = http.get(
        f"{live.url}/login", auth=(SANDBOX_ACCOUNT_ID, "sk_live_sandbox_1"), timeout=10
    ).json()
    assert body["live_mode"] is True
    live.api_key = "sk_live_sandbox_1"
    flow = Connect(live, http)
    assert flow.restore()["live_mode"] is True


def test_create_token_needs_bearer_and_callback(sandbox, http):
    url = f"{sandbox.url}/connect/tariff/token"
    body = {"callback_uri": "https://app.example.test/done"}
    assert http.post(url, json=body, timeout=10).status_code == 403
    bad = http.post(url, json=body, headers={"Authorization": "Bearer nope"}, timeout=10)
    assert bad.status_code == 403 and bad.json() == {"message": "Bad credentials"}
    auth = {"Authorization": f"Bearer {login(sandbox, http)}"}
    ok = http.post(url, json=body, headers=auth, timeout=10)
    assert ok.status_code == 200
    token = ok.json()
    assert set(token) == {"connect_token", "expires_in", "live_mode"}
    assert token["connect_token"].startswith("cot_") and len(token["connect_token"]) == 28
    assert token["expires_in"] == 86400
    for payload, code in [
        ({}, "callback_uri_missing"),
        ({"callback_uri": "not a uri"}, "callback_uri_invalid"),
        ({**body, "direction": "SIDEWAYS"}, "direction_invalid"),
        ({**body, "type": "PLASMA"}, "type_invalid"),
        ({**body, "type": "NON_COMMODITY", "direction": "EXPORT"}, "type_invalid"),
        ({**body, "location_id": "loc_ffffffffffffffffffffffff"}, "location_id_invalid"),
        ({**body, "postal_address": "London"}, "postal_address_invalid"),
        ({**body, "customer_id": 5}, "customer_id_invalid"),
    ]:
        error = http.post(url, json=payload, headers=auth, timeout=10)
        assert error.status_code == 400, payload
        assert error.json()["object"] == "error" and error.json()["code"] == code
    garbage = http.post(url, data=b"{nope", headers=auth, timeout=10)
    assert garbage.status_code == 400 and garbage.json()["code"] == "data_json_invalid"


def test_direction_is_echoed(connect):
    flow = connect(direction="EXPORT")
    assert flow.restore()["direction"] == "EXPORT"


def test_exchange_errors(connect, sandbox, http):
    url = f"{sandbox.url}/connect/tariff/token"
    flow = connect()
    assert http.get(url, params={"connect_token": flow.token}, timeout=10).status_code == 403
    unknown = http.get(
        url, params={"connect_token": "cot_ffffffffffffffffffffffff"}, headers=flow.auth, timeout=10
    )
    assert unknown.status_code == 404 and unknown.json() == {"message": "Not Found"}
    early = flow.exchange()
    assert early.status_code == 422
    assert early.json()["object"] == "error" and early.json()["code"] == "data_not_available"


def test_exchange_once_setting(sandbox_factory, http):
    server = sandbox_factory(SANDBOX_EXCHANGE_ONCE="1")
    flow = Connect(server, http)
    flow.pick(NORTHWIND)
    flow.step("tariff_select", data={"tariff": {"id": NORTHWIND_FIXED}})
    flow.step("contract_term_capture")
    flow.step("summary_fixed_confirm", action="SAVE")
    assert flow.exchange().status_code == 200
    assert flow.exchange().status_code == 404


def test_session_start_alias_and_extra_envelope_keys(connect):
    flow = connect()
    page = flow.step("session_start", action="TARIFF", type="submit")
    assert page["route"] == "postal_address_capture"
    page = flow.step("postal_address_capture", type="submit", data={"postal_address": GB_ADDRESS})
    assert page["route"] == "provider_select"


def test_body_without_content_type_is_read_as_json(connect, sandbox, http):
    flow = connect()
    response = http.post(
        f"{sandbox.url}/",
        data=f'{{"route":"session_restore","connect_token":"{flow.token}"}}',
        headers={"Content-Type": "text/plain"},
        timeout=10,
    )
    assert response.json()["route"] == "postal_address_capture"


def test_envelope_errors(connect, sandbox, http):
    def post(body):
        response = http.post(f"{sandbox.url}/", data=body, timeout=10)
        return response.status_code, response.json()

    status, error = post(b"{not json")
    assert status == 400 and error["code"] == "data_json_invalid" and error["connect_token"] is None
    assert post(b"[1, 2]")[1]["code"] == "data_json_invalid"
    assert post(b'{"route": "session_restore"}')[1]["code"] == "connect_token_missing"
    status, error = post(b'{"route": "session_restore", "connect_token": "cot_nope"}')
    assert status == 404 and error["code"] == "token_not_found"
    flow = connect()
    assert flow.error("", data={})["code"] == "route_missing"
    assert flow.error("provider_select", data={})["code"] == "route_invalid"  # not started
    flow.restore()
    error = flow.error("summary_fixed_confirm", action="SAVE")
    assert error["code"] == "route_invalid" and "postal_address_capture" in error["message"]
    assert flow.error("postal_address_capture")["code"] == "data_json_invalid"  # data missing


def test_route_mismatch_can_answer_the_current_page(sandbox_factory, http):
    server = sandbox_factory(SANDBOX_ROUTE_MISMATCH="current")
    flow = Connect(server, http)
    flow.restore()
    assert flow.step("provider_select", data={"provider": {"id": NORTHWIND}})["route"] == (
        "postal_address_capture"
    )


def test_restore_is_idempotent_mid_flow(connect):
    flow = connect()
    flow.pick(NORTHWIND)
    first = flow.restore()
    assert first["route"] == "tariff_select"
    assert flow.restore() == first


def test_completed_session_is_single_use(connect):
    flow = connect()
    flow.pick(NORTHWIND)
    flow.step("tariff_select", data={"tariff": {"id": NORTHWIND_FIXED}})
    flow.step("contract_term_capture")
    flow.step("summary_fixed_confirm", action="SAVE")
    error = flow.error("session_restore")
    assert error["code"] == "session_completed" and flow.status == 400


def test_token_expires_after_ttl(sandbox_factory, http):
    server = sandbox_factory(SANDBOX_TOKEN_TTL="1")
    flow = Connect(server, http)
    assert flow.restore()["route"] == "postal_address_capture"
    time.sleep(1.2)
    error = flow.error("session_restore")
    assert error["code"] == "token_expired" and flow.status == 401
    assert error["connect_token"] == flow.token
    assert flow.exchange().status_code == 404  # past time_expiry: cannot be claimed


def test_force_expire_hook(connect, sandbox, http):
    flow = connect()
    flow.restore()
    response = http.post(f"{sandbox.url}/_sandbox/tokens/{flow.token}/expire", timeout=10)
    assert response.status_code == 200
    assert flow.error("postal_address_capture", data={"postal_address": GB_ADDRESS})["code"] == (
        "token_expired"
    )


def test_cors_preflight_and_headers(connect, sandbox):
    preflight = requests.options(
        f"{sandbox.url}/",
        headers={
            "Origin": "https://partner.example.test",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=10,
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "content-type" in preflight.headers["Access-Control-Allow-Headers"].lower()
    flow = connect()
    response = requests.post(
        f"{sandbox.url}/",
        json={"connect_token": flow.token, "route": "session_restore", "type": "submit"},
        headers={"Origin": "https://partner.example.test"},
        timeout=10,
    )
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    error = requests.post(f"{sandbox.url}/", data=b"oops", timeout=10)
    assert error.headers["Access-Control-Allow-Origin"] == "*"


def test_logos_and_index(sandbox, http):
    page = Connect(sandbox, http).pick(NORTHWIND)
    logo = http.get(page["data"]["provider"]["logo_url"], timeout=10)
    assert logo.status_code == 200 and logo.headers["Content-Type"].startswith("image/svg+xml")
    assert "<svg" in logo.text
    assert (
        http.get(
            f"{sandbox.url}/_sandbox/logos/prv_0000000000000000000000a3.svg", timeout=10
        ).status_code
        == 404
    )
    assert http.get(f"{sandbox.url}/", timeout=10).status_code == 200
