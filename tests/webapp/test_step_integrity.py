"""At most one choice reaches Connect per page, whatever the network and the browser do.

Each test drives the app against the real sandbox and then reads the sandbox's request journal
(``GET /_sandbox/tokens/<cot>/journal``): what Connect actually received is the evidence, not
what the app says it did. Faults are switched on through the sandbox's runtime hook just for the
step under test. The concurrency tests run the app behind a real threaded HTTP server, so the
racing requests really overlap, each with its own connection and the shared session cookie.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from devstack.stack import RedisServer, SandboxServer
from tests.webapp.conftest import (
    APP_DB,
    GB_ADDRESS,
    Browser,
    Form,
    Page,
    app_config,
)
from webapp import create_app, results, steps

MOVED_ON = "nothing was sent"
TYPED = {**GB_ADDRESS, "address_line1": "1 Test Street, Flat 2"}


# -- the sandbox's side ----------------------------------------------------------------------


def journal(sandbox: SandboxServer, token: str) -> list[dict[str, Any]]:
    response = requests.get(f"{sandbox.url}/_sandbox/tokens/{token}/journal", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["requests"]


def sent(sandbox: SandboxServer, token: str, route: str) -> list[dict[str, Any]]:
    """The posts for ``route`` Connect received, applied or refused."""
    return [entry for entry in journal(sandbox, token) if entry["route"] == route]


def wait_until_applied(sandbox: SandboxServer, token: str, route: str) -> None:
    """Poll until the sandbox has applied a post it was still sleeping on (no timing asserted:
    the deadline only stops a broken test from hanging)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if any(entry["outcome"] == "applied" for entry in sent(sandbox, token, route)):
            return
        time.sleep(0.1)
    raise AssertionError(f"the sandbox never applied {route}")


@pytest.fixture
def faults(sandbox: SandboxServer) -> Iterator[Callable[..., None]]:
    """``faults(latency_ms=…, error_rate=…)`` switches the shared sandbox's faults; ``faults()``
    switches them off. Always off again after the test."""
    url = f"{sandbox.url}/_sandbox/faults"

    def switch(**values: float) -> None:
        if values:
            requests.put(url, json=values, timeout=10).raise_for_status()
        else:
            requests.delete(url, timeout=10).raise_for_status()

    yield switch
    requests.delete(url, timeout=10)


# -- the app's side --------------------------------------------------------------------------


@pytest.fixture
def quick_app(redis_server: RedisServer, sandbox: SandboxServer) -> Flask:
    """The app with a short read timeout, so a slow sandbox is "slow past our read timeout"."""
    redis_server.client(APP_DB).flushdb()
    return create_app(app_config(redis_server, sandbox, FLATPEAK_READ_TIMEOUT=0.5))


def token_of(client: FlaskClient) -> str:
    with client.session_transaction() as session:
        return str(session["token"])


def started(client: FlaskClient, *, htmx: bool = False) -> Browser:
    browser = Browser(client)
    browser.get("/")
    page = browser.submit(button=("mode", "connect"))
    assert page.route == "postal_address_capture"
    browser.htmx = htmx
    return browser


def assert_friendly_failure(page: Page) -> None:
    assert page.status in (503, 504)
    assert page.route == "postal_address_capture"
    form = page.form_with(names=("address_line1",))
    for name, value in TYPED.items():
        assert form.value(name) == value
    assert "Your answers are still here" in page.html
    assert "Traceback" not in page.html


# -- ambiguous failures ----------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True], ids=["form", "htmx"])
def test_slow_past_read_timeout_is_applied_once_and_the_retry_shows_the_next_page(
    quick_app: Flask, sandbox: SandboxServer, faults, htmx: bool
) -> None:
    client = quick_app.test_client()
    browser = started(client, htmx=htmx)
    token = token_of(client)

    faults(latency_ms=1500)
    page = browser.submit(TYPED)
    faults()
    assert page.status == 504 and "taking too long" in page.html
    assert_friendly_failure(page)

    # The sandbox slept past our timeout, then applied the step anyway.
    wait_until_applied(sandbox, token, "postal_address_capture")
    page = browser.submit(TYPED)  # the customer's retry, from the same page
    assert page.status == 200
    assert page.route == "provider_select"
    # session_restore showed the choice had landed: it was not sent again.
    assert len(sent(sandbox, token, "postal_address_capture")) == 1


