"""Failures under load, through nginx: the Redis primary killed mid-flow (the Sentinels promote
the replica), then an app instance killed mid-flow, while customers keep going.

Customers are the partner's: each flow starts from a connect token the partner's backend
created (``/connect?fp_cot=``) with a reference of its own, and walks the library path with
htmx, as a browser does. A customer who meets an outage does what htmx leaves them able to do:
htmx swaps no 5xx, so the page stays as it was with what they typed, and they press again a
moment later (a GET is simply reloaded). What must hold:

* every flow completes, with no 500 and no page other than the next step or an outage answer
  (the app's 503 while the failover lasts, nginx's 502 for a request that died with its
  instance after nginx could no longer retry it, or an answer cut off mid-body when its
  instance died while sending it: nginx had passed the headers on and can only close the
  connection, and htmx treats that as a network error, ``htmx:sendError``, which leaves the
  page as typed and app.js says so in the form);
* no stored result is lost: every completed flow's ids are on the promoted primary, and on the
  old primary once it is back as a replica (results ``WAIT`` for the replicas in sync,
  ``REDIS_RESULT_REPLICAS=1``; docs/redis.md, "Durability").

The killed Redis node is started again a few seconds later, as ``Restart=always`` would, and
rejoins as a replica; the killed app instance stays dead.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from devstack.sentinel import RedisHA
from devstack.stack import APP_DB, Gunicorn, RedisServer
from devstack.topology import Topology
from tests.e2e.upstream import create_connect_token
from tests.webapp.conftest import GB_ADDRESS, HttpBrowser, Page
from webapp import results

pytestmark = pytest.mark.topology

CUSTOMERS = 12
FLOWS_EACH = 5
OUTAGE = (502, 503, 504)
# A customer presses again after this long, and gives up (the test fails) after that many.
PRESS_AGAIN_AFTER = 0.5
PATIENCE = 60


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    """Its own topology (the session's is left intact for the other tests): two instances
    behind nginx, Redis as a primary, a replica and three Sentinels."""
    many = "10000/minute"  # every customer reaches the app as nginx's one address
    with Topology(
        tmp_path_factory.mktemp("failover-load"),
        instances=2,
        redis_ha=True,
        app_gunicorn=Gunicorn(workers=2, threads=8),
        app_settings={
            "RATELIMIT_STARTS_PER_IP": many,
            "RATELIMIT_STEPS_PER_IP": many,
            "RATELIMIT_VIEWS_PER_IP": many,
            "RATELIMIT_POLLS_PER_IP": many,
        },
    ) as live:
        yield live


class Customer:
    """One person, one browser, flows one after another."""

    def __init__(self, topology: Topology, number: int) -> None:
        self.topology = topology
        self.number = number
        self.outages: Counter[int | str] = Counter()
        self.completed: list[str] = []  # references whose flow ended "connected"

    def press(self, browser: HttpBrowser, act: Callable[[], Page], expect: str) -> Page:
        kept = browser.page
        for _ in range(PATIENCE):
            try:
                page = act()
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
                self.outages["cut off"] += 1
                browser.page = kept
                time.sleep(PRESS_AGAIN_AFTER)
                continue
            if page.status in OUTAGE:
                self.outages[page.status] += 1
                browser.page = kept  # htmx swapped nothing: the same page, as typed
                time.sleep(PRESS_AGAIN_AFTER)
                continue
            assert page.status == 200, (page.status, page.url, page.text()[:300])
            if expect == "done":
                assert 'data-outcome="connected"' in page.html, page.text()[:300]
            else:
                assert page.route == expect, (expect, page.route, page.text()[:300])
            return page
        raise AssertionError(f"customer {self.number} still meets outages at {expect}")

    def flow(self, reference: str) -> None:
        token = create_connect_token(
            self.topology.sandbox,
            self.topology.url,
            customer_reference_id=reference,
            direction="IMPORT",
            type="COMMODITY",
        )
        browser = HttpBrowser(self.topology.url, htmx=True)
        entry = f"/connect?fp_cot={token}"
        self.press(browser, lambda: browser.get(entry), "postal_address_capture")
        self.press(browser, lambda: browser.submit(GB_ADDRESS), "provider_select")
        self.press(browser, lambda: browser.provider("Northwind Energy"), "tariff_select")
        self.press(browser, lambda: browser.tariff("Northwind Fixed 12M"), "contract_term_capture")
        self.press(browser, lambda: browser.submit({"term": "none"}), "summary_fixed_confirm")
        self.press(browser, lambda: browser.action("SAVE"), "done")
        self.completed.append(reference)

    def run(self) -> None:
        for flow in range(FLOWS_EACH):
            self.flow(f"load-{self.number:02d}-{flow}")


def wait_for(done: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def stored(server: RedisServer, reference: str) -> results.Result | None:
    with server.client(APP_DB) as client:
        return results.get(client, reference)


def test_customers_carry_on_through_a_redis_failover_and_a_dead_instance(
    topology: Topology,
) -> None:
    ha = topology.redis
    assert isinstance(ha, RedisHA)
    customers = [Customer(topology, number) for number in range(CUSTOMERS)]
    total = CUSTOMERS * FLOWS_EACH

    def finished() -> int:
        return sum(len(customer.completed) for customer in customers)

    events: list[str] = []
    with ThreadPoolExecutor(max_workers=CUSTOMERS + 1) as pool:
        running = [pool.submit(customer.run) for customer in customers]
        try:
            wait_for(lambda: finished() >= total // 6, "the first flows")
            started = time.monotonic()
            old = ha.kill_primary()
            events.append(f"redis primary {old.port} killed with {finished()} of {total} done")
            new = ha.wait_for_failover(timeout=30)
            events.append(f"replica {new.port} promoted in {time.monotonic() - started:.1f} s")

            def restart_old() -> None:
                time.sleep(3)  # Restart=always brings the node back; it rejoins as a replica
                ha.rejoin(old)
                back = time.monotonic() - started
                events.append(f"old primary back as a replica {back:.1f} s after the kill")

            rejoining = pool.submit(restart_old)
            wait_for(lambda: finished() >= total // 3, "a third of the flows")
            assert finished() < total
            topology.apps[0].kill()
            events.append(f"app instance {topology.apps[0].port} killed with {finished()} done")
            rejoining.result(timeout=60)
        finally:
            errors = [future.exception(timeout=300) for future in running]
    print("\n" + "\n".join(events))
    outages = sum((customer.outages for customer in customers), Counter())
    print(f"{finished()} of {total} flows completed; outage answers pressed through: {outages}")
    assert errors == [None] * CUSTOMERS, next(error for error in errors if error)
    assert finished() == total

    # Nothing stored is lost: on the primary the Sentinels name, and on its replica.
    primary = ha.primary()
    (replica,) = (server for server in ha.servers if server is not primary)
    references = [ref for customer in customers for ref in customer.completed]
    for reference in references:
        result = stored(primary, reference)
        assert result is not None, reference
        assert result.customer_id and result.customer_id.startswith("cus_"), result
        assert result.location_id and result.location_id.startswith("loc_"), result
    wait_for(lambda: all(stored(replica, ref) for ref in references), "the replica's copies", 15)
