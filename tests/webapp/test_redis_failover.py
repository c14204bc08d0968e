"""The production Redis topology: primary + replica + three Sentinels (``devstack.sentinel``),
the app under gunicorn pointed at them with a ``redis+sentinel://`` URL.

What must hold when the primary dies (SIGKILL, mid-flow) and the Sentinels promote the replica:
the same customer carries on without the app being restarted, and a switchover (the primary
demoted while alive) costs no request at all (a request in the failover window
waits for it, ``REDIS_FAILOVER_WAIT``); a result stored before the kill is on the new primary
(it was written with ``WAIT`` for the replica, ``REDIS_RESULT_REPLICAS=1``); with no replica
in sync, a completion is stored on the new primary alone and the old primary, back as a
replica, copies it; a replica in sync that does not acknowledge gets the 503 page, and the
retry stores it; the rate limits still bite; ``/healthz`` tells a primary
(200) from a read-only replica (503).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import pytest
import requests

from devstack.sentinel import RedisHA
from devstack.stack import AppServer, Gunicorn, RedisServer, SandboxServer
from tests.webapp.conftest import GB_ADDRESS, HttpBrowser, app_config
from webapp import create_app, redis_connection, results
from webapp.config import ConfigError
from webapp.redis_connection import PrimaryWatch

pytestmark = pytest.mark.topology

DEMO_REF = "demo-customer-0001"
POLL_LIMIT = 3
STORE_DOWN = "Temporarily unavailable"
APP_SETTINGS = {
    "APP_ENV": "development",
    "DEMO_ENABLED": "true",
    "REDIS_RESULT_REPLICAS": "1",
    # Generous for a busy CI machine; only the silent-replica test waits it out.
    "REDIS_RESULT_WAIT_MS": "2000",
    # Longer than a failover takes here (down-after 1 s, then the election), so a request
    # made the moment the primary dies is answered once the replica is promoted.
    "REDIS_FAILOVER_WAIT": "10",
    "RATELIMIT_POLLS_PER_IP": f"{POLL_LIMIT}/minute",
}


@pytest.fixture(scope="module")
def ha(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisHA]:
    with RedisHA(tmp_path_factory.mktemp("redis-ha")) as started:
        yield started


@pytest.fixture(scope="module")
def app_server(
    ha: RedisHA, sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppServer]:
    settings = APP_SETTINGS
    workdir = tmp_path_factory.mktemp("ha-app")
    with AppServer(
        workdir, ha.url(0), sandbox, settings=settings, gunicorn=Gunicorn(workers=2, threads=4)
    ) as server:
        yield server


def on_provider_page(app: AppServer) -> HttpBrowser:
    browser = HttpBrowser(app.url)
    browser.get("/")
    page = browser.submit(button=("mode", "connect"))
    assert page.route == "postal_address_capture", page.text()[:300]
    page = browser.submit(GB_ADDRESS)
    assert page.route == "provider_select", page.text()[:300]
    return browser


def to_summary(browser: HttpBrowser) -> None:
    page = browser.provider("Northwind Energy")
    assert page.route == "tariff_select", page.text()[:300]
    page = browser.tariff("Northwind Fixed 12M")
    assert page.route == "contract_term_capture", page.text()[:300]
    page = browser.submit({"term": "none"})
    assert page.route == "summary_fixed_confirm", page.text()[:300]


def stored(server: RedisServer) -> results.Result | None:
    return results.get(server.client(), DEMO_REF)


def fail_over(ha: RedisHA) -> tuple[RedisServer, RedisServer, float]:
    """Kill the primary, wait for the Sentinels to promote the replica; seconds it took."""
    started = time.monotonic()
    old = ha.kill_primary()
    new = ha.wait_for_failover(timeout=30)
    return old, new, time.monotonic() - started


def test_customer_carries_on_through_a_failover(ha: RedisHA, app_server: AppServer) -> None:
    first = ha.primary()
    assert first is ha.servers[0]

    # One customer completes before the failover: stored with WAIT, so the replica has it.
    done = on_provider_page(app_server)
    to_summary(done)
    page = done.action("SAVE")
    assert page.status == 200 and page.url.startswith("/?connect=connected"), page.url
    before = stored(first)
    assert before is not None and before.customer_id

    # Another is mid-flow when the primary is SIGKILLed.
    customer = on_provider_page(app_server)
    started = time.monotonic()
    old = ha.kill_primary()
    # The very next step waits out the failover (REDIS_FAILOVER_WAIT) instead of failing.
    page = customer.provider("Northwind Energy")
    waited = time.monotonic() - started
    assert page.route == "tariff_select", page.text()[:300]
    new = ha.wait_for_failover(timeout=30)
    assert new is not old and new is ha.servers[1]
    print(f"\nfirst step after the SIGKILL answered after {waited:.2f} s")

    # The result written before the kill is on the promoted replica.
    assert stored(new) == before

    page = customer.tariff("Northwind Fixed 12M")
    assert page.route == "contract_term_capture", page.text()[:300]
    page = customer.submit({"term": "none"})
    assert page.route == "summary_fixed_confirm", page.text()[:300]

    # No replica is in sync (the old primary is dead): none could be promoted without the
    # record, so the completion is stored on the new primary alone and the customer carries on.
    page = customer.action("SAVE")
    assert page.status == 200 and page.url.startswith("/?connect=connected"), page.url
    after = stored(new)
    assert after is not None and after.completed_at >= before.completed_at

    # The old primary comes back (as systemd would restart it) as a replica and copies it.
    ha.rejoin(old)
    deadline = time.monotonic() + 15
    while stored(old) != after and time.monotonic() < deadline:
        time.sleep(0.1)
    assert stored(old) == after
    for _ in range(4):  # every worker answers healthy, without a restart
        assert requests.get(f"{app_server.url}/healthz", timeout=10).status_code == 200


def test_rate_limits_bite_after_a_failover(ha: RedisHA, app_server: AppServer) -> None:
    old, new, took = fail_over(ha)
    print(f"\nfailover {old.port} -> {new.port} in {took:.2f} s")
    answers = []
    for _ in range(POLL_LIMIT + 4):
        response = requests.get(
            f"{app_server.url}/connect/provider-wait", timeout=20, allow_redirects=False
        )
        answers.append(response.status_code)
        if response.status_code == 429:
            break
    # Each worker's first request finds the limiter's pooled connection dead and reconnects to
    # the new primary (the failover wait), so none goes unlimited.
    print("answers after the failover:", answers)
    assert answers == [404] * POLL_LIMIT + [429], answers
    assert any(new.client().scan_iter("connect:ratelimit:*"))
    ha.rejoin(old)


def test_rate_limits_bite_during_a_failover(
    ha: RedisHA, app_server: AppServer, sandbox: SandboxServer, tmp_path: Path
) -> None:
    """The limiter waits out a failover as the app's own client does: a request made the moment
    the primary dies is counted against its limit once the replica is promoted, not let
    through unlimited (Flask-Limiter swallows the limiter's errors)."""
    limit = POLL_LIMIT + 2  # a limit of its own: its counters are not the other tests'
    settings = {**APP_SETTINGS, "RATELIMIT_POLLS_PER_IP": f"{limit}/minute"}
    with AppServer(
        tmp_path, ha.url(0), sandbox, settings=settings, gunicorn=app_server.gunicorn
    ) as app:
        poll = f"{app.url}/connect/provider-wait"
        before = [requests.get(poll, timeout=20).status_code for _ in range(limit)]
        assert before == [404] * limit, before
        # The counters are on the replica before the kill (replication is asynchronous).
        assert ha.primary().client().execute_command("WAIT", 1, 5000) == 1
        started = time.monotonic()
        old = ha.kill_primary()
        during = []
        for _ in range(2 * app.gunicorn.workers):  # every worker's pooled connection broken
            response = requests.get(poll, timeout=30)
            during.append((response.status_code, round(time.monotonic() - started, 1)))
        print(f"\nanswers during the failover (status, seconds after the kill): {during}")
        assert [status for status, _ in during] == [429] * len(during), during
        assert during[0][1] >= 1.0, "the first one waited for the promotion"
    ha.wait_for_failover(timeout=30)
    ha.rejoin(old)


def test_a_switchover_is_followed_without_a_503(ha: RedisHA, app_server: AppServer) -> None:
    """``SENTINEL FAILOVER``: the old primary stays alive (and writable, until it is made a
    replica). Within a second the app asks the Sentinels again (``PrimaryWatch``) and writes
    to the new primary; a pooled connection that still meets the old one once it is a replica
    gets READONLY, which redis-py's Sentinel pool turns into a reconnect to the new primary."""
    customer = on_provider_page(app_server)
    direct = redis_connection.connect(ha.url(0), timeout=2, budget=3)
    direct.set("test:switchover", "before")  # a pooled connection to the old primary
    old = ha.primary()
    started = time.monotonic()
    new = ha.switchover(timeout=30)
    print(f"\nswitchover {old.port} -> {new.port} in {time.monotonic() - started:.2f} s")
    time.sleep(PrimaryWatch(direct).interval + 0.2)  # every worker's watch has asked again

    page = customer.provider("Northwind Energy")
    assert page.route == "tariff_select", page.text()[:300]
    sid = customer.http.http.cookies["fpconnect"]
    assert "tariff_select" in (new.client().get(f"connect:sess:{sid}") or "")

    ha.rejoin(old)  # REPLICAOF at once: nothing closes the connections to it
    assert old.role() == "slave"
    direct.set("test:switchover", "after")  # READONLY, reconnect, the new primary
    assert new.client().get("test:switchover") == "after"
    page = customer.tariff("Northwind Fixed 12M")
    assert page.route == "contract_term_capture", page.text()[:300]
    for response in customer.http.responses:
        assert response.status_code < 500, (response.url, response.status_code)
    for _ in range(4):
        assert requests.get(f"{app_server.url}/healthz", timeout=10).status_code == 200


def test_healthz_tells_a_primary_from_a_replica(
    ha: RedisHA, redis_server: RedisServer, sandbox: SandboxServer
) -> None:
    primary = ha.primary()
    (replica,) = (server for server in ha.servers if server is not primary)
    assert replica.replica_in_sync()
    for server, status, reason in ((primary, 200, None), (replica, 503, "read-only")):
        app = create_app(app_config(redis_server, sandbox, REDIS_URL=server.url(0)))
        response = app.test_client().get("/healthz")
        assert response.status_code == status, response.json
        assert (response.json or {}).get("redis") == reason
    # Through the Sentinels: whichever node is the primary.
    app = create_app(app_config(redis_server, sandbox, REDIS_URL=ha.url(0)))
    assert app.test_client().get("/healthz").status_code == 200


def test_eviction_check_through_sentinel(
    ha: RedisHA, redis_server: RedisServer, sandbox: SandboxServer, tmp_path: Path
) -> None:
    """The production start-up check reads the policy from the primary the Sentinels name."""
    primary = ha.primary()
    primary.client().config_set("maxmemory-policy", "allkeys-lru")
    production = {
        "APP_ENV": "production",
        "PUBLIC_URL": "https://connect.partner.example",
        "DEMO_ENABLED": False,
        "REDIS_URL": ha.url(0),
        "REDIS_RESULT_REPLICAS": 1,
    }
    try:
        with pytest.raises(ConfigError, match="allkeys-lru"):
            create_app(app_config(redis_server, sandbox, **production))
    finally:
        primary.client().config_set("maxmemory-policy", "noeviction")
    create_app(app_config(redis_server, sandbox, **production))


def test_a_replica_in_sync_that_does_not_acknowledge_gets_the_503_page(
    ha: RedisHA, app_server: AppServer
) -> None:
    """A replica that is linked but silent (SIGSTOP: still ``online`` to the primary) could be
    promoted without the record, so the completion is refused rather than reported connected;
    the retry, once it answers, stores the result on both."""
    primary = ha.primary()
    (replica,) = (server for server in ha.servers if server is not primary)
    assert replica.replica_in_sync()
    customer = on_provider_page(app_server)
    to_summary(customer)
    replica.pause()
    try:
        page = customer.action("SAVE")
        assert page.status == 503, (page.status, page.text()[:300])
        assert STORE_DOWN in unescape(page.html)
    finally:
        replica.resume()
    page = customer.get("/connect/flow")
    if page.url.startswith("/connect/flow"):
        assert page.route == "summary_fixed_confirm", page.text()[:300]
        page = customer.action("SAVE")
    assert page.status == 200 and page.url.startswith("/?connect=connected"), page.url
    assert stored(primary) is not None and stored(replica) == stored(primary)
