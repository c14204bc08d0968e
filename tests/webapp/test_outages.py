"""Outages of the processes the app depends on, injected into the real production stack.

Redis (the app's sessions, flow handles and results) and the sandbox (FlatPeak) are stopped and
started again under a customer who is in the middle of a flow, while the app runs under gunicorn
with its production config (``devstack.stack.Stack``). The customer is a ``requests`` cookie
jar driving real forms, with and without htmx's headers.

What must hold: every request during an outage answers promptly with a page that says what
happened (503 and ``Retry-After`` for Redis, the "can't reach the tariff service" page for
FlatPeak), never a 500 or a traceback; the gunicorn workers survive (same PIDs, healthy after);
and once the process is back, the same customer carries on from the page they were on and
finishes the flow with the ids stored. Redis keeps its data across the restart because of its
append-only file: the app's own Redis here never writes an RDB snapshot (``--save ""``).
"""

from __future__ import annotations

import re
import signal
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from html import unescape
from pathlib import Path

import pytest
import requests
from flask import session

from devstack.forms import hx_headers_of
from devstack.stack import APP_DB, Gunicorn, RedisServer, SandboxServer, Stack
from tests.webapp.conftest import GB_ADDRESS, Browser, HttpBrowser, Page, app_config
from webapp import create_app, results

DEMO_REF = "demo-customer-0001"
STORE_DOWN = "Temporarily unavailable"
UPSTREAM_DOWN = "The tariff service isn't answering"
UPSTREAM_DOWN_IN_FORM = "We couldn't reach the tariff service"
# The sandbox served as FlatPeak serves: connections kept alive, which the app then pools.
FLATPEAK_LIKE = Gunicorn(workers=2, threads=4, keep_alive=30)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The app's Redis with an append-only file, the sandbox with a Redis of its own (an outage
    of ours must leave FlatPeak answering), the app as ``scripts/run`` starts it."""
    with Stack.start(
        tmp_path_factory.mktemp("outages"),
        append_only=True,
        sandbox_redis_of_its_own=True,
        # The outage tests start their customers on the demo page.
        app_settings={"APP_ENV": "development", "DEMO_ENABLED": "true"},
    ) as live:
        yield live


@pytest.fixture
def customer(stack: Stack) -> Iterator[HttpBrowser]:
    """A customer on the provider page of a fresh demo flow; afterwards, every body the app
    sent them is checked for a traceback and the workers for a restart."""
    workers = stack.app.worker_pids()
    browser = HttpBrowser(stack.app.url)
    browser.get("/")
    page = browser.submit(button=("mode", "connect"))
    assert page.route == "postal_address_capture", page.text()[:300]
    page = browser.submit(GB_ADDRESS)
    assert page.route == "provider_select", page.text()[:300]
    yield browser
    for response in browser.http.responses:
        assert "Traceback" not in response.text, response.url
        assert response.status_code != 500, response.url
    assert stack.app.worker_pids() == workers, "a gunicorn worker died or was replaced"
    for _ in range(4):  # both workers answer (gthread: connections spread across them)
        assert requests.get(f"{stack.app.url}/healthz", timeout=10).status_code == 200


# -- helpers ---------------------------------------------------------------------------------


def hx_headers(page: Page) -> dict[str, str]:
    """What htmx sends with every request: ``<body hx-headers>`` plus ``HX-Request``."""
    headers = hx_headers_of(page.html)
    assert headers, "the page has no hx-headers"
    return {**headers, "HX-Request": "true"}


def provider_choice(browser: HttpBrowser, name: str = "Northwind Energy") -> dict[str, str]:
    """The form post a press on the provider's button sends."""
    assert browser.page is not None
    value = browser.button_value("provider_id", name)
    form = browser.page.form_with(button=("provider_id", value))
    return {**dict(form.fields), "provider_id": value}


def send(browser: HttpBrowser, method: str, path: str, **kwargs) -> requests.Response:
    """One request from this customer's browser (cookie jar), not following redirects."""
    response = browser.http.http.request(
        method, browser.base_url + path, allow_redirects=False, timeout=20, **kwargs
    )
    browser.http.responses.append(response)
    return response


