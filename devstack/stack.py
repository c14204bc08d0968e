"""redis-server, the sandbox and the app, each a real process on a free loopback port.

The tests and the benchmark run what ``scripts/run`` runs, so they meet the app as production
does: nothing mocked, the sandbox reached only over HTTP, the app under gunicorn with
``gunicorn.conf.py``. Each process:

* runs in a session of its own, so stopping it reaches every gunicorn worker, and Ctrl-C reaches
  only the caller, which then stops each process in order;
* writes its output to ``<kind>-<port>.log`` in its work directory, whose last lines are in the
  error when it will not start;
* keeps its port (and Redis its directory) when stopped, so ``kill`` then ``start`` is what an
  outage and a recovery look like from the app's side; ``pause`` is a process that hangs.

Every piece is a context manager that starts it and stops it again.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Self

import redis
import requests

ROOT = Path(__file__).resolve().parent.parent

# The partner credentials the sandbox accepts, unless a test configures others.
SANDBOX_ACCOUNT_ID = "acc_000000000000000000000001"
SANDBOX_API_KEY = "sk_test_sandbox_000000000000000000000001"
# Where Stack keeps each side's state: FlatPeak's data never shares a database with ours.
APP_DB = 0
SANDBOX_DB = 1

STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


class StackError(RuntimeError):
    """A process would not start, or was started twice."""


# Ports this process has handed out. Binding port 0 and closing it reserves nothing, and the
# kernel may offer the same port again before the first taker has bound it: a topology once
# gave one port to a Sentinel and to nginx, and nginx died on "Address already in use".
_handed_out: set[int] = set()
_handed_out_lock = threading.Lock()


def free_port() -> int:
    """A loopback port nothing listens on now, never the same one twice in this process."""
    with _handed_out_lock:
        while True:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = int(sock.getsockname()[1])
            if port not in _handed_out:
                _handed_out.add(port)
                return port


def child_pids(pid: int) -> list[int]:
    """A process's children (Linux /proc): a gunicorn master's workers."""
    try:
        raw = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in raw.split()]


@dataclass(frozen=True)
class Gunicorn:
    """Worker processes and threads under ``gunicorn -c gunicorn.conf.py``; everything else
    (gthread, timeouts, logging) is the production config's.

    ``keep_alive`` overrides the config's seconds (FlatPeak keeps connections open longer than
    the app's own server does); ``max_requests`` 0 turns worker recycling off, which a
    memory measurement needs.
    """

    workers: int = 2
    threads: int = 8
    keep_alive: int | None = None
    max_requests: int | None = None

    def argv(self, port: int, app: str) -> list[str]:
        return [
            *(sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"),
            *("--bind", f"127.0.0.1:{port}"),
            # Its default path is shared by every gunicorn on the machine.
            "--no-control-socket",
            *(("--keep-alive", str(self.keep_alive)) if self.keep_alive is not None else ()),
            app,
        ]

    def env(self) -> dict[str, str]:
        env = {"WEB_CONCURRENCY": str(self.workers), "GUNICORN_THREADS": str(self.threads)}
        if self.max_requests is not None:
            env["GUNICORN_MAX_REQUESTS"] = str(self.max_requests)
        return env


class Service:
    """One process on its own port: started and waited for, then killed, paused or stopped."""

    kind: ClassVar[str]
    stop_signal: signal.Signals = signal.SIGTERM

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.log_path = workdir / f"{self.kind}-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def argv(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return {**os.environ}

    def ready(self) -> bool:
        raise NotImplementedError

    @property
    def pid(self) -> int:
        assert self.proc is not None, f"{self.kind} on {self.port} is not running"
        return self.proc.pid

    def start(self) -> None:
        if self.proc is not None:
            raise StackError(f"{self.kind} on {self.port} is already running")
        self.workdir.mkdir(parents=True, exist_ok=True)
        # A restart adds to the log its earlier run wrote; a new server starts a new log.
        with self.log_path.open("ab" if self.starts else "wb") as log:
            self.proc = subprocess.Popen(
                self.argv(),
                cwd=ROOT,
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.starts += 1
        try:
            self.wait_until(self.ready, "answer")
        except BaseException:
            self.stop()
            raise

    def wait_until(self, ready: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if self.proc is None or self.proc.poll() is not None:
                code = None if self.proc is None else self.proc.returncode
                raise StackError(f"{self.kind} on {self.port} exited ({code}):\n{self.log_tail()}")
            try:
                if ready():
                    return
            except (requests.RequestException, redis.RedisError):
                pass
            if time.monotonic() > deadline:
                raise StackError(
                    f"{self.kind} on {self.port} did not {what} within {STARTUP_TIMEOUT:.0f} s:\n"
                    f"{self.log_tail()}"
                )
            time.sleep(0.05)

    def _signal_group(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, sig)

    def kill(self, sig: signal.Signals = signal.SIGKILL) -> None:
        """Signal the whole process group, as a crash (SIGKILL: no shutdown, no final fsync) or
        an operator (SIGTERM) would, and wait for it; ``start`` brings it back."""
        assert self.proc is not None, f"{self.kind} on {self.port} is not running"
        if self.proc.poll() is None:
            self._signal_group(sig)
        self.proc.wait(timeout=STOP_TIMEOUT)
        self.proc = None

    def pause(self) -> None:
        """SIGSTOP: the port still accepts connections but nothing ever answers."""
        self._signal_group(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal_group(signal.SIGCONT)

    def stop(self) -> None:
        """The polite stop, for the end of a run; a no-op once stopped or killed."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.resume()  # a paused process cannot act on a stop signal
            self.proc.send_signal(self.stop_signal)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=STOP_TIMEOUT)
            # Whatever is left of the group (a worker outliving its master) goes too. Only
            # while the leader was ours a moment ago: a long-dead leader's id may be reused.
            self._signal_group(signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def worker_pids(self) -> set[int]:
        return set(child_pids(self.pid))

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


class RedisServer(Service):
    """``redis-server`` keeping its files in ``workdir``: with ``append_only`` every write goes
    to an append-only file, so a restart on the same directory replays what was there. It
    never writes an RDB snapshot, so what survives a restart came from that file.

    ``replica_of`` starts it as a replica of another server (``--replicaof``): read-only, fed
    by that primary, and promotable by Sentinel (``devstack/sentinel.py``). A restart starts it
    as a replica of that server again, even if Sentinel has promoted it meanwhile: a replica of
    the wrong primary is one Sentinel reconfigures within seconds, while a stale copy that came
    back as a primary would take writes that are lost when Sentinel demotes it.
    """

    kind = "redis"

    def __init__(
        self,
        workdir: Path,
        *,
        append_only: bool = False,
        appendfsync: str = "everysec",
        port: int | None = None,
        replica_of: RedisServer | None = None,
    ) -> None:
        super().__init__(workdir, port)
        self.append_only = append_only
        self.appendfsync = appendfsync
        self.replica_of = replica_of

    def argv(self) -> list[str]:
        executable = shutil.which("redis-server") or "/usr/bin/redis-server"
        persistence = ["--appendonly", "no"]
        if self.append_only:
            persistence = ["--appendonly", "yes", "--appendfsync", self.appendfsync]
        replication: list[str] = []
        if self.replica_of is not None:
            # Read-only (Redis's default for a replica, said out loud): a write that reached a
            # replica would be lost at the next sync, so it must be refused instead.
            replication = [
                *("--replicaof", "127.0.0.1", str(self.replica_of.port)),
                *("--replica-read-only", "yes"),
            ]
        return [
            *(executable, "--port", str(self.port), "--bind", "127.0.0.1"),
            *("--dir", str(self.workdir), "--save", "", *persistence, "--loglevel", "warning"),
            *replication,
        ]

    def role(self) -> str:
        """``master`` or ``slave``, as the server itself says (``ROLE``)."""
        with redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1) as client:
            answer = client.execute_command("ROLE")
        role = answer[0]
        return role.decode() if isinstance(role, bytes) else str(role)

    def replica_in_sync(self) -> bool:
        """A replica whose link to its primary is up (the first full sync has finished)."""
        with redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1) as client:
            info = client.info("replication")
        return info.get("role") == "slave" and info.get("master_link_status") == "up"

    def ready(self) -> bool:
        # Still LOADING the append-only file is a BusyLoadingError (a RedisError): not ready.
        with redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1) as client:
            return bool(client.ping())

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis.from_url(self.url(db), decode_responses=True, socket_timeout=5)

    def aof_files(self) -> list[Path]:
        return sorted(p for p in self.workdir.rglob("*.aof*") if p.is_file())


