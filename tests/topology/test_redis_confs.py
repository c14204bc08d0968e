"""deploy/redis/*.conf as shipped, started for real: a primary, a replica and three Sentinels,
with only the host-specific lines (addresses, ports, directories) overridden for loopback and
the password placeholder replaced, the way a host's own values replace them. The app's
production start-up check accepts the result, the app finds the primary through the Sentinels
with the password in its URL, and nothing answers a client without it."""

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
from webapp import redis_connection
from webapp.config import check_eviction_policy

pytestmark = pytest.mark.topology

CONFS = ROOT / "deploy" / "redis"
PLACEHOLDER = "CHANGE-ME-openssl-rand-hex-32"
PASSWORD = "test-password-0123456789abcdef"


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


def with_password(conf: Path, workdir: Path) -> Path:
    """A copy of a shipped file with the test's password for the placeholder, as an operator
    puts the real one in."""
    text = conf.read_text()
    assert PLACEHOLDER in text, f"{conf.name} ships the password placeholder"
    workdir.mkdir(parents=True, exist_ok=True)
    copy = workdir / conf.name
    copy.write_text(text.replace(PLACEHOLDER, PASSWORD))
    return copy


def start(processes: list[subprocess.Popen[bytes]], conf: Path, workdir: Path, *args: str) -> int:
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    executable = shutil.which("redis-server") or "/usr/bin/redis-server"
    argv = [executable, str(conf), *args, "--port", str(port), "--bind", "127.0.0.1"]
    argv += ["--dir", str(workdir), "--daemonize", "no", "--logfile", ""]
    with (workdir / "log").open("wb") as log:  # the child keeps its own descriptor
        processes.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT))
    client = redis.Redis(port=port, password=PASSWORD, socket_timeout=1, decode_responses=True)
    _wait(client.ping, f"{conf.name} on {port} answers")
    return port


def test_primary_replica_and_three_sentinels_from_the_shipped_files(
    tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    primary_dir, replica_dir = tmp_path / "primary", tmp_path / "replica"
    primary = start(processes, with_password(CONFS / "primary.conf", primary_dir), primary_dir)
    replica = start(
        processes,
        with_password(CONFS / "replica.conf", replica_dir),
        replica_dir,
        "--replicaof",
        "127.0.0.1",
        str(primary),
    )
    p = redis.Redis(port=primary, password=PASSWORD, decode_responses=True)
    r = redis.Redis(port=replica, password=PASSWORD, decode_responses=True)
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
    assert PLACEHOLDER in shipped
    assert re.search(r"^protected-mode yes$", shipped, re.M)
    assert re.search(rf"^requirepass {PLACEHOLDER}$", shipped, re.M)
    assert re.search(rf"^sentinel auth-pass mymaster {PLACEHOLDER}$", shipped, re.M)
    shipped = shipped.replace(PLACEHOLDER, PASSWORD)
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
        s = redis.Redis(port=port, password=PASSWORD, decode_responses=True)
        _wait(
            lambda s=s: (
                s.sentinel_master("mymaster")["num-other-sentinels"] == 2
                and s.sentinel_master("mymaster")["num-slaves"] == 1
            ),
            "every Sentinel knows the replica and the other two",
        )
        assert s.sentinel_get_master_addr_by_name("mymaster") == ("127.0.0.1", primary)
        assert int(s.sentinel_master("mymaster")["down-after-milliseconds"]) == 5000

    # The Sentinels authenticate to each other (with their requirepass: no sentinel-pass is
    # set): each has had an answer to its PING from the other two within the last seconds,
    # which a NOAUTH refusal would not count.
    time.sleep(2)
    for port in sentinels:
        s = redis.Redis(port=port, password=PASSWORD, decode_responses=True)
        others = s.sentinel_sentinels("mymaster")
        assert len(others) == 2
        for other in others:
            assert int(other["last-ok-ping-reply"]) < 2000, other
            assert "s_down" not in other["flags"], other

    # The app, with the password in its Sentinel URL, finds the primary and writes to it.
    hosts = ",".join(f"127.0.0.1:{port}" for port in sentinels)
    app = redis_connection.connect(
        f"redis+sentinel://:{PASSWORD}@{hosts}/mymaster/0", timeout=2, budget=0
    )
    app.set("connect:test", "from-the-app")
    assert p.get("connect:test") == "from-the-app"

    # Without the password, nothing answers: not a data node, not a Sentinel, and above all no
    # Sentinel lets a stranger repoint the app (MONITOR) or forget the primary (REMOVE).
    for port in (primary, replica):
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=port).get("connect:test")
    stranger = redis.Redis(port=sentinels[0], decode_responses=True)
    with pytest.raises(redis.AuthenticationError):
        stranger.sentinel_get_master_addr_by_name("mymaster")
    with pytest.raises(redis.AuthenticationError):
        stranger.sentinel_monitor("evil", "127.0.0.1", free_port(), 1)
    with pytest.raises(redis.AuthenticationError):
        stranger.sentinel_remove("mymaster")
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=sentinels[0], password="wrong").ping()
    authed = redis.Redis(port=sentinels[0], password=PASSWORD, decode_responses=True)
    assert authed.sentinel_get_master_addr_by_name("mymaster") == ("127.0.0.1", primary)
