"""``REDIS_URL`` forms (webapp/redis_connection.py): parsing, the limiter's form, refusals, and
the failover retry's time budget. No process: the Sentinel tests with real ones are in
test_redis_failover.py."""

from __future__ import annotations

import time
from typing import Any

import pytest
import redis
from redis.sentinel import SentinelConnectionPool

from webapp import ratelimit, redis_connection, redis_url
from webapp.config import ConfigError, load
from webapp.redis_connection import FailoverRetry
from webapp.redis_url import RedisUrlError, SentinelTarget, check_url, parse_sentinel

pytestmark = pytest.mark.unit

THREE = "redis+sentinel://10.0.0.5:26379,10.0.0.6:26380,10.0.0.7/mymaster/2"


def test_parses_hosts_service_and_db() -> None:
    target = parse_sentinel(THREE)
    assert target == SentinelTarget(
        sentinels=(("10.0.0.5", 26379), ("10.0.0.6", 26380), ("10.0.0.7", 26379)),
        service="mymaster",
        db=2,
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis+sentinel://h:1/svc", ("svc", 0, None, None)),
        ("redis+sentinel://h:1/svc/", ("svc", 0, None, None)),
        ("redis+sentinel://:s3cr%40t@h:1,g:2/svc/1", ("svc", 1, None, "s3cr@t")),
        ("redis+sentinel://app:pw@h:1/svc/0", ("svc", 0, "app", "pw")),
        ("redis+sentinel://pw@h:1/svc/0", ("svc", 0, None, "pw")),
        ("redis+sentinel://[::1]:5000,h:1/my-master.1/15", ("my-master.1", 15, None, None)),
    ],
)
def test_valid_forms(url: str, expected: tuple[Any, ...]) -> None:
    target = parse_sentinel(url)
    assert (target.service, target.db, target.username, target.password) == expected


def test_ipv6_sentinel() -> None:
    assert parse_sentinel("redis+sentinel://[::1]:5000/m/0").sentinels == (("::1", 5000),)


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("redis+sentinel://h:1", "names no service"),
        ("redis+sentinel://h:1/", "names no service"),
        ("redis+sentinel://h:1/svc/zero", "is not a number"),
        ("redis+sentinel://h:1/svc/0/extra", "the path must be"),
        ("redis+sentinel://h:1,,g:2/svc/0", "empty Sentinel address"),
        ("redis+sentinel://h:port/svc/0", "is not host:port"),
        ("redis+sentinel://h:1/svc/0?ssl=true", "query options"),
        ("redis+sentinel://h:1/s%20c/0", "is not a Sentinel service name"),
        ("sentinel://h:1/svc/0", "is not a redis://"),
        ("http://h:1/0", "is not a redis://"),
    ],
)
def test_malformed_urls_are_refused(url: str, complaint: str) -> None:
    with pytest.raises(RedisUrlError, match=complaint):
        check_url(url)


def test_password_never_in_the_message() -> None:
    with pytest.raises(RedisUrlError) as caught:
        check_url("redis+sentinel://:hunter2@h:1/svc/zero")
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:6379/0", "rediss://u:p@r.example:6380/1", "unix:///tmp/r.sock"]
)
def test_plain_urls_pass(url: str) -> None:
    check_url(url)


def test_a_malformed_url_refuses_to_start() -> None:
    with pytest.raises(ConfigError, match=r"REDIS_URL: .*names no service"):
        load({"REDIS_URL": "redis+sentinel://127.0.0.1:26379"})
    with pytest.raises(ConfigError, match="RATELIMIT_STORAGE_URI"):
        load({"RATELIMIT_STORAGE_URI": "redis+sentinel://127.0.0.1:26379/m/x"})


def test_production_sentinel_without_replica_acks_warns(caplog: pytest.LogCaptureFixture) -> None:
    production = {
        "APP_ENV": "production",
        "SECRET_KEY": "x" * 48,
        "PUBLIC_URL": "https://connect.partner.example",
        "REDIS_URL": "redis+sentinel://10.0.0.5:26379/mymaster/0",
    }
    load(production)
    assert "REDIS_RESULT_REPLICAS is 0" in caplog.text
    caplog.clear()
    load({**production, "REDIS_RESULT_REPLICAS": 1})
    assert "REDIS_RESULT_REPLICAS" not in caplog.text


# -- the limiter's form ----------------------------------------------------------------------


def test_limiter_gets_the_service_alone_and_the_db_as_an_option() -> None:
    config = {"REDIS_URL": "redis+sentinel://:pw@10.0.0.5:26379,10.0.0.6/mymaster/3"}
    assert (
        ratelimit.storage_uri(config) == "redis+sentinel://10.0.0.5:26379,10.0.0.6:26379/mymaster"
    )
    options = ratelimit.storage_options(config)
    assert options["db"] == 3 and options["use_replicas"] is False
    assert options["password"] == "pw"
    assert options["key_prefix"] == ratelimit.STORAGE_KEY_PREFIX
    assert options["socket_timeout"] == ratelimit.STORAGE_TIMEOUT
    # It waits out a failover and follows it, as the app's own client does.
    assert isinstance(options["retry"], FailoverRetry)
    assert options["retry"].budget == redis_connection.DEFAULT_FAILOVER_WAIT
    assert options["connection_class"] is redis_connection.FollowingConnection
    # No wait asked for: none (the limiter fails open at once, logged).
    assert "retry" not in ratelimit.storage_options({**config, "REDIS_FAILOVER_WAIT": 0})