@pytest.mark.parametrize("resume", ["retry", "refresh"])
def test_a_final_save_whose_answer_was_lost_still_stores_the_ids(
    quick_app: Flask, sandbox: SandboxServer, faults, resume: str
) -> None:
    """SAVE completes the Connect session after our read timeout: Connect then refuses
    session_restore as ``session_completed``, and the flow finishes from the exchange instead
    of calling the completed flow expired."""
    client = quick_app.test_client()
    browser = started(client)
    token = token_of(client)
    browser.submit(GB_ADDRESS)
    browser.provider("Northwind Energy")
    browser.tariff("Northwind Fixed 12M")
    assert browser.submit({"term": "none"}).route == "summary_fixed_confirm"
    reference = quick_app.config["DEMO_CUSTOMER_REF"]

    faults(latency_ms=1500)
    page = browser.action("SAVE")
    faults()
    assert page.status == 504 and page.route == "summary_fixed_confirm"
    wait_until_applied(sandbox, token, "summary_fixed_confirm")

    page = browser.action("SAVE") if resume == "retry" else browser.get("/connect/flow")
    assert browser.redirects[-1].startswith("/?connect=connected"), browser.redirects[-3:]
    with quick_app.app_context():
        stored = results.get(quick_app.extensions["connect_redis"], reference)
    assert stored is not None and stored.location_id and stored.location_id in page.html
    assert len(sent(sandbox, token, "summary_fixed_confirm")) == 1


@pytest.mark.parametrize(
    "fault",
    [{"error_rate": 1}, {"garbage_rate": 1}, {"drop_rate": 1}],
    ids=["5xx", "not-json", "dropped"],
)
@pytest.mark.parametrize("htmx", [False, True], ids=["form", "htmx"])
def test_failed_step_keeps_what_was_typed_and_the_retry_lands_once(
    client: FlaskClient, sandbox: SandboxServer, faults, fault: dict[str, float], htmx: bool
) -> None:
    browser = started(client, htmx=htmx)
    token = token_of(client)

    faults(**fault)
    page = browser.submit(TYPED)
    faults()
    assert page.status == 503
    assert_friendly_failure(page)

    page = browser.submit(TYPED)
    assert page.route == "provider_select"
    received = journal(sandbox, token)
    steps_sent = [entry for entry in received if entry["route"] == "postal_address_capture"]
    assert [entry["outcome"] for entry in steps_sent] == ["applied"]
    # The outcome of the failed send was unknown, so the retry asked Connect first (after the
    # first page's own session_restore).
    assert [entry["route"] for entry in received] == [
        "session_restore",
        "session_restore",
        "postal_address_capture",
    ]


def test_a_refused_connection_sent_nothing_so_the_retry_sends_without_asking(
    client: FlaskClient, redis_server: RedisServer, sandbox: SandboxServer
) -> None:
    browser = started(client)
    token = token_of(client)
    with socket_nobody_listens_on() as dead_url:
        down = create_app(app_config(redis_server, sandbox, FLATPEAK_CONNECT_URL=dead_url))
        down_client = down.test_client()
        down_client.set_cookie("fpconnect", client.get_cookie("fpconnect").value)
        failed = Browser(down_client)
        failed.page = browser.page
        page = failed.submit(TYPED)
    assert_friendly_failure(page)
    with client.application.app_context():
        state = steps.Ledger(client.application.extensions["connect_redis"], token).state()
    assert state is not None and state.pending is None

    browser.page = page
    assert browser.submit(TYPED).route == "provider_select"
    received = journal(sandbox, token)
    assert [entry["route"] for entry in received] == ["session_restore", "postal_address_capture"]


