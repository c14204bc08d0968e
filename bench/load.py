"""The customer driver: many customers at once through complete flows, on one asyncio loop.

It runs in a process of its own (``python -m bench.load``, started by ``bench.run``) so that the
process sampling memory and printing stays out of its way, and it is cheap: aiohttp, and
``devstack.forms`` (a few regular expressions) instead of a full HTML parser.

Two targets, the same flows, the same customers and duration: ``app``, what a browser with htmx
sends, and ``direct``, the Connect JSON the app itself sends for the same flow, straight at the
sandbox (the flows are ``bench.flows``'s; the customer's browser and the partner's backend
``bench.browser``'s). Without ``--think`` customers have no think time: the next request leaves
when the last answer arrived, and a customer starts a new flow when one finishes, so the server
is saturated and the two targets' throughputs compare like for like. Starts are spread over
``--ramp`` (1 s) so 200 customers do not arrive in the same millisecond.

With ``--think LO-HI`` each customer pauses a uniformly random LO..HI seconds (one seeded
generator per customer, ``--seed``) before each thing a person does: opening the entry link,
and each step's post (the callback and the done page follow SAVE at once, as a browser follows
``HX-Redirect``). Each customer does one flow at a time; starts are staggered over ``--ramp``,
by default the length of one flow (six mean pauses), so arrivals are steady from the start. No
flow starts after ``--duration``; flows under way then are finished.

The driver measures itself too (its CPU, how late its event loop wakes up, the most requests in
flight at once), so a driver that became the bottleneck shows in its own numbers. It raises its
soft limit on open files when the customers could need more, and runs at nice -5 when allowed,
so that servers keeping every core busy do not delay the driver's own clock readings.

Output (stdout): one JSON object with every request's kind, status and seconds, each flow's end
time, the failures and the driver's own figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import random
import resource
import sys
import time
from collections.abc import Iterator
from dataclasses import fields
from typing import Any

import aiohttp

from bench.browser import (
    PAUSES_PER_FLOW,
    REQUEST_TIMEOUT,
    SESSION_MODES,
    FlowFailed,
    Partner,
    Record,
    Think,
    no_think,
)
from bench.flows import app_flow, direct_flow


def customer_ip(number: int) -> str:
    """A distinct address per flow, in 10.0.0.0/8 (a new customer each time)."""
    number += 1
    return f"10.{(number >> 16) & 255}.{(number >> 8) & 255}.{number & 255}"


def prefer_driver() -> int:
    """Nice -5 for the driver when allowed (root): on a machine where the servers keep every core
    busy, a driver scheduled late stamps a request's end late and reads as server latency. It
    needs a tenth of a core, so the servers lose little. Returns the niceness in force."""
    # Not permitted (not root): measure at equal priority; the loop lag line shows the effect.
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, 0, -5)
    return os.getpriority(os.PRIO_PROCESS, 0)


def raise_open_files(customers: int) -> int:
    """The soft limit on open files, raised to the hard limit when the customers could need
    more than it allows (a connection each at worst, plus Redis, the log and Python's own);
    the limit in force is returned for the report."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2 * customers + 256
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        if new > soft:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
            soft = new
    return int(soft)


async def watch_loop(record: Record, stop: asyncio.Event, every: float = 0.1) -> None:
    """How late the event loop wakes a sleeper: if the driver were the bottleneck, its own
    requests would wait on it and this lag would grow with them."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        due = loop.time() + every
        await asyncio.sleep(every)
        record.loop_lag.append(max(0.0, loop.time() - due))


@contextlib.contextmanager
def gc_timed(record: Record) -> Iterator[None]:
    """Time the driver's garbage collections (a pause of the whole event loop) and make them
    rarer: what was allocated before the run (imports, the loop) is frozen out of them, and a
    young generation of 50,000 objects instead of 700 spares thousands of customers' pages and
    forms from being walked again and again."""
    began = 0.0

    def timer(phase: str, _info: dict[str, int]) -> None:
        nonlocal began
        if phase == "start":
            began = time.perf_counter()
        else:
            record.gc_seconds.append(time.perf_counter() - began)

    gc.collect()
    gc.freeze()
    thresholds = gc.get_threshold()
    gc.set_threshold(50_000, 20, 20)
    gc.callbacks.append(timer)
    try:
        yield
    finally:
        gc.callbacks.remove(timer)
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def thinker(think: tuple[float, float] | None, seed: int, slot: int) -> Think:
    """One customer's pauses: uniform in ``think`` seconds, from a generator of its own seeded
    by (seed, slot), so a run's pauses repeat whatever order the customers get scheduled in."""
    if think is None:
        return no_think
    low, high = think
    rng = random.Random(seed * 1_000_003 + slot)

    async def pause() -> None:
        await asyncio.sleep(rng.uniform(low, high))

    return pause


def default_ramp(think: tuple[float, float] | None) -> float:
    """One second at saturation; with think time, the length of one flow, so that the starts
    (and so every later step) arrive at a steady rate instead of as one wave."""
    if think is None:
        return 1.0
    return PAUSES_PER_FLOW * (think[0] + think[1]) / 2


async def drive(
    target: str,
    url: str,
    sandbox_url: str,
    redis_url: str,
    customers: int,
    duration: float,
    ramp: float,
    *,
    session_mode: str = "cookie",
    think: tuple[float, float] | None = None,
    seed: int = 1,
) -> dict[str, Any]:
    record = Record()
    open_files = raise_open_files(customers)
    niceness = prefer_driver()
    cpu_began = resource.getrusage(resource.RUSAGE_SELF)
    # No connection limit: each customer has at most one request in flight (as a browser
    # does over HTTP/1.1 for these sequential pages), so a limit could only make customers
    # queue inside the driver, and that wait would count as the server's latency.
    connector = aiohttp.TCPConnector(limit=0, force_close=False, keepalive_timeout=4)
    trace = aiohttp.TraceConfig()

    async def created(_session: Any, context: Any, _params: Any) -> None:
        context.began = time.perf_counter()

    async def connected(_session: Any, context: Any, _params: Any) -> None:
        record.connect_seconds.append(time.perf_counter() - context.began)

    async def reused(_session: Any, _context: Any, _params: Any) -> None:
        record.connections_reused += 1

    trace.on_connection_create_start.append(created)
    trace.on_connection_create_end.append(connected)
    trace.on_connection_reuseconn.append(reused)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    jar = aiohttp.DummyCookieJar()  # the app's cookies are kept per customer, by hand
    redis_client = None
    if target == "app":
        import redis.asyncio

        # Blocking: 200 customers share a few connections and wait their turn for one.
        pool = redis.asyncio.BlockingConnectionPool.from_url(
            redis_url, max_connections=16, timeout=REQUEST_TIMEOUT
        )
        redis_client = redis.asyncio.Redis(connection_pool=pool)
    stop_watch = asyncio.Event()
    watcher = asyncio.create_task(watch_loop(record, stop_watch))
    with gc_timed(record):
        await _run_customers(
            record, connector, timeout, jar, trace, target, url, sandbox_url, redis_client,
            customers, duration, ramp, session_mode, think, seed,
        )  # fmt: skip
    stop_watch.set()
    await watcher
    if redis_client is not None:
        await redis_client.aclose()
    cpu_ended = resource.getrusage(resource.RUSAGE_SELF)
    record.driver_cpu = (cpu_ended.ru_utime - cpu_began.ru_utime) + (
        cpu_ended.ru_stime - cpu_began.ru_stime
    )
    return {
        "target": target,
        "customers": customers,
        "duration": duration,
        "session": session_mode if target == "app" else None,
        "think": list(think) if think else None,
        "ramp": ramp,
        "open_files_limit": open_files,
        "niceness": niceness,
        # Not dataclasses.asdict: it rebuilds a Counter from its (key, count) pairs, which
        # counts the pairs, so any failure would have made the output unwritable.
        **{item.name: getattr(record, item.name) for item in fields(record)},
    }


async def _run_customers(
    record: Record,
    connector: aiohttp.TCPConnector,
    timeout: aiohttp.ClientTimeout,
    jar: aiohttp.DummyCookieJar,
    trace: aiohttp.TraceConfig,
    target: str,
    url: str,
    sandbox_url: str,
    redis_client: Any,
    customers: int,
    duration: float,
    ramp: float,
    session_mode: str,
    think: tuple[float, float] | None,
    seed: int,
) -> None:
    """Every customer, from the first start to the last flow's end; sets ``record.wall``."""
    counter = iter(range(10**9))
    run_id = f"{int(time.time())}-{id(record) % 10000}"
    async with aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        cookie_jar=jar,
        auto_decompress=True,
        trace_configs=[trace],
    ) as http:
        partner = Partner(http, sandbox_url)
        await partner.bearer()
        start = record.began = time.perf_counter()
        deadline = start + duration

        async def customer(slot: int) -> None:
            pause = thinker(think, seed, slot)
            await asyncio.sleep(ramp * slot / max(customers, 1))
            first = True
            while time.perf_counter() < deadline:
                if not first:
                    await pause()  # before opening the next entry link
                    if time.perf_counter() >= deadline:
                        break
                first = False
                number = next(counter)
                ref = f"bench-{target}-{run_id}-{number:06d}"
                record.flows_started += 1
                try:
                    if target == "app":
                        await app_flow(
                            http, url, partner, redis_client, record, number, ref,
                            customer_ip(number), session_mode, pause,
                        )  # fmt: skip
                    else:
                        await direct_flow(http, url, partner, record, number, ref, pause)
                except FlowFailed as exc:
                    record.failures[str(exc)] += 1
                    continue
                except (TimeoutError, aiohttp.ClientError) as exc:
                    reason = f"{type(exc).__name__}: {exc}"[:160]
                    record.transport_errors[reason] += 1
                    record.failures[f"transport: {type(exc).__name__}"] += 1
                    continue
                except Exception as exc:  # the driver's own trouble still fails only the flow
                    record.failures[f"driver: {type(exc).__name__}: {exc}"[:160]] += 1
                    continue
                record.flow_ends.append(time.perf_counter() - start)

        await asyncio.gather(*(customer(slot) for slot in range(customers)))
        record.wall = time.perf_counter() - start


