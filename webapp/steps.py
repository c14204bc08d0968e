"""The per-flow step ledger: at most one choice reaches Connect per page.

A Connect step is not idempotent, and the things browsers and networks do (a double tap without
JavaScript, two tabs on one flow, the Back button replaying an old form, a retry after the
upstream went quiet) all produce a second POST for a page that may already have been answered.
The session cannot arbitrate: two requests for one session load it at the same time and the last
writer wins. So each flow has a small record in Redis, keyed by a SHA-256 of the connect token
(never the token itself) and living as long as a token does:

* ``version`` counts the pages the flow has shown. Every rendered step form carries it (hidden
  field ``version``). It moves on whenever a page object from Connect differs from the last one
  seen (``fp``, a fingerprint of route, data and actions) and after every accepted step, even one
  that answers an identical page. A POST whose version is not the current one is never sent: the
  flow resumes with ``session_restore`` and shows the true current page with a notice. A
  version *ahead* of the ledger means Redis lost the ledger's latest writes (a failover; the
  form also carries its page's fingerprint, hidden field ``page``): Connect is asked, the form
  counts if it is for Connect's current page, and the ledger catches up with its version. Such
  a post also takes the lock of the page the ledger knows, so it never sends beside a form of
  that page; and only a few versions ahead count (``MAX_VERSIONS_LOST``): a form further ahead
  is forged, and is treated as one for a page the flow has left.
* A short lock per flow and page version (``SET NX PX`` with a random owner token, released only
  by its owner with a compare-and-delete) is held from the version check to the recorded answer,
  so of N posts racing each other from one page exactly one is sent; the others wait (bounded by
  the read timeout plus a second), find the version moved on, and resolve as above. The page a
  form names is the lock it takes, so every copy of one form meets at the same lock.
* The lock is a lease, not a timeout sized for the longest exchange. Several app instances
  share one Redis behind a load balancer, and an owner can die mid-step (its worker or its
  whole instance killed) without releasing anything; the customer's next post then lands on
  another instance and waits behind the orphan. So the lock is set for a few seconds only and
  one daemon thread per process keeps extending the leases its requests hold (compare the owner
  token, then ``PEXPIRE``, in one script, so it never extends a lock it lost). A dead owner
  stops renewing and its lock lapses within one lease, which is shorter than a waiter's wait:
  the customer's retry wins the lock, finds the ``pending`` note below and asks Connect before
  sending anything. Renewal stops at the old bound (three times connect plus read timeout,
  plus 5 s), so an owner that is alive but stuck cannot hold a page forever. A renewal that
  fails (Redis away) is only logged: the request itself fails closed on its next Redis call.
* ``pending`` is written *before* a step is sent (a write-ahead note: the page's fingerprint)
  and cleared once Connect's answer is known. It is left in place when the answer
  is ambiguous: a read timeout, a connection dropped after the request went out, a 5xx, a body
  that is not JSON. It also survives a worker killed mid-request. The next POST from that page
  first asks Connect where the flow is: if Connect has moved on from the pending page, the choice
  landed and the customer is shown where it is now, nothing is resent; if it is still on the
  identical page, the choice did not land and it is sent, once. A failure before anything was
  sent (connection refused, connect timeout) is not ambiguous and clears the note. A note for a
  page the ledger has since moved on from is void: that choice is known to have landed.

When Redis itself fails, the ledger fails closed: every operation here lets
:class:`redis.RedisError` propagate, the app answers its "temporarily unavailable" page (503),
and no step is sent without the lock and the version check. If Redis fails after a step was
sent, the ``pending`` note (or, with Redis restarted empty, the missing record) makes the next
POST resolve with ``session_restore`` first, so a choice is still never sent twice. A lock whose
owner died with Redis (it persists in the append-only file) no longer matters once any request
sees the flow on a later page (the next ``GET`` does, if the step landed); otherwise posts from
that page get "still being sent" until its lease, which nobody renews, runs out.

One limit is inherent: a request that our client gave up on may still be applied upstream
*after* the retry's ``session_restore`` looked. Connect's own route check (``route_invalid``)
then refuses the later of the two, so the flow still cannot move twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import redis

from webapp import tokens
from webapp.page import Page
from webapp.upstream_errors import ConnectError

VERSION_FIELD = "version"
# The fingerprint of the page a form was rendered from (hidden field; see ``decide``).
PAGE_FIELD = "page"
# How far ahead of the ledger a form's version may be and still count as lost writes: a
# failover loses at most the last moment's writes, a step or two (each step moves the version
# by one or two). A form further ahead is forged, and is treated as a form for a page the flow
# has left: nothing is sent and the ledger does not follow it.
MAX_VERSIONS_LOST = 8
# No version a form names moves the ledger past this: versions stay far below the 12 digits
# ``parse_version`` takes, whatever a record lost entirely (no state to compare with) is told.
VERSION_CEILING = 10**9
LEDGER_PREFIX = "connect:steps:"
LOCK_PREFIX = "connect:steplock:"
# As long as a connect token usually lives (a day); every write renews it.
LEDGER_TTL = 86400
# The step lock's lease, in seconds: how long an orphaned lock blocks its page. Three times the
# app's Redis socket timeout (``extensions.REDIS_TIMEOUT``, 2 s), with renewal every third of
# it: a renewal may hang for the whole socket timeout and fail, and the one after it still
# lands before the lease runs out. ``Ledger.for_flow`` shortens it to half a waiter's wait when
# that is shorter, so a post behind a dead owner always wins the lock within its wait.
LEASE = 6.0
# Renew this far into a lease: two renewals fit into one lease with a third to spare.
RENEW_FRACTION = 1 / 3

log = logging.getLogger(__name__)

# Record a page Connect answered: move the version on when the page differs, or after an
# accepted step whose note is still pending (an identical page answered; a reader who saw the
# new page first has already moved it and cleared the note), remember the page, and clear the
# note: one atomic step, so two observers of one change cannot both move it. The version never
# ends below ARGV[5], the version of a form the ledger had lost track of (``decide``), so
# version numbers already handed out are not handed out again. With a second key (a step
# lock) and its owner token, that lock is given up in the same round trip.
_OBSERVE = """
local fp = redis.call('HGET', KEYS[1], 'fp')
local stepped = ARGV[3] == '1' and redis.call('HEXISTS', KEYS[1], 'pending') == 1
local version
if fp ~= ARGV[1] or stepped then
  version = redis.call('HINCRBY', KEYS[1], 'version', 1)
  redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'route', ARGV[2])
  redis.call('HDEL', KEYS[1], 'pending')
