"""Fault injection: latency, 5xx, garbage bodies and dropped connections, per sandbox instance."""

from __future__ import annotations

import time

import pytest
import requests

from tests.sandbox.conftest import Connect


def _set(server, **faults) -> dict:
    response = requests.put(f"{server.url}/_sandbox/faults", json=faults, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def faulty(sandbox_factory):
    """A sandbox of its own, so faults never reach the shared one."""
    server = sandbox_factory()
    yield server
    requests.delete(f"{server.url}/_sandbox/faults", timeout=10)


def test_latency(faulty, http):
    flow = Connect(faulty, http)
    # A whole second, so an unfaulted request on a busy CI machine cannot be mistaken for one.
    _set(faulty, latency_ms=1000)
    started = time.monotonic()
    flow.restore()
    assert time.monotonic() - started >= 1.0
    started = time.monotonic()
    requests.get(f"{faulty.url}/_sandbox/health", timeout=10)  # hooks are never faulted
    assert time.monotonic() - started < 1.0


def test_server_errors(faulty, http):
    flow = Connect(faulty, http)
    _set(faulty, error_rate=1)
    restore = {"connect_token": flow.token, "route": "session_restore"}
    response = http.post(f"{faulty.url}/", json=restore, timeout=10)
    assert response.status_code in (500, 502, 503)
    assert response.json()["type"] == "api_error"
    requests.delete(f"{faulty.url}/_sandbox/faults", timeout=10)
    # The faulted request never reached the flow: the session has not started.
    state = http.get(f"{faulty.url}/_sandbox/tokens/{flow.token}", timeout=10).json()
    assert state["route"] is None


def test_garbage_bodies(faulty, http):
    flow = Connect(faulty, http)
    _set(faulty, garbage_rate=1)
    restore = {"connect_token": flow.token, "route": "session_restore"}
    response = http.post(f"{faulty.url}/", json=restore, timeout=10)
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()


def test_dropped_connections(faulty, http):
    login = f"{faulty.url}/login"
    _set(faulty, drop_rate=1)
    with pytest.raises(requests.ConnectionError):
        requests.get(login, auth=(faulty.account_id, faulty.api_key), timeout=10)
    # The provider login pages and hooks stay reachable, so a test can always switch faults off.
    assert (
        requests.get(f"{faulty.url}/_sandbox/faults", timeout=10).json()["faults"]["drop_rate"] == 1
    )
    requests.delete(f"{faulty.url}/_sandbox/faults", timeout=10)
    assert requests.get(login, auth=(faulty.account_id, faulty.api_key), timeout=10).ok


def test_partial_error_rate(faulty):
    _set(faulty, error_rate=0.5)
    statuses = [requests.get(f"{faulty.url}/login", timeout=10).status_code for _ in range(60)]
    assert 5 < sum(s >= 500 for s in statuses) < 55  # 403 otherwise: no credentials sent


def test_fault_defaults_from_environment(sandbox_factory, sandbox, http):
    server = sandbox_factory(SANDBOX_FAULT_ERROR_RATE="1", SANDBOX_FAULT_LATENCY_MS="50")
    state = requests.get(f"{server.url}/_sandbox/faults", timeout=10).json()
    assert state["defaults"] == {
        "latency_ms": 50,
        "error_rate": 1.0,
        "garbage_rate": 0.0,
        "drop_rate": 0.0,
    }
    assert state["overridden"] is False
    assert requests.get(f"{server.url}/login", timeout=10).status_code >= 500
    # Another sandbox on the same Redis is unaffected.
    assert requests.get(f"{sandbox.url}/login", timeout=10).status_code == 403


def test_bad_fault_settings_are_rejected(faulty):
    response = requests.put(f"{faulty.url}/_sandbox/faults", json={"error_rate": 2}, timeout=10)
    assert response.status_code == 400 and "error_rate" in response.json()["message"]
