"""The stacks the phases drive, each started in its production configuration:
``devstack.stack`` for one app instance, ``devstack.topology`` for nginx in front of
TOPOLOGY_APPS of them (both shared with the tests). ``BenchTarget`` is the plug point: whatever
stack is behind it, a phase sees the same way in, sandbox and Redis, and processes to meter.
A stack that fails prints its processes' last log lines; ``--logs`` keeps a copy of each log."""

from __future__ import annotations

import secrets
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.browser import PUBLIC_URL
from bench.options import Options, StackOptions
from devstack.stack import APP_DB, Service, Stack

TOPOLOGY_APPS = 2  # app instances behind nginx with --topology


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
    # Groups of processes metered under one label (a replica and its Sentinels).
    groups: dict[str, list[Service]] = field(default_factory=dict)
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
        for label, services in self.groups.items():
            groups[label] = [(service.pid, False) for service in services]
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
    options: StackOptions | None = None,
    keep_logs: Path | None = None,
    redis_ha: bool = True,
) -> Iterator[BenchTarget]:
    """``devstack.topology.Topology``: nginx (the shipped site template) in front of
    TOPOLOGY_APPS app instances, each run as ``running_stack`` runs the one (production
    settings, the same gunicorn options, recycling off), the sandbox under the same gunicorn
    options with a Redis of its own, and the app's Redis as ``deploy/`` ships it: a primary, a
    replica and three Sentinels, with the topology's operational settings (results ``WAIT`` for
    the replica, the failover wait). ``redis_ha=False`` puts one append-only redis-server there
    instead, to see by difference what the Sentinel client and the replica cost.

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
                redis_ha=redis_ha,
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
    from devstack.sentinel import RedisHA

    redis, groups, kind = topo.redis, {}, "one append-only Redis"
    if isinstance(topo.redis, RedisHA):
        # The driver checks stored ids on the primary itself; the replica and the Sentinels
        # are metered apart from it.
        redis = topo.redis.primary()
        replicas = [server for server in topo.redis.servers if server is not redis]
        groups = {"redis replica": replicas, "sentinels": list(topo.redis.sentinels)}
        kind = "Redis primary, replica and 3 Sentinels"
    return BenchTarget(
        name="topology",
        url=topo.url,
        sandbox=topo.sandbox,
        redis=redis,
        redis_url=redis.url(APP_DB),
        apps=list(topo.apps),
        others={"nginx": topo.nginx, "sandbox redis": topo.sandbox_redis},
        groups=groups,
        description=(
            f"nginx at {topo.url} in front of {len(topo.apps)} app instances "
            f"({', '.join(app.url for app in topo.apps)}); {kind}; "
            "the sandbox with a Redis of its own"
        ),
    )


@contextmanager
def running_target(name: str, options: Options) -> Iterator[BenchTarget]:
    if name == "topology":
        redis_ha = options.topology_redis == "ha"
        with running_topology(options.stack, options.keep_logs, redis_ha) as target:
            yield target
    else:
        with running_stack(options.stack, options.keep_logs) as stack:
            yield single_target(stack)
