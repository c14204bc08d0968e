"""``REDIS_URL`` in its two shapes, the client each gets, and writes that must reach a replica.

**A single server**: ``redis://``, ``rediss://`` (TLS) or ``unix://``, read by redis-py as ever.

**Sentinel**: ``redis+sentinel://[[user]:password@]host:port[,host:port…]/service[/db]``, e.g.
``redis+sentinel://10.0.0.5:26379,10.0.0.6:26379,10.0.0.7:26379/mymaster/0``. A host without a
port is on 26379; IPv6 hosts go in brackets; ``db`` defaults to 0. A user or password is sent
to the Sentinels and to the data nodes alike (the convention of the ``limits`` library, which
reads the same URL for the rate limiter): give both the same ``requirepass``. TLS to the
Sentinels and query options are not supported and refused at start-up.

Under Sentinel the client is ``Sentinel([...]).master_for(service, db=db)``. Its pool asks the
Sentinels for the primary's address on every new connection (``SentinelManagedConnection``,
redis-py 8.1), drops idle connections when that address changes, and turns a ``READONLY``
answer (a primary demoted to a replica that we are still connected to) into a disconnect and a
``ConnectionError``. So a failover is followed without a restart, provided the command is
retried: ``FailoverRetry`` retries connection errors and timeouts with a backoff until a time
budget (``REDIS_FAILOVER_WAIT``, 3 s by default under Sentinel) is spent, and the request then
falls through to the app's 503 page, which loses nothing. A single server gets no budget by
default: there is nobody to fail over to, and a restart replaying its append-only file takes
longer than a request should wait.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urlsplit

import redis
from redis.backoff import EqualJitterBackoff, NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

log = logging.getLogger(__name__)

SENTINEL_SCHEME = "redis+sentinel"
PLAIN_SCHEMES = ("redis", "rediss", "unix")
DEFAULT_SENTINEL_PORT = 26379
# Under Sentinel, how long a request waits for a failover before the 503 page, unless
# REDIS_FAILOVER_WAIT says otherwise (a failover takes down-after-milliseconds plus 1-2 s).
DEFAULT_FAILOVER_WAIT = 3.0
# A Sentinel that does not answer is skipped quickly: the next one knows the same.
SENTINEL_TIMEOUT = 1.0

_SERVICE_RE = re.compile(r"^[A-Za-z0-9._-]{1,128}$")

T = TypeVar("T")


class RedisUrlError(ValueError):
    """``REDIS_URL`` (or ``RATELIMIT_STORAGE_URI``) is not a form this app can use."""


@dataclass(frozen=True)
class SentinelTarget:
    """A parsed ``redis+sentinel://`` URL."""

    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int
    username: str | None = None
    password: str | None = None

    def auth(self) -> dict[str, str]:
        found = {"username": self.username, "password": self.password}
        return {name: value for name, value in found.items() if value}

    def limits_uri(self) -> str:
        """The form ``limits`` reads: the service as the whole path, the db left to options
        (it would read ``/mymaster/0`` as a service called ``mymaster0``)."""
        userinfo = ""
        if self.username or self.password:
            userinfo = f"{_quote(self.username or '')}:{_quote(self.password or '')}@"
        hosts = ",".join(_host_port(host, port) for host, port in self.sentinels)
        return f"{SENTINEL_SCHEME}://{userinfo}{hosts}/{self.service}"


