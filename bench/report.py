"""The printed report: page weight, each phase's latencies, CPU, driver and errors, the app
phases side by side, our overhead against sandbox-direct, memory, and the targets' lines.
Printing only: the figures are ``bench.phase``'s, the verdict ``bench.verdict``'s."""

from __future__ import annotations

import os
from collections import Counter, defaultdict

from bench.browser import APP_KINDS, DIRECT_KINDS, PAUSES_PER_FLOW, PUBLIC_URL
from bench.phase import Phase, Report, percentile, production_phase, warm_up

# Which app request does the work of which direct request (for "our overhead per step").
STEP_PAIRS = (
    ("show", "restore"),
    ("address", "address"),
    ("provider", "provider"),
    ("tariff", "tariff"),
    ("contract", "contract"),
    ("save", "save+exchange"),
)


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
    # Per-process CPU is read in clock ticks and the driver's counts from before the phase
    # began (its start-up), so with nothing else running the difference can dip below zero.
    other = max(0.0, phase.machine_cpu - ours)
    print(
        f"machine: {phase.machine_cpu / wall:.2f} of {os.cpu_count()} cores busy, of which "
        f"this benchmark {ours / wall:.2f} and other work {other / wall:.2f}"
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
        [f"{max(0.0, p.machine_cpu - sum(p.cpu.values())) / p.raw['wall']:.2f}" for p in apps],
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
