"""Benchmark of the Connect web app: page weight, server time per step, throughput and memory.

Run it with ``scripts/bench`` (``--help`` lists the knobs). It starts its own ``redis-server``, the
FlatPeak sandbox (``python -m sandbox``) and the app under gunicorn with the project's
``gunicorn.conf.py``, each on a free loopback port, drives complete customer flows through plain
form posts the way a browser without JavaScript does, prints tables of numbers and stops every
process it started (also on Ctrl-C or an error).

The project keeps speed and memory targets here, as printed numbers, rather than in timed tests:
timings on two shared cores are too noisy to fail a build on, but worth watching run to run.

What one flow is: the partner's backend creates a connect token on the sandbox API (not timed as
an app request), the customer opens ``/connect?fp_cot=…``, types the address, picks "Northwind
Energy", its "Northwind Fixed 12M" tariff, "no end date" for the contract, and SAVE on the
summary. The token's ``callback_uri`` is the app's own ``/connect/callback``, so the app does the
callback's work (exchange the token, store the ids) inside the SAVE post instead of bouncing the
token through a URL; that request is reported as "callback".

It prints: (1) the bytes of a first visit (HTML and every linked asset, raw and gzip -9) against
the official React client's measured build, and htmx fragment sizes; (2) p50/p95/max per request
kind over ``--flows`` sequential flows, then again with ``--latency-ms`` added to every sandbox
request (through the sandbox's ``/_sandbox/faults`` hook, the runtime form of
``SANDBOX_FAULT_LATENCY_MS``) to separate our time from upstream's; (3) flows per second from
``--concurrency`` threads; (4) RSS of the gunicorn master and workers before and after, and what
Redis holds afterwards. gunicorn reads ``WEB_CONCURRENCY`` and ``GUNICORN_THREADS`` as usual.

Times are wall-clock at the client over loopback, so they include ~1 ms of ``requests``
overhead; "upstream" is the sandbox over HTTP, so every step includes its real round trip.
"""

from __future__ import annotations

import argparse
import gzip
import os
import queue
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from types import FrameType
from urllib.parse import urljoin, urlsplit

import redis
import requests

ROOT = Path(__file__).resolve().parent.parent

ACCOUNT_ID = "acc_000000000000000000000001"
API_KEY = "sk_test_sandbox_000000000000000000000001"
APP_DB = 0
SANDBOX_DB = 1

ADDRESS = {
    "address_line1": "1 Test Street",
    "city": "London",
    "post_code": "SW1A 1AA",
    "country_code": "GB",
}
PROVIDER = "Northwind Energy"
TARIFF = "Northwind Fixed 12M"

# The official React client's production build, measured in
# ../shared/notes/reference-client-teardown.md §1.14 (kB = 1000 bytes).
REFERENCE_FIRST_VISIT_RAW_KB = 565.0
REFERENCE_FIRST_VISIT_GZIP_KB = 235.0
REFERENCE_JS_RAW_KB = 261.0
REFERENCE_JS_GZIP_KB = 84.8

# Request kinds, in the order the tables print them.
KINDS = ("entry", "show", "step", "callback", "done")
KIND_LABELS = {
    "entry": "entry     GET  /connect?fp_cot=…",
    "show": "show page GET  /connect/flow",
    "step": "step post POST /connect/flow",
    "callback": "callback  POST /connect/flow SAVE (+exchange)",
    "done": "done      GET  /connect/done",
}

STARTUP_TIMEOUT = 30.0
REQUEST_TIMEOUT = 60.0


class BenchError(RuntimeError):
    """The stack would not start, or a flow did not reach its end."""


