"""The benchmark's own code path, briefly, and the serving rules it measures.

``test_load_driver_smoke`` runs ``scripts/bench``'s ``run_benchmark`` with 5 customers for 5 s
per phase: its own redis-server, the sandbox and the app under gunicorn with the production
config, the htmx driver against the app (once keeping the session cookie, once with cookies
blocked) and the Connect JSON driver against the sandbox. It asserts that every flow completed
and nothing answered 5xx, and that each session mode really took its path: with the cookie,
the app refreshed the very cookie each request carried (it does that only for a session it
opened from the cookie; Python's ``SimpleCookie`` used to drop the ``Partitioned`` cookie, so
no request carried one); with cookies blocked, none did. ``test_think_time_smoke`` runs the
think-time mode with pauses of 0.1-0.3 s. No test asserts a timing (speed is the benchmark's to
print, not a test's to fail on two shared cores). ``test_topology_smoke`` runs the app phase
through nginx in front of two instances (``devstack.topology``) as well.

The rest check what page weight depends on, through the app itself: responses compressed with
Brotli or gzip as the client asks, tiny bodies and clients that ask for nothing left alone,
static files compressed once with an exact Content-Length and their own ETag per coding (304s
still work), and content-addressed static URLs cached for a year as immutable.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from collections import Counter
from pathlib import Path

import brotli
import pytest
from flask import Flask
from flask.testing import FlaskClient

from bench.browser import APP_KINDS, parse_set_cookie
from bench.run import Options, StackOptions, parse_args, run_benchmark
from devstack.stack import RedisServer, SandboxServer
from tests.webapp.conftest import app_config
from webapp import create_app
from webapp.compression import choose_encoding

ROOT = Path(__file__).resolve().parents[2]


def test_load_driver_smoke() -> None:
    options = Options(
        customers=5, duration=5.0, ramp=0.5, warmup=1.0, stack=StackOptions(workers=2, threads=4)
    )
    report = run_benchmark(options)
    assert set(report.phases) == {"app cookie", "app handle", "sandbox-direct"}
    for label, phase in report.phases.items():
        server_errors, unexpected = phase.statuses()
        assert phase.failed == 0, (label, phase.raw["failures"])
        assert not server_errors, (label, server_errors)
        assert not unexpected, (label, unexpected)
        assert phase.completed >= 1, label
    for label in ("app cookie", "app handle"):
        # The app's requests are the kinds a browser with htmx sends, each seen in every flow.
        kinds = {kind for kind, _status, _s in report.phases[label].raw["requests"]}
        assert kinds == set(APP_KINDS), label
    # With the cookie kept, every request after the entry carries it, and the app answers each
    # page up to SAVE by refreshing that same cookie: it opened the session from the cookie,
    # not from the flow handle the same requests also carry. (The callback ends the flow and
    # deletes the cookie; the done page comes after.)
    cookie = report.phases["app cookie"]
    carried = Counter(cookie.raw["cookie_sent"])
    refreshed = Counter(cookie.raw["cookie_renewed"])
    started = cookie.raw["flows_started"]
    for kind in ("show", "address", "provider", "tariff", "contract", "save"):
        assert carried[kind] == refreshed[kind] >= cookie.completed, (kind, carried, refreshed)
    assert carried["callback"] >= cookie.completed
    assert carried["entry"] == carried["done"] == 0
    assert sum(carried.values()) <= 7 * started
    # With cookies blocked, none is ever sent, and the flows still complete (by flow handle).
    assert report.phases["app handle"].cookie_requests == (0, 0)
    assert all(ok is not None for ok, _line in report.targets)  # no think-time target here
    assert any(ok and "opened sessions from the cookie" in line for ok, line in report.targets)
    assert all(count == 0 for key, count in report.log_problems.items() if "Traceback" in key)
    # Page weight came from real responses, each with a Content-Length matching its body.
    assert report.first_visit and report.fragments
    assert all(item.length_ok for item in report.first_visit if item.wire)
    assert {item.encoding for item in report.first_visit if item.raw > 1000} == {"br"}


def test_think_time_smoke() -> None:
    """Customers pausing between steps (shortened to 0.1-0.3 s), both session modes, the p99
    target printed but not judged below 2,000 customers."""
    options = parse_args(
        ["--think", "0.1-0.3", "--customers", "4", "--duration", "4", "--no-weight",
         "--workers", "2", "--threads", "4", "--warmup", "1"]
    )  # fmt: skip
    assert options.phases == ("app",) and options.sessions == ("cookie", "handle")
    report = run_benchmark(options)
    assert set(report.phases) == {"app cookie", "app handle"}
    for label, phase in report.phases.items():
        server_errors, _unexpected = phase.statuses()
        assert phase.failed == 0, (label, phase.raw["failures"])
        assert not server_errors, (label, server_errors)
        assert phase.completed >= 1, label
        assert phase.raw["think"] == [0.1, 0.3]
        # Six pauses of at least 0.1 s each (the first before the flow): a flow's five step
        # posts alone take at least 0.5 s.
        assert min(phase.raw["flow_seconds"]) >= 0.5, label
        assert {kind for kind, _status, _s in phase.raw["requests"]} == set(APP_KINDS)
        assert phase.raw["loop_lag"] and phase.raw["driver_cpu"] > 0
    assert report.phases["app cookie"].cookie_requests[1] > 0
    assert report.phases["app handle"].cookie_requests == (0, 0)
    think_lines = [(ok, line) for ok, line in report.targets if "think time" in line]
    assert len(think_lines) == 2 and all(ok is None for ok, _line in think_lines)
    # A target not judged at this scale does not fail the run (memory growth over a few
    # seconds of warm-up may, which is not this test's business).
    failing = [line for ok, line in report.targets if ok is False]
    assert report.passed == (not failing)


@pytest.mark.skipif(not Path("/usr/sbin/nginx").exists(), reason="nginx not installed")
def test_topology_smoke() -> None:
    """The same app phase through nginx in front of two instances (Redis with a replica and
    Sentinels), side by side with one."""
    options = parse_args(
        ["--topology", "--phases", "app", "--sessions", "cookie", "--customers", "3",
         "--duration", "3", "--no-weight", "--workers", "1", "--threads", "4", "--warmup", "0"]
    )  # fmt: skip
    report = run_benchmark(options)
    assert list(report.phases) == ["app cookie", "topology app cookie"]
    topology = report.phases["topology app cookie"]
    assert topology.stack == "topology" and set(topology.cpu) >= {"app", "nginx"}
    # The Redis deploy/ ships: the replica and the Sentinels are metered too.
    assert set(topology.cpu) >= {"redis", "redis replica", "sentinels"}
    for label, phase in report.phases.items():
        server_errors, unexpected = phase.statuses()
        assert phase.failed == 0, (label, phase.raw["failures"])
        assert not server_errors and not unexpected, (label, server_errors, unexpected)
        # Through nginx too, the app opened the session from the production cookie.
        _sent, refreshed = phase.cookie_requests
        assert refreshed >= 6 * phase.completed >= 6, label
    # Both instances' workers were sampled.
    assert topology.memory is not None
    assert len(topology.memory.samples[-1].workers) == 2


@pytest.mark.unit
@pytest.mark.parametrize(
    ("header", "expected"),
    [
        # What the app sets in production: SimpleCookie drops it whole (Partitioned).
        (
            "__Host-fpconnect=abc_DEF-1; Expires=Mon, 30 Nov 2026 00:00:00 GMT; Secure; "
            "HttpOnly; Path=/; SameSite=None; Partitioned",
            ("__Host-fpconnect", "abc_DEF-1", False),
        ),
        # How Flask deletes it.
        (
            "__Host-fpconnect=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Secure; "
            "HttpOnly; Path=/; SameSite=None; Partitioned",
            ("__Host-fpconnect", "", True),
        ),
        ("a=1; Max-Age=-1", ("a", "1", True)),
        ("a=1; Max-Age=60", ("a", "1", False)),
        ("a=b=c; Path=/", ("a", "b=c", False)),
        ("no equals sign", None),
        ("=orphan", None),
    ],
)
def test_set_cookie_parser_keeps_partitioned_cookies(
    header: str, expected: tuple[str, str, bool] | None
) -> None:
    assert parse_set_cookie(header) == expected


# -- compression and static files, through the app ------------------------------------------


@pytest.fixture
def app(redis_server: RedisServer, sandbox: SandboxServer) -> Flask:
    return create_app(app_config(redis_server, sandbox))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def decode(body: bytes, coding: str | None) -> bytes:
    if coding == "br":
        return brotli.decompress(body)
    if coding == "gzip":
        return gzip.decompress(body)
    return body


@pytest.mark.unit
@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("gzip, br", "br"),
        ("gzip, deflate, br, zstd", "br"),
        ("gzip", "gzip"),
        ("br;q=0.5, gzip", "gzip"),
        ("br;q=0, gzip;q=0", None),
        ("*", "br"),
        ("identity", None),
        ("", None),
        ("deflate", None),
    ],
)
def test_encoding_follows_accept_encoding(accept: str, expected: str | None) -> None:
    assert choose_encoding(accept) == expected


@pytest.mark.parametrize("coding", ["br", "gzip"])
def test_pages_are_compressed_as_asked(client: FlaskClient, coding: str) -> None:
    plain = client.get("/")
    assert plain.status_code == 200
    assert "Content-Encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers["Vary"]

    packed = client.get("/", headers={"Accept-Encoding": f"{coding}"})
    assert packed.headers["Content-Encoding"] == coding
    assert "Accept-Encoding" in packed.headers["Vary"]
    body = packed.get_data()
    assert int(packed.headers["Content-Length"]) == len(body)
    assert len(body) < len(plain.get_data()) / 2
    # Same page, not the same bytes (CSRF tokens differ per session): compare the structure.
    html = decode(body, coding).decode()
    assert html.startswith("<!doctype html>") and html.rstrip().endswith("</html>")


def test_tiny_bodies_are_not_compressed(client: FlaskClient) -> None:
    response = client.get("/healthz", headers={"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200
    assert len(response.get_data()) < 512
    assert "Content-Encoding" not in response.headers


def linked_assets(client: FlaskClient) -> list[str]:
    page = client.get("/").get_data(as_text=True)
    links = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
    assert len(links) >= 3, links
    return links


def test_static_urls_name_their_content_and_are_immutable(client: FlaskClient) -> None:
    for link in linked_assets(client):
        named = re.fullmatch(r"(/static/.+)\.([0-9a-f]{12})(\.[a-z]+)", link)
        assert named, f"{link} does not name its content"
        file = ROOT / (named[1] + named[3]).lstrip("/")
        assert named[2] == hashlib.sha256(file.read_bytes()).hexdigest()[:12], link
        response = client.get(link)
        assert response.status_code == 200
        cache = response.headers["Cache-Control"]
        assert "max-age=31536000" in cache and "immutable" in cache and "public" in cache
        response.close()


def test_a_stale_or_missing_hash_is_not_cached_for_a_year(client: FlaskClient) -> None:
    link = linked_assets(client)[0]
    path = re.sub(r"\.[0-9a-f]{12}(?=\.)", "", link)
    stale = re.sub(r"\.[0-9a-f]{12}(?=\.)", ".000000000000", link)
    for url in (path, stale, f"{path}?v=000000000000"):
        response = client.get(url)
        assert response.status_code == 200
        assert "max-age=31536000" not in response.headers.get("Cache-Control", "")
        assert "immutable" not in response.headers.get("Cache-Control", "")
        response.close()


@pytest.mark.parametrize("coding", ["br", "gzip"])
def test_static_files_compressed_once_with_length_etag_and_304(
    client: FlaskClient, coding: str
) -> None:
    link = next(link for link in linked_assets(client) if "htmx" in link)
    file = ROOT / re.sub(r"\.[0-9a-f]{12}(?=\.)", "", link).lstrip("/")
    plain = client.get(link)
    plain_etag = plain.headers["ETag"]
    assert plain.get_data() == file.read_bytes()
    assert "Content-Encoding" not in plain.headers

    first = client.get(link, headers={"Accept-Encoding": coding})
    body = first.get_data()
    assert first.headers["Content-Encoding"] == coding
    assert int(first.headers["Content-Length"]) == len(body)
    assert decode(body, coding) == file.read_bytes()
    assert len(body) < file.stat().st_size / 2
    etag = first.headers["ETag"]
    assert etag != plain_etag and etag.endswith(f'-{coding}"')
    assert "Accept-Encoding" in first.headers["Vary"]

    again = client.get(link, headers={"Accept-Encoding": coding})
    assert again.get_data() == body  # served from the per-worker cache, byte for byte

    cached = client.get(link, headers={"Accept-Encoding": coding, "If-None-Match": etag})
    assert cached.status_code == 304
    assert cached.get_data() == b""
    # The other coding's validator does not match this one.
    other = "gzip" if coding == "br" else "br"
    fresh = client.get(link, headers={"Accept-Encoding": other, "If-None-Match": etag})
    assert fresh.status_code == 200
    assert fresh.headers["Content-Encoding"] == other
    plain.close()


@pytest.mark.parametrize(
    "path",
    [
        "/static/../webapp/config.py?v=000000000000",
        "/static/..%2Fwebapp%2Fconfig.py?v=000000000000",
        "/static/../../../../dev/zero?v=000000000000",
        "/static/css?v=000000000000",
        "/static/../webapp/config.000000000000.py",
        "/static/../../../../dev/zero.000000000000.x",
        "/static/css.000000000000.css",
    ],
)
def test_the_hash_check_reads_nothing_outside_static_files(client: FlaskClient, path: str) -> None:
    # Flask asks for the cache lifetime before it checks the path; /dev/zero would never end.
    response = client.get(path)
    assert response.status_code == 404
    response.close()


def test_ranges_of_static_files_stay_uncompressed(client: FlaskClient) -> None:
    link = next(link for link in linked_assets(client) if "htmx" in link)
    response = client.get(link, headers={"Accept-Encoding": "br", "Range": "bytes=0-99"})
    assert response.status_code == 206
    assert "Content-Encoding" not in response.headers
    assert len(response.get_data()) == 100
    response.close()
