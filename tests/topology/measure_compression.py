"""Where should pages be compressed behind nginx: in the app or in nginx? A measurement, not a
test (``python -m tests.topology.measure_compression``, about two minutes; its results are in
docs/topology.md).

The loopback topology (nginx, two app instances of 2 gthread workers x 8 threads, the sandbox,
Redis) under ``--customers`` concurrent customers each walking whole flows through nginx
(demo page, start, address, provider, tariff, contract term, SAVE, the return page), with
``Accept-Encoding: gzip, br`` as browsers send it, for ``--duration`` seconds per variant:

* ``app``: the shipped configuration. The app compresses (Brotli 4, webapp/compression.py);
  nginx passes the bodies through (its gzip filter skips a response with a Content-Encoding).
* ``nginx-gzip``: nginx asks the app for identity (``proxy_set_header Accept-Encoding ""``,
  so compression.py does nothing) and gzips at level 5 itself.
* ``nginx-brotli``: the same with Debian's Brotli filter module at quality 4 (gzip for clients
  without br).

Per variant: completed flows per second, CPU seconds per flow of the app instances and of nginx
(from /proc, every process of each group), and the bytes nginx sent per flow
(``$body_bytes_sent`` from its access log, static files excluded: nginx serves those
precompressed in every variant).
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import threading
import time
from pathlib import Path

from devstack.stack import Gunicorn, child_pids
from devstack.topology import Topology
from tests.topology.test_slow_clients import customer_flow

CLK = os.sysconf("SC_CLK_TCK")
TYPES = "text/css application/javascript application/json image/svg+xml text/plain"
VARIANTS = {
    "app": ("", ""),
    "nginx-gzip": (
        f"gzip on; gzip_comp_level 5; gzip_min_length 512; gzip_proxied any; gzip_vary on; "
        f"gzip_types {TYPES};",
        'proxy_set_header Accept-Encoding "";',
    ),
    "nginx-brotli": (
        f"gzip on; gzip_comp_level 5; gzip_min_length 512; gzip_proxied any; gzip_vary on; "
        f"gzip_types {TYPES}; brotli on; brotli_comp_level 4; brotli_min_length 512; "
        f"brotli_types {TYPES};",
        'proxy_set_header Accept-Encoding "";',
    ),
}


def _ticks(pid: int, *, reaped: bool = False) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    own = int(fields[11]) + int(fields[12])  # utime, stime
    return own + (int(fields[13]) + int(fields[14]) if reaped else 0)  # cutime, cstime


def cpu_seconds(masters: list[int]) -> float:
    """CPU of each master and its workers, those running now and those it has reaped: gunicorn
    replaces a worker after ``max_requests``, and summing only the live ones then went
    backwards (a negative figure in one run)."""
    total = 0
    for master in masters:
        total += _ticks(master, reaped=True)
        total += sum(_ticks(child) for child in child_pids(master))
    return total / CLK


def configure(topology: Topology, variant: str) -> None:
    server_block, location_block = VARIANTS[variant]
    site = topology.nginx.site_path
    topology.nginx.write_conf()  # the shipped rendering, then the variant's changes
    text = site.read_text()
    if server_block:
        text = text.replace("    gzip off;\n", f"    {server_block}\n", 1)
    # Into the pages' location, not the first proxying one (/healthz has its own since).
    pages = text.index("    location / {\n")
    anchor = text.index("        proxy_http_version 1.1;\n", pages)
    text = text[:anchor] + f"        {location_block}\n" + text[anchor:]
    site.write_text(text)
    topology.nginx.check()
    os.kill(topology.nginx.pid, 1)  # SIGHUP: reload
    time.sleep(1.5)
    check_variant(topology, variant)


def check_variant(topology: Topology, variant: str) -> None:
    """Refuse to measure a variant that did not take: who compresses shows in what a browser
    that takes only Brotli gets (the app would send br; nginx's gzip can only send identity)."""
    import requests

    def coding(accept: str) -> str | None:
        response = requests.get(
            topology.url + "/", headers={"Accept-Encoding": accept}, timeout=10, stream=True
        )
        response.close()
        return response.headers.get("Content-Encoding")

    expected = {"app": ("br", "gzip"), "nginx-gzip": (None, "gzip"), "nginx-brotli": ("br", "gzip")}
    got = (coding("br"), coding("gzip"))
    if got != expected[variant]:
        raise SystemExit(
            f"{variant}: Content-Encoding for br / gzip was {got}, not {expected[variant]}"
        )


def run(topology: Topology, customers: int, duration: float) -> dict[str, float]:
    flow = customer_flow(topology.url)
    done = 0
    failed = 0
    lock = threading.Lock()
    stop = time.monotonic() + duration

    def customer() -> None:
        nonlocal done, failed
        while time.monotonic() < stop:
            try:
                flow()
            except Exception:  # counted; the run goes on
                with lock:
                    failed += 1
                continue
            with lock:
                done += 1

    app_pids = [app.pid for app in topology.apps]
    nginx_pids = [topology.nginx.pid]
    log_from = topology.nginx.access_log_path.stat().st_size
    app_cpu, nginx_cpu = cpu_seconds(app_pids), cpu_seconds(nginx_pids)
    started = time.monotonic()
    threads = [threading.Thread(target=customer) for _ in range(customers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    app_cpu, nginx_cpu = cpu_seconds(app_pids) - app_cpu, cpu_seconds(nginx_pids) - nginx_cpu
    with topology.nginx.access_log_path.open() as log:
        log.seek(log_from)
        lines = [line for line in log if "/static/" not in line]
    sent = sum(int(m[1]) for m in (re.search(r'" \d{3} (\d+) ', line) for line in lines) if m)
    flows = max(done, 1)
    return {
        "flows_per_s": done / elapsed,
        "failed": failed,
        "app_cpu_ms_per_flow": 1000 * app_cpu / flows,
        "nginx_cpu_ms_per_flow": 1000 * nginx_cpu / flows,
        "bytes_per_flow": sent / flows,
        "requests_per_flow": len(lines) / flows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=8)
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="compression-") as workdir:
        topology = Topology(
            Path(workdir),
            instances=2,
            app_gunicorn=Gunicorn(workers=2, threads=8),
            # A measurement, not a rate-limit test: every flow comes from 127.0.0.1.
            app_settings={"DEMO_ENABLED": "true", "RATELIMIT_ENABLED": "false"},
        )
        with topology:
            customer_flow(topology.url)()  # warm
            for round_ in range(args.rounds):
                for variant in VARIANTS:
                    configure(topology, variant)
                    result = run(topology, args.customers, args.duration)
                    print(
                        f"round {round_ + 1} {variant:13s} "
                        + "  ".join(
                            f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}"
                            for k, v in result.items()
                        ),
                        flush=True,
                    )


if __name__ == "__main__":
    main()