def assert_store_down(response: requests.Response, *, redirected: bool = False) -> None:
    assert response.status_code == 503, (response.status_code, response.text[:300])
    assert response.headers["Retry-After"].isdigit()
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Connect-Outage"] == "session-store"  # app.js words its alert
    assert STORE_DOWN in unescape(response.text)
    assert "Set-Cookie" not in response.headers  # the customer's session is left alone
    if redirected:
        # An htmx GET (nothing typed to keep): htmx follows HX-Redirect to a page that says
        # the same whole.
        assert response.headers["HX-Redirect"] == "/connect/flow"
    else:
        # A plain request gets the page itself; an htmx step stays unswapped on its page, with
        # what was typed, and app.js puts the message in the form.
        assert "HX-Redirect" not in response.headers


def finish_flow(stack: Stack, browser: HttpBrowser) -> results.Result:
    """From provider_select to the stored result, the way a no-JS customer does."""
    page = browser.provider("Northwind Energy")
    assert page.route == "tariff_select", page.text()[:300]
    return finish_from_tariffs(stack, browser)


def finish_from_tariffs(stack: Stack, browser: HttpBrowser) -> results.Result:
    page = browser.tariff("Northwind Fixed 12M")
    assert page.route == "contract_term_capture", page.text()[:300]
    page = browser.submit({"term": "none"})
    assert page.route == "summary_fixed_confirm", page.text()[:300]
    page = browser.action("SAVE")
    assert page.status == 200 and page.url.startswith("/?connect=connected"), page.url
    stored = results.get(stack.redis.client(), DEMO_REF)
    assert stored is not None and stored.complete_action == "SAVE"
    assert stored.customer_id and stored.customer_id.startswith("cus_")
    assert stored.location_id and stored.location_id.startswith("loc_")
    # The demo partner page shows what was stored.
    assert stored.customer_id in page.html and stored.location_id in page.html
    return stored


def post_while_redis_stops(
    stack: Stack, browser: HttpBrowser, form: dict[str, str]
) -> list[requests.Response]:
    """Post a step that the sandbox holds for 2.5 s, and stop Redis (SIGTERM) meanwhile."""
    faults = f"{stack.sandbox.url}/_sandbox/faults"
    requests.put(faults, json={"latency_ms": 2500}, timeout=5).raise_for_status()
    answers: list[requests.Response] = []
    try:
        posting = threading.Thread(
            target=lambda: answers.append(send(browser, "POST", "/connect/flow", data=form))
        )
        posting.start()
        time.sleep(1.0)  # the step is waiting on the sandbox's added latency
        stack.redis.kill(signal.SIGTERM)
        posting.join(timeout=20)
    finally:
        requests.delete(faults, timeout=5).raise_for_status()
    assert answers, "the step never answered"
    return answers


def wait_until_in_aof(stack: Stack, needle: bytes) -> None:
    """Until Redis has written ``needle`` to its append-only file (everysec: within ~1 s)."""
    deadline = time.monotonic() + 10
    while not any(needle in path.read_bytes() for path in stack.redis.aof_files()):
        assert time.monotonic() < deadline, "the session never reached the append-only file"
        time.sleep(0.1)


def session_id(browser: HttpBrowser) -> str:
    sid = browser.http.http.cookies.get("fpconnect")
    assert sid
    return sid


def connections_to(port: int) -> int:
    """Open TCP connections (IPv4, this host) whose far end is ``port``: the app's pooled
    keep-alive connections to the sandbox, since nothing else keeps one open to it."""
    established = "01"
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        remote_port = int(fields[2].split(":")[1], 16)
        if remote_port == port and fields[3] == established:
            count += 1
    return count


# -- Redis -----------------------------------------------------------------------------------


