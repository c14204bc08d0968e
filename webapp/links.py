"""The URLs the flow accepts and the ones it builds.

Accepting: a connect token has one shape, two tokens are compared in constant time, and the
customer is only ever sent on to our own paths or a configured partner return URL (never an
open redirect). Building: a whole-page navigation back into the flow carries no
``X-Connect-Flow`` header and no form field, so inside a frame that gets no cookie it would
arrive without its session; while a flow is open such a URL carries a fresh launch code
(single use, two minutes, never the token).
"""

from __future__ import annotations

import hmac
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import current_app, url_for

from webapp import sessions
from webapp.flow_state import flow_state

TOKEN_RE = re.compile(r"^cot_[A-Za-z0-9]{8,64}$")


def valid_token(value: str | None) -> bool:
    return bool(value) and bool(TOKEN_RE.match(str(value)))


def same_token(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a).encode(), str(b).encode())


def with_query(url: str, **params: str) -> str:
    """Add query parameters that are not already present (never duplicating ``fp_cot``)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {key for key, _value in query}
    query += [(key, value) for key, value in params.items() if key not in present]
    return urlunsplit(parts._replace(query=urlencode(query)))


def return_url_allowed(url: str | None) -> bool:
    """Only our own paths and the configured partner return URLs: never an open redirect."""
    if not isinstance(url, str) or not url:  # a signed start link's JSON may hold anything
        return False
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        # Browsers drop tabs and newlines from URLs: "/\t/evil.example" would become "//evil…".
        return False
    if url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return True
    return url in current_app.config["PARTNER_RETURN_URLS"]


def into_flow(endpoint: str = "flow.show", *, entry: bool = False) -> str:
    """A URL for a whole-page navigation to ``endpoint`` that finds this browser's flow.
    ``entry``: the navigation answers a link from elsewhere (see ``sessions.new_launch_code``)."""
    if flow_state().token:
        return url_for(endpoint, launch=sessions.new_launch_code(entry=entry))
    return url_for(endpoint)


def show_url() -> str:
    """Where to send the browser to see the flow's current page."""
    return into_flow("flow.show")