# -- processes ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Stack:
    """redis-server, the sandbox and gunicorn, started in that order and stopped in reverse."""

    workdir: Path
    redis_port: int = 0
    sandbox_url: str = ""
    app_url: str = ""
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        log = (self.workdir / f"{name}.log").open("wb")
        # A session of its own: Ctrl-C reaches only this script, which then stops each process
        # in order (gunicorn stops its workers itself).
        self.procs[name] = subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def _wait(self, name: str, ready: Callable[[], object]) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        proc = self.procs[name]
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise BenchError(f"{name} exited with {proc.returncode}:\n{self.log_tail(name)}")
            try:
                if ready():
                    return
            except (requests.RequestException, redis.RedisError):
                pass
            time.sleep(0.1)
        raise BenchError(f"{name} did not start within {STARTUP_TIMEOUT:.0f}s")

    def start(self) -> None:
        self.redis_port = free_port()
        redis_bin = shutil.which("redis-server") or "/usr/bin/redis-server"
        self._spawn(
            "redis",
            [redis_bin, "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir), "--loglevel", "warning"],
        )  # fmt: skip
        self._wait("redis", lambda: self.redis(APP_DB).ping())

        sandbox_port = free_port()
        self.sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        self._spawn(
            "sandbox",
            [sys.executable, "-m", "sandbox", "--port", str(sandbox_port)],
            {
                "SANDBOX_REDIS_URL": self.redis_url(SANDBOX_DB),
                "SANDBOX_ACCOUNT_ID": ACCOUNT_ID,
                "SANDBOX_API_KEY": API_KEY,
            },
        )
        self._wait(
            "sandbox",
            lambda: requests.get(f"{self.sandbox_url}/_sandbox/health", timeout=2).ok,
        )

        app_port = free_port()
        self.app_url = f"http://127.0.0.1:{app_port}"
        self._spawn(
            "gunicorn",
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
             "--bind", f"127.0.0.1:{app_port}", "--no-control-socket", "wsgi:app"],
            # No control socket: its default path is shared by every gunicorn on the machine.
            {
                "REDIS_URL": self.redis_url(APP_DB),
                "FLATPEAK_API_URL": self.sandbox_url,
                "FLATPEAK_CONNECT_URL": self.sandbox_url,
                "FLATPEAK_ACCOUNT_ID": ACCOUNT_ID,
                "FLATPEAK_API_KEY": API_KEY,
                "PUBLIC_URL": self.app_url,
                "SECRET_KEY": secrets.token_urlsafe(48),
            },
        )  # fmt: skip
        self._wait("gunicorn", lambda: requests.get(f"{self.app_url}/healthz", timeout=2).ok)
        # /healthz answers as soon as one worker is up; memory is read per worker, so wait for all.
        expected = int(os.environ.get("WEB_CONCURRENCY", 2))
        self._wait("gunicorn", lambda: len(child_pids(self.procs["gunicorn"].pid)) >= expected)

    def stop(self) -> None:
        for name in reversed(list(self.procs)):
            proc = self.procs[name]
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()

    def redis_url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/{db}"

    def redis(self, db: int) -> redis.Redis:
        return redis.Redis(port=self.redis_port, db=db, socket_timeout=5)

    def log_tail(self, name: str, lines: int = 20) -> str:
        path = self.workdir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def running_stack() -> Iterator[Stack]:
    with tempfile.TemporaryDirectory(prefix="flow-bench-") as tmp:
        stack = Stack(Path(tmp))
        try:
            stack.start()
            yield stack
        except Exception:
            for name in stack.procs:
                tail = stack.log_tail(name)
                if tail:
                    print(f"\n--- last lines of {name}'s log ---\n{tail}", file=sys.stderr)
            raise
        finally:
            stack.stop()


def child_pids(pid: int) -> list[int]:
    try:
        raw = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in raw.split()]


def rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


# -- reading pages --------------------------------------------------------------------------


@dataclass
class Form:
    action: str
    fields: dict[str, str] = field(default_factory=dict)
    # (name, value, visible label) of every submit button
    buttons: list[tuple[str, str, str]] = field(default_factory=list)
    names: set[str] = field(default_factory=set)  # every field name, radios included


