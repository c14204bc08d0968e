"""``scripts/bench`` (``python -m bench``): start the stack, weigh the pages, load the app, load
the sandbox directly, print the numbers and the performance targets as PASS/FAIL lines.

The app is measured on both ways a browser keeps its session (``--sessions``): the production
cookie, and the flow handle a browser that blocks the cookie falls back on; side by side.
With ``--think LO-HI`` customers pause between steps as people do (otherwise they saturate the
server). With ``--topology`` the same app phases run again through nginx in front of two app
instances (``devstack.topology``), side by side with the single instance.

The targets: zero failed flows and zero 5xx under load; at saturation, p99 step latency at most
3 x p50 and app throughput at least 0.5 x the sandbox-direct throughput; with think time, p99
under 300 ms for 2,000 customers (judged only at that scale); worker memory growing less than
10 % between the first and last 20 s; a first visit of at most 30 kB compressed, and at most
8 kB compressed for each step's htmx fragment (constants in bench/run.py).

Exit status: 0 when every target passes, 1 when one fails (or the run could not finish).
Timings are wall-clock at the driver over loopback; on a machine shared with other work they
are noisy, so compare ratios (app ÷ sandbox-direct) rather than absolutes between runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import Any

import requests

from bench import weight
from bench.browser import APP_KINDS, DIRECT_KINDS, PAUSES_PER_FLOW, PUBLIC_URL, SESSION_MODES
from bench.load import default_ramp, think_range
from bench.procs import CpuMeter, LogWindow, MemoryTrace, Sampler, rss_kb
from devstack.stack import (
    APP_DB,
    ROOT,
    SANDBOX_ACCOUNT_ID,
    SANDBOX_API_KEY,
    Gunicorn,
    Service,
    Stack,
    StackError,
    child_pids,
)

FIRST_VISIT_LIMIT = 30_000  # bytes, compressed, HTML + CSS + JS + fonts + images
FRAGMENT_LIMIT = 8_000  # bytes, compressed, each step's htmx answer
THROUGHPUT_SHARE = 0.5  # app flows/s ÷ sandbox-direct flows/s
TAIL_RATIO = 3.0  # p99 ÷ p50 of step latency
MEMORY_GROWTH = 0.10  # workers' RSS, last 20 s over first 20 s
THINK_P99 = 0.300  # seconds: p99 of every request with think time, at THINK_CUSTOMERS
THINK_CUSTOMERS = 2000  # the scale that target is judged at
TOPOLOGY_APPS = 2  # app instances behind nginx with --topology
WARMUP_CUSTOMERS = 20  # at most, without think time, for Options.warmup seconds

# Which app request does the work of which direct request (for "our overhead per step").
STEP_PAIRS = (
    ("show", "restore"),
    ("address", "address"),
    ("provider", "provider"),
    ("tariff", "tariff"),
    ("contract", "contract"),
    ("save", "save+exchange"),
)


class BenchError(RuntimeError):
    """The benchmark could not run."""


@dataclass
class StackOptions:
    workers: int = int(os.environ.get("WEB_CONCURRENCY", 2))
    threads: int = int(os.environ.get("GUNICORN_THREADS", 8))
    # 0: no recycling during the run, so memory growth is measured rather than hidden by
    # gunicorn restarting workers (production keeps its max_requests safety net).
    max_requests: int = 0
    # What gunicorn serves; another module only to measure a variant of the app (experiments).
    app_module: str = os.environ.get("BENCH_WSGI_APP", "wsgi:app")

    def gunicorn(self) -> Gunicorn:
        return Gunicorn(self.workers, self.threads, max_requests=self.max_requests)


@dataclass
class Options:
    customers: int = 200
    duration: float = 60.0
    ramp: float | None = None  # None: bench.load.default_ramp (1 s, or one flow with think time)
    phases: tuple[str, ...] = ("app", "direct")
    weigh: bool = True
    stack: StackOptions = field(default_factory=StackOptions)
    keep_logs: Path | None = None
    sessions: tuple[str, ...] = SESSION_MODES  # the app phase once for each
    think: tuple[float, float] | None = None  # seconds between steps; None: saturation
    seed: int = 1
    # Which stacks to run the app phases on, in turn: "single" (devstack.stack.Stack) and
    # "topology" (nginx in front of TOPOLOGY_APPS instances, devstack.topology).
    stacks: tuple[str, ...] = ("single",)
    # Seconds of unmeasured load on each stack before its first phase: fresh workers compile
    # templates, fill caches and open pools on their first requests, which made whichever
    # phase ran first look slower and its memory look like it grew.
    warmup: float = 5.0

    @property
    def effective_ramp(self) -> float:
        return self.ramp if self.ramp is not None else default_ramp(self.think)


# -- statistics ------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    """Nearest rank: a value that really occurred."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = max(1, int(-(-share * len(ordered) // 1)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass
class Phase:
    target: str  # app or direct
    raw: dict[str, Any]
    memory: MemoryTrace | None = None
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per process group
    stack: str = "single"  # which BenchTarget it ran on
    session: str | None = None  # the app's: cookie or handle
    machine_cpu: float = 0.0  # every core's busy seconds during the phase, ours and others'
    # From the app's own logs during the phase: each request's time inside gunicorn (its
    # access log's %(M)s) and each call to FlatPeak (the sandbox) as the app timed it.
    app_seconds: list[float] = field(default_factory=list)
    upstream_seconds: list[float] = field(default_factory=list)

    @property
    def label(self) -> str:
        if self.target == "direct":
            return "sandbox-direct"
        where = "" if self.stack == "single" else f"{self.stack} "
        return f"{where}app {self.session}"

    @property
    def cookie_requests(self) -> tuple[int, int]:
        """(requests that carried the session cookie, those whose answer refreshed it)."""
        return sum(self.raw["cookie_sent"].values()), sum(self.raw["cookie_renewed"].values())

    @property
    def duration(self) -> float:
        return float(self.raw["duration"])

    @property
    def completed_in_window(self) -> int:
        return sum(1 for end in self.raw["flow_ends"] if end <= self.duration)

    @property
    def completed(self) -> int:
        return len(self.raw["flow_ends"])

    @property
    def flows_per_second(self) -> float:
        return self.completed_in_window / self.duration

    @property
    def failed(self) -> int:
        return sum(self.raw["failures"].values())

    def latencies(self, kinds: tuple[str, ...] | None = None) -> list[float]:
        return [s for kind, _status, s in self.raw["requests"] if kinds is None or kind in kinds]

    def by_kind(self) -> dict[str, list[float]]:
        grouped: dict[str, list[float]] = defaultdict(list)
        for kind, _status, seconds in self.raw["requests"]:
            grouped[kind].append(seconds)
        if self.target == "direct":
            # The app's SAVE includes the exchange; pair them per flow for the comparison.
            saves, exchanges = grouped.get("save", []), grouped.get("exchange", [])
            grouped["save+exchange"] = [a + b for a, b in zip(saves, exchanges, strict=False)]
        return grouped

    def statuses(self) -> tuple[Counter[str], Counter[str]]:
        """(5xx by kind and status, other unexpected statuses by kind and status)."""
        server, other = Counter(), Counter()
        for kind, status, _seconds in self.raw["requests"]:
            # Whole-page loads may redirect: the entry to the flow, the callback to the done page.
            expected = (200, 303) if kind in ("entry", "show", "callback", "done") else (200,)
            if status >= 500:
                server[f"{kind} {status}"] += 1
            elif status not in expected:
                other[f"{kind} {status}"] += 1
        return server, other


