"""deploy/redis/*.conf as shipped, started for real: a primary, a replica and three Sentinels,
with only the host-specific lines (addresses, ports, directories) overridden for loopback, the
way a host's own values replace them. The app's production start-up check accepts the result."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from devstack.stack import ROOT, free_port
from webapp.config import check_eviction_policy

pytestmark = pytest.mark.topology

CONFS = ROOT / "deploy" / "redis"


def _wait(check, what: str, timeout: float = 20) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except redis.RedisError:
            pass
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.1)


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        proc.kill()
        proc.wait(timeout=10)


def start(processes: list[subprocess.Popen[bytes]], conf: Path, workdir: Path, *args: str) -> int:
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    executable = shutil.which("redis-server") or "/usr/bin/redis-server"
    argv = [executable, str(conf), *args, "--port", str(port), "--bind", "127.0.0.1"]
    argv += ["--dir", str(workdir), "--daemonize", "no", "--logfile", ""]
    with (workdir / "log").open("wb") as log:  # the child keeps its own descriptor
        processes.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT))
    client = redis.Redis(port=port, socket_timeout=1, decode_responses=True)
    _wait(client.ping, f"{conf.name} on {port} answers")
    return port


def test_primary_replica_and_three_sentinels_from_the_shipped_files(
    tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    primary = start(processes, CONFS / "primary.conf", tmp_path / "primary")
    replica = start(
        processes,
        CONFS / "replica.conf",
        tmp_path / "replica",
        "--replicaof",
        "127.0.0.1",
        str(primary),
    )
    p = redis.Redis(port=primary, decode_responses=True)
    r = redis.Redis(port=replica, decode_responses=True)
    for client in (p, r):
        assert client.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
        assert client.config_get("appendonly")["appendonly"] == "yes"
        assert client.config_get("appendfsync")["appendfsync"] == "everysec"
        assert client.config_get("save")["save"] == ""
        assert client.config_get("min-replicas-to-write")["min-replicas-to-write"] == "0"
    # What the app checks at start-up in production: no allkeys-* policy, no warning either.
    check_eviction_policy(p, {"APP_ENV": "production"})
    _wait(lambda: r.info("replication")["master_link_status"] == "up", "replica in sync")
    p.set("connect:test", "1")
    _wait(lambda: r.get("connect:test") == "1", "the write reached the replica")
    with pytest.raises(redis.ReadOnlyError):
        r.set("connect:test", "2")

    # Sentinel rewrites its file, so each gets a copy, with the primary's address for loopback.
    shipped = (CONFS / "sentinel.conf").read_text()
    assert re.search(r"^sentinel monitor mymaster \S+ 6379 2$", shipped, re.M)
    sentinels = []
    for index in range(3):
        conf = tmp_path / f"sentinel-{index}" / "sentinel.conf"
        conf.parent.mkdir()
        conf.write_text(
            re.sub(
                r"^sentinel monitor mymaster \S+ 6379 2$",
                f"sentinel monitor mymaster 127.0.0.1 {primary} 2",
                shipped,
                flags=re.M,
            )
        )
        sentinels.append(start(processes, conf, conf.parent, "--sentinel"))
    for port in sentinels:
        s = redis.Redis(port=port, decode_responses=True)
        _wait(
            lambda s=s: (
                s.sentinel_master("mymaster")["num-other-sentinels"] == 2
                and s.sentinel_master("mymaster")["num-slaves"] == 1
            ),
            "every Sentinel knows the replica and the other two",
        )
        assert s.sentinel_get_master_addr_by_name("mymaster") == ("127.0.0.1", primary)
        assert int(s.sentinel_master("mymaster")["down-after-milliseconds"]) == 5000
