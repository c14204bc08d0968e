"""The app's Redis client for either shape of ``REDIS_URL`` (``webapp/redis_url.py``), and the
rate limiter's storage for it.

Under Sentinel the client is ``Sentinel([...]).master_for(service, db=db)``. Its pool asks the
Sentinels for the primary's address on every new connection (``SentinelManagedConnection``,
redis-py 8.1), drops idle connections when that address changes, and turns a ``READONLY`` answer
(a primary demoted to a replica that we are still connected to) into a disconnect and a
``ConnectionError``. Two gaps are closed here: a command retried after such an error would
reconnect without asking the Sentinels (``FollowingConnection`` makes it ask), and a pool whose
connections keep working would not ask at all while the old primary stays up and writable until
Sentinel demotes it, about ten seconds (``PrimaryWatch`` asks once a second). So a failover is
followed without a restart, provided the command is retried: ``FailoverRetry`` retries
connection errors and timeouts with a backoff until a time budget (``REDIS_FAILOVER_WAIT``, 3 s
by default under Sentinel) is spent, and the request then falls through to the app's 503 page,
which loses nothing. A single server gets no budget by default: there is nobody to fail over to,
and a restart replaying its append-only file takes longer than a request should wait.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from redis.backoff import EqualJitterBackoff, NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelConnectionPool, SentinelManagedConnection

from webapp.redis_url import is_sentinel, parse_sentinel

log = logging.getLogger(__name__)

# Under Sentinel, how long a request waits for a failover before the 503 page, unless
# REDIS_FAILOVER_WAIT says otherwise (a failover takes down-after-milliseconds plus 1-2 s).
DEFAULT_FAILOVER_WAIT = 3.0
# A Sentinel that does not answer is skipped quickly: the next one knows the same.
SENTINEL_TIMEOUT = 1.0

T = TypeVar("T")


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
                # The last pause is cut to the deadline rather than skipped, so the final
                # attempt lands at the end of the budget: late in a failover is when the new
                # primary is most likely to answer.
                remaining = deadline - time.monotonic()
                if failures > self._retries or remaining <= 0:
                    raise error
                time.sleep(min(self._backoff.compute(failures), remaining))


def _retry(url: str, budget: float) -> Retry | None:
    if budget > 0:
        return FailoverRetry(budget)
    if is_sentinel(url):
        # No waiting, but one reconnect: a pooled connection to a demoted or restarted primary
        # fails once, and the retry asks the Sentinels where the primary is now.
        return Retry(NoBackoff(), 1)
    return None


class FollowingConnection(SentinelManagedConnection):
    """A Sentinel-managed connection whose every reconnect asks the Sentinels.

    In redis-py 8.1 only ``connect()`` does (``SentinelManagedConnection._connect_retry``),
    and the pool calls it when it hands a connection out; but a command that fails midway
    (READONLY from a demoted primary, a dropped socket) is retried through
    ``send_packed_command``, which reconnects with ``connect_check_health``: to the same
    address. The retry would then spend its whole budget on the old primary, and only the next
    command would find the new one. Connecting through ``connect()`` here makes the retry
    itself follow the failover.
    """

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        if not self._sock:
            self.connect()
        super().send_packed_command(command, check_health)


# -- the client ------------------------------------------------------------------------------


def _sentinel_options(timeout: float) -> dict[str, Any]:
    """How every client of ours talks to the Sentinels themselves."""
    return {
        "socket_timeout": min(timeout, SENTINEL_TIMEOUT),
        "socket_connect_timeout": min(timeout, SENTINEL_TIMEOUT),
        # A dead Sentinel is skipped, not retried: the others know where the primary is.
        "retry": Retry(NoBackoff(), 0),
    }


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
        sentinel_kwargs={**target.auth(), **_sentinel_options(timeout)},
    )
    return sentinel.master_for(
        target.service,
        db=target.db,
        connection_class=FollowingConnection,
        **target.auth(),
        **options,
    )


def limiter_storage(
    url: str, timeout: float, key_prefix: str, budget: float = 0.0
) -> tuple[str, dict[str, Any]]:
    """The storage URI and options ``limits`` needs for ``url`` (Flask-Limiter's
    ``RATELIMIT_STORAGE_URI`` and ``RATELIMIT_STORAGE_OPTIONS``).

    Under Sentinel: the service alone in the path, the database as an option, and counters read
    from the primary (``use_replicas=False``): a replica lags, and a limit read there would let
    a burst through. With a ``budget`` (the failover wait), the limiter's connections wait out a
    failover as the app's own do, and follow it the same way (``FailoverRetry``,
    ``FollowingConnection``): without it the limiter, whose errors Flask-Limiter swallows, let
    every request through unlimited while the Sentinels promoted the replica.
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
        target.auth(),  # as options, not in the URI (SentinelTarget.limits_uri says why)
        db=target.db,
        use_replicas=False,
        sentinel_kwargs=_sentinel_options(timeout),  # limits adds the password itself
    )
    if budget > 0:
        options.update(retry=FailoverRetry(budget), connection_class=FollowingConnection)
    return target.limits_uri(), options


class PrimaryWatch:
    """Asks the Sentinels where the primary is, at most once a ``interval`` per process.

    redis-py's Sentinel pool asks only when it opens a connection. After a kill that is soon
    (every pooled connection breaks), but when the old primary stays up (a switchover with
    ``SENTINEL FAILOVER``, a partition that heals) the pool would go on writing to it until
    Sentinel reconfigures it, about ten seconds later, and those writes are lost when it
    becomes a replica. A changed answer makes the pool drop its idle connections and refuse
    the busy ones back (``SentinelConnectionPool.owns_connection``), so within ``interval``
    every new command goes to the new primary. One ``SENTINEL MASTERS`` round trip a second
    per process; a Sentinel that does not answer is skipped, and if none answers nothing
    changes (the primary itself may be fine).
    """

    def __init__(self, client: redis.Redis, interval: float = 1.0) -> None:
        self.client = client
        self.interval = interval
        self._next = 0.0

    def check(self, *_args: object, **_kwargs: object) -> None:
        pool = self.client.connection_pool
        if not isinstance(pool, SentinelConnectionPool):
            return
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + self.interval  # racing threads may both ask: harmless
        try:
            pool.get_master_address()
        except (redis.RedisError, OSError) as error:
            log.debug("Sentinels not asked where the primary is: %s", type(error).__name__)
