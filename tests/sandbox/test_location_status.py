"""``GET /locations/{id}/status``: one status per kind of tariff, following what flows did, and
tokens with ``direction`` and ``type`` that change only their kind (docs/protocol.md §10)."""

from __future__ import annotations

from typing import Any

import requests

from tests.sandbox.conftest import NORTHWIND, NORTHWIND_FIXED, VOLTAIC, Connect, login
from tests.sandbox.test_accounts import ACCOUNTS, OTHER_ACCOUNT, OTHER_KEY, as_account

KINDS = ("commodity_import", "commodity_export", "non_commodity_import", "non_commodity_export")


def status_of(server: Any, http: requests.Session, location_id: str) -> requests.Response:
    return http.get(
        f"{server.url}/locations/{location_id}/status",
        headers={"Authorization": f"Bearer {login(server, http)}"},
        timeout=10,
    )


def library_fixed(flow: Connect) -> Connect:
    """Run a flow to a saved Northwind fixed tariff."""
    flow.pick(NORTHWIND)
    flow.step("tariff_select", data={"tariff": {"id": NORTHWIND_FIXED}})
    flow.step("contract_term_capture")
    flow.step("summary_fixed_confirm", action="SAVE")
    return flow


def location_of(flow: Connect) -> str:
    response = flow.exchange()
    assert response.status_code == 200, response.text
    return response.json()["location_id"]


def test_status_shape_for_a_connected_import_tariff(connect, sandbox, http):
    location_id = location_of(library_fixed(connect(customer_reference_id="cust-st-1")))
    response = status_of(sandbox, http, location_id)
    assert response.status_code == 200
    body = response.json()
    assert list(body) == [
        "id",
        "object",
        "live_mode",
        "tariff_status",
        "time_created",
        "account_id",
    ]
    assert body["id"] == location_id and body["object"] == "location_status"
    assert body["live_mode"] is False and body["account_id"] == sandbox.account_id
    statuses = body["tariff_status"]
    assert [k for k in statuses if k != "local"] == list(KINDS)
    imported = statuses["commodity_import"]
    assert imported["status"] == "CONNECTED"
    assert imported["connection_type"] == "LIBRARY"
    assert imported["provider"]["id"] == NORTHWIND
    assert set(imported["provider"]) == {"id", "display_name", "logo_url"}
    tariff = imported["tariff"]
    assert set(tariff) == {"id", "display_name", "structure_type", "contract_end_date"}
    assert tariff["id"].startswith("trf_") and tariff["structure_type"] == "FIXED"
    assert tariff["display_name"]
    assert statuses["commodity_export"] == {"status": "NOT_CONNECTED"}
    assert statuses["non_commodity_import"] == {"status": "NOT_CONNECTED"}
    assert statuses["non_commodity_export"] == {"status": "NOT_SUPPORTED"}
    # The tariff id is stable between reads.
    again = status_of(sandbox, http, location_id).json()
    assert again["tariff_status"]["commodity_import"]["tariff"]["id"] == tariff["id"]


def test_each_kind_connects_and_disconnects_on_its_own(connect, sandbox, http):
    location_id = location_of(library_fixed(connect()))
    export = connect(location_id=location_id, direction="EXPORT", type="COMMODITY")
    # A kind never connected starts at the provider list: the location's address is known.
    assert export.restore()["route"] == "provider_select"
    assert export.last["direction"] == "EXPORT"
    library_fixed(export)
    grid = connect(location_id=location_id, direction="IMPORT", type="NON_COMMODITY")
    library_fixed(grid)
    statuses = status_of(sandbox, http, location_id).json()["tariff_status"]
    for kind in ("commodity_import", "commodity_export", "non_commodity_import"):
        assert statuses[kind]["status"] == "CONNECTED", kind
    ids = {statuses[kind]["tariff"]["id"] for kind in KINDS[:3]}
    assert len(ids) == 3  # one tariff element per kind

    # Disconnecting export needs no Connect screens beyond the summary's DISCONNECT action.
    off = connect(location_id=location_id, direction="EXPORT")
    assert off.restore()["route"] == "summary_fixed_confirm"
    assert off.step("summary_fixed_confirm", action="DISCONNECT")["route"] == "session_complete"
    statuses = status_of(sandbox, http, location_id).json()["tariff_status"]
    assert statuses["commodity_export"] == {"status": "DISCONNECTED"}
    assert statuses["commodity_import"]["status"] == "CONNECTED"
    assert statuses["non_commodity_import"]["status"] == "CONNECTED"

    # A token for import still starts on import's own summary.
    assert connect(location_id=location_id).restore()["route"] == "summary_fixed_confirm"


