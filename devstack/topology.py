"""The production topology on loopback: nginx in front of several app instances, Redis behind.

``deploy/`` is what an operations team installs on Debian hosts; this module runs the very same
files on one machine, so the tests (``tests/topology/``) and ``scripts/topology`` meet the
topology production has, not a look-alike:

* Redis: a primary, a replica and three Sentinels (``devstack.sentinel.RedisHA``) when the app
  can follow Sentinels, else one append-only ``redis-server``;
* the sandbox (FlatPeak's stand-in) under gunicorn, with a ``redis-server`` of its own: FlatPeak's
  data is not ours, and an outage of our Redis must leave it answering;
* N app instances (``AppServer``: gunicorn with ``gunicorn.conf.py``), each on its own loopback
  port, with ``PUBLIC_URL`` = nginx's URL and the operational settings of
  ``deploy/connect.env`` read from that file (``GUNICORN_KEEPALIVE``, ``TRUST_PROXY_HOPS``,
  ``FORWARDED_ALLOW_IPS``, ``REDIS_RESULT_REPLICAS``), so the two cannot drift apart;
* nginx (``NginxServer``), rendered from ``deploy/nginx/connect.conf.template`` with the plain
  listen include (http on 127.0.0.1; production's include is the TLS one), its static files
  from ``flask --app wsgi nginx-assets``, the command operations run on every deploy.

``python -m devstack.topology --instances 2 --port 8080`` (what ``scripts/topology`` runs) starts
it all, prints the URLs and stops everything on Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Self

import redis

from devstack.sentinel import RedisHA
from devstack.stack import (
    ROOT,
    SANDBOX_DB,
    AppServer,
    Gunicorn,
    RedisServer,
    SandboxServer,
    Service,
    StackError,
)

DEPLOY = ROOT / "deploy"
NGINX_TEMPLATE = DEPLOY / "nginx" / "connect.conf.template"
PLAIN_LISTEN_TEMPLATE = DEPLOY / "nginx" / "listen-plain.conf.template"
TLS_LISTEN_TEMPLATE = DEPLOY / "nginx" / "listen-tls.conf.template"
CONNECT_ENV = DEPLOY / "connect.env"
# What the instances take from deploy/connect.env as it is: how they meet nginx (gunicorn's
# keep-alive above nginx's upstream keepalive_timeout, or nginx may send a request on a
# connection gunicorn is closing; the proxy hops and addresses trusted) and the replica wait
# of stored results. Not REDIS_FAILOVER_WAIT: production's (12 s) is sized for Sentinels with
# a 5 s down-after, while devstack/sentinel.py's fail over in about 2 s, so the app's default
# for Sentinel fits them. Not the secrets, URLs or worker counts, which are this machine's.
FROM_CONNECT_ENV = (
    "GUNICORN_KEEPALIVE",
    "TRUST_PROXY_HOPS",
    "FORWARDED_ALLOW_IPS",
    "REDIS_RESULT_REPLICAS",
)
# Debian's package puts dynamic modules here; the brotli one is loaded if it is installed, as
# Debian's own nginx.conf does through modules-enabled/.
NGINX_MODULES = Path("/usr/lib/nginx/modules")
APP_DB = 0
APP_GUNICORN = Gunicorn()
# The sandbox served as FlatPeak serves: connections kept alive, which the app then pools.
SANDBOX_GUNICORN = Gunicorn(workers=1, threads=16, keep_alive=30)

_PLACEHOLDER = re.compile(r"\$\{(CONNECT_[A-Z0-9_]+)\}")


def read_env_file(path: Path = CONNECT_ENV) -> dict[str, str]:
    """``KEY=VALUE`` lines of a systemd ``EnvironmentFile`` (comments and blank lines skipped;
    the shipped file quotes nothing)."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def operational_settings(*, replicas: bool) -> dict[str, str]:
    """``FROM_CONNECT_ENV`` as deploy/connect.env sets them; ``REDIS_RESULT_REPLICAS`` only
    when there is a replica to wait for."""
    shipped = read_env_file()
    names = [name for name in FROM_CONNECT_ENV if replicas or name != "REDIS_RESULT_REPLICAS"]
    return {name: shipped[name] for name in names}


def nginx_binary() -> str:
    found = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(found).exists():
        raise StackError("nginx is not installed (scripts/setup.sh installs Debian's package)")
    return found


def envsubst(template: str, values: Mapping[str, str]) -> str:
    """What ``envsubst '${CONNECT_A} ${CONNECT_B}'`` does to a template: replace the named
    ``${CONNECT_…}`` placeholders and leave every other ``$`` (nginx's own variables) alone. A
    placeholder without a value is an error here, where envsubst would write an empty string
    that nginx then reads as a broken directive far from the cause."""

    def value(match: re.Match[str]) -> str:
        name = match[1]
        if name not in values:
            raise KeyError(f"no value for ${{{name}}}")
        return values[name]

    return _PLACEHOLDER.sub(value, template)


def placeholders(template: str) -> set[str]:
    return set(_PLACEHOLDER.findall(template))