# -- running ---------------------------------------------------------------------------------


@contextmanager
def running_stack(
    options: StackOptions | None = None, keep_logs: Path | None = None
) -> Iterator[Stack]:
    """The stack as production runs it, for the duration of a ``with``; ``keep_logs`` gets a
    copy of each process's log once everything has stopped.

    The app: ``APP_ENV=production``, a random ``SECRET_KEY`` and an ``https://`` ``PUBLIC_URL``.
    There is no TLS on loopback, so the app is told it sits behind one load balancer
    (``TRUST_PROXY_HOPS=1``): the driver sends what a TLS-terminating balancer adds, and the
    app then sets its production cookie, which the driver keeps and sends back itself, as a
    browser does over https. The sandbox runs under the same gunicorn settings (worker class,
    workers, threads, keep-alive, no recycling), so the sandbox-direct phase meets the same
    server the app meets.
    """
    options = options or StackOptions()
    with tempfile.TemporaryDirectory(prefix="flow-bench-") as tmp:
        workdir = Path(tmp)
        try:
            with Stack.start(
                workdir,
                sandbox_gunicorn=options.gunicorn(),
                app_gunicorn=options.gunicorn(),
                app_module=options.app_module,
                app_settings=production_settings(),
            ) as stack:
                yield stack
        except BaseException:
            print_log_tails(workdir)
            raise
        finally:
            copy_logs(workdir, keep_logs)


def production_settings(hops: int = 1) -> dict[str, str]:
    """The app's environment as production sets it; ``hops`` proxies in front of it (the
    driver plays the TLS balancer; nginx is one more)."""
    return {
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "PUBLIC_URL": PUBLIC_URL,
        "TRUST_PROXY_HOPS": str(hops),
    }


def print_log_tails(workdir: Path) -> None:
    for log in sorted(workdir.rglob("*.log")):
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
        if tail:
            print(f"\n--- last lines of {log.name} ---\n{tail}", file=sys.stderr)


def copy_logs(workdir: Path, keep_logs: Path | None, prefix: str = "") -> None:
    if keep_logs is not None:
        keep_logs.mkdir(parents=True, exist_ok=True)
        for log in workdir.rglob("*.log"):
            shutil.copy(log, keep_logs / f"{prefix}{log.name}")


@dataclass
class BenchTarget:
    """What the phases drive, whatever stack is behind it: where customers go in, the sandbox
    and Redis they need besides, and the processes whose CPU, memory and logs are measured.

    The plug point between the benchmark and a stack: ``single_target`` adapts
    ``devstack.stack.Stack``, ``topology_target`` adapts ``devstack.topology.Topology``.
    """

    name: str  # "single" or "topology"
    url: str  # the customers' way in: the app itself, or nginx in front of the instances
    sandbox: Service  # has .url
    redis: Service
    redis_url: str  # the app's database, where the driver checks the stored ids
    apps: list[Service]  # gunicorn masters
    others: dict[str, Service] = field(default_factory=dict)  # e.g. nginx, metered too
    description: str = ""

    @property
    def sandbox_url(self) -> str:
        return str(self.sandbox.url)  # type: ignore[attr-defined]

    def cpu_groups(self) -> dict[str, list[tuple[int, bool]]]:
        groups = {
            "app": [(app.pid, True) for app in self.apps],
            "sandbox": [(self.sandbox.pid, True)],
            "redis": [(self.redis.pid, False)],
        }
        for label, service in self.others.items():
            groups[label] = [(service.pid, True)]
        return groups


def single_target(stack: Stack) -> BenchTarget:
    return BenchTarget(
        name="single",
        url=stack.app.url,
        sandbox=stack.sandbox,
        redis=stack.redis,
        redis_url=stack.redis.url(APP_DB),
        apps=[stack.app],
        description=f"one app instance at {stack.app.url}",
    )


