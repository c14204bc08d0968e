"""A DIRECT provider's login: Connect's ``session_redirect``, and the way back from it.

Connect sends the customer to the provider's own login (the URL carries ``fp_cot``, so the
provider can send them back to our ``connect_web_uri``). Unframed, that is a whole-page
navigation. Inside a partner's frame it cannot be: providers refuse to be framed, and a frame
that navigates away loses the partner's page. The framed flow therefore shows a link that opens
the login in a new tab (a user activation, so no pop-up blocker) and waits; the tab comes back
to :func:`provider_return`, which marks the token's record so the waiting frame carries on.
"""

from __future__ import annotations

import secrets

from flask import Blueprint, Response, redirect, request, url_for

from webapp import sessions, tokens
from webapp.extensions import redis_store
from webapp.flow_state import flow_state
from webapp.htmx import navigate, personal
from webapp.links import same_token, valid_token, with_query
from webapp.page import Page
from webapp.screens import invalid_link, render_view

bp = Blueprint("provider_login", __name__, url_prefix="/connect")

_LINK_PREFIX = "connect:provider-link:"
_LINK_TTL = 15 * 60
# ``provider_login`` in a token's record: the framed flow is waiting for the login tab; the tab
# came back; the frame has moved on.
WAITING, RETURNED, DONE = "waiting", "returned", "done"


def leave_for_login(page: Page, provider_id: str | None) -> Response | None:
    """``session_redirect``: on to the provider's login, or (framed) a link to it in a new tab.
    None if the page names no usable login URL."""
    state = flow_state()
    target = page.data.get("redirect_url") or page.data.get("redirect_uri")
    if not state.token or not isinstance(target, str):
        return None
    if not target.startswith(("https://", "http://")):
        return None
    # The provider login needs the token to come back to us; it is FlatPeak's URL, not ours.
    login_url = with_query(target, fp_cot=state.token)
    if not state.framed:
        return navigate(login_url)
    tokens.update(redis_store(), state.token, provider_login=WAITING)
    provider = provider_name(state.page, provider_id)
    state.page = None
    # The link names a short-lived code, not the provider URL itself: that URL carries the
    # connect token, which must never appear in our markup.
    code = secrets.token_urlsafe(18)
    redis_store().set(_LINK_PREFIX + code, login_url, ex=_LINK_TTL)
    return render_view(
        "flow/provider_login.html",
        200,
        login_url=url_for("provider_login.link", code=code),
        provider=provider,
    )


def provider_name(page: Page | None, provider_id: str | None) -> str:
    """The display name of the provider the customer just chose, if the page listed it."""
    for provider in (page.data.get("providers") if page else None) or []:
        if isinstance(provider, dict) and provider.get("id") == provider_id:
            return str(provider.get("display_name") or "")[:80]
    return ""


def waiting_for_login(token: str) -> bool:
    """Whether the framed flow of ``token`` is still waiting for its login tab to come back."""
    context = tokens.recall(redis_store(), token) or {}
    return context.get("provider_login") == WAITING


def stop_waiting(token: str) -> None:
    tokens.update(redis_store(), token, provider_login=DONE)


@bp.get("/provider-login/<code>")
def link(code: str) -> Response:
    """Opened in a new tab from a framed flow: on to the provider's login (with ``fp_cot``)."""
    login_url = redis_store().get(_LINK_PREFIX + code) if len(code) < 64 else None
    if not login_url:
        return invalid_link()
    if isinstance(login_url, bytes):
        login_url = login_url.decode()
    return personal(redirect(login_url, 303))


@bp.get("/provider-return")
def provider_return() -> Response:
    """Back from the provider login with ``?fp_cot=``: resume, without the token in the URL.

    The cookie may not have survived the trip (Safari iframe, an in-app browser), so a token we
    know opens a fresh session for this browser; FlatPeak resumes by token either way.
    """
    token = request.args.get("fp_cot", "")
    if not valid_token(token):
        return invalid_link()
    state = flow_state()
    if same_token(state.token, token):
        state.page = None
        return personal(redirect(url_for("flow.show"), 303))
    context = tokens.recall(redis_store(), token)
    if context is None:
        return invalid_link()
    waiting_frame = context.get("provider_login") == WAITING
    if waiting_frame:
        tokens.update(redis_store(), token, provider_login=RETURNED)
    launch = sessions.start_flow(token, context.get("entry") or {}, context.get("embed_origin"))
    if waiting_frame:
        # The login ran in a tab of its own; the partner's frame is waiting for it and moves on
        # by itself. This tab says so, and can still carry on here if that frame is gone.
        continue_url = url_for("flow.show", launch=launch)
        return render_view("flow/provider_returned.html", 200, continue_url=continue_url)
    return personal(redirect(url_for("flow.show", launch=launch), 303))
