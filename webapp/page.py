"""The page object Connect answers, made safe to read before any adapter or template sees it.

Connect's answers are JSON we do not control: a page may arrive with ``data`` that is a list, a
price that is ``NaN`` or a string, a name with a NUL or a lone surrogate in it (valid JSON,
but neither valid HTML nor encodable as UTF-8), or nesting a careless walker would recurse
through forever. Adapters read fields with ``isinstance`` checks; this module does the rest once,
at the edge, so a malformed page degrades to a page with blanks instead of a crash:

* strings lose the characters HTML forbids (controls, surrogates, noncharacters) and are capped;
* numbers that are not finite, or too large to be any real price or count, become ``None``;
* containers deeper or longer than any real page are cut off;
* ``data`` is always a dict, ``actions`` always a tuple of strings, ``route`` always a string:
  :class:`Page` holds them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Longest string kept; Connect's longest real values (logo URLs, messages) are far shorter.
MAX_STRING = 2000
#: Items kept per list (a provider list is tens of entries, a day of half-hourly rates 48).
MAX_ITEMS = 1000
#: Nesting kept; real pages nest four deep (data.rates.today[0].tariff).
MAX_DEPTH = 12
#: Integers beyond this are not prices, counts or flags, and float() would lose them anyway.
MAX_INT = 2**53

# Characters HTML does not allow in a document (WHATWG "parse errors"): C0 controls other than
# tab, newline, form feed and carriage return; DEL and C1 controls; lone surrogates (which
# cannot even be encoded as UTF-8); and noncharacters.
_FORBIDDEN = re.compile(
    "[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff"
    "\U0001fffe\U0001ffff\U0002fffe\U0002ffff\U0003fffe\U0003ffff\U0004fffe\U0004ffff"
    "\U0005fffe\U0005ffff\U0006fffe\U0006ffff\U0007fffe\U0007ffff\U0008fffe\U0008ffff"
    "\U0009fffe\U0009ffff\U000afffe\U000affff\U000bfffe\U000bffff\U000cfffe\U000cffff"
    "\U000dfffe\U000dffff\U000efffe\U000effff\U000ffffe\U000fffff\U0010fffe\U0010ffff]"
)


def clean_text(value: str, max_length: int = MAX_STRING) -> str:
    """``value`` without the characters an HTML page cannot carry, at most ``max_length``."""
    return _FORBIDDEN.sub("", value[: max_length * 2])[:max_length]


def clean_value(value: Any, depth: int = 0) -> Any:
    """A JSON value with every part an adapter or template may read made safe (see above)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, int):
        return value if -MAX_INT <= value <= MAX_INT else None
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if depth >= MAX_DEPTH:
        return None
    if isinstance(value, Mapping):
        return {
            clean_text(key, 200): clean_value(item, depth + 1)
            for key, item in list(value.items())[:MAX_ITEMS]
            if isinstance(key, str)
        }
    if isinstance(value, list | tuple):
        return [clean_value(item, depth + 1) for item in value[:MAX_ITEMS]]
    return None


@dataclass(frozen=True, slots=True)
class Page:
    """A Connect page object, with every field an adapter or template reads of a known type.

    Built once where a page enters the app: :meth:`from_connect` for Connect's JSON (cleaned as
    above), :meth:`from_session` for the copy the flow keeps in the session, which was cleaned
    before it was stored and so is not walked again. The connect token Connect echoes in every
    page is dropped here: a page is rendered, cached and fingerprinted, and none of that may
    carry the token. Treat ``data`` as read-only; it is a dict only because JSON is.
    """

    route: str
    data: dict[str, Any] = field(default_factory=dict)
    actions: tuple[str, ...] = ()
    direction: str = "IMPORT"
    live_mode: bool = False
    #: Only on the ``error`` route: Connect's own explanation (never shown unescaped).
    error_message: str = ""

    @classmethod
    def from_connect(cls, raw: Any) -> Page:
        """Connect's page object of any shape, cleaned: a malformed page becomes one with blanks."""
        cleaned = clean_value(dict(raw) if isinstance(raw, Mapping) else {})
        return cls._typed(cleaned)

    @classmethod
    def from_session(cls, stored: Any) -> Page | None:
        """The page the session cached (see :meth:`to_session`); None if there is none."""
        if not isinstance(stored, Mapping) or not stored.get("route"):
            return None
        return cls._typed(stored)

    @classmethod
    def _typed(cls, fields: Mapping[str, Any]) -> Page:
        route = fields.get("route")
        data = fields.get("data")
        actions = fields.get("actions")
        direction = fields.get("direction")
        message = fields.get("error_message")
        return cls(
            route=route if isinstance(route, str) else "",
            data=data if isinstance(data, dict) else {},
            actions=tuple(a for a in actions if isinstance(a, str))
            if isinstance(actions, list | tuple)
            else (),
            direction=direction if isinstance(direction, str) and direction else "IMPORT",
            live_mode=bool(fields.get("live_mode")),
            error_message=message if isinstance(message, str) else "",
        )

    def to_session(self) -> dict[str, Any]:
        """What the session stores: plain JSON types, read back by :meth:`from_session`."""
        return {
            "route": self.route,
            "data": self.data,
            "actions": list(self.actions),
            "direction": self.direction,
            "live_mode": self.live_mode,
            "error_message": self.error_message,
        }
