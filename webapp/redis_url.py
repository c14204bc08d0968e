"""``REDIS_URL`` in its two shapes, read and checked (``webapp/redis_connection.py`` makes the
client for each).

**A single server**: ``redis://``, ``rediss://`` (TLS) or ``unix://``, read by redis-py as ever.

**Sentinel**: ``redis+sentinel://[[user]:password@]host:port[,host:port…]/service[/db]``, e.g.
``redis+sentinel://10.0.0.5:26379,10.0.0.6:26379,10.0.0.7:26379/mymaster/0``. A host without a
port is on 26379; IPv6 hosts go in brackets; ``db`` defaults to 0. A user or password is sent
to the Sentinels and to the data nodes alike (the convention of the ``limits`` library, which
reads the same URL for the rate limiter): give both the same ``requirepass``. TLS to the
Sentinels and query options are not supported and refused at start-up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

SENTINEL_SCHEME = "redis+sentinel"
PLAIN_SCHEMES = ("redis", "rediss", "unix")
DEFAULT_SENTINEL_PORT = 26379

_SERVICE_RE = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


class RedisUrlError(ValueError):
    """``REDIS_URL`` (or ``RATELIMIT_STORAGE_URI``) is not a form this app can use."""


@dataclass(frozen=True)
class SentinelTarget:
    """A parsed ``redis+sentinel://`` URL."""

    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int
    username: str | None = None
    password: str | None = None

    def auth(self) -> dict[str, str]:
        found = {"username": self.username, "password": self.password}
        return {name: value for name, value in found.items() if value}

    def limits_uri(self) -> str:
        """The form ``limits`` reads: the service as the whole path, the db left to options
        (it would read ``/mymaster/0`` as a service called ``mymaster0``), and no credentials:
        ``limits`` 5.8 takes a password from the URI without percent-decoding it, so one with
        ``+``, ``/`` or ``=`` would fail to authenticate and, its errors swallowed, switch every
        rate limit off. They go in as options instead (:meth:`auth`), which it prefers."""
        hosts = ",".join(_host_port(host, port) for host, port in self.sentinels)
        return f"{SENTINEL_SCHEME}://{hosts}/{self.service}"


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _split_userinfo(rest: str) -> tuple[str | None, str]:
    """``[userinfo@]hosts/path`` at the *last* ``@``: a password written without
    percent-encoding may hold ``@``, ``/`` or ``+``, and must neither be taken for a host nor
    leak into a message as one."""
    if "@" not in rest:
        return None, rest
    userinfo, _, tail = rest.rpartition("@")
    return userinfo, tail


def redacted(url: str) -> str:
    """The URL without its password, for messages and logs."""
    scheme, sep, rest = url.partition("://")
    userinfo, tail = _split_userinfo(rest) if sep else (None, rest)
    if userinfo is None:
        return url
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:***@{tail}" if ":" in userinfo else f"{scheme}://***@{tail}"


def is_sentinel(url: str) -> bool:
    return url.split("://", 1)[0].lower() == SENTINEL_SCHEME


def parse_sentinel(url: str) -> SentinelTarget:
    """``redis+sentinel://[[user]:password@]h:p[,h:p…]/service[/db]``; RedisUrlError otherwise."""
    shown = redacted(url)
    if not is_sentinel(url):
        raise RedisUrlError(f"{shown} is not a {SENTINEL_SCHEME}:// URL")
    userinfo, rest = _split_userinfo(url.split("://", 1)[1])
    netloc, _, path = rest.partition("/")
    if "?" in path or "#" in path or "?" in netloc:
        raise RedisUrlError(f"{shown}: query options are not supported in a Sentinel URL")
    username = password = None
    if userinfo is not None:
        user, colon, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon else None
        if not colon:  # "password@host", as redis:// reads a lone userinfo
            username, password = None, unquote(user) or None
    sentinels = tuple(_parse_host(part, shown) for part in netloc.split(","))
    segments = path.split("/") if path else []
    if len(segments) == 2 and segments[1] == "":
        segments = segments[:1]  # "/service/": the default database
    if not segments or not segments[0]:
        raise RedisUrlError(
            f"{shown} names no service: use {SENTINEL_SCHEME}://host:port,host:port/"
            "<service name>/<db>"
        )
    if len(segments) > 2:
        raise RedisUrlError(f"{shown}: the path must be /<service name>/<db>")
    service = segments[0]
    if not _SERVICE_RE.match(service):
        raise RedisUrlError(f"{shown}: {service!r} is not a Sentinel service name")
    db = 0
    if len(segments) == 2:
        if not segments[1].isdigit():
            raise RedisUrlError(f"{shown}: the database {segments[1]!r} is not a number")
        db = int(segments[1])
    return SentinelTarget(sentinels, service, db, username, password)


def _parse_host(part: str, shown: str) -> tuple[str, int]:
    if not part:
        raise RedisUrlError(f"{shown} has an empty Sentinel address")
    try:
        parsed = urlsplit("//" + part)
        host, port = parsed.hostname, parsed.port
    except ValueError as error:
        raise RedisUrlError(f"{shown}: {part!r} is not host:port ({error})") from None
    if not host:
        raise RedisUrlError(f"{shown}: {part!r} is not host:port")
    return host, port or DEFAULT_SENTINEL_PORT


def check_url(url: str) -> None:
    """Refuse a URL the client could not use, with a message that names the problem."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == SENTINEL_SCHEME:
        parse_sentinel(url)
    elif scheme not in PLAIN_SCHEMES:
        raise RedisUrlError(
            f"{redacted(url)} is not a redis://, rediss://, unix:// or {SENTINEL_SCHEME}:// URL"
        )