class PageParser(HTMLParser):
    """What a browser without JavaScript would submit: each POST form's default fields and its
    buttons, plus the page's ``data-route`` and the assets it links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.route: str | None = None
        self.assets: list[str] = []
        self._in_post_form = False
        self._button: list[str] | None = None  # [name, value, label so far]
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if self.route is None and a.get("data-route"):
            self.route = a["data-route"]
        if tag == "link" and "stylesheet" in a.get("rel", "").split() and a.get("href"):
            self.assets.append(a["href"])
        elif tag == "script" and a.get("src"):
            self.assets.append(a["src"])
        elif tag == "form":
            self._in_post_form = a.get("method", "get").lower() == "post"
            if self._in_post_form:
                self.forms.append(Form(action=a.get("action", "")))
        if not self._in_post_form:
            return
        form = self.forms[-1]
        name = a.get("name", "")
        if tag in ("input", "select", "textarea") and name:
            form.names.add(name)
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in ("submit", "image"):
                form.buttons.append((name, a.get("value", ""), a.get("value", "")))
            elif kind in ("radio", "checkbox"):
                if "checked" in a:
                    form.fields[name] = a.get("value", "on")
            elif kind != "button":
                form.fields.setdefault(name, a.get("value", ""))
        elif tag == "button" and a.get("type", "submit") == "submit" and name:
            self._button = [name, a.get("value", ""), ""]
        elif tag == "select" and name:
            self._select = name
        elif (
            tag == "option"
            and self._select
            and (self._select not in form.fields or "selected" in a)
        ):
            form.fields[self._select] = a.get("value", "")

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button[2] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self._button is not None:
            name, value, label = self._button
            self.forms[-1].buttons.append((name, value, " ".join(label.split())))
            self._button = None
        elif tag == "select":
            self._select = None
        elif tag == "form":
            self._in_post_form = False


@dataclass
class Page:
    url: str
    status: int
    html: str

    def __post_init__(self) -> None:
        parser = PageParser()
        parser.feed(self.html)
        self.forms = parser.forms
        self.route = parser.route
        self.assets = parser.assets

    def form_for(self, names: tuple[str, ...] = (), button: str | None = None) -> Form:
        for form in self.forms:
            if all(name in form.names for name in names) and (
                button is None or any(b[0] == button for b in form.buttons)
            ):
                return form
        raise BenchError(f"no form with {names or button} on {self.route or self.url}")

    def button(self, name: str, label: str) -> tuple[Form, str]:
        """The form holding the ``name`` button whose label contains ``label``, and its value."""
        for form in self.forms:
            for button_name, value, text in form.buttons:
                if button_name == name and label in text:
                    return form, value
        raise BenchError(f"no {name} button labelled {label!r} on {self.route or self.url}")


# -- one customer -------------------------------------------------------------------------


Timing = tuple[str, float, int]  # (kind, seconds, HTTP status)


def kind_of(method: str, url: str, data: dict[str, str] | None) -> str:
    path = urlsplit(url).path
    if path == "/connect":
        return "entry"
    if path == "/connect/flow":
        if method == "GET":
            return "show"
        return "callback" if (data or {}).get("action") == "SAVE" else "step"
    if path == "/connect/done":
        return "done"
    if path == "/connect/callback":
        return "callback"
    return "other"


class Partner:
    """The partner's backend: one bearer token, connect tokens created on the sandbox API."""

    def __init__(self, sandbox_url: str) -> None:
        self.sandbox_url = sandbox_url
        self.http = requests.Session()
        self._bearer: str | None = None
        self._lock = threading.Lock()

    def bearer(self) -> str:
        with self._lock:
            if self._bearer is None:
                response = self.http.get(
                    f"{self.sandbox_url}/login", auth=(ACCOUNT_ID, API_KEY), timeout=10
                )
                response.raise_for_status()
                self._bearer = str(response.json()["bearer_token"])
            return self._bearer

    def create_token(self, app_url: str, customer_ref: str) -> str:
        response = requests.post(
            f"{self.sandbox_url}/connect/tariff/token",
            json={
                "callback_uri": f"{app_url}/connect/callback",
                "connect_web_uri": f"{app_url}/connect/provider-return",
                "customer_reference_id": customer_ref,
                "direction": "IMPORT",
                "type": "COMMODITY",
            },
            headers={"Authorization": f"Bearer {self.bearer()}"},
            timeout=REQUEST_TIMEOUT,
        )
        if response.status_code != 200:
            raise BenchError(f"token create answered {response.status_code}")
        return str(response.json()["connect_token"])


