"""Slow clients: 200 connections trickle their request headers, a byte a second, while ordinary
customers go about their business.

At nginx they cost one connection slot each in an event loop and are shed after
``client_header_timeout`` (10 s); the customers' flows complete in about their usual time. At a
bare gunicorn (README's old Going live: 2 gthread workers x 8 threads, straight on the port) a
gthread thread reads a request's header to its end, so 16 trickling connections take every
thread and the rest queue behind them: the customers' requests wait for the tricklers to give up,
which they never do. Both are asserted; the numbers are printed (``pytest -s``) and recorded as
test properties (``--junitxml``).
"""

from __future__ import annotations

import socket
import statistics
import threading
import time
from collections.abc import Callable

import pytest
import requests

from devstack.topology import Topology
from tests.webapp.conftest import GB_ADDRESS, HttpBrowser

pytestmark = pytest.mark.topology

TRICKLERS = 200
# The first bytes arrive at once (so gunicorn hands the connection to a thread), then the header
# never ends: one more byte of it every second.
OPENING = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


class Tricklers:
    """``count`` connections to ``port`` sending a header one byte a second until closed."""

    def __init__(self, port: int, count: int = TRICKLERS) -> None:
        self.port = port
        self.count = count
        self.socks: list[socket.socket] = []
        self.closed: set[int] = set()  # indexes the server closed or reset
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._trickle, daemon=True)

    def __enter__(self) -> Tricklers:
        for _ in range(self.count):
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            sock.sendall(OPENING)
            sock.setblocking(False)
            self.socks.append(sock)
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        for sock in self.socks:
            sock.close()

    def _trickle(self) -> None:
        while not self.stop.wait(1.0):
            for index, sock in enumerate(self.socks):
                if index in self.closed:
                    continue
                try:
                    if sock.recv(1024) == b"":  # the server closed it (or answered and closed)
                        self.closed.add(index)
                        continue
                except BlockingIOError:
                    pass  # nothing to read: still open
                except OSError:
                    self.closed.add(index)
                    continue
                try:
                    sock.send(b"a")
                except OSError:
                    self.closed.add(index)

    def open_count(self) -> int:
        return self.count - len(self.closed)


def timed(action: Callable[[], object]) -> float:
    started = time.monotonic()
    action()
    return time.monotonic() - started


def customer_flow(base_url: str) -> Callable[[], None]:
    """One customer's whole flow through ``base_url``: the demo page, start, address, provider,
    tariff, contract term and SAVE, ending on the return page."""

    def run() -> None:
        browser = HttpBrowser(base_url)
        browser.get("/")
        assert browser.submit(button=("mode", "connect")).route == "postal_address_capture"
        assert browser.submit(GB_ADDRESS).route == "provider_select"
        browser.provider("Northwind Energy")
        browser.tariff("Northwind Fixed 12M")
        assert browser.submit({"term": "none"}).route == "summary_fixed_confirm"
        page = browser.action("SAVE")
        assert page.status == 200 and page.url.startswith("/?connect=connected"), page.url

    return run


def page_load(url: str, timeout: float) -> float | None:
    """Seconds one page load took, or None if it did not answer within ``timeout``."""
    started = time.monotonic()
    try:
        requests.get(url, timeout=timeout).raise_for_status()
    except requests.Timeout:
        return None
    return time.monotonic() - started


def test_slow_clients_at_nginx_leave_customers_their_usual_time(
    topology: Topology, record_property: Callable[[str, object], None]
) -> None:
    flow = customer_flow(topology.url)
    flow()  # warm: the instances' first requests pay for imports and pools
    baseline = statistics.median(timed(flow) for _ in range(3))
    started = time.monotonic()
    with Tricklers(topology.nginx.port) as tricklers:
        time.sleep(1.5)  # every trickler has sent a byte or two more
        held = tricklers.open_count()
        during = [timed(flow) for _ in range(3)]
        still_held = tricklers.open_count()
        # client_header_timeout (10 s) sheds every one of them, counted from its connection.
        deadline = started + 16
        while tricklers.open_count() and time.monotonic() < deadline:
            time.sleep(0.25)
        shed_after = time.monotonic() - started
        left = tricklers.open_count()
    worst = max(during)
    line = (
        f"nginx, {TRICKLERS} trickling clients: a customer's whole flow {baseline * 1000:.0f} ms "
        f"before, {', '.join(f'{d * 1000:.0f}' for d in during)} ms during; "
        f"{held} held open, all shed after {shed_after:.1f} s ({left} left)"
    )
    print("\n" + line)
    record_property("nginx_slow_clients", line)
    assert held == TRICKLERS and still_held >= TRICKLERS - 5, "the tricklers were not held open"
    assert worst <= max(3 * baseline, baseline + 1.5), line
    assert left == 0, line


def test_slow_clients_at_bare_gunicorn_take_every_thread(
    topology: Topology, record_property: Callable[[str, object], None]
) -> None:
    """The same at one app instance's own port (no nginx): the difference, recorded. Asserted
    as "degraded": the page loads do not answer within 2 s, where they took milliseconds."""
    app = topology.apps[0]
    url = f"{app.url}/healthz"
    page_load(url, 5)
    before = [page_load(url, 5) for _ in range(5)]
    assert all(seconds is not None for seconds in before)
    baseline = statistics.median(s for s in before if s is not None)
    with Tricklers(app.port) as tricklers:
        time.sleep(1.5)
        during = [page_load(url, 2.0) for _ in range(2)]
        held = tricklers.open_count()
    # Once the tricklers hang up, every thread is free again.
    recovered = None
    deadline = time.monotonic() + 15
    while recovered is None and time.monotonic() < deadline:
        recovered = page_load(url, 2.0)
    answered = [s for s in during if s is not None]
    line = (
        f"bare gunicorn (2 workers x 8 threads), {TRICKLERS} trickling clients: /healthz "
        f"{baseline * 1000:.0f} ms before; during: {len(during) - len(answered)} of {len(during)} "
        f"timed out at 2 s"
        + (f", others {[round(s * 1000) for s in answered]} ms" if answered else "")
        + f"; {held} held open; after they hung up: "
        + (f"{recovered * 1000:.0f} ms" if recovered is not None else "no answer")
    )
    print("\n" + line)
    record_property("gunicorn_slow_clients", line)
    assert len(answered) < len(during) or min(answered) > 10 * baseline, line
    assert recovered is not None, line
