"""``GET /tariffs/rates/{location_id}``: the ``tariff_rate`` object, the 90-day window, and
``pending_connect`` while a direct connection has no data (docs/protocol.md §10)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import requests

from tests.sandbox.conftest import VOLTAIC, Connect, login
from tests.sandbox.test_accounts import ACCOUNTS, OTHER_ACCOUNT, OTHER_KEY, as_account
from tests.sandbox.test_location_status import library_fixed, location_of

DAY = "2026-06-01"


def rates_of(
    server: Any, http: requests.Session, location_id: str, **params: str
) -> requests.Response:
    return http.get(
        f"{server.url}/tariffs/rates/{location_id}",
        params=params,
        headers={"Authorization": f"Bearer {login(server, http)}"},
        timeout=10,
    )


def hook_location(server: Any, http: requests.Session, state: str) -> str:
    made = http.post(f"{server.url}/_sandbox/locations", json={"state": state}, timeout=10)
    assert made.status_code == 201, made.text
    return made.json()["location_id"]


def test_rate_object_shape_and_request_echo(connect, sandbox, http):
    location_id = location_of(library_fixed(connect()))
    window = {"start_time": f"{DAY}T00:00:00Z", "end_time": f"{DAY}T06:00:00Z"}
    response = rates_of(sandbox, http, location_id, include_tariff="true", **window)
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == [
        "id",
        "object",
        "live_mode",
        "location_id",
        "location_timezone",
        "currency_code",
        "direction",
        "last_updated",
        "next_update",
        "request",
        "data",
        "time_created",
        "account_id",
    ]
    assert body["id"].startswith("rts_") and body["object"] == "tariff_rate"
    assert body["location_id"] == location_id and body["account_id"] == sandbox.account_id
    assert body["location_timezone"] == "Europe/London" and body["currency_code"] == "GBP"
    assert body["direction"] == "IMPORT"
    assert body["request"] == {
        "include_tariff": True,
        "include_carbon": False,
        "direction": "IMPORT",
        **window,
    }
    assert body["last_updated"].endswith("Z") and body["next_update"].endswith("Z")
    data = body["data"]
    assert data[0]["valid_from"] == window["start_time"]
    assert data[-1]["valid_to"] == window["end_time"]
    for earlier, later in pairwise(data):
        assert earlier["valid_to"] == later["valid_from"]
    for item in data:
        assert set(item) == {"valid_from", "valid_to", "tariff"}
        assert set(item["tariff"]) == {"rate", "confidence"}
        assert item["tariff"]["rate"] > 0 and item["tariff"]["confidence"] == 1


def test_offsets_follow_end_time_and_include_tariff_false(sandbox, http):
    location_id = hook_location(sandbox, http, "connected_time_of_day")
    response = rates_of(
        sandbox,
        http,
        location_id,
        start_time=f"{DAY}T00:00:00+01:00",
        end_time=f"{DAY}T12:00:00+01:00",
    )
    body = response.json()
    assert response.status_code == 200, body
    assert body["request"]["include_tariff"] is False
    assert all(set(item) == {"valid_from", "valid_to"} for item in body["data"])
    assert all(item["valid_from"].endswith("+01:00") for item in body["data"])
    assert len(body["data"]) > 1  # a time-of-day tariff is cut at its periods
    assert body["next_update"].endswith("+01:00")


def test_future_rates_are_a_forecast(sandbox, http):
    location_id = hook_location(sandbox, http, "connected_market")
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=3)
    response = rates_of(
        sandbox,
        http,
        location_id,
        include_tariff="true",
        start_time=start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        end_time=(start + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    data = response.json()["data"]
    assert len(data) == 3  # market prices are hourly
    assert all(0 < item["tariff"]["confidence"] < 1 for item in data)


def test_export_rates_come_from_the_export_tariff(connect, sandbox, http):
    location_id = location_of(library_fixed(connect()))
    window = {"start_time": f"{DAY}T00:00:00Z", "end_time": f"{DAY}T01:00:00Z"}
    response = rates_of(sandbox, http, location_id, direction="EXPORT", **window)
    assert response.status_code == 422
    assert response.json()["code"] == "tariff_not_connected"
    library_fixed(connect(location_id=location_id, direction="EXPORT"))
    response = rates_of(sandbox, http, location_id, direction="export", **window)
    assert response.status_code == 200 and response.json()["direction"] == "EXPORT"


def test_pending_direct_connection_answers_pending_connect_until_data_arrives(
    connect, sandbox, http
):
    flow = connect()
    flow.pick(VOLTAIC)
    flow.provider_login("pending")
    flow.restore()
    flow.step("summary_tariff_inprogress", action="SAVE")
    location_id = location_of(flow)
    window = {"start_time": f"{DAY}T00:00:00Z", "end_time": f"{DAY}T06:00:00Z"}
    response = rates_of(sandbox, http, location_id, include_tariff="true", **window)
    assert response.status_code == 422
    error = response.json()
    assert error["object"] == "error" and error["code"] == "pending_connect"
    assert error["context"] == "api.tariff_rates"
    http.post(
        f"{sandbox.url}/_sandbox/locations/{location_id}/status",
        json={"status": "CONNECTED"},
        timeout=10,
    )
    response = rates_of(sandbox, http, location_id, include_tariff="true", **window)
    assert response.status_code == 200 and response.json()["data"]


def test_bad_and_too_long_windows(sandbox, http):
    location_id = hook_location(sandbox, http, "connected_fixed")
    cases = [
        ({}, "end_time_missing"),
        ({"end_time": "tomorrow"}, "end_time_invalid"),
        ({"end_time": f"{DAY}T06:00:00"}, "end_time_invalid"),  # no offset
        (
            {"start_time": "2026-13-01T00:00:00Z", "end_time": f"{DAY}T06:00:00Z"},
            "start_time_invalid",
        ),
        ({"start_time": f"{DAY}T06:00:00Z", "end_time": f"{DAY}T06:00:00Z"}, "time_range_invalid"),
        ({"start_time": f"{DAY}T06:00:00Z", "end_time": f"{DAY}T05:00:00Z"}, "time_range_invalid"),
        (
            {"start_time": "2026-01-01T00:00:00Z", "end_time": "2026-04-01T00:00:01Z"},
            "time_range_exceeded",
        ),
        ({"end_time": f"{DAY}T06:00:00Z", "direction": "SIDEWAYS"}, "direction_invalid"),
    ]
    for params, code in cases:
        response = rates_of(sandbox, http, location_id, **params)
        assert response.status_code == 400, (params, response.text)
        body = response.json()
        assert body["object"] == "error" and body["code"] == code, (params, body)
        assert body["context"] == "api.tariff_rates"
    # Exactly 90 days is allowed.
    response = rates_of(
        sandbox,
        http,
        location_id,
        start_time="2026-01-01T00:00:00Z",
        end_time="2026-04-01T00:00:00Z",
    )
    assert response.status_code == 200
    assert response.json()["data"][-1]["valid_to"] == "2026-04-01T00:00:00Z"


def test_unknown_location_bad_bearer_and_another_account(sandbox_factory, http):
    server = sandbox_factory(SANDBOX_ACCOUNTS=ACCOUNTS)
    window = {"start_time": f"{DAY}T00:00:00Z", "end_time": f"{DAY}T06:00:00Z"}
    response = rates_of(server, http, "loc_000000000000000000000000", **window)
    assert response.status_code == 404 and response.json() == {"message": "Not Found"}
    location_id = location_of(library_fixed(Connect(server, http)))
    assert rates_of(server, http, location_id, **window).status_code == 200
    other = as_account(server, OTHER_ACCOUNT, OTHER_KEY)
    response = rates_of(other, http, location_id, **window)
    assert response.status_code == 404 and response.json() == {"message": "Not Found"}
    response = http.get(
        f"{server.url}/tariffs/rates/{location_id}",
        params=window,
        headers={"Authorization": "Bearer nope"},
        timeout=10,
    )
    assert response.status_code == 403
