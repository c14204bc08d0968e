"""The request journal hook: what a token's Connect endpoint received, for the web app's
"one choice reaches Connect once" tests."""

from __future__ import annotations

import requests

from devstack.stack import SandboxServer
from tests.sandbox.conftest import GB_ADDRESS, NORTHWIND


def journal(server: SandboxServer, token: str) -> list[dict]:
    response = requests.get(f"{server.url}/_sandbox/tokens/{token}/journal", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["requests"]


def test_journal_lists_each_post_with_its_outcome_in_order(sandbox: SandboxServer, connect) -> None:
    flow = connect()
    assert journal(sandbox, flow.token) == []
    flow.to_provider_select()
    flow.step("provider_select", data={"provider": {"id": NORTHWIND}})
    flow.error("provider_select", data={"provider": {"id": NORTHWIND}})  # a resend: refused
    entries = journal(sandbox, flow.token)
    assert [(e["route"], e["outcome"], e["answered"]) for e in entries] == [
        ("session_restore", "applied", "postal_address_capture"),
        ("postal_address_capture", "applied", "provider_select"),
        ("provider_select", "applied", "tariff_select"),
        ("provider_select", "route_invalid", None),
    ]
    # Names of the fields only: the customer's answers stay out of the journal.
    assert entries[1]["data_keys"] == ["postal_address"]
    assert GB_ADDRESS["post_code"] not in str(entries)
    assert all(isinstance(e["time"], float) for e in entries)
    assert entries[0]["time"] <= entries[-1]["time"]


def test_faulted_requests_are_not_in_the_journal(sandbox: SandboxServer, connect) -> None:
    flow = connect()
    flow.restore()
    faults = f"{sandbox.url}/_sandbox/faults"
    try:
        requests.put(faults, json={"error_rate": 1}, timeout=10).raise_for_status()
        status = requests.post(
            f"{sandbox.url}/",
            json={"connect_token": flow.token, "route": "session_restore"},
            timeout=10,
        ).status_code
        assert status >= 500
    finally:
        requests.delete(faults, timeout=10)
    assert [e["route"] for e in journal(sandbox, flow.token)] == ["session_restore"]


def test_no_journal_without_hooks(sandbox: SandboxServer, sandbox_factory, connect) -> None:
    quiet = sandbox_factory(SANDBOX_HOOKS="0")
    flow = connect(quiet)
    flow.restore()
    response = requests.get(f"{quiet.url}/_sandbox/tokens/{flow.token}/journal", timeout=10)
    assert response.status_code == 404
    # Nothing was recorded either: the shared sandbox reads the same Redis database.
    assert journal(sandbox, flow.token) == []
