"""Fault injection: the bad days of a real upstream, on demand.

A WSGI middleware in front of the sandbox. Process defaults come from the environment; the
``/_sandbox/faults`` hook stores an override in Redis that every worker of this sandbox instance
reads on each request, so a test can switch faults on and off without restarting anything. Faults
never touch the test hooks (``/_sandbox/``) or the provider login pages: those are not FlatPeak's
API, and a test must always be able to switch faults off again.
"""

from __future__ import annotations

import json
import random
import socket
import struct
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

EXEMPT_PREFIXES = ("/_sandbox/", "/provider-login/")
GARBAGE = b"<html><head><title>Bad gateway</title></head><body>upstream hiccup</body></html>"


@dataclass(frozen=True)
class Faults:
    latency_ms: int = 0
    error_rate: float = 0.0  # share of requests answered with a 5xx
    garbage_rate: float = 0.0  # share answered 200 with a body that is not JSON
    drop_rate: float = 0.0  # share whose connection is closed without any answer

    @classmethod
    def from_mapping(cls, raw: dict[str, Any]) -> Faults:
        """Validated faults; ValueError names the bad field."""
        values: dict[str, Any] = {}
        for name, kind in (
            ("latency_ms", int),
            ("error_rate", float),
            ("garbage_rate", float),
            ("drop_rate", float),
        ):
            if raw.get(name) in (None, ""):
                continue
            try:
                value = kind(float(raw[name])) if kind is int else float(raw[name])
            except (TypeError, ValueError):
                raise ValueError(f"{name} must be a number") from None
            if value < 0 or (kind is float and value > 1) or (kind is int and value > 120_000):
                raise ValueError(f"{name} is out of range")
            values[name] = value
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class FaultMiddleware:
    def __init__(self, app: WSGIApp, current: Callable[[], Faults]) -> None:
        self.app = app
        self.current = current  # the effective faults: override from Redis, else process default

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(EXEMPT_PREFIXES) or environ.get("REQUEST_METHOD") == "OPTIONS":
            return self.app(environ, start_response)
        faults = self.current()
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000)
        roll = random.random()
        if roll < faults.drop_rate:
            self._drop(environ)
            start_response("500 Internal Server Error", [("Content-Length", "0")])
            return [b""]
        roll -= faults.drop_rate
        if roll < faults.error_rate:
            status = random.choice(
                ["500 Internal Server Error", "502 Bad Gateway", "503 Service Unavailable"]
            )
            body = json.dumps(
                {
                    "object": "error",
                    "type": "api_error",
                    "code": "internal_error",
                    "message": "Internal Server Error",
                }
            ).encode()
            start_response(status, self._headers("application/json", body))
            return [body]
        roll -= faults.error_rate
        if roll < faults.garbage_rate:
            start_response("200 OK", self._headers("application/json", GARBAGE))
            return [GARBAGE]
        return self.app(environ, start_response)

    @staticmethod
    def _headers(content_type: str, body: bytes) -> list[tuple[str, str]]:
        return [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Access-Control-Allow-Origin", "*"),
        ]

    @staticmethod
    def _drop(environ: dict[str, Any]) -> None:
        """Close the client's connection before any byte of an answer is written.

        Werkzeug and gunicorn both hand the WSGI app the client socket; shutting it down makes the
        client see the connection closed with no status line, as with a crashed load balancer. The
        server's later attempt to write fails with a broken pipe, which both servers swallow.
        """
        sock = environ.get("werkzeug.socket") or environ.get("gunicorn.socket")
        if sock is None:
            raise ConnectionAbortedError("fault: dropped connection")
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