def _quote(value: str) -> str:
    return quote(value, safe="")


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def redacted(url: str) -> str:
    """The URL without its password, for messages and logs."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return url
    userinfo, _, tail = rest.partition("@")
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:***@{tail}" if ":" in userinfo else f"{scheme}://***@{tail}"


def is_sentinel(url: str) -> bool:
    return url.split("://", 1)[0].lower() == SENTINEL_SCHEME


def parse_sentinel(url: str) -> SentinelTarget:
    """``redis+sentinel://[[user]:password@]h:p[,h:p…]/service[/db]``; RedisUrlError otherwise."""
    shown = redacted(url)
    if not is_sentinel(url):
        raise RedisUrlError(f"{shown} is not a {SENTINEL_SCHEME}:// URL")
    rest = url.split("://", 1)[1]
    netloc, _, path = rest.partition("/")
    if "?" in path or "#" in path or "?" in netloc:
        raise RedisUrlError(f"{shown}: query options are not supported in a Sentinel URL")
    username = password = None
    if "@" in netloc:
        userinfo, _, netloc = netloc.rpartition("@")
        user, colon, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon else None
        if not colon:  # "password@host", as redis:// reads a lone userinfo
            username, password = None, unquote(user) or None
    sentinels = tuple(_parse_host(part, shown) for part in netloc.split(","))
    segments = path.split("/") if path else []
    if len(segments) == 2 and segments[1] == "":
        segments = segments[:1]  # "/service/": the default database
    if not segments or not segments[0]:
        raise RedisUrlError(
            f"{shown} names no service: use {SENTINEL_SCHEME}://host:port,host:port/"
            "<service name>/<db>"
        )
    if len(segments) > 2:
        raise RedisUrlError(f"{shown}: the path must be /<service name>/<db>")
    service = segments[0]
    if not _SERVICE_RE.match(service):
        raise RedisUrlError(f"{shown}: {service!r} is not a Sentinel service name")
    db = 0
    if len(segments) == 2:
        if not segments[1].isdigit():
            raise RedisUrlError(f"{shown}: the database {segments[1]!r} is not a number")
        db = int(segments[1])
    return SentinelTarget(sentinels, service, db, username, password)


def _parse_host(part: str, shown: str) -> tuple[str, int]:
    if not part:
        raise RedisUrlError(f"{shown} has an empty Sentinel address")
    try:
        parsed = urlsplit("//" + part)
        host, port = parsed.hostname, parsed.port
    except ValueError as error:
        raise RedisUrlError(f"{shown}: {part!r} is not host:port ({error})") from None
    if not host:
        raise RedisUrlError(f"{shown}: {part!r} is not host:port")
    return host, port or DEFAULT_SENTINEL_PORT