@contextmanager
def socket_nobody_listens_on() -> Iterator[str]:
    """A loopback port that refuses connections (bound, never listening) for the test's length."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_a_step_still_being_sent_elsewhere_is_not_sent_again(
    quick_app: Flask, sandbox: SandboxServer
) -> None:
    """Another request holds the flow's lock past our bounded wait (a slow upstream answer):
    this one sends nothing and keeps what was typed."""
    client = quick_app.test_client()
    browser = started(client)
    token = token_of(client)
    ledger = steps.Ledger.for_flow(quick_app.extensions["connect_redis"], token, quick_app.config)
    state = ledger.state()
    assert state is not None
    elsewhere = ledger.lock(state.version)
    assert elsewhere.acquire(blocking=False)
    try:
        page = browser.submit(TYPED)
    finally:
        elsewhere.release()
    assert page.status == 200 and page.route == "postal_address_capture"
    assert "still being sent" in page.html
    assert page.form_with(names=("address_line1",)).value("address_line1") == TYPED["address_line1"]
    assert sent(sandbox, token, "postal_address_capture") == []
    assert browser.submit(TYPED).route == "provider_select"


# -- stale forms -----------------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True], ids=["form", "htmx"])
def test_a_replayed_old_form_for_the_same_route_sends_nothing(
    client: FlaskClient, sandbox: SandboxServer, htmx: bool
) -> None:
    browser = started(client, htmx=htmx)
    token = token_of(client)
    old_page = browser.page
    old_form = old_page.form_with(names=("address_line1",))
    assert old_form.value("version"), "step forms carry the page version"
    browser.submit(GB_ADDRESS)
    page = browser.action("ADDRESS_CHANGE")  # two pages on: the address page again
    assert page.route == "postal_address_capture"

    browser.page = old_page  # Back, twice, and the old form is sent again (valid CSRF)
    page = browser.submit({**GB_ADDRESS, "city": "Londinium"}, form=old_form)
    assert page.status == 200
    assert page.route == "postal_address_capture"
    assert MOVED_ON in page.html
    assert len(sent(sandbox, token, "postal_address_capture")) == 1

    # The page it shows is current: its form goes through.
    assert browser.submit(GB_ADDRESS).route == "provider_select"
    assert len(sent(sandbox, token, "postal_address_capture")) == 2


def test_a_ledger_redis_lost_is_rebuilt_from_connect(
    client: FlaskClient, app_redis, sandbox: SandboxServer
) -> None:
    """The ledger's record is gone (Redis lost it): the form still names its page, and the step
    is checked with Connect and sent once."""
    browser = started(client)
    token = token_of(client)
    for key in app_redis.scan_iter("connect:steps:*"):
        app_redis.delete(key)
    assert browser.submit(GB_ADDRESS).route == "provider_select"
    assert len(sent(sandbox, token, "postal_address_capture")) == 1


@pytest.mark.parametrize("htmx", [False, True], ids=["form", "htmx"])
def test_a_failover_that_lost_the_last_writes_still_takes_the_next_step(
    client: FlaskClient, app_redis, sandbox: SandboxServer, htmx: bool, caplog
) -> None:
    """Replication is asynchronous, so a Redis primary that dies can take its last writes with
    it: the replica promoted has the ledger and the session as they were a step ago, while the
    customer is already looking at the next page. Their form names its version and its page,
    so it is checked with Connect and sent once, not turned away as a page the flow had left
    (which the customer could only answer by pressing again)."""
    browser = started(client, htmx=htmx)
    token = token_of(client)
    before = {key: app_redis.dump(key) for key in app_redis.scan_iter("*")}
    page = browser.submit(GB_ADDRESS)
    assert page.route == "provider_select"
    app_redis.flushdb()  # the replica as it was: without the step's writes
    for key, value in before.items():
        app_redis.restore(key, 0, value)

    providers = browser.page
    page = browser.provider("Northwind Energy")
    assert page.status == 200 and page.route == "tariff_select", page.text()[:300]
    assert MOVED_ON not in page.html
    assert len(sent(sandbox, token, "provider_select")) == 1
    assert len(sent(sandbox, token, "postal_address_capture")) == 1
    assert "the form is ahead of the step ledger" in caplog.text  # an operator hears of it

    # The same form again (a double tap, Back and resend): the ledger has caught up with the
    # version the form carried, so this one is a page the flow has left and is not sent.
    browser.page = providers
    page = browser.provider("Northwind Energy")
    assert page.route == "tariff_select" and MOVED_ON in page.html
    assert len(sent(sandbox, token, "provider_select")) == 1
    assert browser.tariff("Northwind Fixed 12M").route == "contract_term_capture"


def test_a_step_without_a_page_version_is_never_sent(
    client: FlaskClient, sandbox: SandboxServer
) -> None:
    """Every step form we render names its page version; one that does not (forged, or posted
    by a page rendered while the ledger had no record) sends nothing, and what was typed stays."""
    browser = started(client)
    token = token_of(client)
    form = browser.page.form_with(names=("address_line1",))
    form.fields = [(key, value) for key, value in form.fields if key != "version"]
    typed = {**GB_ADDRESS, "address_line1": "1 Test Street, Flat 9"}
    page = browser.submit(typed, form=form)
    assert page.route == "postal_address_capture"
    assert "Nothing was sent yet" in page.html
    assert page.form_with(names=("address_line1",)).value("address_line1") == typed["address_line1"]
    assert sent(sandbox, token, "postal_address_capture") == []
    # The page shown now carries its version: pressing again goes through, once.
    assert browser.submit(typed).route == "provider_select"
    assert len(sent(sandbox, token, "postal_address_capture")) == 1


# -- racing requests over real HTTP ----------------------------------------------------------


class Server:
    """The app behind a threaded werkzeug server on a free port."""

    def __init__(self, app: Flask) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server(app: Flask) -> Iterator[Server]:
    running = Server(app)
    yield running
    running.close()


class Tab:
    """One browser tab over HTTP: its own connection, the browser's shared cookie jar."""

    def __init__(self, server: Server, cookies: requests.cookies.RequestsCookieJar) -> None:
        self.server = server
        self.http = requests.Session()
        self.http.cookies = cookies
        self.page: Page | None = None

    def _page(self, response: requests.Response) -> Page:
        self.page = Page(response.status_code, response.url, response.text, dict(response.headers))
        return self.page

    def get(self, path: str) -> Page:
        return self._page(self.http.get(self.server.url + path, timeout=30))

    def post(self, form: Form, extra: dict[str, str], *, htmx: bool = False) -> Page:
        data: dict[str, str] = {}
        for key, value in form.fields:
            data.setdefault(key, value)
        data.update(extra)
        headers = {"HX-Request": "true"} if htmx else {}
        response = self.http.post(
            self.server.url + (form.action or "/connect/flow"),
            data=data,
            headers=headers,
            timeout=30,
        )
        if response.headers.get("HX-Redirect"):
            response = self.http.get(self.server.url + response.headers["HX-Redirect"], timeout=30)
        return self._page(response)


