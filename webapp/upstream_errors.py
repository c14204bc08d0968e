"""What can go wrong talking to FlatPeak, as types the views branch on.

Transport and protocol failures raise a :class:`FlatPeakError` subclass; a Connect validation
error is a normal part of the flow and comes back as a value (:class:`ConnectError`).
:func:`may_have_reached` tells the step ledger whether a failed step may still have been applied
upstream, which decides whether a retry may send it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError


class FlatPeakError(Exception):
    """Base class: something went wrong talking to FlatPeak."""


class UpstreamUnavailable(FlatPeakError):
    """FlatPeak could not be reached, dropped the connection or answered 5xx."""


class UpstreamTimeout(FlatPeakError):
    """FlatPeak accepted the connection but did not answer within the read timeout."""


class UpstreamBadResponse(FlatPeakError):
    """FlatPeak answered something that is not the documented JSON."""


class AuthFailed(FlatPeakError):
    """The account id / API key pair was refused: a configuration problem, not the customer's."""


class TokenNotFound(FlatPeakError):
    """The exchange does not know this connect token."""


class ExchangeNotReady(FlatPeakError):
    """The exchange is not available yet (the Connect session has not completed)."""


class LocationNotFound(FlatPeakError):
    """The location is unknown to the partner's account (or another account's: the same 404)."""


class RatesPending(FlatPeakError):
    """``pending_connect``: the tariff is connected directly and its data has not arrived yet."""


class TariffNotConnected(FlatPeakError):
    """The rates API has no connected tariff of that direction for the location."""


@dataclass(frozen=True)
class ConnectError:
    """An ``{"object": "error"}`` answer from Connect: the step was not accepted."""

    code: str
    message: str = ""

    @property
    def token_expired(self) -> bool:
        return self.code in ("token_expired", "session_completed")

    @property
    def token_unknown(self) -> bool:
        return self.code in ("token_not_found", "connect_token_missing", "connect_token_invalid")

    @property
    def route_mismatch(self) -> bool:
        return self.code in ("route_invalid", "route_missing")


def may_have_reached(exc: FlatPeakError) -> bool:
    """Whether a failed step may have been received (and applied) by Connect.

    Only a failure to connect proves nothing was sent; everything else (no answer in time, the
    connection dropped after the request went out, a 5xx, a body that is not JSON) is ambiguous.
    """
    if isinstance(exc, UpstreamTimeout):
        return True
    cause: BaseException | None = exc.__cause__
    if isinstance(cause, requests.exceptions.ConnectTimeout):
        return False
    if isinstance(cause, requests.exceptions.ConnectionError):
        return not _never_connected(cause)
    return True


def _never_connected(error: BaseException) -> bool:
    """True when the chain holds urllib3's connect-phase failures (refused, DNS, timeout)."""
    seen: set[int] = set()
    stack: list[Any] = [error]
    while stack:
        item = stack.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, NewConnectionError | ConnectTimeoutError):
            return True
        if isinstance(item, BaseException):
            stack.extend([item.__cause__, item.__context__, getattr(item, "reason", None)])
            stack.extend(arg for arg in item.args if isinstance(arg, BaseException))
    return False
