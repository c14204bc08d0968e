"""The performance targets, judged: each a PASS/FAIL line (or one not judged at this scale) added
to the run's ``Report``. The numbers are these constants; ``scripts/bench --help`` says what
each target is for."""

from __future__ import annotations

from bench.phase import Report, percentile, production_phase, warm_up

FIRST_VISIT_LIMIT = 30_000  # bytes, compressed, HTML + CSS + JS + fonts + images
FRAGMENT_LIMIT = 8_000  # bytes, compressed, each step's htmx answer
THROUGHPUT_SHARE = 0.5  # app flows/s ÷ sandbox-direct flows/s
TAIL_RATIO = 3.0  # p99 ÷ p50 of step latency
MEMORY_GROWTH = 0.10  # workers' RSS, last 20 s over first 20 s
THINK_P99 = 0.300  # seconds: p99 of every request with think time, at THINK_CUSTOMERS
THINK_CUSTOMERS = 2000  # the scale that target is judged at


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