def http_flow_on_provider_select(server: Server) -> tuple[requests.Session, str, Page]:
    """Start a flow over HTTP and step to the provider list; the cookie jar, token and page."""
    tab = Tab(server, requests.cookies.RequestsCookieJar())
    page = tab.get("/")
    page = tab.post(page.form_with(button=("mode", "connect")), {"mode": "connect"})
    assert page.route == "postal_address_capture", page.text()[:300]
    page = tab.post(page.form_with(names=tuple(GB_ADDRESS)), GB_ADDRESS)
    assert page.route == "provider_select"
    token = server.server.app.test_client()
    token.set_cookie("fpconnect", tab.http.cookies["fpconnect"])
    return tab.http.cookies, token_of(token), page


def provider_button(page: Page, name: str) -> tuple[str, str]:
    """The provider's button on the list (the Browser helper reads only its ``page``)."""
    reader = Browser.__new__(Browser)
    reader.page = page
    return ("provider_id", reader.button_value("provider_id", name))


def race(posts: list[Callable[[], Page]]) -> list[Page]:
    """Run the posts at the same moment, each on its own thread; every page, in order."""
    barrier = threading.Barrier(len(posts))
    results: list[Page | BaseException | None] = [None] * len(posts)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = posts[index]()
        except BaseException as exc:  # surfaced below, with the others' results
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(posts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return [result for result in results if isinstance(result, Page)]


@pytest.mark.parametrize("htmx", [False, True], ids=["form", "htmx"])
def test_a_double_submit_reaches_connect_once(
    server: Server, sandbox: SandboxServer, htmx: bool
) -> None:
    cookies, token, page = http_flow_on_provider_select(server)
    button = provider_button(page, "Northwind Energy")
    form = page.form_with(button=button)
    tabs = [Tab(server, cookies) for _ in range(6)]

    pages = race([lambda tab=tab: tab.post(form, dict([button]), htmx=htmx) for tab in tabs])

    assert len(pages) == len(tabs)
    assert all(page.status == 200 for page in pages), [page.status for page in pages]
    assert all(page.route == "tariff_select" for page in pages)
    # One was sent and shows the next page; the others were held back and say so.
    assert sorted(MOVED_ON in page.html for page in pages) == [False] + [True] * (len(tabs) - 1)
    received = sent(sandbox, token, "provider_select")
    assert [entry["outcome"] for entry in received] == ["applied"]


@pytest.mark.parametrize("htmx", [False, True], ids=["form", "htmx"])
def test_two_tabs_choosing_differently_send_one_choice(
    server: Server, sandbox: SandboxServer, htmx: bool
) -> None:
    cookies, token, page = http_flow_on_provider_select(server)
    first, second = Tab(server, cookies), Tab(server, cookies)
    second.get("/connect/flow")  # the second tab shows the same page
    choices = [provider_button(page, "Northwind Energy"), provider_button(page, "Hearth & Home")]
    assert choices[0] != choices[1]

    pages = race(
        [
            lambda: first.post(page.form_with(button=choices[0]), dict([choices[0]]), htmx=htmx),
            lambda: second.post(
                second.page.form_with(button=choices[1]), dict([choices[1]]), htmx=htmx
            ),
        ]
    )

    received = sent(sandbox, token, "provider_select")
    assert [entry["outcome"] for entry in received] == ["applied"]
    now_on = received[0]["answered"]
    assert now_on in ("tariff_select", "tariff_structure_select")
    # The tab whose choice was not sent shows where the flow really is, and says why.
    assert all(page.status == 200 and page.route == now_on for page in pages)
    assert sum(MOVED_ON in page.html for page in pages) == 1
    # Afterwards both tabs resume on the same, true current page.
    assert first.get("/connect/flow").route == now_on
    assert second.get("/connect/flow").route == now_on


def test_a_form_ahead_of_the_ledger_never_sends_beside_the_ledgers_own_page(
    server: Server, sandbox: SandboxServer, faults
) -> None:
    """Two forms of one page with different versions (after a failover: one rendered before
    the lost writes, one after; here the second is forged one ahead) posted together while
    Connect is slow: the one ahead takes the lock of the page the ledger knows as well, so
    Connect receives one of them, never both."""
    cookies, token, page = http_flow_on_provider_select(server)
    button = provider_button(page, "Northwind Energy")
    form = page.form_with(button=button)
    version = int(form.value("version") or 0)
    faults(latency_ms=1500)
    genuine, ahead = Tab(server, cookies), Tab(server, cookies)

    def post_ahead() -> Page:
        return ahead.post(form, {**dict([button]), "version": str(version + 1)})

    def post_genuine() -> Page:
        time.sleep(0.3)  # the one ahead has its lock and is asking Connect
        return genuine.post(form, dict([button]))

    pages = race([post_ahead, post_genuine])
    faults()
    assert all(page.status == 200 for page in pages), [page.status for page in pages]
    assert all(page.route == "tariff_select" for page in pages), [p.route for p in pages]
    received = sent(sandbox, token, "provider_select")
    assert [entry["outcome"] for entry in received] == ["applied"], received


def test_a_version_far_ahead_of_the_ledger_is_a_stale_form_and_moves_nothing(
    client: FlaskClient, app_redis, sandbox: SandboxServer
) -> None:
    """A forged version a billion pages ahead: no failover loses that much, so it is a form
    for a page the flow has left. Nothing is sent, the ledger's version stays, and the page's
    own form still goes through (it once locked the flow: every later form was unversioned)."""
    browser = started(client)
    token = token_of(client)
    form = browser.page.form_with(names=("address_line1",))
    (key,) = app_redis.scan_iter("connect:steps:*")
    before = int(app_redis.hget(key, "version"))
    page = browser.submit({**GB_ADDRESS, "version": "999999999999", "page": "junk"}, form=form)
    assert page.route == "postal_address_capture" and MOVED_ON in page.html
    assert int(app_redis.hget(key, "version")) == before
    assert not sent(sandbox, token, "postal_address_capture")
    assert browser.submit(GB_ADDRESS).route == "provider_select"
    assert len(sent(sandbox, token, "postal_address_capture")) == 1