class SandboxServer(Service):
    """The sandbox (FlatPeak's stand-in) with its state in ``redis_url``.

    ``python -m sandbox`` (werkzeug) answers every response with ``Connection: close``, so the
    app never pools a connection to it. FlatPeak keeps connections alive; with ``gunicorn`` set
    the same app runs under gunicorn instead, and several workers share each flow through Redis.
    ``settings`` are extra ``SANDBOX_*`` variables (faults, token lifetime, hooks).
    """

    kind = "sandbox"

    def __init__(
        self,
        workdir: Path,
        redis_url: str,
        *,
        settings: Mapping[str, str] | None = None,
        gunicorn: Gunicorn | None = None,
        ready_path: str = "/_sandbox/health",
        port: int | None = None,
    ) -> None:
        super().__init__(workdir, port)
        self.redis_url = redis_url
        self.settings = dict(settings or {})
        self.gunicorn = gunicorn
        self.ready_path = ready_path
        # What a partner signs in with; a test that configures another key says so here too.
        self.account_id = SANDBOX_ACCOUNT_ID
        self.api_key = SANDBOX_API_KEY

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def argv(self) -> list[str]:
        if self.gunicorn is None:
            return [sys.executable, "-m", "sandbox", "--port", str(self.port)]
        return self.gunicorn.argv(self.port, "sandbox.app:create_app()")

    def env(self) -> dict[str, str]:
        return {
            **super().env(),
            **(self.gunicorn.env() if self.gunicorn else {}),
            "SANDBOX_REDIS_URL": self.redis_url,
            "SANDBOX_ACCOUNT_ID": SANDBOX_ACCOUNT_ID,
            "SANDBOX_API_KEY": SANDBOX_API_KEY,
            "SANDBOX_PUBLIC_URL": self.url,
            **self.settings,
        }

    def ready(self) -> bool:
        return requests.get(self.url + self.ready_path, timeout=2).status_code < 500

    def start(self) -> None:
        self.stop_signal = signal.SIGQUIT if self.gunicorn else signal.SIGTERM
        super().start()
        if self.gunicorn is not None:
            workers = self.gunicorn.workers
            self.wait_until(lambda: len(self.worker_pids()) >= workers, "start every worker")