class NginxServer(Service):
    """Debian's nginx running the shipped site template, in the foreground, with everything it
    writes (pid, logs, temp files) in ``workdir``.

    The site file is the production template rendered with loopback values; the wrapper around
    it is what Debian's ``/etc/nginx/nginx.conf`` provides on a host (the main context, events,
    ``http {}`` with mime types), reduced to what the site needs.

    Workers as root: pytest's temporary directories are 0700, so nginx's usual ``www-data``
    workers could not read the asset snapshots or write their temp files there. Running the
    workers as the user who started nginx (root in CI, as here; any other user simply cannot
    switch) is simpler and safer than loosening the permissions of the caller's directories;
    production runs Debian's www-data workers on files under /srv (deploy/README.md).
    """

    kind = "nginx"
    stop_signal = signal.SIGTERM  # fast shutdown: SIGQUIT would wait out trickling clients

    def __init__(
        self,
        workdir: Path,
        upstreams: list[str],
        assets_include: Path,
        *,
        port: int | None = None,
        worker_processes: int = 1,
        worker_connections: int = 4096,
        extra_http: str = "",
        template: Path = NGINX_TEMPLATE,
    ) -> None:
        super().__init__(workdir, port)
        self.upstreams = upstreams
        self.assets_include = assets_include
        self.worker_processes = worker_processes
        self.worker_connections = worker_connections
        self.extra_http = extra_http
        self.template = template
        self.conf_path = workdir / "nginx.conf"
        self.site_path = workdir / "connect.conf"
        self.listen_path = workdir / "listen.conf"
        self.access_log_path = workdir / "access.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def site_values(self) -> dict[str, str]:
        servers = " ".join(
            f"server {hostport} max_fails=1 fail_timeout=5s;" for hostport in self.upstreams
        )
        return {
            "CONNECT_LISTEN_INCLUDE": str(self.listen_path),
            "CONNECT_SERVER_NAME": "127.0.0.1 localhost",
            "CONNECT_UPSTREAM_SERVERS": servers,
            "CONNECT_ASSETS_INCLUDE": str(self.assets_include),
            # `nginx-assets` writes the error pages beside the include (Topology.write_assets).
            "CONNECT_ERROR_ROOT": str(self.assets_include.parent / "errors"),
            "CONNECT_ACCESS_LOG": str(self.access_log_path),
            "CONNECT_ERROR_LOG": str(self.workdir / "site-error.log"),
        }

    def write_conf(self) -> None:
        temp = self.workdir / "tmp"
        temp.mkdir(parents=True, exist_ok=True)
        self.listen_path.write_text(
            envsubst(PLAIN_LISTEN_TEMPLATE.read_text(), {"CONNECT_PORT": str(self.port)})
        )
        self.site_path.write_text(envsubst(self.template.read_text(), self.site_values()))
        modules = "".join(
            f"load_module {module};\n"
            for module in sorted(NGINX_MODULES.glob("ngx_http_brotli_*.so"))
        )
        user = "user root;\n" if os.geteuid() == 0 else ""
        temps = "".join(
            f"    {kind}_temp_path {temp / kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        self.conf_path.write_text(
            "# Written by devstack/topology.py: the main context Debian's nginx.conf gives.\n"
            f"{modules}{user}"
            f"daemon off;\n"
            f"worker_processes {self.worker_processes};\n"
            f"worker_rlimit_nofile {self.worker_connections * 2};\n"
            f"pid {self.pid_path};\n"
            f"error_log stderr warn;\n"
            f"events {{ worker_connections {self.worker_connections}; }}\n"
            f"http {{\n"
            f"    include /etc/nginx/mime.types;\n"
            f"    default_type application/octet-stream;\n"
            f"    sendfile on;\n"
            f"    tcp_nopush on;\n"
            f"    server_tokens off;\n"
            f"{temps}"
            f"{self.extra_http}"
            f"    include {self.site_path};\n"
            f"}}\n"
        )

    def argv(self) -> list[str]:
        return [nginx_binary(), "-p", str(self.workdir), "-e", "stderr", "-c", str(self.conf_path)]

    def check(self) -> str:
        """``nginx -t`` on the written configuration; its output (raises if nginx refuses)."""
        done = subprocess.run(
            [*self.argv(), "-t"], capture_output=True, text=True, timeout=30, check=False
        )
        if done.returncode != 0:
            raise StackError(f"nginx -t refused {self.conf_path}:\n{done.stderr}")
        return done.stderr

    @property
    def pid_path(self) -> Path:
        return self.workdir / "nginx.pid"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.write_conf()
        self.pid_path.unlink(missing_ok=True)
        super().start()

    def reload(self) -> None:
        """Re-render and ``nginx -s reload`` (SIGHUP): new workers with the new files."""
        self.write_conf()
        self.check()
        os.kill(self.pid, signal.SIGHUP)

    def ready(self) -> bool:
        """Ours is listening: nginx writes its pid file only once every listen socket is bound
        (a port taken by something else makes it retry for a few seconds and exit instead,
        while that something answers connections), and the file names this process."""
        try:
            written = int(self.pid_path.read_text().strip() or 0)
        except (OSError, ValueError):
            return False
        if self.proc is None or written != self.proc.pid:
            return False
        with socket.socket() as sock:
            sock.settimeout(1)
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def access_log(self) -> str:
        if not self.access_log_path.exists():
            return ""
        return self.access_log_path.read_text(errors="replace")