# In front of nginx the driver plays a cloud load balancer: nginx takes the customer's address
# from its X-Forwarded-For (ngx_http_realip_module, as the site template's comment says to do
# behind one more proxy), so each flow is still a new customer to the rate limits. Without it
# every customer would be 127.0.0.1 and the per-address limits would refuse the load.
NGINX_BEHIND_BALANCER = "    set_real_ip_from 127.0.0.1;\n    real_ip_header X-Forwarded-For;\n"


@contextmanager
def running_topology(
    options: StackOptions | None = None, keep_logs: Path | None = None
) -> Iterator[BenchTarget]:
    """``devstack.topology.Topology``: nginx (the shipped site template) in front of
    TOPOLOGY_APPS app instances, each run as ``running_stack`` runs the one (production
    settings, the same gunicorn options, recycling off), the sandbox under the same gunicorn
    options with a Redis of its own, and the app's Redis (one append-only redis-server: the
    app cannot follow Sentinels yet, and the bench measures the app, not a failover).

    nginx listens on plain http here (production's include is the TLS one), so the app sees
    ``X-Forwarded-Proto: http`` from it; the production cookie does not depend on that (it
    follows ``PUBLIC_URL``), only the HSTS header does.
    """
    options = options or StackOptions()
    from devstack.topology import Topology

    with tempfile.TemporaryDirectory(prefix="flow-bench-topo-") as tmp:
        workdir = Path(tmp)
        try:
            topo = Topology(
                workdir,
                instances=TOPOLOGY_APPS,
                redis_ha=False,
                app_gunicorn=options.gunicorn(),
                sandbox_gunicorn=options.gunicorn(),
                app_settings=production_settings(hops=1),  # nginx is the proxy it trusts
            )
            topo.nginx.extra_http = NGINX_BEHIND_BALANCER
            with topo:
                yield topology_target(topo)
        except BaseException:
            print_log_tails(workdir)
            raise
        finally:
            copy_logs(workdir, keep_logs, prefix="topology-")


def topology_target(topo: Any) -> BenchTarget:
    return BenchTarget(
        name="topology",
        url=topo.url,
        sandbox=topo.sandbox,
        redis=topo.redis,
        redis_url=topo.redis_url(APP_DB),
        apps=list(topo.apps),
        others={"nginx": topo.nginx, "sandbox redis": topo.sandbox_redis},
        description=(
            f"nginx at {topo.url} in front of {len(topo.apps)} app instances "
            f"({', '.join(app.url for app in topo.apps)}); the sandbox with a Redis of its own"
        ),
    )


@contextmanager
def running_target(name: str, options: Options) -> Iterator[BenchTarget]:
    if name == "topology":
        with running_topology(options.stack, options.keep_logs) as target:
            yield target
    else:
        with running_stack(options.stack, options.keep_logs) as stack:
            yield single_target(stack)


def drive(target: BenchTarget, kind: str, options: Options, session: str | None = None) -> Phase:
    """One phase in a driver process of its own, with memory and CPU sampled meanwhile."""
    url = target.url if kind == "app" else target.sandbox_url
    argv = [
        sys.executable, "-m", "bench.load", kind,
        "--url", url, "--sandbox-url", target.sandbox_url,
        "--redis-url", target.redis_url,
        "--customers", str(options.customers), "--duration", str(options.duration),
        "--ramp", str(options.effective_ramp), "--seed", str(options.seed),
        "--session", session or "cookie",
    ]  # fmt: skip
    if options.think is not None:
        argv += ["--think", f"{options.think[0]}-{options.think[1]}"]
    masters = [app.pid for app in target.apps] if kind == "app" else [target.sandbox.pid]
    meter = CpuMeter(target.cpu_groups())
    logs = LogWindow([app.log_path for app in target.apps] if kind == "app" else [])
    with Sampler(masters) as sampler, meter, logs:
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"the {kind} driver failed:\n{done.stderr[-3000:]}")
    phase = Phase(kind, json.loads(done.stdout), sampler.trace, meter.spent, target.name, session)
    phase.machine_cpu = meter.machine
    phase.app_seconds = [int(ms) / 1000 for ms in ACCESS_TIME.findall(logs.text)]
    phase.upstream_seconds = [int(ms) / 1000 for ms in UPSTREAM_TIME.findall(logs.text)]
    return phase


# gunicorn.conf.py's access_log_format ends with "%(M)sms"; webapp/flatpeak.py logs each call as
# "flatpeak <what>: HTTP <status> in <n> ms".
ACCESS_TIME = re.compile(r'^\S+ "[A-Z]+ [^"]*" \d{3} \S+ (\d+)ms$', re.M)
UPSTREAM_TIME = re.compile(r"flatpeak [^\n]*: HTTP \d+ in (\d+) ms$", re.M)


def make_token_factory(sandbox_url: str) -> Any:
    http = requests.Session()
    auth = (SANDBOX_ACCOUNT_ID, SANDBOX_API_KEY)
    login = http.get(f"{sandbox_url}/login", auth=auth, timeout=10)
    login.raise_for_status()
    bearer = login.json()["bearer_token"]

    def make(ref: str) -> str:
        response = http.post(
            f"{sandbox_url}/connect/tariff/token",
            json={
                "callback_uri": f"{PUBLIC_URL}/connect/callback",
                "connect_web_uri": f"{PUBLIC_URL}/connect/provider-return",
                "customer_reference_id": ref,
                "direction": "IMPORT",
                "type": "COMMODITY",
            },
            headers={"Authorization": f"Bearer {bearer}"},
            timeout=10,
        )
        response.raise_for_status()
        return str(response.json()["connect_token"])

    return make