class AppServer(Service):
    """The app as production runs it: ``gunicorn -c gunicorn.conf.py wsgi:app``, pointed at
    ``redis_url`` and the sandbox. ``settings`` are the app's environment variables on top (they
    win); ``host`` names it in ``url`` and the default ``PUBLIC_URL`` (it always listens on
    127.0.0.1, which ``localhost`` reaches as a secure context for a browser)."""

    kind = "app"
    stop_signal = signal.SIGQUIT  # gunicorn's quick shutdown; SIGTERM waits out keep-alives

    def __init__(
        self,
        workdir: Path,
        redis_url: str,
        sandbox: SandboxServer,
        *,
        settings: Mapping[str, str] | None = None,
        gunicorn: Gunicorn = Gunicorn(),
        host: str = "127.0.0.1",
        module: str = "wsgi:app",
        port: int | None = None,
    ) -> None:
        super().__init__(workdir, port)
        self.host = host
        self.gunicorn = gunicorn
        self.module = module
        self.settings = {
            "PYTHONUNBUFFERED": "1",
            "REDIS_URL": redis_url,
            "FLATPEAK_API_URL": sandbox.url,
            "FLATPEAK_CONNECT_URL": sandbox.url,
            "FLATPEAK_ACCOUNT_ID": sandbox.account_id,
            "FLATPEAK_API_KEY": sandbox.api_key,
            "PUBLIC_URL": self.url,
            **gunicorn.env(),
            **(settings or {}),
        }

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def argv(self) -> list[str]:
        return self.gunicorn.argv(self.port, self.module)

    def env(self) -> dict[str, str]:
        return {**super().env(), **self.settings}

    def ready(self) -> bool:
        return requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).status_code < 500

    def start(self) -> None:
        super().start()
        # /healthz answers once one worker is up; tests that count workers need them all.
        workers = self.gunicorn.workers
        self.wait_until(lambda: len(self.worker_pids()) >= workers, "start every worker")

    def cli(self, *args: str) -> str:
        """A ``flask --app wsgi`` command with the server's settings; its stdout."""
        done = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", *args],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed: {done.stderr[-2000:]}")
        return done.stdout


@dataclass
class Stack:
    """Redis, the sandbox and the app, started in that order and stopped in reverse.

    The sandbox keeps its state in ``sandbox_redis``: the app's own Redis (``SANDBOX_DB``) by
    default, or a redis-server of its own, which an outage of the app's Redis must leave
    answering, as FlatPeak does not share our Redis.
    """

    redis: RedisServer
    sandbox_redis: RedisServer
    sandbox: SandboxServer
    app: AppServer

    @classmethod
    def start(
        cls,
        workdir: Path,
        *,
        append_only: bool = False,
        appendfsync: str = "everysec",
        sandbox_redis_of_its_own: bool = False,
        sandbox_gunicorn: Gunicorn | None = None,
        app_gunicorn: Gunicorn = Gunicorn(),
        app_settings: Mapping[str, str] | None = None,
        app_module: str = "wsgi:app",
    ) -> Stack:
        app_redis = RedisServer(workdir / "redis", append_only=append_only, appendfsync=appendfsync)
        sandbox_redis = app_redis
        if sandbox_redis_of_its_own:
            sandbox_redis = RedisServer(workdir / "sandbox-redis", append_only=append_only)
        sandbox = SandboxServer(workdir, sandbox_redis.url(SANDBOX_DB), gunicorn=sandbox_gunicorn)
        app = AppServer(
            workdir,
            app_redis.url(APP_DB),
            sandbox,
            settings=app_settings,
            gunicorn=app_gunicorn,
            module=app_module,
        )
        stack = cls(redis=app_redis, sandbox_redis=sandbox_redis, sandbox=sandbox, app=app)
        try:
            for service in stack.services():
                service.start()
        except BaseException:
            stack.close()  # stopping one that never started is a no-op
            raise
        return stack

    def services(self) -> list[Service]:
        """In start order, each once."""
        return list(dict.fromkeys([self.redis, self.sandbox_redis, self.sandbox, self.app]))

    def close(self) -> None:
        for service in reversed(self.services()):
            service.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
