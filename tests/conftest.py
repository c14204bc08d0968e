"""Real fixtures shared by every test: a redis-server process and the sandbox over HTTP.

Nothing here is mocked. Each test session starts its own ``redis-server`` on a free loopback port
and its own sandbox process (``python -m sandbox``) pointed at that Redis, exactly as the run
command does, so the webapp meets the sandbox only over HTTP.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import requests

ROOT = Path(__file__).resolve().parent.parent

SANDBOX_ACCOUNT_ID = "acc_000000000000000000000001"
SANDBOX_API_KEY = "sk_test_sandbox_000000000000000000000001"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {proc.returncode}")
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up within {timeout}s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class RedisServer:
    port: int
    proc: subprocess.Popen[bytes]

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis.from_url(self.url(db), decode_responses=True)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    executable = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [
            executable,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
            "--loglevel",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or proc.poll() is not None:
                stop(proc)
                raise
            time.sleep(0.05)
    yield RedisServer(port=port, proc=proc)
    stop(proc)


@dataclass
class SandboxServer:
    url: str
    proc: subprocess.Popen[bytes]
    redis_url: str
    account_id: str = SANDBOX_ACCOUNT_ID
    api_key: str = SANDBOX_API_KEY


def start_sandbox(redis_url: str, extra_env: dict[str, str] | None = None) -> SandboxServer:
    """Start ``python -m sandbox`` on a free port and wait until it answers."""
    port = free_port()
    env = {
        **os.environ,
        "SANDBOX_REDIS_URL": redis_url,
        "SANDBOX_ACCOUNT_ID": SANDBOX_ACCOUNT_ID,
        "SANDBOX_API_KEY": SANDBOX_API_KEY,
        **(extra_env or {}),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", str(port)], cwd=ROOT, env=env
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/_sandbox/health", proc)
    except Exception:
        stop(proc)
        raise
    return SandboxServer(url=url, proc=proc, redis_url=redis_url)


@pytest.fixture(scope="session")
def sandbox(redis_server: RedisServer) -> Iterator[SandboxServer]:
    """The shared sandbox: default settings, state in Redis db 1."""
    server = start_sandbox(redis_server.url(1))
    yield server
    stop(server.proc)


@pytest.fixture
def sandbox_factory(redis_server: RedisServer) -> Iterator:
    """Start extra sandboxes with their own settings (short token TTL, faults); stopped after
    the test."""
    started: list[SandboxServer] = []

    def make(**env: str) -> SandboxServer:
        server = start_sandbox(redis_server.url(1), env)
        started.append(server)
        return server

    yield make
    for server in started:
        stop(server.proc)
