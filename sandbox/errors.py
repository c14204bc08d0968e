"""Connect error objects: ``{"object": "error", "type", "code", "message", ...}``.

Clients branch on the body (``object == "error"``), never on the status (docs/protocol.md §3.3).
FlatPeak does not document the statuses; ours (§6.2) are chosen so that logs and load tests read
sensibly: validation 400, token_expired 401, unknown token 404, faults 5xx.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any


class ConnectError(Exception):
    """A Connect request that cannot be answered with a page; the session does not move."""

    def __init__(
        self, code: str, message: str, status: int = 400, error_type: str = "invalid_request"
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.error_type = error_type


def data_json_invalid() -> ConnectError:
    return ConnectError("data_json_invalid", "Data does not conform to the JSON schema.")


def timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def request_id() -> str:
    return f"req_{secrets.token_hex(12)}"


def error_object(
    error: ConnectError,
    *,
    context: str,
    connect_token: str | None,
    live_mode: bool,
    request_id_: str | None = None,
) -> dict[str, Any]:
    return {
        "object": "error",
        "type": error.error_type,
        "code": error.code,
        "message": error.message,
        "connect_token": connect_token,
        "context": context,
        "time_created": timestamp(),
        "request_id": request_id_ or request_id(),
        "live_mode": live_mode,
    }