@dataclass
class Report:
    options: Options
    phases: dict[str, Phase] = field(default_factory=dict)  # by Phase.label, in run order
    first_visit: list[weight.Item] = field(default_factory=list)
    uncounted: list[str] = field(default_factory=list)
    fragments: list[weight.Item] = field(default_factory=list)
    app_rss_start: dict[str, int | None] = field(default_factory=dict)
    app_rss_end: dict[str, int | None] = field(default_factory=dict)
    log_problems: Counter[str] = field(default_factory=Counter)
    # (True: PASS, False: FAIL, None: not judged at this scale; the line)
    targets: list[tuple[bool | None, str]] = field(default_factory=list)
    stacks: dict[str, str] = field(default_factory=dict)  # name -> description

    @property
    def passed(self) -> bool:
        return all(ok is not False for ok, _line in self.targets)

    def app_phases(self) -> list[Phase]:
        return [phase for phase in self.phases.values() if phase.target == "app"]


def gunicorn_rss(server: Service, prefix: str = "") -> dict[str, int | None]:
    master = server.pid
    rss: dict[str, int | None] = {f"{prefix}master {master}": rss_kb(master)}
    for pid in sorted(child_pids(master)):
        rss[f"{prefix}worker {pid}"] = rss_kb(pid)
    return rss


def run_benchmark(options: Options, out: Any = None) -> Report:
    """Everything the command does; ``out`` (a file) gets progress lines."""
    report = Report(options)

    def say(text: str) -> None:
        if out is not None:
            print(text, file=out, flush=True)

    pace = (
        f"think {options.think[0]:g}-{options.think[1]:g} s" if options.think else "no think time"
    )
    for stack_name in options.stacks:
        with running_target(stack_name, options) as target:
            report.stacks[stack_name] = target.description
            say(f"{stack_name} stack up: {target.description}, sandbox {target.sandbox_url}")
            prefix = "" if stack_name == "single" else f"{stack_name} "
            if options.weigh and stack_name == "single":
                say("weighing the first visit and each step's fragment…")
                report.first_visit, report.uncounted, report.fragments = weight.measure(
                    target.url, make_token_factory(target.sandbox_url)
                )
            if options.warmup > 0 and "app" in options.phases:
                few = min(WARMUP_CUSTOMERS, options.customers)
                say(f"{prefix}warm-up: {few} customers, {options.warmup:.0f} s, not counted…")
                warm = replace(
                    options,
                    customers=few,
                    duration=options.warmup,
                    think=None,
                    ramp=None,
                )
                drive(target, "app", warm, options.sessions[0])  # not reported
            for app in target.apps:
                report.app_rss_start.update(gunicorn_rss(app, prefix))
            for kind in options.phases:
                # The sandbox-direct baseline does not depend on what is in front of the app.
                if kind == "direct" and stack_name != "single":
                    continue
                for session in options.sessions if kind == "app" else (None,):
                    say(
                        f"{prefix}{kind}{' ' + session if session else ''}: "
                        f"{options.customers} customers, {pace}, {options.duration:.0f} s…"
                    )
                    phase = drive(target, kind, options, session)
                    report.phases[phase.label] = phase
                    if options.keep_logs is not None:  # every request, for a closer look
                        options.keep_logs.mkdir(parents=True, exist_ok=True)
                        name = phase.label.replace(" ", "-")
                        (options.keep_logs / f"driver-{name}.json").write_text(
                            json.dumps(phase.raw)
                        )
            for app in target.apps:
                report.app_rss_end.update(gunicorn_rss(app, prefix))
            servers = [(f"{prefix}app {a.port}", a) for a in target.apps]
            servers.append((f"{prefix}sandbox", target.sandbox))
            for name, server in servers:
                log = server.log()
                for needle in ("Traceback", "WORKER TIMEOUT", "Booting worker"):
                    count = log.count(needle)
                    if needle == "Booting worker":  # the first boot logs one per worker
                        count -= options.stack.workers
                    report.log_problems[f"{name}: {needle}"] = count
    evaluate(report)
    return report


def evaluate(report: Report) -> None:
    opts = report.options
    targets = report.targets
    pace = f"think {opts.think[0]:g}-{opts.think[1]:g} s" if opts.think else "no think time"
    load = f"{opts.customers} customers, {pace}, {opts.duration:.0f} s"
    for app in report.app_phases():
        server, _other = app.statuses()
        targets.append((
            app.failed == 0 and sum(server.values()) == 0 and app.completed > 0,
            f"{app.label}: zero failed flows and zero 5xx with {load}: {app.failed} failed, "
            f"{sum(server.values())} 5xx, {app.completed} completed",
        ))  # fmt: skip
        if app.session == "cookie":
            sent, renewed = app.cookie_requests
            targets.append((
                renewed > 0 and renewed >= app.completed,
                f"{app.label}: the app opened sessions from the cookie: {sent} requests carried "
                f"it, the app refreshed it on {renewed} ({app.completed} flows)",
            ))  # fmt: skip
        steps = app.latencies()
        p50, p99 = percentile(steps, 0.5), percentile(steps, 0.99)
        if opts.think is None:
            ratio = p99 / p50 if p50 else float("inf")
            targets.append((
                ratio <= TAIL_RATIO,
                f"{app.label}: p99 step latency <= {TAIL_RATIO:.0f} x p50: p99 {p99 * 1000:.0f} "
                f"ms / p50 {p50 * 1000:.0f} ms = {ratio:.2f}",
            ))  # fmt: skip
        else:
            judged = opts.customers >= THINK_CUSTOMERS
            scale = "" if judged else f" (not judged: needs {THINK_CUSTOMERS} customers)"
            targets.append((
                (p99 < THINK_P99) if judged else None,
                f"{app.label}: p99 < {THINK_P99 * 1000:.0f} ms for {THINK_CUSTOMERS} customers "
                f"with think time: p99 {p99 * 1000:.0f} ms, p50 {p50 * 1000:.0f} ms with "
                f"{opts.customers}{scale}",
            ))  # fmt: skip
        warmup = warm_up(app)
        growth = app.memory.growth(warmup) if app.memory else None
        if growth is not None:
            before, after, share = growth
            after_ramp = f" after the {warmup:.0f} s ramp" if warmup else ""
            targets.append((
                share < MEMORY_GROWTH,
                f"{app.label}: worker memory growth < {MEMORY_GROWTH:.0%} between first"
                f"{after_ramp} and last 20 s: {before / 1024:.1f} MB -> {after / 1024:.1f} MB "
                f"({share:+.1%})",
            ))  # fmt: skip
    app, direct = production_phase(report), report.phases.get("sandbox-direct")
    if app is not None and direct is not None and opts.think is None:
        share = app.flows_per_second / direct.flows_per_second if direct.flows_per_second else 0
        targets.append((
            share >= THROUGHPUT_SHARE,
            f"{app.label} throughput >= {THROUGHPUT_SHARE} x sandbox-direct: "
            f"{app.flows_per_second:.1f} / {direct.flows_per_second:.1f} flows/s = {share:.2f}",
        ))  # fmt: skip
    if report.first_visit:
        total = sum(item.wire for item in report.first_visit)
        targets.append((
            total <= FIRST_VISIT_LIMIT,
            f"first visit <= {FIRST_VISIT_LIMIT / 1000:.0f} kB compressed: {total / 1000:.1f} kB",
        ))  # fmt: skip
    if report.fragments:
        largest = max(report.fragments, key=lambda item: item.wire)
        targets.append((
            largest.wire <= FRAGMENT_LIMIT,
            f"each step's fragment <= {FRAGMENT_LIMIT / 1000:.0f} kB compressed: largest "
            f"{largest.wire / 1000:.1f} kB ({largest.label})",
        ))  # fmt: skip