class Customer:
    """A browser without JavaScript: follows redirects by hand so that each request is timed."""

    def __init__(self, app_url: str) -> None:
        self.app_url = app_url
        self.http = requests.Session()
        self.timings: list[Timing] = []
        self.page: Page | None = None
        self.response: requests.Response | None = None

    def request(self, method: str, url: str, data: dict[str, str] | None = None) -> Page:
        url = urljoin(self.app_url, url)
        for _hop in range(8):
            kind = kind_of(method, url, data)
            started = time.perf_counter()
            response = self.http.request(
                method, url, data=data, allow_redirects=False, timeout=REQUEST_TIMEOUT
            )
            self.timings.append((kind, time.perf_counter() - started, response.status_code))
            self.response = response
            if response.status_code in (301, 302, 303, 307, 308):
                url, method, data = urljoin(url, response.headers["Location"]), "GET", None
                continue
            if response.status_code >= 400:
                raise BenchError(f"{method} {urlsplit(url).path} answered {response.status_code}")
            self.page = Page(url, response.status_code, response.text)
            return self.page
        raise BenchError(f"more than 8 redirects from {urlsplit(url).path}")

    def submit(self, form: Form, fields: dict[str, str]) -> Page:
        assert self.page is not None
        return self.request("POST", urljoin(self.page.url, form.action), {**form.fields, **fields})

    def expect(self, route: str) -> Page:
        if self.page is None or self.page.route != route:
            got = self.page.route if self.page else None
            raise BenchError(f"expected {route}, got {got}")
        return self.page

    def press(self, name: str, label: str) -> Page:
        assert self.page is not None
        form, value = self.page.button(name, label)
        return self.submit(form, {name: value})

    def press_value(self, name: str, value: str) -> Page:
        assert self.page is not None
        for form in self.page.forms:
            if any(b[0] == name and b[1] == value for b in form.buttons):
                return self.submit(form, {name: value})
        raise BenchError(f"no {name}={value} button on {self.page.route}")


def open_flow(customer: Customer, token: str) -> Page:
    """Entry with the partner's token, up to the provider list."""
    customer.request("GET", f"/connect?fp_cot={token}")
    page = customer.expect("postal_address_capture")
    customer.submit(page.form_for(tuple(ADDRESS)), ADDRESS)
    return customer.expect("provider_select")


def finish_flow(customer: Customer) -> None:
    """From the provider list: library tariff, no contract end date, SAVE."""
    customer.press("provider_id", PROVIDER)
    customer.expect("tariff_select")
    customer.press("tariff_id", TARIFF)
    page = customer.expect("contract_term_capture")
    customer.submit(page.form_for(("term",)), {"term": "none"})
    customer.expect("summary_fixed_confirm")
    customer.press_value("action", "SAVE")
    if customer.page is None or urlsplit(customer.page.url).path != "/connect/done":
        raise BenchError(f"flow ended on {customer.page.url if customer.page else None}")


def run_flow(app_url: str, token: str) -> tuple[list[Timing], float]:
    """One complete flow; answers each request's timing and the whole flow's seconds."""
    customer = Customer(app_url)
    started = time.perf_counter()
    open_flow(customer, token)
    finish_flow(customer)
    return customer.timings, time.perf_counter() - started


# -- 1. page weight -------------------------------------------------------------------------


@dataclass
class Weight:
    label: str
    raw: int
    gzipped: int
    note: str = ""


def weigh(label: str, body: bytes, note: str = "") -> Weight:
    return Weight(label, len(body), len(gzip.compress(body, compresslevel=9)), note)


def served_as(response: requests.Response) -> str:
    encoding = response.headers.get("Content-Encoding", "identity")
    cache = response.headers.get("Cache-Control", "")
    return f"{encoding}; {cache}" if cache else encoding