def test_redis_killed_mid_flow_then_back_from_its_append_only_file(
    stack: Stack, customer: HttpBrowser
) -> None:
    sid = session_id(customer)
    on_provider_page = customer.page
    assert on_provider_page is not None
    choice = provider_choice(customer)
    # The session and flow handle are in the append-only file before Redis dies: SIGKILL
    # skips the shutdown fsync, and no RDB snapshot is ever written (--save "").
    wait_until_in_aof(stack, f"connect:sess:{sid}".encode())
    stack.redis.kill(signal.SIGKILL)

    assert_store_down(send(customer, "GET", "/connect/flow"))
    no_js_post = send(customer, "POST", "/connect/flow", data=choice)
    assert_store_down(no_js_post)
    # Without JavaScript the 503 page carries the post whole, to send again: nothing typed is
    # lost to a Back button that reloads the step.
    outage_page = Page(503, "/connect/flow", no_js_post.text, dict(no_js_post.headers))
    (resend,) = outage_page.forms
    assert resend.is_post and resend.action == "/connect/flow"
    assert dict(resend.fields) == choice
    # Not for a post from another site: the resend is same-origin, and would carry that site's
    # flow handle past the check that refuses one arriving from elsewhere.
    planted = send(
        customer, "POST", "/connect/flow", data=choice, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert_store_down(planted)
    assert "<form" not in planted.text
    # A body over the app's limit cannot be read to carry it: the 503 still, not a 500.
    too_large = send(customer, "POST", "/connect/flow", data={**choice, "x": "y" * 20000})
    assert_store_down(too_large)
    assert "<form" not in too_large.text
    assert_store_down(send(customer, "GET", "/"))
    htmx = hx_headers(on_provider_page)
    assert_store_down(send(customer, "POST", "/connect/flow", data=choice, headers=htmx))
    assert "data-msg-unavailable" in on_provider_page.html  # the alert app.js shows there
    assert_store_down(send(customer, "GET", "/connect/flow", headers=htmx), redirected=True)
    # The page's stylesheet still loads; the health check reports the outage.
    assert send(customer, "GET", "/static/css/app.css").status_code == 200
    health = send(customer, "GET", "/healthz")
    assert health.status_code == 503 and health.json()["redis"] == "down"
    assert health.headers["Cache-Control"] == "no-store"
    assert not (stack.redis.workdir / "dump.rdb").exists()

    stack.redis.start()  # same port, same directory: the append-only file is replayed

    # The same cookie opens the same session: the customer is where they were, and the form
    # posted before the outage (same CSRF token) still works.
    page = customer.get("/connect/flow")
    assert page.status == 200 and page.route == "provider_select", page.text()[:300]
    customer.page = outage_page  # the no-JS customer presses "Send my answers again"
    page = customer.submit(form=resend)
    assert page.route == "tariff_select", page.text()[:300]
    finish_from_tariffs(stack, customer)


def test_redis_down_in_a_frame_without_cookies(stack: Stack, customer: HttpBrowser) -> None:
    """Safari in a partner iframe sends no cookie: the flow rides on the X-Connect-Flow header.
    A whole-page load cannot carry that header, so htmx gets no HX-Redirect here (it would land
    on a page without the flow); the 503 stays unswapped, app.js says so in the form, and the
    next press after the outage carries on."""
    assert customer.page is not None
    htmx = hx_headers(customer.page)
    assert htmx.get("X-Connect-Flow")
    choice = provider_choice(customer)
    customer.http.http.cookies.clear()
    stack.redis.kill(signal.SIGKILL)
    try:
        answer = send(customer, "POST", "/connect/flow", data=choice, headers=htmx)
        assert_store_down(answer)
        assert "data-msg-unavailable" in customer.page.html  # the alert app.js shows instead
    finally:
        stack.redis.start()
    answer = send(customer, "POST", "/connect/flow", data=choice, headers=htmx)
    assert answer.status_code == 200, answer.text[:300]
    assert 'data-route="tariff_select"' in answer.text


def test_redis_hanging_answers_within_its_timeout(stack: Stack, customer: HttpBrowser) -> None:
    """SIGSTOP: connections are accepted and nothing answers. The client's 2 s socket timeout
    turns that into the same 503 (the requests' own 20 s timeout would fail the test first)."""
    assert customer.page is not None
    htmx = hx_headers(customer.page)
    choice = provider_choice(customer)
    stack.redis.pause()
    try:
        assert_store_down(send(customer, "POST", "/connect/flow", data=choice, headers=htmx))
        assert send(customer, "GET", "/healthz").status_code == 503
        # Static files never open the session, so they do not wait for the hung Redis.
        assert send(customer, "GET", "/static/css/app.css").status_code == 200
        missing = send(customer, "GET", "/static/no-such-file.css")
        assert missing.status_code == 404 and "Set-Cookie" not in missing.headers
    finally:
        stack.redis.resume()
    page = customer.open("/connect/flow", "POST", data=choice)
    assert page.route == "tariff_select", page.text()[:300]


def test_redis_dies_while_a_step_is_with_flatpeak(stack: Stack, customer: HttpBrowser) -> None:
    """The session was read, the step reached Connect, then Redis went away before the app
    could record the answer or save the session.

    Flask sends a failed session save to the 500 handler, not the RedisError one; it must still
    be the 503 page. Nothing is lost and nothing is sent twice: after the restart the flow
    resumes on the page Connect moved to, and the customer finishes from there.
    """
    choice = provider_choice(customer)
    answers = post_while_redis_stops(stack, customer, choice)
    assert_store_down(answers[0])

    stack.redis.start()
    page = customer.get("/connect/flow")
    assert page.status == 200 and page.route == "tariff_select", page.text()[:300]
    # The step lock taken before the outage outlives the restart in the append-only file, and
    # its owner died without releasing it; it must not hold up the flow once it has moved on.
    page = customer.tariff("Northwind Fixed 12M")
    assert page.route == "contract_term_capture", page.text()[:300]
    page = customer.submit({"term": "none"})
    assert page.route == "summary_fixed_confirm", page.text()[:300]
    page = customer.action("SAVE")
    assert page.url.startswith("/?connect=connected"), page.url
    stored = results.get(stack.redis.client(), DEMO_REF)
    assert stored is not None and stored.location_id in page.html


def test_redis_dies_while_the_final_save_is_with_flatpeak(
    stack: Stack, customer: HttpBrowser
) -> None:
    """The last step (SAVE) completes the Connect session, and Redis goes away before the app
    can exchange the token and store the ids. After the restart the same customer must end on
    the stored result, not on "this link has expired": the exchange still has the ids."""
    customer.provider("Northwind Energy")
    customer.tariff("Northwind Fixed 12M")
    summary = customer.submit({"term": "none"})
    assert summary.route == "summary_fixed_confirm", summary.text()[:300]
    save = {**dict(summary.form_with(button=("action", "SAVE")).fields), "action": "SAVE"}
    stack.redis.client().delete(f"connect:result:{DEMO_REF}")  # left by the other tests
    answers = post_while_redis_stops(stack, customer, save)
    assert_store_down(answers[0])

    stack.redis.start()
    page = customer.get("/connect/flow")
    assert page.state != "expired", "a completion whose answer was lost was shown as expired"
    assert page.status == 200 and page.url.startswith("/?connect=connected"), page.url
    stored = results.get(stack.redis.client(), DEMO_REF)
    assert stored is not None and stored.location_id and stored.location_id in page.html


def test_redis_gone_when_the_session_is_saved(
    stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Redis stops after the view ran and before Flask-Session saves the session (the save runs
    in ``process_response``, whose errors Flask sends to the 500 handler): still the 503 page.

    In-process, because the moment has to fall between the view and the save; the view stops
    a real redis-server of its own. ``PROPAGATE_EXCEPTIONS`` off, as under gunicorn.
    """
    own = RedisServer(tmp_path_factory.mktemp("redis-save"), append_only=True)
    own.start()
    try:
        app = create_app(
            {
                "TESTING": False,
                "PROPAGATE_EXCEPTIONS": False,
                "REDIS_URL": own.url(APP_DB),
                "FLATPEAK_API_URL": stack.sandbox.url,
                "FLATPEAK_CONNECT_URL": stack.sandbox.url,
                "PUBLIC_URL": "http://localhost",
            }
        )

        def remember_then_lose_redis() -> str:
            session["seen"] = True
            own.kill(signal.SIGKILL)
            return "saved?"

        app.add_url_rule("/_test/remember", view_func=remember_then_lose_redis)
        response = app.test_client().get("/_test/remember")
    finally:
        own.stop()
    body = response.get_data(as_text=True)
    assert response.status_code == 503, body[:300]
    assert STORE_DOWN in unescape(body) and "Traceback" not in body
    assert response.headers["Retry-After"].isdigit()
    assert "Set-Cookie" not in response.headers


# -- the sandbox (FlatPeak) ------------------------------------------------------------------


def test_sandbox_restarted_mid_flow(stack: Stack, customer: HttpBrowser) -> None:
    choice = provider_choice(customer)

    # Restarted between two requests, now serving keep-alive connections as FlatPeak does.
    stack.sandbox.kill(signal.SIGTERM)
    stack.sandbox.gunicorn = FLATPEAK_LIKE
    stack.sandbox.start()
    tariffs = customer.open("/connect/flow", "POST", data=choice)
    assert tariffs.status == 200 and tariffs.route == "tariff_select", tariffs.text()[:300]

    # The app's worker now pools a keep-alive connection to that process. Crash it and start
    # another: the next step, a POST that is never retried, must not notice. The dead
    # process's sockets closed (FIN or RST); urllib3 sees that when it takes the connection
    # from the pool, and opens a new one before sending anything.
    assert connections_to(stack.sandbox.port) > 0, "no pooled connection to the sandbox"
    stack.sandbox.kill(signal.SIGKILL)
    stack.sandbox.start()
    page = customer.tariff("Northwind Fixed 12M")
    assert page.status == 200 and page.route == "contract_term_capture", page.text()[:300]
    term_form = page.form_with(names=("term",))
    term = {**dict(term_form.fields), "term": "none"}
    htmx = hx_headers(page)

    # Down for a while: each kind of request says the tariff service is not answering.
    stack.sandbox.kill(signal.SIGKILL)
    page = customer.get("/connect/flow")
    assert page.status == 503 and UPSTREAM_DOWN in unescape(page.html), page.text()[:300]
    retry = re.search(r'<a class="button button--primary" href="([^"]+)"', page.html)
    assert retry, "no retry link on the unavailable page"
    post = send(customer, "POST", "/connect/flow", data=term)
    assert post.status_code == 503 and UPSTREAM_DOWN_IN_FORM in unescape(post.text)
    post = send(customer, "POST", "/connect/flow", data=term, headers=htmx)
    assert post.status_code == 503 and UPSTREAM_DOWN_IN_FORM in unescape(post.text)
    # htmx leaves that 503 unswapped; app.js then shows its own copy of the message in the form.
    assert "data-msg-offline" in page.html
    hx_get = send(customer, "GET", "/connect/flow", headers=htmx)
    assert hx_get.headers.get("HX-Redirect", "").startswith("/connect/flow")

    stack.sandbox.gunicorn = None  # python -m sandbox again, as the other tests expect
    stack.sandbox.start()  # same port, same Redis db: Connect's session is still there
    page = customer.get(unescape(retry.group(1)))
    assert page.status == 200 and page.route == "contract_term_capture", page.text()[:300]
    page = customer.submit({"term": "none"})
    assert page.route == "summary_fixed_confirm", page.text()[:300]
    page = customer.action("SAVE")
    assert page.url.startswith("/?connect=connected"), page.url
    stored = results.get(stack.redis.client(), DEMO_REF)
    assert stored is not None and stored.customer_id and stored.location_id
    assert stored.customer_id in page.html and stored.location_id in page.html


def test_the_stack_is_the_production_one(stack: Stack) -> None:
    """Guards the fixture itself: gunicorn with gunicorn.conf.py, two gthread workers, Redis
    writing an append-only file."""
    log = stack.app.log()
    assert "Using worker: gthread" in log
    assert len(stack.app.worker_pids()) == 2
    info = stack.redis.client().info("persistence")
    assert info["aof_enabled"] == 1
    assert Path(stack.redis.workdir).exists() and stack.redis.aof_files()


@contextmanager
def redis_whose_connect_hangs() -> Iterator[str]:
    """A port whose listen backlog is full: a new connection's SYN is dropped, so connecting
    hangs (a Redis host gone from the network, not a stopped process that refuses)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)):  # fills the backlog of one
            yield f"redis://127.0.0.1:{port}/{APP_DB}"