class Topology:
    """Redis, the sandbox, ``instances`` app servers and nginx, started in that order and
    stopped in reverse; a context manager. ``url`` is nginx's, the customers' address."""

    def __init__(
        self,
        workdir: Path,
        *,
        instances: int = 2,
        port: int | None = None,
        redis_ha: bool = True,
        app_gunicorn: Gunicorn = APP_GUNICORN,
        sandbox_gunicorn: Gunicorn = SANDBOX_GUNICORN,
        app_settings: Mapping[str, str] | None = None,
        nginx_worker_processes: int = 1,
    ) -> None:
        if instances < 1:
            raise ValueError("at least one app instance")
        self.workdir = workdir
        self.redis_ha = redis_ha
        self.redis: RedisServer | RedisHA
        if self.redis_ha:
            self.redis = RedisHA(workdir / "redis-ha")
        else:
            self.redis = RedisServer(workdir / "redis", append_only=True)
        self.sandbox_redis = RedisServer(workdir / "sandbox-redis")
        self.sandbox = SandboxServer(
            workdir / "sandbox", self.sandbox_redis.url(SANDBOX_DB), gunicorn=sandbox_gunicorn
        )
        nginx_port = port or None
        self.nginx = NginxServer(
            workdir / "nginx",
            upstreams=[],
            assets_include=workdir / "assets" / "assets.conf",
            port=nginx_port,
            worker_processes=nginx_worker_processes,
        )
        settings = {
            # As deploy/connect.env (read from it); with a replica, a stored result waits for it.
            **operational_settings(replicas=self.redis_ha),
            "PUBLIC_URL": self.nginx.url,
            **(app_settings or {}),
        }
        self.apps = [
            AppServer(
                workdir / f"app-{index}",
                self.redis_url(APP_DB),
                self.sandbox,
                settings=settings,
                gunicorn=app_gunicorn,
            )
            for index in range(instances)
        ]
        self.nginx.upstreams = [f"127.0.0.1:{app.port}" for app in self.apps]

    @property
    def url(self) -> str:
        return self.nginx.url

    def redis_url(self, db: int = 0) -> str:
        """What the app is given: ``redis+sentinel://…`` with Sentinels, else ``redis://``."""
        return self.redis.url(db)

    def redis_client(self, db: int = 0) -> redis.Redis:
        """A client of the current primary (a test's look at what the app stored)."""
        server = self.redis.primary() if isinstance(self.redis, RedisHA) else self.redis
        return server.client(db)

    def write_assets(self) -> None:
        """What operations run on each deploy: the nginx include for the current static files."""
        self.apps[0].cli("nginx-assets", str(self.nginx.assets_include.parent))

    def start(self) -> Self:
        try:
            self.redis.start()
            self.sandbox_redis.start()
            self.sandbox.start()
            for app in self.apps:
                app.start()
            self.write_assets()
            self.nginx.start()
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        for service in [self.nginx, *reversed(self.apps), self.sandbox, self.sandbox_redis]:
            service.stop()
        self.redis.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.topology",
        description="nginx in front of N app instances, Redis (with Sentinels when the app "
        "supports them) and the sandbox, all on 127.0.0.1. Ctrl-C stops everything.",
    )
    parser.add_argument("--instances", type=int, default=2, help="app instances (default 2)")
    parser.add_argument("--port", type=int, default=8080, help="nginx's port (default 8080)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per instance")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker")
    parser.add_argument(
        "--redis",
        choices=("ha", "single"),
        default="ha",
        help="ha: a primary, a replica and three Sentinels; single: one redis-server",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="logs and data (default: a new temporary directory, removed at the end)",
    )
    args = parser.parse_args(argv)
    redis_ha = args.redis == "ha"
    keep = args.workdir is not None
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="connect-topology-"))
    topology = Topology(
        workdir.resolve(),
        instances=args.instances,
        port=args.port,
        redis_ha=redis_ha,
        app_gunicorn=Gunicorn(workers=args.workers, threads=args.threads),
        # The demo partner page at / is for this local run only, as with scripts/run.
        app_settings={"DEMO_ENABLED": "true"},
    )
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        with topology:
            print(f"customers (nginx): {topology.url}/", flush=True)
            for app in topology.apps:
                print(f"  app instance:    {app.url}  (log {app.log_path})")
            print(f"  sandbox:         {topology.sandbox.url}")
            print(f"  redis:           {topology.redis_url(APP_DB)}")
            print(f"  nginx access log {topology.nginx.access_log_path}")
            print("Ctrl-C stops all.", flush=True)
            signal.pause()
    except KeyboardInterrupt:
        print("\nstopped", file=sys.stderr)
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