def page_weight(stack: Stack, token: str) -> tuple[list[Weight], list[Weight]]:
    """A first visit to the first flow page, its assets, and htmx fragments; then the flow is
    finished so that it leaves no session behind."""
    customer = Customer(stack.app_url)
    first = customer.request("GET", f"/connect?fp_cot={token}")
    if first.route != "postal_address_capture":
        raise BenchError(f"first page is {first.route}, expected postal_address_capture")
    assert customer.response is not None
    first_visit = [
        weigh(f"HTML page ({first.route})", customer.response.content, served_as(customer.response))
    ]
    anonymous = requests.Session()  # a first visit: nothing cached, no cookie needed
    for href in first.assets:
        response = anonymous.get(urljoin(first.url, href), timeout=REQUEST_TIMEOUT)
        if response.status_code != 200:
            raise BenchError(f"asset {href} answered {response.status_code}")
        name = urlsplit(href).path.rsplit("/", 1)[-1]
        first_visit.append(weigh(name, response.content, served_as(response)))

    # The same page again as htmx asks for it (<title> plus the page block), and the same pair
    # for the provider list, the longest page of the flow.
    fragments = [weigh(f"{first.route}: full page", first.html.encode())]
    fragments.append(htmx_fragment(customer, first))
    customer.submit(first.form_for(tuple(ADDRESS)), ADDRESS)
    listing = customer.expect("provider_select")
    fragments.append(weigh(f"{listing.route}: full page", listing.html.encode()))
    fragments.append(htmx_fragment(customer, listing))
    finish_flow(customer)
    return first_visit, fragments


def htmx_fragment(customer: Customer, page: Page) -> Weight:
    headers = {"HX-Request": "true", "HX-Current-URL": page.url}
    response = customer.http.get(page.url, headers=headers, timeout=REQUEST_TIMEOUT)
    if response.status_code != 200 or "<html" in response.text.lower():
        raise BenchError(f"htmx GET of {page.route} did not answer a fragment")
    return weigh(f"{page.route}: htmx fragment", response.content)


# -- 2 and 3. timed flows -------------------------------------------------------------------


@dataclass
class Run:
    """The timings of a batch of flows."""

    by_kind: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    flows: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall: float = 0.0

    def add(self, timings: list[Timing], elapsed: float) -> None:
        for kind, seconds, _status in timings:
            self.by_kind[kind].append(seconds)
        self.flows.append(elapsed)

    @property
    def requests(self) -> int:
        return sum(len(values) for values in self.by_kind.values())


def make_tokens(stack: Stack, partner: Partner, count: int, prefix: str) -> list[str]:
    """Tokens created up front, as partners do before sending the link, so that no flow's time
    (nor the throughput) includes the partner's own API call."""
    return [partner.create_token(stack.app_url, f"{prefix}-{n:05d}") for n in range(count)]


def sequential(stack: Stack, tokens: list[str]) -> Run:
    run = Run()
    started = time.perf_counter()
    for token in tokens:
        try:
            run.add(*run_flow(stack.app_url, token))
        except (BenchError, requests.RequestException) as exc:
            run.errors.append(str(exc))
    run.wall = time.perf_counter() - started
    return run


