"""The whole production stack as real processes, for tests that stop and restart its parts.

``LiveStack`` runs what ``scripts/run`` runs, on fresh ports so it never touches the session-wide
fixtures: a ``redis-server`` with an append-only file in a temporary directory, the sandbox
(``python -m sandbox``) and the app under gunicorn with the production config
(``gunicorn -c gunicorn.conf.py wsgi:app``, 2 gthread workers). Each piece can be stopped and
started again on the same port (and, for Redis, the same directory), which is what an outage and a
recovery look like from the app's side.

Unlike ``scripts/run``, the sandbox keeps its state in a redis-server of its own: FlatPeak does
not share our Redis, so stopping the app's Redis must leave the upstream answering.

``HttpBrowser`` is the form-driving :class:`~tests.webapp.conftest.Browser` over real HTTP: a
``requests`` cookie jar instead of Flask's test client.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
import requests

from tests.conftest import (
    ROOT,
    SANDBOX_ACCOUNT_ID,
    SANDBOX_API_KEY,
    free_port,
    stop,
    wait_for_http,
)
from tests.webapp.conftest import Browser

APP_DB = 0
SANDBOX_DB = 1


def _wait_for_redis(port: int, proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    client = redis.Redis(port=port, socket_timeout=1, socket_connect_timeout=1)
    deadline = time.monotonic() + timeout
    while True:
        try:
            # LOADING (replaying the append-only file) is a BusyLoadingError: not ready yet.
            client.ping()
            return
        except redis.RedisError as error:
            if proc.poll() is not None:
                raise RuntimeError(f"redis-server on {port} exited: {proc.returncode}") from error
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
        finally:
            client.close()


@dataclass
class LiveRedis:
    """A redis-server with ``appendonly yes`` that can be killed and restarted on its data."""

    port: int
    workdir: Path
    appendfsync: str = "everysec"
    proc: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis.from_url(self.url(db), decode_responses=True, socket_timeout=5)

    def start(self) -> None:
        executable = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.proc = subprocess.Popen(
            [
                executable,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.workdir),
                "--appendonly",
                "yes",
                "--appendfsync",
                self.appendfsync,
                # No RDB snapshots: whatever survives a restart came from the append-only file.
                "--save",
                "",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
        )
        _wait_for_redis(self.port, self.proc)

    def kill(self, sig: signal.Signals = signal.SIGKILL) -> None:
        """Stop the server the hard way (SIGKILL: no shutdown, no final fsync) or politely."""
        assert self.proc is not None
        self.proc.send_signal(sig)
        self.proc.wait(timeout=10)
        self.proc = None

    def pause(self) -> None:
        """SIGSTOP: the port still accepts connections but nothing ever answers."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def aof_files(self) -> list[Path]:
        return sorted(p for p in self.workdir.rglob("*.aof*") if p.is_file())

    def close(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGCONT)
            stop(self.proc)
            self.proc = None


@dataclass
class LiveSandbox:
    """The sandbox on a fixed port and Redis db, restartable.

    ``python -m sandbox`` (werkzeug) answers every response with ``Connection: close``, so the
    app never pools a connection to it. FlatPeak keeps connections alive; ``keep_alive=True``
    serves the same app under gunicorn (gthread, keep-alive 30 s) to get that behaviour.
    """

    port: int
    redis_url: str
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, keep_alive: bool = False) -> None:
        env = {
            **os.environ,
            "SANDBOX_REDIS_URL": self.redis_url,
            "SANDBOX_ACCOUNT_ID": SANDBOX_ACCOUNT_ID,
            "SANDBOX_API_KEY": SANDBOX_API_KEY,
        }
        if keep_alive:
            command = [
                *(sys.executable, "-m", "gunicorn", "--worker-class", "gthread"),
                *("--threads", "4", "--keep-alive", "30", "--bind", f"127.0.0.1:{self.port}"),
                "sandbox.app:create_app()",
            ]
        else:
            command = [sys.executable, "-m", "sandbox", "--port", str(self.port)]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill() reaches every worker
            )
        wait_for_http(f"{self.url}/_sandbox/health", self.proc)

    def kill(self, sig: signal.Signals = signal.SIGTERM) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, sig)
        self.proc.wait(timeout=10)
        self.proc = None

    def close(self) -> None:
        if self.proc is not None:
            self.kill(signal.SIGKILL)