def test_limits_reads_that_form_as_the_service() -> None:
    """What ``limits`` itself makes of the URI: the service name without the db, and the db
    among the connection options (no Sentinel is contacted: the check is on the parse)."""
    from limits._storage_scheme import parse_storage_uri

    config = {"REDIS_URL": "redis+sentinel://127.0.0.1:1,127.0.0.1:2/mymaster/0"}
    parsed = parse_storage_uri(ratelimit.storage_uri(config))
    assert parsed.path.replace("/", "") == "mymaster"
    assert parse_storage_uri(config["REDIS_URL"]).path.replace("/", "") == "mymaster0"


def test_explicit_limiter_uris_keep_working() -> None:
    base = {"REDIS_URL": "redis://127.0.0.1:6379/0"}
    assert ratelimit.storage_uri({**base, "RATELIMIT_STORAGE_URI": "memory://"}) == "memory://"
    assert (
        ratelimit.storage_uri({**base, "RATELIMIT_STORAGE_URI": "redis://r:6379/4"})
        == "redis://r:6379/4"
    )
    assert ratelimit.storage_uri({"REDIS_URL": "unix:///tmp/r.sock"}) == "redis+unix:///tmp/r.sock"
    sentinel = {**base, "RATELIMIT_STORAGE_URI": "redis+sentinel://h:1/limits/5"}
    assert ratelimit.storage_uri(sentinel) == "redis+sentinel://h:1/limits"
    assert ratelimit.storage_options(sentinel)["db"] == 5


# -- the client ------------------------------------------------------------------------------


def test_sentinel_client_is_a_master_pool_with_the_timeouts() -> None:
    client = redis_connection.connect(THREE, timeout=2, budget=3)
    pool = client.connection_pool
    assert isinstance(pool, SentinelConnectionPool) and pool.is_master
    assert pool.service_name == "mymaster"
    kwargs = pool.connection_kwargs
    assert kwargs["db"] == 2 and kwargs["socket_timeout"] == 2
    assert kwargs["socket_connect_timeout"] == 2
    assert isinstance(kwargs["retry"], FailoverRetry) and kwargs["retry"].budget == 3
    # A retried command reconnects through the Sentinels, not to the address it had.
    assert pool.connection_class is redis_connection.FollowingConnection


def test_failover_wait_defaults() -> None:
    assert redis_connection.failover_wait(THREE, None) == redis_connection.DEFAULT_FAILOVER_WAIT
    assert redis_connection.failover_wait("redis://h/0", None) == 0
    assert redis_connection.failover_wait(THREE, 0.5) == 0.5


def test_failover_retry_stops_at_its_budget() -> None:
    attempts: list[float] = []

    def refuse() -> None:
        attempts.append(time.monotonic())
        raise redis.ConnectionError("refused")

    started = time.monotonic()
    with pytest.raises(redis.ConnectionError):
        FailoverRetry(0.6).call_with_retry(refuse, lambda _error: None)
    took = time.monotonic() - started
    # The whole budget is used (the last pause is cut to it, not skipped), and no more.
    assert 0.6 <= took < 0.9, took
    assert attempts[-1] - started >= 0.6
    assert len(attempts) > 2


def test_failover_retry_returns_once_it_works() -> None:
    calls = iter([redis.TimeoutError(), redis.ConnectionError(), "ok"])

    def flaky() -> str:
        answer = next(calls)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert FailoverRetry(5).call_with_retry(flaky, lambda _error: None) == "ok"


def test_failover_retry_never_retries_a_refusal() -> None:
    def refuse() -> None:
        raise redis.ResponseError("OOM")

    with pytest.raises(redis.ResponseError):
        FailoverRetry(5).call_with_retry(refuse, lambda _error: None)


# A password as `openssl rand -base64` makes one: "+", "/" and "=", written as is or encoded.
HOSTILE_PASSWORD = "s3cr+t/Pw=@x"


@pytest.mark.parametrize(
    "written", [HOSTILE_PASSWORD, "s3cr%2Bt%2FPw%3D%40x"], ids=["as-is", "percent-encoded"]
)
def test_a_password_with_reserved_characters_reaches_every_client(written: str) -> None:
    """``limits`` 5.8 does not percent-decode a password in its URI: had it been put there,
    the limiter could never log in and, its errors swallowed, would stop limiting."""
    url = f"redis+sentinel://:{written}@10.0.0.5:26379,10.0.0.6/mymaster/2"
    target = parse_sentinel(url)
    assert target.password == HOSTILE_PASSWORD
    assert [port for _host, port in target.sentinels] == [26379, 26379]
    uri, options = redis_connection.limiter_storage(url, 1.0, "p")
    assert "s3cr" not in uri and options["password"] == HOSTILE_PASSWORD
    assert "s3cr" not in redis_url.redacted(url)


@pytest.mark.parametrize(
    "url",
    [
        "redis+sentinel://:Ab/Cd+Ef=@127.0.0.1:26379/mymaster/x",  # a bad db after it
        "redis+sentinel://:Ab/Cd+Ef=@/mymaster/0",  # no host after it
        "redis://:p@ss@host:6379/0",
    ],
)
def test_no_part_of_a_password_reaches_a_message(url: str) -> None:
    assert "Ab" not in redis_url.redacted(url) and "ss@" not in redis_url.redacted(url)
    try:
        check_url(url)
    except RedisUrlError as error:
        assert "Ab" not in str(error) and "Cd" not in str(error), error