def concurrent(stack: Stack, tokens: list[str], threads: int, deadline_s: float) -> Run:
    """``threads`` customers at once, each taking the next token until none are left (or the
    deadline passes, so a wedged server cannot keep the benchmark running)."""
    run = Run()
    work: queue.Queue[str] = queue.Queue()
    for token in tokens:
        work.put(token)
    lock = threading.Lock()
    deadline = time.monotonic() + deadline_s

    def customer() -> None:
        while time.monotonic() < deadline:
            try:
                token = work.get_nowait()
            except queue.Empty:
                return
            try:
                result = run_flow(stack.app_url, token)
            except (BenchError, requests.RequestException) as exc:
                with lock:
                    run.errors.append(str(exc))
                continue
            with lock:
                run.add(*result)

    workers = [threading.Thread(target=customer, daemon=True) for _ in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        # Short joins keep Ctrl-C responsive in the main thread.
        while worker.is_alive():
            worker.join(timeout=0.2)
    run.wall = time.perf_counter() - started
    if not work.empty():
        run.errors.append(f"deadline of {deadline_s:.0f}s passed; {work.qsize()} flows not run")
    return run


def set_latency(stack: Stack, latency_ms: int) -> None:
    """The sandbox's fault hook: the same as starting it with SANDBOX_FAULT_LATENCY_MS, for all
    its workers, without restarting the stack."""
    if latency_ms:
        response = requests.put(
            f"{stack.sandbox_url}/_sandbox/faults", json={"latency_ms": latency_ms}, timeout=10
        )
    else:
        response = requests.delete(f"{stack.sandbox_url}/_sandbox/faults", timeout=10)
    if response.status_code >= 400:
        raise BenchError(f"sandbox fault hook answered {response.status_code}")


# -- 4. memory ------------------------------------------------------------------------------


@dataclass
class Memory:
    rss: dict[str, int | None]  # label -> kB


def memory(stack: Stack) -> Memory:
    master = stack.procs["gunicorn"].pid
    rss: dict[str, int | None] = {f"gunicorn master ({master})": rss_kb(master)}
    for number, pid in enumerate(sorted(child_pids(master)), 1):
        rss[f"gunicorn worker {number} ({pid})"] = rss_kb(pid)
    rss["sandbox (python -m sandbox)"] = rss_kb(stack.procs["sandbox"].pid)
    rss["redis-server"] = rss_kb(stack.procs["redis"].pid)
    return Memory(rss)


APP_KEY_KINDS = (
    ("connect:sess:", "sessions"),
    ("connect:flow:", "flow handles"),
    ("connect:launch:", "launch codes"),
    ("connect:cot:", "token records (by hash)"),
    ("connect:result:", "results (no TTL)"),
    ("connect:bearer:", "bearer cache"),
)


# base.html renders csrf_token() on every page, the done page included, so a finished flow
# leaves a session holding only the CSRF secret until SESSION_LIFETIME passes.
SESSION_NO_FLOW = "sessions without a flow (CSRF only)"


def redis_report(stack: Stack) -> tuple[int, dict[str, int], dict[int, int]]:
    """used_memory, app keys by kind (sessions split by whether they still hold a flow), and
    keys per database."""
    client = stack.redis(APP_DB)
    used = int(client.info("memory")["used_memory"])
    counts: dict[str, int] = defaultdict(int)
    for key in client.scan_iter(count=500):
        name = key.decode()
        label = next((label for prefix, label in APP_KEY_KINDS if name.startswith(prefix)), "other")
        if label == "sessions":
            raw = client.get(key) or b""
            label = "sessions holding a flow" if b'"token"' in raw else SESSION_NO_FLOW
        counts[label] += 1
    per_db = {db: stack.redis(db).dbsize() for db in (APP_DB, SANDBOX_DB)}
    return used, counts, per_db


# -- printing -------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile: a value that really occurred."""
    ordered = sorted(values)
    rank = max(1, -(-int(share * len(ordered) * 1000) // 1000))
    return ordered[min(rank, len(ordered)) - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f}"


def kb(size: int) -> str:
    return f"{size / 1000:7.1f}"


def heading(text: str) -> None:
    print(f"\n{text}\n{'=' * len(text)}")


def print_weights(first_visit: list[Weight], fragments: list[Weight]) -> None:
    heading("1. Page weight of a first visit (kB = 1000 B; gzip -9 = what a proxy would send)")
    print(f"{'resource':<40}{'raw kB':>8}{'gzip kB':>9}   served as")
    for item in first_visit:
        print(f"{item.label:<40}{kb(item.raw)}{kb(item.gzipped):>9}   {item.note}")
    raw = sum(item.raw for item in first_visit)
    packed = sum(item.gzipped for item in first_visit)
    scripts = [item for item in first_visit if item.label.endswith(".js")]
    print(f"{'total first visit':<40}{kb(raw)}{kb(packed):>9}")
    print(f"{'  of which JavaScript':<40}{kb(sum(i.raw for i in scripts))}"
          f"{kb(sum(i.gzipped for i in scripts)):>9}")  # fmt: skip
    print(
        f"{'REFERENCE React client, first visit':<40}{REFERENCE_FIRST_VISIT_RAW_KB:7.1f}"
        f"{REFERENCE_FIRST_VISIT_GZIP_KB:>9.1f}   teardown §1.14 (measured build)"
    )
    print(
        f"{'REFERENCE React client, JavaScript':<40}{REFERENCE_JS_RAW_KB:7.1f}"
        f"{REFERENCE_JS_GZIP_KB:>9.1f}   and it all runs before the first API call"
    )
    print(
        f"ours / reference: {raw / 1000 / REFERENCE_FIRST_VISIT_RAW_KB:.0%} raw, "
        f"{packed / 1000 / REFERENCE_FIRST_VISIT_GZIP_KB:.0%} compressed"
    )
    print(f"\n{'later steps (htmx swaps only #page)':<40}{'raw kB':>8}{'gzip kB':>9}")
    for item in fragments:
        print(f"{item.label:<40}{kb(item.raw)}{kb(item.gzipped):>9}")


def print_run(title: str, run: Run) -> None:
    heading(title)
    print(f"{'request kind':<48}{'n':>5}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    for kind in KINDS:
        values = run.by_kind.get(kind) or []
        if values:
            print(
                f"{KIND_LABELS[kind]:<48}{len(values):>5}{ms(percentile(values, 0.5)):>9}"
                f"{ms(percentile(values, 0.95)):>9}{ms(max(values)):>9}"
            )
    if run.flows:
        print(
            f"{f'whole flow ({run.requests / len(run.flows):.0f} requests)':<48}{len(run.flows):>5}"
            f"{ms(percentile(run.flows, 0.5)):>9}{ms(percentile(run.flows, 0.95)):>9}"
            f"{ms(max(run.flows)):>9}"
        )
    print_errors(run)


def print_errors(run: Run) -> None:
    print(f"errors: {len(run.errors)}")
    for message in sorted(set(run.errors))[:5]:
        print(f"  {run.errors.count(message)} x {message}")


def print_overhead(base: Run, slow: Run, latency_ms: int) -> None:
    heading(f"2b. The same flows with {latency_ms} ms added to every sandbox request")
    print(
        f"{'request kind':<48}{'n':>5}{'p50 ms':>9}{'p95 ms':>9}{'added':>9}"
        f"{'≈ upstream calls':>18}"
    )
    rows = [(KIND_LABELS[kind], base.by_kind.get(kind), slow.by_kind.get(kind)) for kind in KINDS]
    rows.append(("whole flow", base.flows, slow.flows))
    for label, fast, slow_values in rows:
        if not fast or not slow_values:
            continue
        added = percentile(slow_values, 0.5) - percentile(fast, 0.5)
        print(
            f"{label:<48}{len(slow_values):>5}{ms(percentile(slow_values, 0.5)):>9}"
            f"{ms(percentile(slow_values, 0.95)):>9}{ms(added):>9}"
            # + 0.0 turns a rounded -0.00 into 0.00
            f"{round(added * 1000 / latency_ms, 2) + 0.0:>18.2f}"
        )
    print(
        "'added' is the p50 increase over the run without latency; divided by the latency it "
        "counts the\nupstream round trips each request waits for, so what is left is our own time."
    )
    print_errors(slow)


def print_throughput(run: Run, threads: int) -> None:
    heading(f"3. Throughput: {threads} customers at once")
    done = len(run.flows)
    print(f"flows completed     {done} in {run.wall:.2f} s")
    if run.wall > 0:
        print(f"flows per second    {done / run.wall:.1f}")
        print(f"requests per second {run.requests / run.wall:.1f}")
    if run.flows:
        print(
            f"flow time under load: p50 {ms(percentile(run.flows, 0.5)).strip()} ms, "
            f"p95 {ms(percentile(run.flows, 0.95)).strip()} ms, "
            f"max {ms(max(run.flows)).strip()} ms"
        )
    for kind in ("show", "step", "callback"):
        values = run.by_kind.get(kind) or []
        if values:
            print(
                f"  {KIND_LABELS[kind]:<46} p50 {ms(percentile(values, 0.5))} ms"
                f"  p95 {ms(percentile(values, 0.95))} ms"
            )
    print_errors(run)


def print_memory(before: Memory, after: Memory, redis_state: tuple, flows: int) -> None:
    heading("4. Memory (VmRSS from /proc/<pid>/status)")
    print(f"{'process':<40}{'before MB':>10}{'after MB':>10}")
    labels = list(dict.fromkeys([*before.rss, *after.rss]))
    total_before = total_after = 0
    for label in labels:
        old, new = before.rss.get(label), after.rss.get(label)
        show_old = f"{old / 1024:10.1f}" if old is not None else f"{'-':>10}"
        show_new = f"{new / 1024:10.1f}" if new is not None else f"{'-':>10}"
        print(f"{label:<40}{show_old}{show_new}")
        if label.startswith("gunicorn"):
            total_before += old or 0
            total_after += new or 0
    print(f"{'gunicorn total (master + workers)':<40}{total_before / 1024:10.1f}"
          f"{total_after / 1024:10.1f}")  # fmt: skip
    used, counts, per_db = redis_state
    print(f"\nRedis after {flows} completed flows: used_memory {used / 1024 / 1024:.2f} MB; "
          f"keys: app db {per_db[APP_DB]}, sandbox db {per_db[SANDBOX_DB]}")  # fmt: skip
    for label in ("sessions holding a flow", SESSION_NO_FLOW,
                  *(label for _prefix, label in APP_KEY_KINDS[1:]), "other"):  # fmt: skip
        if counts.get(label):
            print(f"  {label:<38}{counts[label]:>6}")
    if not counts.get("sessions holding a flow"):
        print("  no session holds a flow any more: completion ended every one")


# -- main -----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/bench", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--flows", type=int, default=30, help="flows per timed run (default 30)")
    parser.add_argument(
        "--concurrency", type=int, default=8, help="customers at once in the throughput run (8)"
    )
    parser.add_argument(
        "--latency-ms", type=int, default=200, help="sandbox latency for run 2b (default 200)"
    )
    parser.add_argument(
        "--latency-flows", type=int, default=6, help="flows in the latency run (default 6)"
    )
    parser.add_argument(
        "--load-flows",
        type=int,
        default=80,
        help="flows in the throughput run (default 80: enough to outlast the ramp-up)",
    )
    parser.add_argument("--warmup", type=int, default=2, help="untimed flows first (default 2)")
    args = parser.parse_args(argv)
    for name in ("flows", "concurrency", "latency_flows", "load_flows"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.latency_ms < 0 or args.warmup < 0:
        parser.error("--latency-ms and --warmup cannot be negative")
    return args


def _terminate(signum: int, _frame: FrameType | None) -> None:
    print(f"\nstopped by signal {signum}; stopping every process", file=sys.stderr)
    # SystemExit unwinds through running_stack(), which stops every process it started.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Ctrl-C must stop the benchmark even when started from a shell that ignores SIGINT for
    # background jobs (the children run in sessions of their own and never see it).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    began = time.perf_counter()
    workers = os.environ.get("WEB_CONCURRENCY", "2")
    threads = os.environ.get("GUNICORN_THREADS", "8")
    print(
        f"flow benchmark: {os.cpu_count()} CPUs; gunicorn gthread {workers} workers x {threads} "
        f"threads; sandbox: python -m sandbox (threaded); loopback only"
    )
    print(f"flow: /connect?fp_cot → address → {PROVIDER} → {TARIFF} → no end date → SAVE")
    with running_stack() as stack:
        print(f"app {stack.app_url}   sandbox {stack.sandbox_url}   redis :{stack.redis_port}")
        before = memory(stack)
        partner = Partner(stack.sandbox_url)
        total = 0

        first_visit, fragments = page_weight(stack, partner.create_token(stack.app_url, "weight"))
        total += 1
        warm = sequential(stack, make_tokens(stack, partner, args.warmup, "warmup"))
        total += len(warm.flows)
        print_weights(first_visit, fragments)

        base = sequential(stack, make_tokens(stack, partner, args.flows, "seq"))
        total += len(base.flows)
        print_run(f"2. Server time per request: {args.flows} flows one after another", base)

        errors = warm.errors + base.errors
        if args.latency_ms:
            set_latency(stack, args.latency_ms)
            try:
                slow_tokens = make_tokens(stack, partner, args.latency_flows, "slow")
                slow = sequential(stack, slow_tokens)
            finally:
                set_latency(stack, 0)
            total += len(slow.flows)
            errors += slow.errors
            print_overhead(base, slow, args.latency_ms)

        load = concurrent(
            stack, make_tokens(stack, partner, args.load_flows, "load"), args.concurrency, 300
        )
        total += len(load.flows)
        errors += load.errors
        print_throughput(load, args.concurrency)

        print_memory(before, memory(stack), redis_report(stack), total)
    print(f"\nbenchmark took {time.perf_counter() - began:.1f} s; every process stopped")
    return 1 if errors else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted; every process stopped", file=sys.stderr)
        sys.exit(130)
    except BenchError as exc:
        print(f"\nbenchmark failed: {exc}", file=sys.stderr)
        sys.exit(1)