else
  version = tonumber(redis.call('HGET', KEYS[1], 'version'))
end
local floor = tonumber(ARGV[5])
if version < floor then
  version = floor
  redis.call('HSET', KEYS[1], 'version', floor)
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
if KEYS[2] and redis.call('GET', KEYS[2]) == ARGV[6] then
  redis.call('DEL', KEYS[2])
end
return version
"""

# Take the lock and read the ledger in one round trip: the state a step is checked against is
# the one current when the lock was won.
_ACQUIRE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('HGETALL', KEYS[2])
end
return false
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# Extend a lease only while the lock is still ours: a lock that lapsed and went to another
# request keeps its new owner's expiry.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


def fingerprint(page: Page | None) -> str:
    """What makes two page objects the same page: route, data and actions."""
    if page is None:
        body: dict[str, Any] = {"route": None, "data": None, "actions": None}
    else:
        body = {"route": page.route, "data": page.data, "actions": list(page.actions)}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def parse_version(raw: str | None) -> int | None:
    """The version a form carried, or None (a template without it, or junk)."""
    if not raw or len(raw) > 12 or not raw.isdigit():
        return None
    return int(raw)


@dataclass(frozen=True)
class Pending:
    """A step sent (or being sent) from the page with fingerprint ``fp``, outcome unknown
    (``fp`` is empty for a note that could not be read: it counts as one from this page)."""

    fp: str


@dataclass(frozen=True)
class State:
    version: int
    fp: str
    route: str
    pending: Pending | None


class Ledger:
    """The step ledger of one flow (one connect token)."""

    def __init__(
        self,
        client: redis.Redis,
        connect_token: str,
        *,
        lock_cap: float = 45.0,
        lock_wait: float = 11.0,
        lease: float = LEASE,
    ) -> None:
        digest = tokens.digest(connect_token)
        self.client = client
        self.key = LEDGER_PREFIX + digest
        self.lock_key = LOCK_PREFIX + digest
        #: The longest a lock is held, renewed or not (seconds from winning it).
        self.lock_cap = lock_cap
        #: How long a post waits for a lock another request holds.
        self.lock_wait = lock_wait
        #: How long a lock outlives its owner's last renewal.
        self.lease = lease
        # redis-py runs each by its SHA and loads it on a NOSCRIPT answer (a flushed cache).
        self.observe_script = client.register_script(_OBSERVE)
        self.acquire_script = client.register_script(_ACQUIRE)
        self.release_script = client.register_script(_RELEASE)
        self.renew_script = client.register_script(_RENEW)

    @classmethod
    def for_flow(cls, client: redis.Redis, connect_token: str, config: Mapping[str, Any]) -> Ledger:
        """Timeouts from the upstream's: a live owner may hold the lock through the longest
        exchange it guards (a restore with its one retry plus a step), a waiter gives up a
        little after one read, and the lease is at most half that wait, so a waiter behind a
        dead owner wins the lock with time to spare."""
        connect = float(config["FLATPEAK_CONNECT_TIMEOUT"])
        read = float(config["FLATPEAK_READ_TIMEOUT"])
        wait = read + 1.0
        return cls(
            client,
            connect_token,
            lock_cap=3 * (connect + read) + 5,
            lock_wait=wait,
            lease=min(LEASE, wait / 2),
        )

    # -- reading -----------------------------------------------------------------------------

    def state(self) -> State | None:
        return _state(self.client.hgetall(self.key))

    def version_of(self, page: Page | None, fp: str | None = None) -> int | None:
        """The current version, if ``page`` (whose fingerprint ``fp`` is, when the caller has
        it) is the page the ledger last saw (else None: a form rendered without a version is
        checked against the session's page instead)."""
        state = self.state()
        if state is None or state.fp != (fp if fp is not None else fingerprint(page)):
            return None
        return state.version

    # -- writing -----------------------------------------------------------------------------

    def observe(
        self,
        page: Page,
        *,
        stepped: bool = False,
        release: StepLock | None = None,
        at_least: int = 0,
    ) -> int:
        """Record a page object Connect answered; ``stepped`` after an accepted step. With
        ``release``, that lock is given up in the same round trip; ``at_least`` is the lowest
        version the page may get (a form's, when the ledger was behind it)."""
        keys = [self.key]
        args: list[Any] = [
            fingerprint(page),
            page.route,
            "1" if stepped else "0",
            LEDGER_TTL,
            at_least,
        ]
        if release is not None and release.held:
            keys.append(release.key)
            args.append(release.token)
        version = int(self.observe_script(keys=keys, args=args))
        if release is not None:
            release.forget()  # only now: had the script failed, the caller still releases
        return version

    def begin(self, page: Page) -> None:
        """Write-ahead: a step from ``page`` is about to be sent."""
        self._set_pending(page)

    def unknown(self, page: Page) -> None:
        """The step from ``page`` failed in a way that may have reached Connect: the note stays
        (rewritten, so it outlives the ledger's TTL like any other write)."""
        self._set_pending(page)

    def settle(self) -> None:
        """Connect's answer is known (and did not move the flow): nothing is pending."""
        self.client.hdel(self.key, "pending")

    def _set_pending(self, page: Page) -> None:
        pipe = self.client.pipeline()
        pipe.hset(self.key, "pending", json.dumps({"fp": fingerprint(page)}))
        pipe.expire(self.key, LEDGER_TTL)
        pipe.execute()

    # -- the lock ----------------------------------------------------------------------------

    def lock(self, version: int) -> StepLock:
        """The lock for sending from page ``version`` of this flow.

        One lock per page rather than per flow: every request that could conflict (the same
        page posted twice, two tabs on one page) waits for the same one, while a lock orphaned
        by a request that died with Redis (the lock persisted, its owner never released it)
        stops blocking as soon as the flow is seen on a later page.
        """
        return StepLock(self, f"{self.lock_key}:{version}")


class StepLock:
    """``SET NX PX`` with a random owner token; won together with a read of the ledger, then
    kept alive by this process's :class:`_Renewer` until released or capped."""

    def __init__(self, ledger: Ledger, key: str) -> None:
        self.ledger = ledger
        self.key = key
        self.token = secrets.token_hex(16)
        self.held = False
        #: The ledger as it was when the lock was won (None: no record).
        self.state: State | None = None
        #: When renewal stops for good (monotonic); set when the lock is won.
        self.cap_at = 0.0
        #: When the renewer next extends the lease (monotonic).
        self.renew_at = 0.0

    def acquire(self, blocking: bool = True) -> bool:
        """Wait (up to the ledger's ``lock_wait``) for the lock; False if it stayed taken."""
        ledger = self.ledger
        deadline = time.monotonic() + (ledger.lock_wait if blocking else 0.0)
        first_ms = _ms(min(ledger.lease, ledger.lock_cap))
        while True:
            won_at = time.monotonic()
            raw = ledger.acquire_script(keys=[self.key, ledger.key], args=[self.token, first_ms])
            if raw is not None:
                self.held = True
                self.state = _state(_pairs(raw))
                # Counted from before the round trip: the lease in Redis never outlasts these.
                self.cap_at = won_at + ledger.lock_cap
                self.renew_at = won_at + ledger.lease * RENEW_FRACTION
                _renewer.hold(self)
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)

    def release(self) -> None:
        """Release if still ours (owner-only, so a lock that expired under us and went to
        another request is left alone)."""
        if self.held:
            self.forget()
            self.ledger.release_script(keys=[self.key], args=[self.token])

    def forget(self) -> None:
        """No longer ours to renew: released, or given up with the recorded answer. Done
        before the release itself, so a release that fails still leaves a lease that lapses."""
        self.held = False
        _renewer.drop(self)

    def renew(self, now: float) -> bool:
        """Extend the lease (never past the cap); False once there is nothing left to renew:
        capped, released, or no longer ours. Redis errors propagate to the renewer."""
        left = self.cap_at - now
        if not self.held or left <= 0:
            return False
        lease = min(self.ledger.lease, left)
        renewed = self.ledger.renew_script(keys=[self.key], args=[self.token, _ms(lease)])
        self.renew_at = now + self.ledger.lease * RENEW_FRACTION
        if not renewed:
            if self.held:  # not released meanwhile: the lease ran out under a live owner
                log.warning("a step lock lapsed before its request finished")
            return False
        return self.renew_at < self.cap_at