@dataclass
class LiveApp:
    """The app under gunicorn with the production config, as ``scripts/run`` starts it."""

    port: int
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{self.port}",
            "wsgi:app",
        ]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # close() can reach a worker the master left behind
            )
        wait_for_http(f"{self.url}/healthz", self.proc, timeout=30)
        deadline = time.monotonic() + 20
        while len(self.worker_pids()) < int(self.env["WEB_CONCURRENCY"]):
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn workers did not all start")
            time.sleep(0.1)

    def worker_pids(self) -> set[int]:
        """The gunicorn master's children (Linux /proc): the workers serving requests."""
        assert self.proc is not None
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return {int(pid) for pid in children.read_text().split()}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def close(self) -> None:
        if self.proc is None:
            return
        # SIGQUIT: gunicorn's quick shutdown (SIGTERM waits out idle keep-alive connections).
        self.proc.send_signal(signal.SIGQUIT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        # Whatever is left of the group (a worker outliving its master) goes too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc = None


@dataclass
class LiveStack:
    redis: LiveRedis
    sandbox_redis: LiveRedis
    sandbox: LiveSandbox
    app: LiveApp
    parts: list[Any] = field(default_factory=list)

    @classmethod
    def start(cls, workdir: Path, *, appendfsync: str = "everysec") -> LiveStack:
        for name in ("redis", "sandbox-redis"):
            (workdir / name).mkdir(parents=True, exist_ok=True)
        live_redis = LiveRedis(port=free_port(), workdir=workdir / "redis", appendfsync=appendfsync)
        sandbox_redis = LiveRedis(port=free_port(), workdir=workdir / "sandbox-redis")
        sandbox = LiveSandbox(
            port=free_port(),
            redis_url=sandbox_redis.url(SANDBOX_DB),
            log_path=workdir / "sandbox.log",
        )
        app_port = free_port()
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "APP_ENV": "development",
            "REDIS_URL": live_redis.url(APP_DB),
            "FLATPEAK_API_URL": sandbox.url,
            "FLATPEAK_CONNECT_URL": sandbox.url,
            "FLATPEAK_ACCOUNT_ID": SANDBOX_ACCOUNT_ID,
            "FLATPEAK_API_KEY": SANDBOX_API_KEY,
            "PUBLIC_URL": f"http://127.0.0.1:{app_port}",
            "DEMO_ENABLED": "true",  # the outage tests start their customers on the demo page
            "WEB_CONCURRENCY": "2",
            "GUNICORN_THREADS": "8",
        }
        app = LiveApp(port=app_port, env=env, log_path=workdir / "app.log")
        stack = cls(redis=live_redis, sandbox_redis=sandbox_redis, sandbox=sandbox, app=app)
        try:
            for part in (live_redis, sandbox_redis, sandbox, app):
                part.start()
                stack.parts.append(part)
        except Exception:
            stack.close()
            raise
        return stack

    def close(self) -> None:
        for part in reversed(self.parts):
            part.close()


def connections_to(port: int) -> int:
    """Open TCP connections (IPv4, this host) whose far end is ``port``: the app's pooled
    keep-alive connections to the sandbox, since nothing else keeps one open to it."""
    established = "01"
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        remote_port = int(fields[2].split(":")[1], 16)
        if remote_port == port and fields[3] == established:
            count += 1
    return count


class _HttpResponse:
    """The bits of a Flask test response that :class:`Browser` reads, from ``requests``."""

    def __init__(self, response: requests.Response) -> None:
        self.raw = response
        self.status_code = response.status_code
        self.headers = response.headers

    def get_data(self, as_text: bool = False) -> str | bytes:
        return self.raw.text if as_text else self.raw.content


class HttpClient:
    """A browser's cookie jar and connection, talking to the app over real HTTP."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()
        self.responses: list[requests.Response] = []

    def open(self, path: str, method: str = "GET", **kwargs: Any) -> _HttpResponse:
        response = self.http.request(
            method, self.base_url + path, allow_redirects=False, timeout=20, **kwargs
        )
        self.responses.append(response)
        return _HttpResponse(response)


class HttpBrowser(Browser):
    """:class:`Browser` over HTTP to a live app (absolute URLs of the app count as ours)."""

    def __init__(self, base_url: str, *, htmx: bool = False) -> None:
        super().__init__(HttpClient(base_url), htmx=htmx)  # type: ignore[arg-type]
        self.base_url = base_url

    @property
    def http(self) -> HttpClient:
        return self.client  # type: ignore[return-value]

    def _is_app(self, url: str) -> bool:
        return url.startswith("/") or url.startswith(self.base_url + "/")

    def _app_response(self, method: str, url: str, **kwargs: Any) -> Any:
        if url.startswith(self.base_url):
            url = url[len(self.base_url) :] or "/"
        return super()._app_response(method, url, **kwargs)
