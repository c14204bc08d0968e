"""What the customer sees: a Connect page through its adapter, or one of our own screens
(the token expired, FlatPeak unavailable, a page we cannot render, a link that is not valid).

Each renders whole for a plain request and as the swapped fragment for htmx
(:mod:`webapp.htmx`). htmx leaves an error status unswapped, so one of our own screens with an
error status sends an htmx request to the flow page instead, where a plain GET looks at the
situation afresh and renders it whole.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Response, g, request

from webapp import htmx, sessions, steps
from webapp.extensions import ledger
from webapp.flow_state import flow_state
from webapp.i18n import gettext as _
from webapp.links import show_url
from webapp.page import Page, clean_text
from webapp.pages import adapter_for
from webapp.pages.base import FlowFacts
from webapp.upstream_errors import AuthFailed, FlatPeakError, UpstreamTimeout

log = logging.getLogger(__name__)

# Form fields that are plumbing, not the customer's answers.
_PLUMBING = frozenset(
    {"csrf_token", sessions.FLOW_FIELD, "route", "action", steps.VERSION_FIELD, steps.PAGE_FIELD}
)


def render_view(template: str, status: int = 200, **context: Any) -> Response:
    """One of our own templates (``flow/*.html``), rendered the way a Connect page is."""
    if status >= 400 and htmx.wants_fragment():
        return htmx.navigate(show_url())
    return htmx.render(template, status, **context)


def render_page(
    page: Page,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    version: int | None = None,
) -> Response:
    """A Connect page through its adapter, whole or as the fragment htmx swaps.

    Its step forms carry the ledger's version of the page (see :mod:`webapp.steps`), looked up
    when not given; a page the ledger does not know renders without one.
    """
    adapter = adapter_for(page.route)
    if adapter is None:
        return unknown_route(page.route)
    query = request.args if request.method == "GET" else None
    state = flow_state()
    # What the session knows beyond the page object (the summary shows it back); adapters
    # never read the session themselves.
    known = FlowFacts(entered=state.entered, manages_location=state.manages_location)
    context = adapter.context(page, values, errors, query, flow=known)
    token = state.token
    page_fp = steps.fingerprint(page)
    if version is None and token:
        version = ledger(token).version_of(page, page_fp)
    # Read by the step forms (_partials/forms.html), which are built once, without context.
    g.page_version = version
    g.page_fp = page_fp
    return htmx.render(adapter.template, status, **context)


def typed_values() -> dict[str, str]:
    """What the customer typed into the posted form, to show again (not the form's plumbing)."""
    return {key: value for key, value in request.form.items() if key not in _PLUMBING}


def unknown_route(route: str) -> Response:
    log.warning("connect answered a route we cannot render: %r", route[:80])
    return render_view("flow/unknown_route.html", 502, route=clean_text(route[:80]))


def expired() -> Response:
    """The token is past its life (or unknown upstream): say so, and say what to do next."""
    kind = flow_state().entry.get("kind", "external")
    return render_view("flow/expired.html", 410, partner_start=kind == "partner")


def invalid_link() -> Response:
    return render_view("flow/invalid_link.html", 400)


def no_flow() -> Response:
    return render_view("flow/no_flow.html", 404)


def upstream_failed(exc: FlatPeakError, retry_url: str | None = None) -> Response:
    """FlatPeak down, slow or answering garbage: a page that says so, with a retry."""
    if isinstance(exc, AuthFailed):
        log.error("flatpeak refused our credentials: check FLATPEAK_ACCOUNT_ID / FLATPEAK_API_KEY")
    else:
        log.warning("flatpeak unavailable: %s", exc)
    slow = isinstance(exc, UpstreamTimeout)
    return render_view(
        "flow/unavailable.html", 504 if slow else 503, retry_url=retry_url or show_url(), slow=slow
    )


def upstream_message(exc: FlatPeakError) -> str:
    """The line above a step's form when FlatPeak failed while it was being sent."""
    if isinstance(exc, UpstreamTimeout):
        return _(
            "The tariff service is taking too long to answer. Your answers are still here; "
            "please try again in a moment."
        )
    return _("We couldn't reach the tariff service. Your answers are still here; please try again.")
