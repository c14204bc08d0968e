"""The benchmark's own code path, briefly, and the serving rules it measures.

``test_load_driver_smoke`` runs ``scripts/bench``'s ``run_benchmark`` with 5 customers for 5 s
per phase: its own redis-server, the sandbox and the app under gunicorn with the production
config, the htmx driver against the app and the Connect JSON driver against the sandbox. It
asserts that every flow completed and nothing answered 5xx; it asserts no timing (speed is the
benchmark's to print, not a test's to fail on two shared cores).

The rest check what page weight depends on, through the app itself: responses compressed with
Brotli or gzip as the client asks, tiny bodies and clients that ask for nothing left alone,
static files compressed once with an exact Content-Length and their own ETag per coding (304s
still work), and content-addressed static URLs cached for a year as immutable.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

import brotli
import pytest
from flask import Flask
from flask.testing import FlaskClient

from bench.run import Options, StackOptions, run_benchmark
from devstack.stack import RedisServer, SandboxServer
from tests.webapp.conftest import app_config
from webapp import create_app
from webapp.compression import choose_encoding

ROOT = Path(__file__).resolve().parents[2]


def test_load_driver_smoke() -> None:
    options = Options(customers=5, duration=5.0, ramp=0.5, stack=StackOptions(workers=2, threads=4))
    report = run_benchmark(options)
    for target in ("app", "direct"):
        phase = report.phases[target]
        server_errors, unexpected = phase.statuses()
        assert phase.failed == 0, (target, phase.raw["failures"])
        assert not server_errors, (target, server_errors)
        assert not unexpected, (target, unexpected)
        assert phase.completed >= 1, target
    # The app's requests are the kinds a browser with htmx sends, each seen in every flow.
    kinds = {kind for kind, _status, _s in report.phases["app"].raw["requests"]}
    assert kinds == {"entry", "show", "address", "provider", "tariff", "contract", "save", "done"}
    assert report.log_problems["app: Traceback"] == 0
    # Page weight came from real responses, each with a Content-Length matching its body.
    assert report.first_visit and report.fragments
    assert all(item.length_ok for item in report.first_visit if item.wire)
    assert {item.encoding for item in report.first_visit if item.raw > 1000} == {"br"}


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
