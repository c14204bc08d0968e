"""devstack/sentinel.py without starting anything: the URL RedisHA hands out, the config each
Sentinel starts from, and the replica's command line. The processes themselves are exercised by
tests/webapp/test_redis_failover.py (marked topology)."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.sentinel import RedisHA
from webapp.redis_url import parse_sentinel

pytestmark = pytest.mark.unit


def test_url_names_every_sentinel_the_service_and_db(tmp_path: Path) -> None:
    ha = RedisHA(tmp_path, service="othermaster")
    target = parse_sentinel(ha.url(3))
    assert target.service == "othermaster" and target.db == 3
    assert target.sentinels == tuple(("127.0.0.1", s.port) for s in ha.sentinels)
    assert len(ha.sentinels) == 3 and len(ha.servers) == 2


def test_sentinel_conf_monitors_the_first_primary(tmp_path: Path) -> None:
    ha = RedisHA(tmp_path)
    sentinel = ha.sentinels[0]
    sentinel.workdir.mkdir(parents=True)
    sentinel.write_conf()
    conf = sentinel.conf_path.read_text()
    assert f"sentinel monitor mymaster 127.0.0.1 {ha.servers[0].port} 2" in conf
    assert "sentinel down-after-milliseconds mymaster 1000" in conf
    assert sentinel.argv()[-1] == "--sentinel"
    assert sentinel.conf_path.parent == sentinel.workdir  # Sentinel rewrites it


def test_both_data_nodes_append_only_and_the_replica_follows(tmp_path: Path) -> None:
    primary, replica = RedisHA(tmp_path).servers
    for server in (primary, replica):
        argv = server.argv()
        assert argv[argv.index("--appendonly") + 1] == "yes"
        assert argv[argv.index("--appendfsync") + 1] == "everysec"
    assert "--replicaof" not in primary.argv()
    argv = replica.argv()
    assert argv[argv.index("--replicaof") + 2] == str(primary.port)
