"""Compressed responses (Brotli or gzip) without a proxy in front.

Static files are the biggest bytes we send and never change between deploys, so they are
compressed once per worker at the highest level (Brotli 11, gzip 9) and served from memory with an
exact ``Content-Length`` and an ETag per coding (so 304s keep working). Pages and htmx fragments
are compressed per response at a cheap level: they are small, personal and ``no-store``.

Flask-Compress 1.25 (read in its source, and run against a static file) does not fit: it
compresses ``send_file`` responses as streams on every request at the one level it uses for
everything, drops their ``Content-Length``, never gzips them (``gzip`` is not in its streaming
algorithms), compresses a 206 partial response while leaving its ``Content-Range`` on the
uncompressed bytes, and ignores ``Cache-Control: no-transform``.

Rules: only text types; nothing under ``COMPRESS_MIN_SIZE`` bytes (the headers would cost more
than the saving); never a body that already has a ``Content-Encoding``, a stream, a partial
(206) or a bodiless status, or a response marked ``no-transform``; ``Vary: Accept-Encoding`` on
every response whose type we would compress.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable, Iterable

import brotli
from flask import Flask, Response, current_app, request

COMPRESSIBLE = frozenset(
    {
        "text/html",
        "text/css",
        "text/plain",
        "text/javascript",
        "application/javascript",
        "application/json",
        "image/svg+xml",
    }
)
DEFAULTS = {
    "COMPRESS_MIN_SIZE": 512,
    # Per-response levels: Brotli 4 is about gzip 9's size at a fraction of its time.
    "COMPRESS_BR_LEVEL": 4,
    "COMPRESS_GZIP_LEVEL": 6,
    # Static files are compressed once per worker, so spend the time.
    "COMPRESS_STATIC_BR_LEVEL": 11,
    "COMPRESS_STATIC_GZIP_LEVEL": 9,
}
_NO_BODY = (204, 206, 304)


def choose_encoding(accept_encoding: str) -> str | None:
    """``br`` or ``gzip`` from an ``Accept-Encoding`` header (q-values honoured, ``br`` preferred
    on a tie), or ``None`` for identity."""
    quality: dict[str, float] = {}
    for part in accept_encoding.lower().split(","):
        name, _, params = part.strip().partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        if name:
            quality[name.strip()] = q
    best: str | None = None
    best_q = 0.0
    for coding in ("br", "gzip"):
        q = quality.get(coding, quality.get("*", 0.0))
        if q > best_q:
            best, best_q = coding, q
    return best


def compress(data: bytes, coding: str, br_level: int, gzip_level: int) -> bytes:
    if coding == "br":
        return brotli.compress(data, quality=br_level)
    return gzip.compress(data, compresslevel=gzip_level, mtime=0)


def _close(body: Iterable[bytes] | None) -> None:
    close = getattr(body, "close", None)
    if close is not None:
        close()


class StaticCache:
    """Compressed static files by (file, ETag, coding): a new deploy changes the ETag."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str, str], bytes] = {}
        self._lock = threading.Lock()

    def get_or_make(self, key: tuple[str, str, str], make: Callable[[], bytes]) -> bytes:
        with self._lock:
            found = self._items.get(key)
        if found is None:
            found = make()
            with self._lock:
                self._items[key] = found
        return found


def _compress_response(response: Response, static: StaticCache) -> Response:
    if response.mimetype not in COMPRESSIBLE:
        return response
    response.vary.add("Accept-Encoding")
    config = current_app.config
    if (
        response.status_code < 200
        or response.status_code in _NO_BODY
        or "Content-Encoding" in response.headers
        or "no-transform" in (response.headers.get("Cache-Control") or "")
    ):
        return response
    coding = choose_encoding(request.headers.get("Accept-Encoding", ""))
    if coding is None:
        return response
    length = response.content_length
    if length is not None and length < config["COMPRESS_MIN_SIZE"]:
        return response

    if request.endpoint == "static" and response.direct_passthrough:
        etag, _weak = response.get_etag()
        if not etag:
            return response
        filename = str((request.view_args or {}).get("filename", request.path))
        body = response.response

        def make() -> bytes:
            data = b"".join(body)  # the file wrapper send_file made
            return compress(
                data,
                coding,
                config["COMPRESS_STATIC_BR_LEVEL"],
                config["COMPRESS_STATIC_GZIP_LEVEL"],
            )

        packed = static.get_or_make((filename, etag, coding), make)
        _close(body)
        response.direct_passthrough = False
        response.set_data(packed)
        response.headers["Content-Encoding"] = coding
        # Another coding is another representation: it needs its own strong validator.
        response.set_etag(f"{etag}-{coding}")
        # send_file judged If-None-Match against the uncompressed ETag; judge it again.
        response.make_conditional(request)
        return response

    if response.is_streamed:
        return response
    data = response.get_data()
    if len(data) < config["COMPRESS_MIN_SIZE"]:
        return response
    response.set_data(
        compress(data, coding, config["COMPRESS_BR_LEVEL"], config["COMPRESS_GZIP_LEVEL"])
    )
    response.headers["Content-Encoding"] = coding
    etag, weak = response.get_etag()
    if etag and not weak:
        response.set_etag(f"{etag}-{coding}")
    return response


def init_app(app: Flask) -> None:
    """Register the compression hook. Call it before anything else registers an
    ``after_request`` hook: Flask runs them last-registered first, so the first one registered
    runs last and compresses the final body."""
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    static = StaticCache()
    app.extensions["compression_static_cache"] = static

    @app.after_request
    def compress_response(response: Response) -> Response:
        return _compress_response(response, static)
