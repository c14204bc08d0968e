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
8 kB compressed for each step's htmx fragment (constants in bench/verdict.py).

Exit status: 0 when every target passes, 1 when one fails (or the run could not finish).
Timings are wall-clock at the driver over loopback; on a machine shared with other work they
are noisy, so compare ratios (app ÷ sandbox-direct) rather than absolutes between runs.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Any

import requests

from bench import weight
from bench.browser import PUBLIC_URL, SESSION_MODES
from bench.load import think_range
from bench.options import Options, StackOptions
from bench.phase import Phase, Report
from bench.procs import CpuMeter, LogWindow, Sampler, rss_kb
from bench.report import print_report
from bench.stacks import TOPOLOGY_APPS, BenchTarget, running_target
from bench.verdict import evaluate
from devstack.stack import (
    ROOT,
    SANDBOX_ACCOUNT_ID,
    SANDBOX_API_KEY,
    Service,
    StackError,
    child_pids,
)

WARMUP_CUSTOMERS = 20  # at most, without think time, for Options.warmup seconds


class BenchError(RuntimeError):
    """The benchmark could not run."""


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
    parser.add_argument(
        "--topology-redis",
        choices=("ha", "single"),
        default=Options.topology_redis,
        help="the topology's Redis: ha (primary, replica, 3 Sentinels; default) or single",
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
        topology_redis=args.topology_redis,
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