class _Renewer:
    """One daemon thread per process extending every lease this process's requests hold.

    A thread per lock would be simpler and cost a thread per in-flight step; one thread that
    sleeps until the earliest renewal is due costs one per worker. It starts with the first
    lock a process wins, never at import: gunicorn forks its workers from a master that may
    have imported this module, and a thread does not survive ``fork``. A child starts with no
    locks and no thread (``os.register_at_fork``), and the process id is checked as well, so a
    child forked some other way still starts its own thread.
    """

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._held: set[StepLock] = set()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        # The Redis clients (by id) whose last renewal failed: one warning per outage of each,
        # not one per lock every third of a lease.
        self._failing: set[int] = set()

    def hold(self, lock: StepLock) -> None:
        with self._cond:
            self._held.add(lock)
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()
                self._thread = threading.Thread(
                    target=self._run, name="step-lock-renewer", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def drop(self, lock: StepLock) -> None:
        with self._cond:
            self._held.discard(lock)

    def held(self) -> int:
        with self._cond:
            return len(self._held)

    def _run(self) -> None:
        while True:
            with self._cond:
                now = time.monotonic()
                due = [lock for lock in self._held if lock.renew_at <= now]
                if not due:
                    soonest = min((lock.renew_at for lock in self._held), default=None)
                    self._cond.wait(None if soonest is None else soonest - now)
                    continue
            # Redis round trips outside the mutex: a request winning or releasing a lock never
            # waits for a renewal. The clock is read again for each: one that hung must not
            # make the next overshoot its cap.
            for lock in due:
                if not self._renew(lock, time.monotonic()):
                    self.drop(lock)

    def _renew(self, lock: StepLock, now: float) -> bool:
        """One lease; True to keep renewing it. Nothing here may end the thread."""
        client = id(lock.ledger.client)
        try:
            keep = lock.renew(now)
        except Exception as exc:  # a RedisError, or anything else: the thread must live on
            lock.renew_at = now + lock.ledger.lease * RENEW_FRACTION
            if client not in self._failing:
                self._failing.add(client)
                # The exception's type only: its text may name the key.
                log.warning("could not renew a step lock (%s); retrying", type(exc).__name__)
            return True
        self._failing.discard(client)
        return keep


_renewer = _Renewer()
os.register_at_fork(after_in_child=_renewer._reset)


def _ms(seconds: float) -> int:
    """PX and PEXPIRE take whole milliseconds, at least one."""
    return max(1, int(seconds * 1000))


def _pairs(flat: list[Any]) -> dict[Any, Any]:
    """HGETALL's reply as Lua returns it (a flat list) as the dict redis-py would give."""
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _state(raw: Mapping[Any, Any]) -> State | None:
    if not raw:
        return None
    values = {_text(k): _text(v) for k, v in raw.items()}
    try:
        version = int(values.get("version") or 0)
    except ValueError:
        return None
    return State(
        version=version,
        fp=values.get("fp", ""),
        route=values.get("route", ""),
        pending=_pending(values.get("pending")),
    )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _pending(raw: str | None) -> Pending | None:
    if not raw:
        return None
    try:
        return Pending(fp=str(json.loads(raw)["fp"]))
    except (ValueError, KeyError, TypeError):
        # An unreadable note is treated as ambiguous: resolve with session_restore.
        return Pending(fp="")


# -- deciding a step ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Proceed:
    """Send the customer's step from ``page``."""

    page: Page
    #: The page's version; None when the ledger had no record: the caller records ``page``.
    version: int | None
    #: A pending note from this page turned out not to have landed: the caller clears it.
    settle: bool = False


@dataclass(frozen=True)
class Current:
    """Send nothing; show Connect's current ``page``. ``landed``: an earlier send from the
    posted page reached Connect, so this page is that step's answer."""

    page: Page
    landed: bool = False


@dataclass(frozen=True)
class Refused:
    """Connect refused even to say where the flow is (expired, completed, unknown token)."""

    error: ConnectError


Decision = Proceed | Current | Refused


def lost_writes_behind(state: State | None, posted_version: int) -> bool:
    """The ledger is behind the form by as much as lost writes could leave it (see
    ``MAX_VERSIONS_LOST``)."""
    return state is not None and state.version < posted_version <= (
        state.version + MAX_VERSIONS_LOST
    )


def credible_floor(state: State | None, posted_version: int) -> int:
    """The version the ledger may be moved up to for a form that names ``posted_version``:
    that one when it is credible (no record, or lost writes behind it), else none."""
    if state is None or posted_version <= state.version + MAX_VERSIONS_LOST:
        return min(posted_version, VERSION_CEILING)
    return 0


def decide(
    state: State | None,
    *,
    posted_version: int,
    posted_route: str,
    cached: Page,
    ask: Callable[[], Page | ConnectError],
    posted_fp: str = "",
) -> Decision:
    """Whether a posted step form may be sent, from what the step lock found.

    ``state`` is the ledger as the lock for page ``posted_version`` found it; ``posted_version``,
    ``posted_route`` and ``posted_fp`` (the fingerprint of the page the form was rendered from;
    empty from an older form) are what the form carried, ``cached`` is the page the session last
    showed, and ``ask`` asks Connect for the flow's current page (``session_restore``), called
    only when the answer depends on it. A failure to ask
    (:class:`~webapp.upstream_errors.FlatPeakError`) propagates: nothing was decided.
    """
    asked: Page | None = None

    def current(answer: Page | ConnectError, landed: bool = False) -> Current | Refused:
        return Refused(answer) if isinstance(answer, ConnectError) else Current(answer, landed)

    if state is None or lost_writes_behind(state, posted_version):
        # No record (Redis lost it, or it expired), or a record older than the form: the
        # form's version was handed out by a write Redis has since lost (a primary that died
        # before its replica had it, an append-only file short of its last second), and the
        # session may have lost the page with it. Connect says where the flow is, and the form
        # counts only if it is for exactly that page; the caller records it at the form's
        # version, so numbers already handed out are not handed out again.
        answer = ask()
        if isinstance(answer, ConnectError):
            return Refused(answer)
        if answer.route != posted_route or fingerprint(answer) != (
            posted_fp or fingerprint(cached)
        ):
            return Current(answer)
        return Proceed(answer, None)
    if state.version != posted_version or state.route != posted_route:
        # A form for a page the flow has left, or the flow moved on while this request waited
        # for the lock.
        return current(ask())
    page = cached
    if fingerprint(cached) != state.fp:
        # Another request of this session recorded the page first; use Connect's copy.
        answer = ask()
        if isinstance(answer, ConnectError) or fingerprint(answer) != state.fp:
            return current(answer)
        page = asked = answer
    if state.pending is not None and state.pending.fp in (state.fp, ""):
        # The last send from this page may have landed: Connect decides, nothing is resent.
        answer = asked if asked is not None else ask()
        if isinstance(answer, ConnectError):
            return Refused(answer)
        if fingerprint(answer) != state.fp:
            return Current(answer, landed=True)
        return Proceed(answer, state.version, settle=True)
    return Proceed(page, state.version)