def check_url(url: str) -> None:
    """Refuse a URL the client could not use, with a message that names the problem."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == SENTINEL_SCHEME:
        parse_sentinel(url)
    elif scheme not in PLAIN_SCHEMES:
        raise RedisUrlError(
            f"{redacted(url)} is not a redis://, rediss://, unix:// or {SENTINEL_SCHEME}:// URL"
        )


def failover_wait(url: str, configured: float | None) -> float:
    """Seconds a command may keep retrying: REDIS_FAILOVER_WAIT, else 3 s under Sentinel."""
    if configured is not None:
        return max(0.0, float(configured))
    return DEFAULT_FAILOVER_WAIT if is_sentinel(url) else 0.0


# -- retrying through a failover -------------------------------------------------------------


class FailoverRetry(Retry):
    """redis-py's ``Retry`` on ConnectionError and TimeoutError, bounded by time rather than by
    a count: a dead primary refuses at once (each retry costs only its backoff) while a hung one
    costs the socket timeout per try, and either way the customer waits at most ``budget``
    seconds (plus the one attempt in flight) before the 503 page.

    redis-py uses the same object for a command and for the connect inside it; each call keeps
    its own deadline, so the inner connect retries spend the budget and the command then stops.
    """

    def __init__(self, budget: float, *, base: float = 0.05, cap: float = 0.5) -> None:
        # The count only bounds the loop; the deadline is what ends it.
        super().__init__(EqualJitterBackoff(cap=cap, base=base), retries=10_000)
        self.budget = budget

    def call_with_retry(
        self,
        do: Callable[[], T],
        fail: Callable[..., Any],
        is_retryable: Callable[[Exception], bool] | None = None,
        with_failure_count: bool = False,
    ) -> T:
        self._backoff.reset()
        deadline = time.monotonic() + self.budget
        failures = 0
        while True:
            try:
                return do()
            except self._supported_errors as error:
                if is_retryable and not is_retryable(error):
                    raise
                failures += 1
                if with_failure_count:
                    fail(error, failures)
                else:
                    fail(error)
                pause = self._backoff.compute(failures)
                if failures > self._retries or time.monotonic() + pause > deadline:
                    raise error
                time.sleep(pause)


def _retry(url: str, budget: float) -> Retry | None:
    if budget > 0:
        return FailoverRetry(budget)
    if is_sentinel(url):
        # No waiting, but one reconnect: a pooled connection to a demoted or restarted primary
        # fails once, and the retry asks the Sentinels where the primary is now.
        return Retry(NoBackoff(), 1)
    return None


# -- the client ------------------------------------------------------------------------------


def connect(url: str, *, timeout: float, budget: float = 0.0) -> redis.Redis:
    """The app's client for ``url``: every command times out after ``timeout`` seconds and is
    retried for ``budget`` seconds on connection errors (see module docstring)."""
    retry = _retry(url, budget)
    options: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "health_check_interval": 30,
    }
    if retry is not None:
        options["retry"] = retry
    if not is_sentinel(url):
        return redis.Redis.from_url(url, **options)
    target = parse_sentinel(url)
    sentinel = Sentinel(
        list(target.sentinels),
        sentinel_kwargs={
            **target.auth(),
            "socket_timeout": min(timeout, SENTINEL_TIMEOUT),
            "socket_connect_timeout": min(timeout, SENTINEL_TIMEOUT),
            # A dead Sentinel is skipped, not retried: the others know where the primary is.
            "retry": Retry(NoBackoff(), 0),
        },
    )
    return sentinel.master_for(target.service, db=target.db, **target.auth(), **options)


def limiter_storage(url: str, timeout: float, key_prefix: str) -> tuple[str, dict[str, Any]]:
    """The storage URI and options ``limits`` needs for ``url`` (Flask-Limiter's
    ``RATELIMIT_STORAGE_URI`` and ``RATELIMIT_STORAGE_OPTIONS``).

    Under Sentinel: the service alone in the path, the database as an option, and counters read
    from the primary (``use_replicas=False``): a replica lags, and a limit read there would let
    a burst through. Connection errors are not retried here: the limiter fails open (logged)
    for the second or two of a failover, then follows the Sentinels on its next connection.
    """
    options: dict[str, Any] = {
        "key_prefix": key_prefix,
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
    }
    if url.startswith("unix://"):
        return "redis+unix://" + url[len("unix://") :], options
    if not is_sentinel(url):
        return url, options
    target = parse_sentinel(url)
    options.update(
        db=target.db,
        use_replicas=False,
        sentinel_kwargs={
            "socket_timeout": min(timeout, SENTINEL_TIMEOUT),
            "socket_connect_timeout": min(timeout, SENTINEL_TIMEOUT),
            "retry": Retry(NoBackoff(), 0),
        },
    )
    return target.limits_uri(), options


# -- writes that must survive a failover -----------------------------------------------------


class NotReplicated(redis.RedisError):
    """A write that must be on a replica was not acknowledged by one in time.

    A ``RedisError``, so the request ends on the app's 503 page, which keeps the flow: the
    write is retried with the request. Its message names no key (keys carry customer
    references).
    """


@dataclass(frozen=True)
class Durability:
    """How many replicas must acknowledge a write (``WAIT``) and how long to wait for them."""

    replicas: int = 0
    timeout_ms: int = 1000

    @classmethod
    def from_config(cls, config: Any) -> Durability:
        return cls(
            replicas=int(config.get("REDIS_RESULT_REPLICAS") or 0),
            timeout_ms=int(config.get("REDIS_RESULT_WAIT_MS") or 1000),
        )


def write_durably(
    client: redis.Redis,
    write: Callable[[Any], object],
    durability: Durability | None,
    *,
    what: str,
    required: bool = True,
) -> None:
    """Run ``write(pipe)`` and, when replicas are asked for, ``WAIT`` for them in the same
    pipeline: ``WAIT`` counts the writes of its own connection, so it must share the write's.

    Too few acknowledgements: ``required`` raises :class:`NotReplicated`; otherwise a warning
    is logged (``what`` names the kind of record, never its key) and the write stands.
    """
    pipe = client.pipeline(transaction=False)
    write(pipe)
    wanted = durability.replicas if durability else 0
    if wanted <= 0:
        pipe.execute()
        return
    assert durability is not None
    pipe.execute_command("WAIT", wanted, durability.timeout_ms)
    acknowledged = int(pipe.execute()[-1])
    if acknowledged >= wanted:
        return
    message = (
        f"{what}: {acknowledged} of {wanted} replicas acknowledged within "
        f"{durability.timeout_ms} ms"
    )
    if required:
        log.warning("%s; the request is refused so that it is retried", message)
        raise NotReplicated(message)
    log.warning("%s; kept on the primary only", message)