def warm_up(phase: Phase) -> float:
    """Seconds of a phase's start that memory growth leaves out: the ramp, with think time
    (the load is still arriving); none at saturation (full load within a second)."""
    return float(phase.raw.get("ramp") or 0.0) if phase.raw.get("think") else 0.0


def production_phase(report: Report) -> Phase | None:
    """The single instance's app phase on the path most customers take (the cookie), else the
    first app phase: the one compared with sandbox-direct."""
    apps = [phase for phase in report.app_phases() if phase.stack == "single"]
    return next((p for p in apps if p.session == "cookie"), apps[0] if apps else None)


# -- printing --------------------------------------------------------------------------------


def heading(text: str) -> None:
    print(f"\n{text}\n{'=' * len(text)}")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f}"


def print_weight(report: Report) -> None:
    heading("Page weight as served (Accept-Encoding: gzip, br; kB = 1000 B)")
    print(f"{'first visit':<34}{'wire kB':>9}{'raw kB':>9}  {'coding':<9}{'C-Length':<9}cache")
    for item in report.first_visit:
        print(
            f"{item.label:<34}{item.wire / 1000:9.1f}{item.raw / 1000:9.1f}  {item.encoding:<9}"
            f"{'ok' if item.length_ok else 'MISSING':<9}{item.cache}"
        )
    total = sum(item.wire for item in report.first_visit)
    raw = sum(item.raw for item in report.first_visit)
    print(f"{'total first visit':<34}{total / 1000:9.1f}{raw / 1000:9.1f}")
    for href in report.uncounted:
        print(f"  not counted (another host, lazy): {href}")
    print(f"\n{'htmx answer to each step':<34}{'wire kB':>9}{'raw kB':>9}  coding")
    for item in report.fragments:
        print(f"{item.label:<34}{item.wire / 1000:9.1f}{item.raw / 1000:9.1f}  {item.encoding}")


