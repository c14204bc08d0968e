"""A DIRECT provider's login: Connect's ``session_redirect``, and the way back from it.

Connect sends the customer to the provider's own login (the URL carries ``fp_cot``, so the
provider can send them back to our ``connect_web_uri``). Before the customer leaves for another
site, a page says in one sentence where they are going and why (as Plaid and GoCardless do),
with one button that goes there: the provider list cannot say it, because Connect only tells us
a provider is DIRECT once it has been chosen. The button posts this flow's own form to
:func:`login`, which sends the browser on. Unframed, that is a whole-page navigation (and Back
from the provider's site lands on this page, not on a redirect straight back out). Inside a
partner's frame it cannot be: providers refuse to be framed, and a frame that navigates away
loses the partner's page. The framed form therefore posts into a new tab (a user activation, so
no pop-up blocker); that tab goes on to the login, and comes back to :func:`provider_return`,
which marks the token's record so the waiting frame carries on. No link to the login exists:
the browser is sent on only for the flow whose form it posted, and nothing of it is in a URL
our logs record.

Who may come back: :func:`provider_return` resumes the flow this browser's session holds, or
switches the browser onto the returning token's flow only if this browser started that login:
it carries the login cookie set when the browser left for the provider, matched against the
token's record. Anyone else who follows a provider-return link (a login-CSRF link to someone
else's flow) is told that nothing changed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import Blueprint, Response, current_app, redirect, request, url_for

from webapp import sessions, tokens
from webapp.extensions import redis_store
from webapp.flow_state import flow_state
from webapp.htmx import navigate, personal
from webapp.links import same_token, valid_token, with_query
from webapp.page import Page
from webapp.screens import invalid_link, no_flow, render_view

bp = Blueprint("provider_login", __name__, url_prefix="/connect")

# ``provider_login`` in a token's record: the framed flow is waiting for the login tab; the tab
# came back; the frame has moved on.
WAITING, RETURNED, DONE = "waiting", "returned", "done"
# How long a browser may take at the provider's login and still be recognised on its return.
LOGIN_COOKIE_AGE = 30 * 60
# The token's record: the display name of the DIRECT provider whose login the flow is at.
LOGIN_PROVIDER = "login_provider_name"


def leave_for_login(page: Page, provider_id: str | None) -> Response | None:
    """``session_redirect``: the page that says where the login is and why, with the button
    that goes there (in a new tab when framed). None if the page names no usable login URL."""
    state = flow_state()
    target = page.data.get("redirect_url") or page.data.get("redirect_uri")
    if not state.token or not isinstance(target, str):
        return None
    if not target.startswith(("https://", "http://")):
        return None
    store = redis_store()
    framed = bool(state.framed)
    # Connect's session_redirect does not name the provider: it is known only from the choice
    # just posted, so keep it for a reload of this page (and Back from the provider's site).
    provider = provider_name(state.page, provider_id)
    changes: dict[str, object] = {LOGIN_PROVIDER: provider} if provider else {}
    if framed:
        changes["provider_login"] = WAITING
    if changes:
        tokens.update(store, state.token, **changes)
    if not provider:
        remembered = (tokens.recall(store, state.token) or {}).get(LOGIN_PROVIDER)
        provider = remembered if isinstance(remembered, str) else ""
    state.page = None
    state.login_target = target
    return render_view("flow/provider_login.html", 200, provider=provider, framed=framed)


def to_provider(token: str, target: str) -> Response:
    """Send this browser to the provider's login, and remember that it did: the login cookie
    (a random value whose hash the token's record keeps) is how :func:`provider_return`
    recognises the browser that left, even when its session cookie does not come back."""
    nonce = secrets.token_urlsafe(24)
    tokens.update(redis_store(), token, login_nonce=_digest(nonce))
    # The provider login needs the token to come back to us; it is FlatPeak's URL, not ours.
    response = navigate(with_query(target, fp_cot=token))
    response.set_cookie(
        login_cookie_name(),
        nonce,
        max_age=LOGIN_COOKIE_AGE,
        path="/",
        secure=bool(current_app.config["SESSION_COOKIE_SECURE"]),
        httponly=True,
        samesite="Lax",  # sent on the provider's top-level redirect back to us
    )
    return response


def login_cookie_name() -> str:
    return current_app.config["SESSION_COOKIE_NAME"] + "_login"


def _digest(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def started_here(context: dict[str, object]) -> bool:
    """Whether this browser is the one that left for the login of the token in ``context``."""
    nonce = request.cookies.get(login_cookie_name(), "")
    expected = context.get("login_nonce")
    if not nonce or not isinstance(expected, str):
        return False
    return hmac.compare_digest(_digest(nonce), expected)


def provider_name(page: Page | None, provider_id: str | None) -> str:
    """The display name of the provider the customer just chose, if the page listed it."""
    if not provider_id:
        return ""
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


@bp.post("/provider-login")
def login() -> Response:
    """The login page's button (posted into a new tab when framed): on to the provider's
    login."""
    state = flow_state()
    target = state.login_target
    if not state.token or not target:
        return no_flow()
    return to_provider(state.token, target)


@bp.get("/provider-return")
def provider_return() -> Response:
    """Back from the provider login with ``?fp_cot=``: resume, without the token in the URL."""
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
        # The partner's frame moves on by itself; this changes no browser's flow.
        tokens.update(redis_store(), token, provider_login=RETURNED)
    if not started_here(context):
        return render_view("flow/provider_unmatched.html", 200, waiting_frame=waiting_frame)
    # The browser that left for this login, without its session cookie (the login ran in a
    # tab of its own, or an in-app browser dropped the cookie): this flow is its own.
    tokens.update(redis_store(), token, login_nonce=None)
    launch = sessions.start_flow(
        token, context.get("entry") or {}, context.get("embed_origin"), tokens.locale_of(context)
    )
    # The flow goes on in this tab through launch codes and its handle, never a cookie: a
    # login started elsewhere must not leave this browser holding a flow's session.
    sessions.keep_cookieless()
    if waiting_frame:
        # The login ran in a tab of its own; the partner's frame is waiting for it and moves on
        # by itself. This tab says so, and can still carry on here if that frame is gone.
        continue_url = url_for("flow.show", launch=launch)
        response = render_view("flow/provider_returned.html", 200, continue_url=continue_url)
    else:
        response = personal(redirect(url_for("flow.show", launch=launch), 303))
    response.delete_cookie(login_cookie_name(), path="/")
    return response
