"""redis-server, the sandbox and the app, each a real process on a free loopback port.

The app runs as production runs it: ``gunicorn -c gunicorn.conf.py wsgi:app`` with
``APP_ENV=production``, a random ``SECRET_KEY`` and an ``https://`` ``PUBLIC_URL``. There is no
TLS on loopback, so the app is told it sits behind one load balancer (``TRUST_PROXY_HOPS=1``):
the driver sends what a TLS-terminating balancer adds (``X-Forwarded-Proto: https``,
``X-Forwarded-Host``, the customer's ``X-Forwarded-For``), and the app then sets its production
cookie (``__Host-``, ``Secure; SameSite=None; Partitioned``), which the driver keeps and sends
back itself, as a browser does over https.

The sandbox runs under gunicorn too, with the app's ``gunicorn.conf.py`` (worker class, worker
count, threads, keep-alive, no recycling during the run), so the sandbox-direct phase meets the
same server the app meets.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis
import requests

ROOT = Path(__file__).resolve().parent.parent

ACCOUNT_ID = "acc_000000000000000000000001"
API_KEY = "sk_test_sandbox_000000000000000000000001"
APP_DB = 0
SANDBOX_DB = 1
# Only ever a name in URLs and cookies: the driver connects to loopback and says this host in
# X-Forwarded-Host, as a load balancer would.
PUBLIC_HOST = "connect.bench.invalid"
PUBLIC_URL = f"https://{PUBLIC_HOST}"

STARTUP_TIMEOUT = 30.0


class BenchError(RuntimeError):
    """The stack would not start, or the benchmark could not run."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


@dataclass
class StackOptions:
    workers: int = int(os.environ.get("WEB_CONCURRENCY", 2))
    threads: int = int(os.environ.get("GUNICORN_THREADS", 8))
    # 0: no recycling during the run, so memory growth is measured rather than hidden by
    # gunicorn restarting workers (production keeps its max_requests safety net).
    max_requests: int = 0
    # What gunicorn serves; another module only to measure a variant of the app (experiments).
    app_module: str = os.environ.get("BENCH_WSGI_APP", "wsgi:app")


@dataclass
class Stack:
    """Started in order redis → sandbox → app, stopped in reverse."""

    workdir: Path
    options: StackOptions = field(default_factory=StackOptions)
    redis_port: int = 0
    sandbox_url: str = ""
    app_url: str = ""
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        log = (self.workdir / f"{name}.log").open("wb")
        # A session of its own: Ctrl-C reaches only the benchmark, which stops each process in
        # order (gunicorn stops its workers itself).
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

    def _gunicorn_env(self) -> dict[str, str]:
        return {
            "WEB_CONCURRENCY": str(self.options.workers),
            "GUNICORN_THREADS": str(self.options.threads),
            "GUNICORN_MAX_REQUESTS": str(self.options.max_requests),
        }

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
            # The app's gunicorn.conf.py (gunicorn would read it from the working directory
            # anyway): the same worker class, workers, threads, keep-alive and recycling.
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
             "--bind", f"127.0.0.1:{sandbox_port}", "--no-control-socket",
             "sandbox.app:create_app()"],
            {
                **self._gunicorn_env(),
                "SANDBOX_REDIS_URL": self.redis_url(SANDBOX_DB),
                "SANDBOX_ACCOUNT_ID": ACCOUNT_ID,
                "SANDBOX_API_KEY": API_KEY,
                "SANDBOX_PUBLIC_URL": self.sandbox_url,
            },
        )  # fmt: skip
        self._wait(
            "sandbox",
            lambda: requests.get(f"{self.sandbox_url}/_sandbox/health", timeout=2).ok,
        )

        app_port = free_port()
        self.app_url = f"http://127.0.0.1:{app_port}"
        self._spawn(
            "app",
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
             "--bind", f"127.0.0.1:{app_port}", "--no-control-socket", self.options.app_module],
            # No control socket: its default path is shared by every gunicorn on the machine.
            {
                **self._gunicorn_env(),
                "APP_ENV": "production",
                "SECRET_KEY": secrets.token_urlsafe(48),
                "PUBLIC_URL": PUBLIC_URL,
                "TRUST_PROXY_HOPS": "1",
                "REDIS_URL": self.redis_url(APP_DB),
                "FLATPEAK_API_URL": self.sandbox_url,
                "FLATPEAK_CONNECT_URL": self.sandbox_url,
                "FLATPEAK_ACCOUNT_ID": ACCOUNT_ID,
                "FLATPEAK_API_KEY": API_KEY,
            },
        )  # fmt: skip
        self._wait("app", lambda: requests.get(f"{self.app_url}/healthz", timeout=2).ok)
        # /healthz answers once one worker is up; memory is read per worker, so wait for all.
        for name in ("app", "sandbox"):
            pid = self.procs[name].pid
            self._wait(name, lambda pid=pid: len(child_pids(pid)) >= self.options.workers)

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

    def count_in_log(self, name: str, needle: str) -> int:
        path = self.workdir / f"{name}.log"
        if not path.exists():
            return 0
        return path.read_text(errors="replace").count(needle)


@contextmanager
def running_stack(
    options: StackOptions | None = None, keep_logs: Path | None = None
) -> Iterator[Stack]:
    """The stack for the duration of a ``with``; ``keep_logs`` gets a copy of each process's
    log once everything has stopped."""
    with tempfile.TemporaryDirectory(prefix="flow-bench-") as tmp:
        stack = Stack(Path(tmp), options or StackOptions())
        try:
            stack.start()
            yield stack
        except BaseException:
            for name in stack.procs:
                tail = stack.log_tail(name)
                if tail:
                    print(f"\n--- last lines of {name}'s log ---\n{tail}", file=sys.stderr)
            raise
        finally:
            stack.stop()
            if keep_logs is not None:
                keep_logs.mkdir(parents=True, exist_ok=True)
                for log in Path(tmp).glob("*.log"):
                    shutil.copy(log, keep_logs / log.name)
