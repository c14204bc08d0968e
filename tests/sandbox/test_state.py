"""State lives in Redis: a restarted sandbox and several worker processes serve one flow."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from devstack.stack import (
    SANDBOX_ACCOUNT_ID,
    SANDBOX_API_KEY,
    SANDBOX_DB,
    Gunicorn,
    SandboxServer,
    free_port,
)
from tests.sandbox.conftest import NORTHWIND, NORTHWIND_E7, VOLTAIC, Connect


def test_restart_mid_flow(sandbox_factory, http):
    first = sandbox_factory()
    flow = Connect(first, http)
    flow.pick(VOLTAIC)
    flow.provider_login("approve")
    first.stop()  # the sandbox dies while the customer is on the provider's site
    second = sandbox_factory()
    flow.server = second
    page = flow.restore()
    assert page["route"] == "summary_tou_confirm"
    flow.step("summary_tou_confirm", action="SAVE")
    assert flow.exchange().json()["complete_action"] == "SAVE"  # the bearer survived too


@pytest.fixture
def gunicorn_sandbox(redis_server, tmp_path) -> Iterator[SandboxServer]:
    server = SandboxServer(tmp_path, redis_server.url(SANDBOX_DB), gunicorn=Gunicorn(workers=2))
    with server:
        yield server


def test_two_gunicorn_workers_serve_one_flow(gunicorn_sandbox, http):
    # A fresh connection per request spreads requests over both workers.
    http.headers["Connection"] = "close"
    flow = Connect(gunicorn_sandbox, http)
    flow.pick(NORTHWIND)
    for _ in range(5):
        assert flow.restore()["route"] == "tariff_select"
    flow.step("tariff_select", data={"tariff": {"id": NORTHWIND_E7}})
    flow.step("contract_term_capture")
    flow.step("summary_tou_confirm", action="SAVE")
    assert flow.exchange().status_code == 200


def test_concurrent_double_submit_steps_once(sandbox, http):
    flow = Connect(sandbox, http)
    flow.pick(NORTHWIND)
    body = {
        "connect_token": flow.token,
        "route": "tariff_select",
        "data": {"tariff": {"id": NORTHWIND_E7}},
    }

    def post(_: int) -> dict:
        return requests.post(f"{sandbox.url}/", json=body, timeout=10).json()

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(post, range(4)))
    routes = sorted(a.get("route") or a["code"] for a in answers)
    assert routes == ["contract_term_capture", "route_invalid", "route_invalid", "route_invalid"]


def test_redis_outage_is_an_api_error_not_a_crash(http, tmp_path):
    nowhere = f"redis://127.0.0.1:{free_port()}/1"
    # Its health check answers 503 without Redis: wait for any answer at all.
    with SandboxServer(tmp_path, nowhere, ready_path="/") as server:
        url = server.url
        assert http.get(f"{url}/_sandbox/health", timeout=10).status_code == 503
        body = {"connect_token": "cot_000000000000000000000001", "route": "session_restore"}
        response = http.post(f"{url}/", json=body, timeout=10)
        assert response.status_code == 503
        error = response.json()
        assert error["object"] == "error" and error["type"] == "api_error"
        login = http.get(f"{url}/login", auth=(SANDBOX_ACCOUNT_ID, SANDBOX_API_KEY), timeout=10)
        assert login.status_code == 500 and login.json() == {"message": "Internal Server Error"}
