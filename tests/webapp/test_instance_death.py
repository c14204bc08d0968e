"""An app instance killed mid-step does not strand its customers on the others.

Production runs several app instances behind a load balancer, sharing one Redis. Here two of
them (``AppServer`` under gunicorn, on the session's Redis and sandbox) play that part, and the
customer's browser plays the load balancer: its requests go to whichever instance is "up",
with the same cookie jar, so the session, the CSRF token and the page version travel along.

Instance A is SIGKILLed while a step it is sending waits on a slow Connect: its step lock is
left in Redis with nobody to release it. The customer's retry of the same form, on instance B,
must be resolved (the step had landed: the next page, nothing sent twice) after at most a lease
of waiting, not answered "still being sent", and the flow must finish from there.

The read timeout is 5 s here (the lock wait 6 s, the lease 3 s), so the test takes seconds; with
the old fixed lock (3 x (connect + read) + 5 s, about 29 s here) B's wait ran out first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, suppress
from pathlib import Path
from typing import Any

import pytest
import redis
import requests

from devstack.stack import SANDBOX_DB, AppServer, Gunicorn, RedisServer, SandboxServer
from tests.webapp.conftest import GB_ADDRESS, HttpBrowser
from webapp import results

APP_DB = 5  # a database of its own: the in-process tests flush theirs
DEMO_REF = "demo-customer-0001"
STILL_SENDING = "still being sent"
SETTINGS = {
    "APP_ENV": "development",
    "DEMO_ENABLED": "true",
    "FLATPEAK_READ_TIMEOUT": "5",
    "LOG_LEVEL": "warning",
}
# Long enough that A is surely waiting on it when killed, well inside A's 5 s read timeout.
SLOW_STEP_MS = 1500


class BalancedBrowser(HttpBrowser):
    """A customer behind a load balancer: every request of this browser, whichever instance a
    page or redirect named, goes to the instance ``serve`` last chose."""

    def __init__(self, instances: list[AppServer]) -> None:
        super().__init__(instances[0].url)
        self.instances = instances

    def serve(self, instance: AppServer) -> None:
        self.base_url = instance.url
        self.http.base_url = instance.url

    def _is_app(self, url: str) -> bool:
        return url.startswith("/") or any(url.startswith(i.url + "/") for i in self.instances)

    def _app_response(self, method: str, url: str, **kwargs: Any) -> Any:
        for instance in self.instances:
            if url.startswith(instance.url):
                url = url[len(instance.url) :] or "/"
        return super()._app_response(method, url, **kwargs)


@pytest.fixture
def instances(
    redis_server: RedisServer, sandbox: SandboxServer, tmp_path: Path
) -> Iterator[list[AppServer]]:
    redis_server.client(APP_DB).flushdb()
    with ExitStack() as started:
        servers = [
            started.enter_context(
                AppServer(
                    tmp_path / name,
                    redis_server.url(APP_DB),
                    sandbox,
                    settings=SETTINGS,
                    gunicorn=Gunicorn(workers=1, threads=4),
                )
            )
            for name in ("a", "b")
        ]
        yield servers


@pytest.fixture
def slow_connect(sandbox: SandboxServer) -> Iterator[Any]:
    """``slow_connect(on)``: every Connect request waits SLOW_STEP_MS, or not; off afterwards."""
    url = f"{sandbox.url}/_sandbox/faults"

    def switch(on: bool) -> None:
        if on:
            requests.put(url, json={"latency_ms": SLOW_STEP_MS}, timeout=10).raise_for_status()
        else:
            requests.delete(url, timeout=10).raise_for_status()

    yield switch
    requests.delete(url, timeout=10)


def journals(sandbox_redis: redis.Redis) -> set[str]:
    return set(sandbox_redis.scan_iter("sandbox:journal:*"))


def journal(sandbox: SandboxServer, token: str) -> list[dict[str, Any]]:
    response = requests.get(f"{sandbox.url}/_sandbox/tokens/{token}/journal", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["requests"]


def applied(sandbox: SandboxServer, token: str, route: str) -> int:
    return sum(
        1
        for entry in journal(sandbox, token)
        if entry["route"] == route and entry["outcome"] == "applied"
    )


def wait_for(condition: Any, what: str, timeout: float = 15.0) -> None:
    """Poll until ``condition()``; the deadline only keeps a broken test from hanging."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.05)


