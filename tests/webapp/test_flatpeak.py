"""The upstream client against the sandbox over HTTP, including its bad days."""

from __future__ import annotations

import pytest
import redis

from devstack.stack import RedisServer, SandboxServer
from webapp.flatpeak import FlatPeakClient, mask
from webapp.page import Page
from webapp.upstream_errors import (
    AuthFailed,
    ConnectError,
    ExchangeNotReady,
    TokenNotFound,
    UpstreamBadResponse,
    UpstreamTimeout,
    UpstreamUnavailable,
)


def make_client(sandbox: SandboxServer, cache: redis.Redis | None = None, **kw) -> FlatPeakClient:
    return FlatPeakClient(
        api_url=sandbox.url,
        connect_url=sandbox.url,
        account_id=sandbox.account_id,
        api_key=kw.pop("api_key", sandbox.api_key),
        cache=cache,
        **kw,
    )


def new_token(client: FlatPeakClient) -> str:
    return client.create_token(
        callback_uri="http://localhost/connect/callback",
        connect_web_uri="http://localhost/connect/provider-return",
        customer_reference_id="client-test",
    ).connect_token


def test_bearer_is_cached_in_redis_until_shortly_before_expiry(
    sandbox: SandboxServer, redis_server: RedisServer
) -> None:
    cache = redis_server.client(3)
    client = make_client(sandbox, cache)
    cache.delete(client._bearer_key)
    first = client.bearer()
    assert cache.get(client._bearer_key) == first
    assert 0 < cache.ttl(client._bearer_key) <= 3600 - 60
    # A second worker (another client object) reuses it instead of logging in again.
    assert make_client(sandbox, cache).bearer() == first


def test_wrong_api_key_is_auth_failed(sandbox: SandboxServer) -> None:
    with pytest.raises(AuthFailed):
        make_client(sandbox, api_key="sk_test_wrong").bearer()


def test_create_restore_submit_and_exchange(sandbox: SandboxServer) -> None:
    client = make_client(sandbox)
    token = new_token(client)
    page = client.restore(token)
    assert isinstance(page, Page) and page.route == "postal_address_capture"
    # Cleaned and typed where it arrives, and without the token Connect echoes in every page.
    assert isinstance(page.data["postal_address"], dict) and token not in repr(page)
    error = client.submit(token, "postal_address_capture", data={"postal_address": {}})
    assert isinstance(error, ConnectError)
    assert error.code.endswith("_missing") and error.message
    with pytest.raises(ExchangeNotReady):
        client.exchange(token)


def test_unknown_token(sandbox: SandboxServer) -> None:
    client = make_client(sandbox)
    answer = client.restore("cot_ffffffffffffffffffffffff")
    assert isinstance(answer, ConnectError) and answer.token_unknown
    with pytest.raises(TokenNotFound):
        client.exchange("cot_ffffffffffffffffffffffff")


def test_unreachable_upstream(sandbox: SandboxServer) -> None:
    client = FlatPeakClient(
        api_url="http://127.0.0.1:9", connect_url="http://127.0.0.1:9",
        account_id="acc", api_key="sk_test_x", connect_timeout=0.5,
    )  # fmt: skip
    with pytest.raises(UpstreamUnavailable):
        client.restore("cot_000000000000000000000001")


@pytest.mark.parametrize(
    ("env", "error"),
    [
        ({"SANDBOX_FAULT_ERROR_RATE": "1"}, UpstreamUnavailable),
        ({"SANDBOX_FAULT_GARBAGE_RATE": "1"}, UpstreamBadResponse),
        ({"SANDBOX_FAULT_DROP_RATE": "1"}, UpstreamUnavailable),
        ({"SANDBOX_FAULT_LATENCY_MS": "1500"}, UpstreamTimeout),
    ],
)
def test_faults_become_typed_errors(sandbox: SandboxServer, sandbox_factory, env, error) -> None:
    token = new_token(make_client(sandbox))
    faulty = make_client(sandbox_factory(**env), read_timeout=0.5)
    with pytest.raises(error):
        faulty.submit(token, "session_restore")


@pytest.mark.unit
def test_mask_keeps_tokens_recognisable_but_unreadable() -> None:
    masked = mask("cot_0123456789abcdef01234567")
    assert masked.startswith("cot_") and "0123456789" not in masked
    assert mask(None) == "-"