def test_redis_unreachable_answers_within_the_connect_timeout(
    redis_server: RedisServer, sandbox: SandboxServer
) -> None:
    """The customer's session exists, then Redis's host stops answering SYNs: every request
    that needs the session gets the 503 within the 2 s connect timeout, not a hung worker."""
    healthy = create_app(app_config(redis_server, sandbox))
    client = healthy.test_client()
    browser = Browser(client)
    browser.get("/")
    page = browser.submit(button=("mode", "connect"))
    assert page.route == "postal_address_capture"
    form = page.form_with(names=("address_line1",))
    with redis_whose_connect_hangs() as url:
        cut_off = create_app(app_config(redis_server, sandbox, REDIS_URL=url)).test_client()
        cut_off.set_cookie("fpconnect", client.get_cookie("fpconnect").value)
        for method, data in (("GET", None), ("POST", {**dict(form.fields), **GB_ADDRESS})):
            started = time.monotonic()
            response = cut_off.open("/connect/flow", method=method, data=data)
            elapsed = time.monotonic() - started
            assert response.status_code == 503, response.get_data(as_text=True)[:300]
            assert response.headers["Retry-After"].isdigit()
            assert STORE_DOWN in unescape(response.get_data(as_text=True))
            assert elapsed < 5, f"{method} took {elapsed:.1f} s"
        started = time.monotonic()
        assert cut_off.get("/healthz").status_code == 503
        assert time.monotonic() - started < 5
    # The session is untouched: the healthy app carries on with the same cookie.
    assert browser.submit(GB_ADDRESS).route == "provider_select"
