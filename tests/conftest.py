"""Real fixtures shared by every test: a redis-server process and the sandbox over HTTP.

Nothing here is mocked. Each test session starts its own ``redis-server`` on a free loopback port
and its own sandbox process (``python -m sandbox``) pointed at that Redis, exactly as the run
command does, so the webapp meets the sandbox only over HTTP. The processes come from
``devstack.stack``, which the benchmark uses too; their logs are in pytest's temporary directory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest

from devstack.stack import SANDBOX_DB, RedisServer, SandboxServer

# What the session's processes provide; a test marked ``unit`` must not ask for any of them.
PROCESS_FIXTURES = frozenset(
    {
        "redis_server",
        "sandbox",
        "sandbox_factory",
        "app_server",
        "app_factory",
        "partner",
        "playwright_driver",
    }
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep ``-m unit`` honest: a unit test that starts a process fails at collection."""
    for item in items:
        if item.get_closest_marker("unit") is None:
            continue
        needs = PROCESS_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        if needs:
            raise pytest.UsageError(f"{item.nodeid} is marked unit but uses {sorted(needs)}")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="session")
def sandbox(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SandboxServer]:
    """The shared sandbox: default settings, state in Redis db 1."""
    with SandboxServer(tmp_path_factory.mktemp("sandbox"), redis_server.url(SANDBOX_DB)) as server:
        yield server


@pytest.fixture
def sandbox_factory(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., SandboxServer]]:
    """Start extra sandboxes with their own settings (short token TTL, faults) on the shared
    sandbox's Redis db, so its tokens work on them; stopped after the test."""
    with ExitStack() as started:

        def make(**settings: str) -> SandboxServer:
            workdir = tmp_path_factory.mktemp("sandbox")
            server = SandboxServer(workdir, redis_server.url(SANDBOX_DB), settings=settings)
            return started.enter_context(server)

        yield make
