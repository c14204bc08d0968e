"""Page objects from upstream, made safe to read before any adapter or template sees them.

Connect's answers are JSON we do not control: a page may arrive with ``data`` that is a list, a
price that is ``NaN`` or a string, a name with a NUL or a lone surrogate in it (valid JSON,
but neither valid HTML nor encodable as UTF-8), or nesting a careless walker would recurse
through forever. Adapters read fields with ``isinstance`` checks; this module does the rest once,
at the edge, so a malformed page degrades to a page with blanks instead of a crash:

* strings lose the characters HTML forbids (controls, surrogates, noncharacters) and are capped;
* numbers that are not finite, or too large to be any real price or count, become ``None``;
* containers deeper or longer than any real page are cut off;
* ``data`` is always a dict, ``actions`` always a list of strings, ``route`` always a string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
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


class CleanPage(dict[str, Any]):
    """A page object :func:`clean_page` has already cleaned. The flow cleans each page once where
    it arrives; adapters clean whatever they are given (a cached page, a test's raw page), and
    this mark lets them skip the walk for one that is clean already. It is a plain dict to JSON,
    so a page read back from the session is simply cleaned again."""


def clean_page(page: Any) -> dict[str, Any]:
    """A page object whose top-level fields have the types the adapters expect."""
    if isinstance(page, CleanPage):
        return page
    raw = page if isinstance(page, Mapping) else {}
    cleaned = clean_value(dict(raw))
    data = cleaned.get("data")
    actions = cleaned.get("actions")
    route = cleaned.get("route")
    cleaned["route"] = route if isinstance(route, str) else ""
    cleaned["data"] = data if isinstance(data, dict) else {}
    actions = actions if isinstance(actions, list) else []
    cleaned["actions"] = [action for action in actions if isinstance(action, str)]
    return CleanPage(cleaned)


def data_of(page: Any) -> dict[str, Any]:
    """A page object's ``data``, always a dict (cleaned)."""
    return clean_page(page)["data"]


def actions_of(page: Any) -> list[str]:
    """The actions a page offers, always a list of strings."""
    return clean_page(page)["actions"]