def print_phase(phase: Phase, kinds: tuple[str, ...]) -> None:
    raw = phase.raw
    if phase.target == "app":
        how = {"cookie": "keeping the session cookie", "handle": "cookies blocked: flow handle"}
        title = f"{phase.label} (htmx customers, {how.get(phase.session or '', phase.session)})"
    else:
        title = "sandbox-direct (Connect JSON)"
    pace = f", think {raw['think'][0]:g}-{raw['think'][1]:g} s" if raw.get("think") else ""
    heading(f"Load: {title}, {raw['customers']} customers{pace}, {phase.duration:.0f} s")
    print(
        f"flows completed {phase.completed} ({phase.completed_in_window} within the window), "
        f"started {phase.raw['flows_started']}, failed {phase.failed}"
    )
    print(f"completed flows/s   {phase.flows_per_second:.2f}")
    print(f"requests/s          {len(phase.raw['requests']) / phase.raw['wall']:.1f}")
    all_steps = phase.latencies()
    grouped = phase.by_kind()
    print(f"\n{'request kind':<16}{'n':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for kind in (*kinds, "all"):
        values = all_steps if kind == "all" else grouped.get(kind, [])
        if values:
            print(
                f"{kind:<16}{len(values):>7}{ms(percentile(values, 0.5)):>9}"
                f"{ms(percentile(values, 0.95)):>9}{ms(percentile(values, 0.99)):>9}"
                f"{ms(max(values)):>9}"
            )
    flows = phase.raw["flow_seconds"]
    if flows:
        print(
            f"{'whole flow':<16}{len(flows):>7}{ms(percentile(flows, 0.5)):>9}"
            f"{ms(percentile(flows, 0.95)):>9}{ms(percentile(flows, 0.99)):>9}{ms(max(flows)):>9}"
            + ("  (pauses included)" if raw.get("think") else "")
        )
    think = raw.get("think")
    if think and phase.cpu and phase.completed:
        # What the customers ask for, whatever the server manages: each spends about the pauses
        # of one flow per flow (plus the answers' time), so the offered rate is customers over
        # that; times the CPU a flow costs, the cores this load needs.
        pauses = PAUSES_PER_FLOW * (think[0] + think[1]) / 2
        offered = raw["customers"] / pauses
        per_flow = sum(phase.cpu.values()) / phase.completed
        app_per_flow = phase.cpu.get("app", 0.0) / phase.completed
        print(
            f"offered load: about {offered:.1f} flows/s ({raw['customers']} customers, "
            f"{pauses:.0f} s of pauses a flow); at the CPU a flow cost here that needs "
            f"{offered * per_flow:.2f} cores ({offered * app_per_flow:.2f} for the app alone), "
            f"of {os.cpu_count()}"
        )
    if phase.cpu and phase.completed:
        parts = ", ".join(
            f"{label} {seconds / phase.completed * 1000:.1f}"
            for label, seconds in phase.cpu.items()
        )
        total = sum(phase.cpu.values())
        print(f"CPU ms per completed flow: {parts}; total {total / phase.completed * 1000:.1f} "
              f"({total / phase.raw['wall']:.2f} cores busy of {os.cpu_count()})")  # fmt: skip
    print_machine(phase)
    print_driver(phase)
    print_layers(phase)
    if phase.target == "app":
        sent, renewed = phase.cookie_requests
        print(
            f"session cookie: carried by {sent} of {len(raw['requests'])} requests; the app "
            f"refreshed it (a session opened from the cookie) on {renewed}"
        )
    tokens = phase.raw["token_seconds"]
    if tokens:
        print(f"(partner token create, not counted: p50 {ms(percentile(tokens, 0.5)).strip()} ms)")
    server, other = phase.statuses()
    print(f"\nerrors: failed flows {phase.failed}; 5xx {sum(server.values())}; "
          f"other unexpected statuses {sum(other.values())}; "
          f"transport errors {sum(phase.raw['transport_errors'].values())}")  # fmt: skip
    for label, counter in (
        ("failed", phase.raw["failures"]),
        ("5xx", server),
        ("unexpected", other),
        ("transport", phase.raw["transport_errors"]),
    ):
        for reason, count in Counter(counter).most_common(5):
            print(f"  {label}: {count} x {reason}")


def print_driver(phase: Phase) -> None:
    """Whether the driver could keep up: its CPU, how late its loop ran, its concurrency."""
    raw = phase.raw
    lag = raw.get("loop_lag") or [0.0]
    busy = raw.get("driver_cpu", 0.0) / raw["wall"] if raw["wall"] else 0.0
    print(
        f"driver: CPU {raw.get('driver_cpu', 0.0):.1f} s ({busy:.0%} of one core); event loop "
        f"late by p50 {percentile(lag, 0.5) * 1000:.1f} / p99 {percentile(lag, 0.99) * 1000:.1f} "
        f"/ max {max(lag) * 1000:.0f} ms; at most {raw.get('in_flight_peak', 0)} requests in "
        f"flight; open-files limit {raw.get('open_files_limit', '?')}; nice "
        f"{raw.get('niceness', '?')}"
    )
    pauses = raw.get("gc_seconds") or []
    if pauses:
        print(
            f"driver garbage collection: {len(pauses)} collections, {sum(pauses) * 1000:.0f} ms in "
            f"all, the longest {max(pauses) * 1000:.0f} ms"
        )


def print_machine(phase: Phase) -> None:
    if not phase.machine_cpu or not phase.raw["wall"]:
        return
    ours = sum(phase.cpu.values())
    wall = phase.raw["wall"]
    print(
        f"machine: {phase.machine_cpu / wall:.2f} of {os.cpu_count()} cores busy, of which "
        f"this benchmark {ours / wall:.2f} and other work {(phase.machine_cpu - ours) / wall:.2f}"
        " (other work on the machine makes every figure here noisier)"
    )


def print_layers(phase: Phase) -> None:
    """Where a request's time went: the driver's measure, the app's own time (gunicorn's access
    log: from the request read to the answer written), and the FlatPeak calls within it. What
    the driver saw beyond the app's own time is waiting: for a gunicorn thread or a connection
    to be accepted, and for the driver's own event loop."""
    if not phase.app_seconds:
        return

    def trio(values: list[float]) -> str:
        return " / ".join(f"{percentile(values, q) * 1000:.0f}" for q in (0.5, 0.95, 0.99))

    requests = phase.latencies()
    print(
        f"layers, p50 / p95 / p99 ms: driver saw {trio(requests)}; inside the app "
        f"{trio(phase.app_seconds)} ({len(phase.app_seconds)} requests); each FlatPeak call "
        f"{trio(phase.upstream_seconds) if phase.upstream_seconds else '-'} "
        f"({len(phase.upstream_seconds)} calls)"
    )
    print_over_time(phase)
    connects = phase.raw.get("connect_seconds") or []
    if connects:
        print(
            f"connections: {len(connects)} opened (setup p50 / p95 / p99 {trio(connects)} ms; "
            f"{sum(1 for c in connects if c >= 0.9)} took 1 s or more: a dropped SYN), "
            f"{phase.raw.get('connections_reused', 0)} requests on a pooled one"
        )


def print_over_time(phase: Phase) -> None:
    """Latency second by second (by when requests ended): a steady queue and a server that
    stalls now and then can give the same percentiles, but not the same seconds."""
    ends = phase.raw.get("request_ends") or []
    if len(ends) != len(phase.raw["requests"]) or not ends:
        return
    by_second: dict[int, list[float]] = defaultdict(list)
    for end, (_kind, _status, seconds) in zip(ends, phase.raw["requests"], strict=True):
        by_second[int(end)].append(seconds)
    slow = sorted(second for second, values in by_second.items() if percentile(values, 0.99) > 1)
    worst = max(by_second, key=lambda second: percentile(by_second[second], 0.99))
    counts = [len(by_second.get(second, [])) for second in range(int(max(ends)) + 1)]
    print(
        f"over time: {len(slow)} of {len(counts)} seconds had a p99 over 1 s"
        + (f" (from {slow[0]} s to {slow[-1]} s)" if slow else "")
        + f"; the worst, at {worst} s: p50 {percentile(by_second[worst], 0.5) * 1000:.0f} / p99 "
        f"{percentile(by_second[worst], 0.99) * 1000:.0f} ms over {len(by_second[worst])} "
        f"requests; requests ended per second: min {min(counts)}, median "
        f"{sorted(counts)[len(counts) // 2]}, max {max(counts)}"
    )


def print_side_by_side(report: Report) -> None:
    """Every app phase in columns: cookie against handle, the topology against one instance."""
    apps = report.app_phases()
    if len(apps) < 2:
        return
    heading("Side by side: p50 / p95 / p99 ms per request kind")
    width = 22
    print(f"{'':<14}" + "".join(f"{phase.label:>{width}}" for phase in apps))
    rows: list[tuple[str, list[str]]] = []
    for kind in (*APP_KINDS, "all"):
        cells = []
        for phase in apps:
            values = phase.latencies() if kind == "all" else phase.by_kind().get(kind, [])
            cells.append(
                " / ".join(f"{percentile(values, q) * 1000:.0f}" for q in (0.5, 0.95, 0.99))
                if values
                else "-"
            )
        rows.append((kind, cells))
    rows.append(("flows done", [str(phase.completed) for phase in apps]))
    rows.append(("flows/s", [f"{phase.flows_per_second:.2f}" for phase in apps]))
    rows.append(("failed / 5xx", [f"{p.failed} / {sum(p.statuses()[0].values())}" for p in apps]))
    rows.append((
        "CPU ms/flow",
        [f"{sum(p.cpu.values()) / p.completed * 1000:.1f}" if p.completed else "-" for p in apps],
    ))  # fmt: skip
    rows.append(("inside app", [
        " / ".join(f"{percentile(p.app_seconds, q) * 1000:.0f}" for q in (0.5, 0.95, 0.99))
        if p.app_seconds else "-" for p in apps
    ]))  # fmt: skip
    rows.append((
        "other cores",
        [f"{(p.machine_cpu - sum(p.cpu.values())) / p.raw['wall']:.2f}" for p in apps],
    ))  # fmt: skip
    rows.append(("cookie sent", [str(p.cookie_requests[0]) for p in apps]))
    rows.append(("  refreshed", [str(p.cookie_requests[1]) for p in apps]))
    for label, cells in rows:
        print(f"{label:<14}" + "".join(f"{cell:>{width}}" for cell in cells))


def print_memory(report: Report) -> None:
    heading("App memory (VmRSS of the gunicorn processes)")
    print(f"{'process':<24}{'start MB':>10}{'end MB':>10}")
    for label in dict.fromkeys([*report.app_rss_start, *report.app_rss_end]):
        start, end = report.app_rss_start.get(label), report.app_rss_end.get(label)
        show = [f"{v / 1024:10.1f}" if v is not None else f"{'-':>10}" for v in (start, end)]
        print(f"{label:<24}{show[0]}{show[1]}")
    for app in report.app_phases():
        if not app.memory:
            continue
        growth = app.memory.growth(warm_up(app))
        if growth:
            before, after, share = growth
            width = app.memory.window(app.memory.samples[-1].at)
            ramp = f" after the {warm_up(app):.0f} s ramp" if warm_up(app) else ""
            print(f"{app.label}: workers' total, mean of first {width:.0f} s{ramp} "
                  f"{before / 1024:.1f} MB, last {width:.0f} s {after / 1024:.1f} MB: "
                  f"{share:+.1%} ({len(app.memory.samples)} samples, 1/s); workers replaced "
                  f"during the load: {app.memory.replaced_workers()}")  # fmt: skip
    problems = {k: v for k, v in report.log_problems.items() if v}
    print(f"logs: {problems or 'no tracebacks, no worker timeouts, no restarts (app, sandbox)'}")


def print_comparison(report: Report) -> None:
    app, direct = production_phase(report), report.phases.get("sandbox-direct")
    if not app or not direct:
        return
    heading(f"Our overhead: {app.label} against the same flows straight at the sandbox")
    share = app.flows_per_second / direct.flows_per_second if direct.flows_per_second else 0
    print(f"flows/s: app {app.flows_per_second:.2f}, direct {direct.flows_per_second:.2f}, "
          f"ratio {share:.2f}")  # fmt: skip
    a, d = app.by_kind(), direct.by_kind()
    print(f"{'step (app ↔ direct)':<28}{'app p50':>9}{'direct p50':>12}{'diff ms':>9}")
    diffs = []
    for app_kind, direct_kind in STEP_PAIRS:
        if a.get(app_kind) and d.get(direct_kind):
            pa, pd = percentile(a[app_kind], 0.5), percentile(d[direct_kind], 0.5)
            diffs.append(pa - pd)
            print(f"{app_kind + ' ↔ ' + direct_kind:<28}{ms(pa):>9}{ms(pd):>12}{ms(pa - pd):>9}")
    if diffs:
        print(f"mean difference per step: {sum(diffs) / len(diffs) * 1000:.1f} ms (at saturation "
              "both sides queue, so this is mostly queueing, not work)")  # fmt: skip
    if app.cpu and direct.cpu and app.completed and direct.completed:
        # Work rather than waiting: CPU per customer request, whoever spent it.
        app_requests = len(app.raw["requests"]) / app.completed
        direct_requests = len(direct.raw["requests"]) / direct.completed
        ours = app.cpu.get("app", 0) / app.completed / app_requests * 1000
        total_app = sum(app.cpu.values()) / app.completed * 1000
        total_direct = sum(direct.cpu.values()) / direct.completed * 1000
        print(
            f"CPU per flow, all processes: app run {total_app:.1f} ms, direct run "
            f"{total_direct:.1f} ms (ratio {total_direct / total_app:.2f}); the app's own "
            f"{ours:.1f} ms per request over {app_requests:.0f} requests a flow, against "
            f"{direct_requests:.0f} sandbox calls a flow direct"
        )
        # Both phases share the machine's cores, so at saturation the throughput ratio follows
        # the CPU ratio. What the app run spends outside the app (the sandbox serving the same
        # calls, Redis, the driver parsing HTML) bounds it even for an app that cost nothing.
        others = total_app - app.cpu.get("app", 0) / app.completed * 1000
        sandbox_per_call = direct.cpu.get("sandbox", 0) / direct.completed / direct_requests * 1000
        needed = 2 * total_direct - others
        print(
            f"CPU bound: without the app's own CPU the app run would still cost {others:.1f} ms a "
            f"flow, a ratio of at most {total_direct / others:.2f}; 0.5 needs the app under "
            f"{max(needed, 0):.1f} ms a flow ({max(needed, 0) / app_requests:.1f} ms a request; "
            f"the sandbox alone spends {sandbox_per_call:.1f} ms a call)"
        )


def print_report(report: Report) -> None:
    opts = report.options
    print(
        f"flow benchmark: {os.cpu_count()} CPUs; app and sandbox each gunicorn gthread "
        f"{opts.stack.workers} workers x {opts.stack.threads} threads; max_requests "
        f"{opts.stack.max_requests or 'off'}; APP_ENV=production, PUBLIC_URL {PUBLIC_URL} behind "
        "a simulated TLS balancer (TRUST_PROXY_HOPS=1)"
    )
    if opts.think:
        print(
            f"customers pause {opts.think[0]:g}-{opts.think[1]:g} s (uniform, seed {opts.seed}) "
            f"before the entry link and each step, one flow at a time, starts staggered over "
            f"{opts.effective_ramp:.0f} s; one X-Forwarded-For per flow"
        )
    else:
        print("customers have no think time (saturation); one X-Forwarded-For per flow")
    for name, description in report.stacks.items():
        print(f"stack {name}: {description}")
    if report.first_visit:
        print_weight(report)
    for phase in report.phases.values():
        print_phase(phase, APP_KINDS if phase.target == "app" else (*DIRECT_KINDS, "save+exchange"))
    print_side_by_side(report)
    print_comparison(report)
    print_memory(report)
    heading("Targets")
    for ok, line in report.targets:
        print(f"{ {True: 'PASS', False: 'FAIL', None: '----'}[ok] }  {line}")


# -- command line -----------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    parser.add_argument("--customers", type=int, default=200, help="at once (default 200)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per phase (60)")
    parser.add_argument(
        "--ramp",
        type=float,
        default=None,
        help="seconds to spread starts over (1; with --think, one flow's length)",
    )
    parser.add_argument(
        "--phases",
        default=None,
        help="app, direct or both (default app,direct; app alone with --think)",
    )
    parser.add_argument(
        "--sessions",
        "--session",
        default=",".join(SESSION_MODES),
        help="how the app finds the session: cookie, handle or both (default cookie,handle)",
    )
    parser.add_argument(
        "--think",
        type=think_range,
        default=None,
        help="LO-HI seconds each customer pauses before each step (e.g. 3-10); default none",
    )
    parser.add_argument("--seed", type=int, default=1, help="for the pauses (1)")
    parser.add_argument(
        "--warmup",
        type=float,
        default=Options.warmup,
        help="seconds of unmeasured load on each stack before its phases (5; 0: none)",
    )
    parser.add_argument(
        "--topology",
        action="store_true",
        help=f"also run the app phases through nginx in front of {TOPOLOGY_APPS} instances",
    )
    parser.add_argument("--no-weight", action="store_true", help="skip the page weight")
    parser.add_argument(
        "--logs",
        type=Path,
        help="copy the redis, sandbox and app logs here, and each phase's driver output (JSON)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=StackOptions.workers,
        help="gunicorn workers, app and sandbox",
    )
    parser.add_argument(
        "--threads", type=int, default=StackOptions.threads, help="threads per worker, both"
    )
    args = parser.parse_args(argv)
    default_phases = "app" if args.think else "app,direct"
    phases = tuple(p.strip() for p in (args.phases or default_phases).split(",") if p.strip())
    if not phases or any(p not in ("app", "direct") for p in phases):
        parser.error("--phases takes app, direct or app,direct")
    sessions = tuple(s.strip() for s in args.sessions.split(",") if s.strip())
    if not sessions or any(s not in SESSION_MODES for s in sessions):
        parser.error("--sessions takes cookie, handle or cookie,handle")
    if args.customers < 1 or args.duration <= 0:
        parser.error("--customers and --duration must be positive")
    return Options(
        customers=args.customers,
        duration=args.duration,
        ramp=args.ramp,
        phases=phases,
        weigh=not args.no_weight,
        keep_logs=args.logs,
        stack=StackOptions(workers=args.workers, threads=args.threads),
        sessions=sessions,
        think=args.think,
        seed=args.seed,
        warmup=args.warmup,
        stacks=("single", "topology") if args.topology else ("single",),
    )


def _terminate(signum: int, _frame: FrameType | None) -> None:
    print(f"\nstopped by signal {signum}; stopping every process", file=sys.stderr)
    raise SystemExit(128 + signum)  # unwinds through running_stack(), which stops them


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    began = time.perf_counter()
    try:
        report = run_benchmark(options, out=sys.stderr)
    except KeyboardInterrupt:
        print("\ninterrupted; every process stopped", file=sys.stderr)
        return 130
    except (BenchError, StackError) as exc:
        print(f"\nbenchmark failed: {exc}", file=sys.stderr)
        return 1
    print_report(report)
    print(f"\nbenchmark took {time.perf_counter() - began:.0f} s; every process stopped")
    return 0 if report.passed else 1