def provider_choice(browser: HttpBrowser, name: str = "Northwind Energy") -> dict[str, str]:
    """The form post a press on the provider's button sends (version and CSRF token too)."""
    assert browser.page is not None
    value = browser.button_value("provider_id", name)
    form = browser.page.form_with(button=("provider_id", value))
    return {**dict(form.fields), "provider_id": value}


def test_a_customer_of_an_instance_killed_mid_step_carries_on_elsewhere(
    instances: list[AppServer],
    redis_server: RedisServer,
    sandbox: SandboxServer,
    slow_connect: Any,
) -> None:
    a, b = instances
    app_redis = redis_server.client(APP_DB)
    sandbox_redis = redis_server.client(SANDBOX_DB)
    browser = BalancedBrowser([a, b])

    # On A: a demo flow to the provider page.
    before = journals(sandbox_redis)
    browser.get("/")
    page = browser.submit(button=("mode", "connect"))
    assert page.route == "postal_address_capture", page.text()[:300]
    page = browser.submit(GB_ADDRESS)
    assert page.route == "provider_select", page.text()[:300]
    (journal_key,) = journals(sandbox_redis) - before
    token = journal_key.removeprefix("sandbox:journal:")
    form = provider_choice(browser)
    assert form.get("version") and form.get("csrf_token"), sorted(form)

    # A sends the provider choice to a slow Connect and is killed while it waits.
    slow_connect(True)
    in_flight = threading.Thread(
        target=lambda: _post_ignoring_death(browser, a, form), name="post-to-a", daemon=True
    )
    in_flight.start()

    def sending() -> bool:
        ledgers = list(app_redis.scan_iter("connect:steps:*"))
        return bool(ledgers) and app_redis.hexists(ledgers[0], "pending")

    wait_for(sending, "A writes its pending note and sends the step")
    time.sleep(SLOW_STEP_MS / 3000)  # the request is out, the sandbox sleeping on it
    locks = list(app_redis.scan_iter("connect:steplock:*"))
    assert len(locks) == 1
    a.kill()  # SIGKILL, master and worker: nothing is released
    in_flight.join(timeout=20)
    # Connect got the step before A died and applies it (the sandbox finishes what it began).
    # Had A died before its request left (a very slow machine), nothing lands: B then finds
    # Connect still on this page and sends the step itself, once, which the end asserts too.
    landed = False
    deadline = time.monotonic() + SLOW_STEP_MS / 1000 + 5
    while not landed and time.monotonic() < deadline:
        landed = applied(sandbox, token, "provider_select") == 1
        time.sleep(0.05)
    slow_connect(False)
    if landed:  # always, in practice; within the lease A last renewed
        assert app_redis.exists(locks[0]) == 1, "A's lock is left behind"

    # The customer presses the button again; the load balancer sends it to B.
    browser.serve(b)
    started = time.monotonic()
    page = browser.open("/connect/flow", "POST", data=form)
    waited = time.monotonic() - started
    assert STILL_SENDING not in page.html, f"stranded behind a dead instance for {waited:.1f} s"
    assert page.status == 200 and page.route == "tariff_select", page.text()[:300]
    assert applied(sandbox, token, "provider_select") == 1, "the choice was sent twice"
    assert [e["route"] for e in journal(sandbox, token)].count("provider_select") == 1

    # And the flow finishes on B, to the partner's page with the ids stored.
    page = browser.tariff("Northwind Fixed 12M")
    assert page.route == "contract_term_capture", page.text()[:300]
    page = browser.submit({"term": "none"})
    assert page.route == "summary_fixed_confirm", page.text()[:300]
    page = browser.action("SAVE")
    assert page.status == 200 and "connect=connected" in page.url, page.url
    stored = results.get(app_redis, DEMO_REF)
    assert stored is not None and stored.customer_id and stored.customer_id in page.html


def _post_ignoring_death(browser: HttpBrowser, instance: AppServer, form: dict[str, str]) -> None:
    """The post A never answers: its connection is cut when A is killed."""
    with suppress(requests.RequestException):
        browser.http.http.post(
            f"{instance.url}/connect/flow", data=form, allow_redirects=False, timeout=20
        )
