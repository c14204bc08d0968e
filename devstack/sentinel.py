"""Redis with failover: a primary, a replica and three Sentinels, each a real process.

This is the production topology's Redis (docs/redis.md) on loopback ports, for the tests that
kill the primary and expect the app to follow the Sentinels to the promoted replica without a
restart. ``RedisHA`` is the whole set as one context manager::

    with RedisHA(tmp_path / "ha") as ha:
        app = AppServer(tmp_path, ha.url(0), sandbox)   # redis+sentinel://…/mymaster/0
        ...
        old = ha.kill_primary()                          # SIGKILL, as a crash
        new = ha.wait_for_failover(timeout=30)           # the replica, now the primary

Sentinels are tuned for tests: the primary counts as down after ``down_after_ms`` (1 s) without
an answer, so a failover takes about 2 to 5 s; production keeps Redis's defaults or close
(docs/redis.md). Quorum is 2 of 3, so no single Sentinel can promote on its own view.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Self

import redis

from devstack.stack import RedisServer, Service, StackError

STARTUP_TIMEOUT = 30.0


class SentinelServer(Service):
    """``redis-server <conf> --sentinel`` monitoring one primary.

    Sentinel rewrites its config file as it learns the other Sentinels, the replicas and each
    failover, so the file is written into its work directory (one per Sentinel) at the first
    start and left to Sentinel after that: a restart keeps what it had learnt.
    """

    kind = "sentinel"

    def __init__(
        self,
        workdir: Path,
        primary: RedisServer,
        *,
        service: str = "mymaster",
        quorum: int = 2,
        down_after_ms: int = 1000,
        failover_timeout_ms: int = 3000,
        port: int | None = None,
    ) -> None:
        super().__init__(workdir, port)
        self.primary = primary
        self.service = service
        self.quorum = quorum
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        self.conf_path = workdir / f"sentinel-{self.port}.conf"

    def write_conf(self) -> None:
        name = self.service
        self.conf_path.write_text(
            "\n".join(
                [
                    f"port {self.port}",
                    "bind 127.0.0.1",
                    f'dir "{self.workdir}"',
                    "loglevel warning",
                    f"sentinel monitor {name} 127.0.0.1 {self.primary.port} {self.quorum}",
                    f"sentinel down-after-milliseconds {name} {self.down_after_ms}",
                    f"sentinel failover-timeout {name} {self.failover_timeout_ms}",
                    f"sentinel parallel-syncs {name} 1",
                    "",
                ]
            )
        )

    def argv(self) -> list[str]:
        executable = shutil.which("redis-server") or "/usr/bin/redis-server"
        return [executable, str(self.conf_path), "--sentinel"]

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not self.conf_path.exists():
            self.write_conf()
        super().start()

    def client(self) -> redis.Redis:
        return redis.Redis(
            port=self.port, socket_timeout=1, socket_connect_timeout=1, decode_responses=True
        )

    def ready(self) -> bool:
        with self.client() as client:
            return bool(client.ping())

    def master_port(self) -> int | None:
        """The port of the primary this Sentinel names now (None: it names none)."""
        with self.client() as client:
            answer = client.execute_command("SENTINEL", "get-master-addr-by-name", self.service)
        return int(answer[1]) if answer else None

    def master_state(self) -> dict[str, str]:
        """``SENTINEL MASTER <name>``: flags, num-slaves, num-other-sentinels, …"""
        with self.client() as client:
            state = client.sentinel_master(self.service)
        return {str(key): str(value) for key, value in state.items()}


class RedisHA:
    """Primary + replica (both append-only, ``appendfsync everysec``) + three Sentinels.

    ``servers`` lists the data nodes, primary first at start; which one is the primary later is
    what the Sentinels say (``primary()``). Start waits until the replica is in sync and every
    Sentinel knows the replica and the other two Sentinels, so a failover can happen from the
    first test on.
    """

    def __init__(
        self,
        workdir: Path,
        service: str = "mymaster",
        *,
        down_after_ms: int = 1000,
        failover_timeout_ms: int = 3000,
    ) -> None:
        self.workdir = workdir
        self.service = service
        primary = RedisServer(workdir / "redis-a", append_only=True, appendfsync="everysec")
        replica = RedisServer(
            workdir / "redis-b", append_only=True, appendfsync="everysec", replica_of=primary
        )
        self.servers: list[RedisServer] = [primary, replica]
        self.sentinels: list[SentinelServer] = [
            SentinelServer(
                workdir / f"sentinel-{index}",
                primary,
                service=service,
                down_after_ms=down_after_ms,
                failover_timeout_ms=failover_timeout_ms,
            )
            for index in range(3)
        ]

    # -- starting and stopping ---------------------------------------------------------------

    def start(self) -> None:
        try:
            for server in self.servers:
                server.start()
            self._wait(lambda: self.servers[1].replica_in_sync(), "replica in sync")
            for sentinel in self.sentinels:
                sentinel.start()
            self._wait(self._sentinels_agree, "Sentinels know the replica and each other")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for service in [*self.sentinels, *self.servers]:
            service.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- what the Sentinels say --------------------------------------------------------------

    def url(self, db: int = 0) -> str:
        """``redis+sentinel://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3/<service>/<db>``."""
        hosts = ",".join(f"127.0.0.1:{sentinel.port}" for sentinel in self.sentinels)
        return f"redis+sentinel://{hosts}/{self.service}/{db}"

    def primary(self) -> RedisServer:
        """The data node the Sentinels name as primary now (the first one that answers)."""
        for sentinel in self._running_sentinels():
            with contextlib.suppress(redis.RedisError):
                port = sentinel.master_port()
                if port is not None:
                    return self._server_on(port)
        raise StackError("no Sentinel names a primary")

    def kill_primary(self) -> RedisServer:
        """SIGKILL the current primary (a crash: no shutdown, no final fsync); returns it."""
        server = self.primary()
        server.kill()
        return server

    def wait_for_failover(self, timeout: float = 30) -> RedisServer:
        """Until every running Sentinel names a live primary that says it is one (a replica
        promoted after ``kill_primary``); returns it."""
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(redis.RedisError, StackError):
                ports = {sentinel.master_port() for sentinel in self._running_sentinels()}
                if len(ports) == 1 and None not in ports:
                    server = self._server_on(ports.pop() or 0)
                    if server.proc is not None and server.role() == "master":
                        return server
            if time.monotonic() > deadline:
                tails = "\n".join(s.log_tail(10) for s in self.sentinels)
                raise StackError(f"no failover within {timeout:.0f} s:\n{tails}")
            time.sleep(0.1)

    # -- helpers -----------------------------------------------------------------------------

    def _running_sentinels(self) -> list[SentinelServer]:
        return [sentinel for sentinel in self.sentinels if sentinel.proc is not None]

    def _server_on(self, port: int) -> RedisServer:
        for server in self.servers:
            if server.port == port:
                return server
        raise StackError(f"the Sentinels name port {port}, which is none of ours")

    def _sentinels_agree(self) -> bool:
        for sentinel in self.sentinels:
            state = sentinel.master_state()
            if state.get("num-slaves") != "1" or state.get("num-other-sentinels") != "2":
                return False
        return True

    def _wait(self, ready: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            with contextlib.suppress(redis.RedisError):
                if ready():
                    return
            if time.monotonic() > deadline:
                raise StackError(f"Redis HA: {what} not within {STARTUP_TIMEOUT:.0f} s")
            time.sleep(0.05)