def test_pending_direct_login_makes_only_its_kind_pending(connect, sandbox, http):
    location_id = location_of(library_fixed(connect()))
    export = connect(location_id=location_id, direction="EXPORT")
    export.restore()
    export.step("provider_select", data={"provider": {"id": VOLTAIC}})
    export.provider_login("pending")
    assert export.restore()["route"] == "summary_tariff_inprogress"
    export.step("summary_tariff_inprogress", action="SAVE")
    statuses = status_of(sandbox, http, location_id).json()["tariff_status"]
    assert statuses["commodity_export"]["status"] == "PENDING"
    assert statuses["commodity_export"]["connection_type"] == "DIRECT"
    assert statuses["commodity_export"]["provider"]["id"] == VOLTAIC
    assert "tariff" not in statuses["commodity_export"]
    assert statuses["commodity_import"]["status"] == "CONNECTED"

    # The data arrives (test hook): export turns connected with the account's tariff.
    arrived = http.post(
        f"{sandbox.url}/_sandbox/locations/{location_id}/status",
        json={"status": "CONNECTED", "direction": "EXPORT"},
        timeout=10,
    )
    assert arrived.status_code == 200, arrived.text
    assert arrived.json()["kind"] == "commodity_export"
    export_status = status_of(sandbox, http, location_id).json()["tariff_status"][
        "commodity_export"
    ]
    assert export_status["status"] == "CONNECTED"
    assert export_status["tariff"]["structure_type"] == "TIME_OF_DAY"


def test_failed_and_disconnected_locations_from_the_hook(sandbox, http):
    for state, expected in (("failed", "ERROR"), ("disconnected", "DISCONNECTED")):
        made = http.post(f"{sandbox.url}/_sandbox/locations", json={"state": state}, timeout=10)
        location_id = made.json()["location_id"]
        entry = status_of(sandbox, http, location_id).json()["tariff_status"]["commodity_import"]
        assert entry["status"] == expected, state
        if expected == "ERROR":
            assert entry["connection_type"] == "DIRECT" and "tariff" not in entry


def test_hook_rejects_an_unsupported_kind(sandbox, http):
    made = http.post(f"{sandbox.url}/_sandbox/locations", json={"state": "pending"}, timeout=10)
    response = http.post(
        f"{sandbox.url}/_sandbox/locations/{made.json()['location_id']}/status",
        json={"status": "CONNECTED", "direction": "EXPORT", "type": "NON_COMMODITY"},
        timeout=10,
    )
    assert response.status_code == 400


def test_unknown_location_and_bad_bearer(sandbox, http):
    response = status_of(sandbox, http, "loc_000000000000000000000000")
    assert response.status_code == 404 and response.json() == {"message": "Not Found"}
    response = http.get(
        f"{sandbox.url}/locations/loc_000000000000000000000000/status",
        headers={"Authorization": "Bearer nope"},
        timeout=10,
    )
    assert response.status_code == 403


def test_another_accounts_location_is_not_found(sandbox_factory, http):
    server = sandbox_factory(SANDBOX_ACCOUNTS=ACCOUNTS)
    location_id = location_of(library_fixed(Connect(server, http)))
    assert status_of(server, http, location_id).status_code == 200
    other = as_account(server, OTHER_ACCOUNT, OTHER_KEY)
    response = status_of(other, http, location_id)
    assert response.status_code == 404 and response.json() == {"message": "Not Found"}


def test_a_token_for_another_accounts_location_is_refused(sandbox_factory, http):
    server = sandbox_factory(SANDBOX_ACCOUNTS=ACCOUNTS)
    location_id = location_of(library_fixed(Connect(server, http)))
    other = as_account(server, OTHER_ACCOUNT, OTHER_KEY)
    response = http.post(
        f"{server.url}/connect/tariff/token",
        json={
            "callback_uri": "https://app.example.test/done",
            "location_id": location_id,
            "direction": "EXPORT",
        },
        headers={"Authorization": f"Bearer {login(other, http)}"},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["code"] == "location_id_invalid"
