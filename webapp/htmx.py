"""The htmx response layer: a whole document or the page fragment, and how to leave a page.

Every view and error handler asks :func:`wants_fragment` whether to answer with the swapped
fragment; it reads flask-htmx's request details, so there is one definition of an htmx
fragment request. Boosted links and history restores are htmx requests too, but they replace
the whole document, so they get the whole page.

Flow responses hold personal data and differ by ``HX-Request``: :func:`personal` marks them
``no-store`` and ``Vary: HX-Request``. Leaving the flow's document (provider login, completion,
an error page htmx would not swap) is a whole-page navigation: ``HX-Redirect`` for htmx, a
``303`` otherwise (:func:`navigate`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Response, redirect, render_template
from flask_htmx import HTMX
from flask_htmx import make_response as htmx_response
from jinja2_fragments.flask import render_block
from markupsafe import escape
from werkzeug.urls import iri_to_uri

from webapp.i18n import gettext as _

htmx = HTMX()


def wants_fragment() -> bool:
    """An htmx request that swaps part of the page (not a boosted link or a history restore)."""
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def personal(response: Response) -> Response:
    """Never cache: the body is one customer's, and it differs with ``HX-Request``."""
    response.headers["Cache-Control"] = "no-store"
    response.vary.add("HX-Request")
    return response


def navigate(url: str) -> Response:
    """Leave the current document: a full-page navigation, also from htmx.

    The URL goes into a header (``HX-Redirect`` or ``Location``), and HTTP headers are Latin-1
    at best: gunicorn refuses anything else with a bare 500, and Latin-1 arrives as mojibake.
    A return path (``/café/…``) or a partner's callback may hold any character, so the URL is
    sent as a URI: non-ASCII percent-encoded, the host in Punycode (Werkzeug does this for
    ``Location`` by itself, not for htmx's headers)."""
    url = header_url(url)
    if wants_fragment():
        return personal(htmx_response("", 200, redirect=url))
    return personal(redirect(url, 303))


def header_url(url: str) -> str:
    """``url`` as ASCII, fit for a response header; already-encoded parts stay as they are."""
    try:
        return iri_to_uri(url)
    except ValueError:  # a host IDNA cannot encode (UnicodeError is a ValueError)
        # Still ASCII: the browser then fails to resolve the host, not our server to answer.
        return quote(url, safe="/:?#[]@!$&'()*+,;=%~", errors="surrogatepass")


def fragment(template: str, context: dict[str, Any]) -> str:
    """What htmx swaps in: the new ``<title>`` (htmx moves it to the head) and the page block."""
    title = render_block(template, "title", **context).strip()
    suffix = escape(_("Connect your tariff"))
    return f"<title>{title} \u2013 {suffix}</title>" + render_block(template, "page", **context)


def render(template: str, status: int = 200, **context: Any) -> Response:
    """``template`` whole, or as the fragment htmx swaps; personal either way."""
    body = fragment(template, context) if wants_fragment() else render_template(template, **context)
    return personal(htmx_response(body, status))