def think_range(text: str) -> tuple[float, float]:
    """``LO-HI`` seconds (``3-10``, ``0.1-0.3``) or one number for a fixed pause."""
    low, _sep, high = text.partition("-")
    try:
        pair = (float(low), float(high or low))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--think takes LO-HI seconds, not {text!r}") from None
    if not 0 <= pair[0] <= pair[1]:
        raise argparse.ArgumentTypeError(f"--think needs 0 <= LO <= HI, not {text!r}")
    return pair


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("target", choices=("app", "direct"))
    parser.add_argument("--url", required=True, help="the app (app) or the sandbox (direct)")
    parser.add_argument("--sandbox-url", required=True, help="where the partner creates tokens")
    parser.add_argument("--redis-url", default="", help="the app's Redis, to check stored ids")
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument(
        "--ramp", type=float, default=None, help="seconds to spread starts over (see above)"
    )
    parser.add_argument("--session", choices=SESSION_MODES, default="cookie")
    parser.add_argument("--think", type=think_range, default=None, help="LO-HI seconds")
    parser.add_argument("--seed", type=int, default=1, help="for the think-time pauses")
    args = parser.parse_args(argv)
    result = asyncio.run(
        drive(
            args.target,
            args.url.rstrip("/"),
            args.sandbox_url.rstrip("/"),
            args.redis_url,
            args.customers,
            args.duration,
            args.ramp if args.ramp is not None else default_ramp(args.think),
            session_mode=args.session,
            think=args.think,
            seed=args.seed,
        )
    )
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
