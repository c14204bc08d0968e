"""The end of a flow: Connect answers ``session_complete``, and the callback exchanges the token.

The connect token stays in the server-side session until this blueprint's callback performs
the exchange: when Connect completes a flow whose callback is ours, the browser is sent to
``/connect/callback`` with nothing in the URL but (for a browser that may have no cookie) a
single-use launch code. The callback exchanges the token for the permanent ids, stores them
against the partner's customer reference, ends the session and sends the customer on to the
allowlisted return URL or our "You're connected" page.

A callback that arrives with ``?fp_cot=`` (a refresh of an old callback URL, or a browser whose
cookie did not survive) is checked against the token records we keep and finishes the same
way; a token whose ``callback_uri`` is a partner's own is handed over to it instead.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, request, url_for

from webapp import results, sessions, tokens
from webapp.extensions import flatpeak, redis_store
from webapp.flatpeak import mask
from webapp.flow_state import COMPLETE, COMPLETED_UNSEEN, flow_state
from webapp.htmx import navigate
from webapp.links import (
    into_flow,
    return_url_allowed,
    same_token,
    show_url,
    valid_token,
    with_query,
)
from webapp.page import Page
from webapp.screens import expired, invalid_link, no_flow, render_view, upstream_failed
from webapp.upstream_errors import ExchangeNotReady, FlatPeakError, TokenNotFound

log = logging.getLogger(__name__)

bp = Blueprint("completion", __name__, url_prefix="/connect")

#: What a completed flow reports on the done page, to the partner frame and the return URL.
OUTCOMES = ("connected", "pending", "disconnected")


def complete(page: Page) -> Response:
    """``session_complete``: on to our callback, or hand over to the partner's own.

    A token carries whatever ``callback_uri`` its creator chose, so only a callback the partner
    listed in ``PARTNER_CALLBACK_URLS`` (scheme, host and path exactly; the query may differ) is
    ever followed. Any other is finished here, as our own callback would (exchange and store):
    following it would send our customer, and the token, wherever that creator wanted.
    """
    state = flow_state()
    token = state.token
    callback = str(page.data.get("callback_uri") or page.data.get("callback_url") or "")
    if token and callback and not is_our_callback(callback):
        parts = urlsplit(callback)
        target = (parts.scheme.lower(), parts.netloc.lower(), parts.path)
        listed = {
            (allowed.scheme.lower(), allowed.netloc.lower(), allowed.path)
            for allowed in map(urlsplit, current_app.config["PARTNER_CALLBACK_URLS"])
        }
        clean = not any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in callback)
        if clean and parts.scheme in ("http", "https") and target in listed:
            # The partner's backend created the token with its own callback: it exchanges.
            log.info("flow %s completed; handing over to the partner's callback", mask(token))
            sessions.end_flow()
            return navigate(with_query(callback, fp_cot=token))
        # Only the host is logged: the callback Connect answers carries the token in its query.
        log.warning(
            "flow completed with a callback_uri on %r that is not ours nor in "
            "PARTNER_CALLBACK_URLS; finishing it here instead",
            parts.netloc[:100],
        )
    return to_callback(COMPLETE)


def to_callback(how: str) -> Response:
    """Send the browser to our callback, which exchanges the token the session holds."""
    state = flow_state()
    state.completing = how
    state.page = None
    return navigate(into_flow("completion.callback"))


def is_our_callback(url: str) -> bool:
    parts = urlsplit(url)
    ours = urlsplit(current_app.config["PUBLIC_URL"])
    return (parts.scheme, parts.netloc) == (ours.scheme, ours.netloc) and parts.path == url_for(
        "completion.callback"
    )


@bp.get("/callback")
def callback() -> Response:
    """The token's ``callback_uri``: exchange, store, end the flow, send the customer on."""
    state = flow_state()
    if "fp_cot" not in request.args:
        # Our own completion: the session holds the token, and says whether Connect is done.
        if not state.token:
            return no_flow()
        if state.completing is None:
            return navigate(show_url())
        return finish(state.token)
    token = request.args.get("fp_cot", "")
    if not valid_token(token):
        return invalid_link()
    context = tokens.recall(redis_store(), token)
    if context and context.get("state") == "done":
        # A refresh of the callback after completion: the ids are already stored.
        if same_token(state.token, token):
            sessions.end_flow()
        return navigate(url_for("completion.done", outcome=context.get("outcome") or "connected"))
    if not same_token(state.token, token):
        if context is None or state.token:
            # Unknown, or another flow's token while this browser holds a live flow of its own:
            # never switch a browser onto someone else's flow.
            return invalid_link()
        # The session cookie did not come back: adopt the flow from the token we issued.
        sessions.start_flow(token, context.get("entry") or {}, context.get("embed_origin"))
    return finish(token)


def finish(token: str) -> Response:
    """Exchange the token, store the ids against the partner's customer reference, end the
    flow, and send the customer on.

    A completion Connect never answered (:data:`COMPLETED_UNSEEN`) still has its ids in the
    exchange; only if the exchange has none is the flow over. Until the exchange has answered,
    the session keeps the token and ``completing``, so a retry (or a GET of the flow) comes
    back here rather than resuming a finished Connect session.
    """
    state = flow_state()
    store = redis_store()
    unseen = state.completing == COMPLETED_UNSEEN
    context = tokens.recall(store, token) or {}
    flow_entry = state.entry or dict(context.get("entry") or {})
    if state.completing is None:
        state.completing = COMPLETE
    try:
        exchanged = flatpeak().exchange(token)
    except ExchangeNotReady:
        state.completing = None
        if unseen:
            return expired()
        # Connect has not completed this session after all: show where it really is.
        return navigate(show_url())
    except TokenNotFound:
        state.completing = None
        return expired()
    except FlatPeakError as exc:
        return upstream_failed(exc, retry_url=into_flow("completion.callback"))
    reference = (
        flow_entry.get("customer_ref")
        or exchanged.customer_reference_id
        or exchanged.customer_id
        or exchanged.location_id
    )
    results.save(
        store,
        str(reference),
        customer_id=exchanged.customer_id,
        location_id=exchanged.location_id,
        complete_action=exchanged.complete_action,
        is_tariff_processed=exchanged.is_tariff_processed,
        live_mode=exchanged.live_mode,
    )
    if exchanged.complete_action == "DISCONNECT":
        outcome = "disconnected"
    elif not exchanged.is_tariff_processed:
        outcome = "pending"
    else:
        outcome = "connected"
    tokens.update(store, token, state="done", outcome=outcome)
    log.info("flow %s completed: %s", mask(token), outcome)
    return_url = flow_entry.get("return_url")
    sessions.end_flow()
    if return_url_allowed(return_url):
        return navigate(with_query(str(return_url), connect=outcome))
    return navigate(url_for("completion.done", outcome=outcome))


@bp.get("/done")
def done() -> Response:
    outcome = request.args.get("outcome", "connected")
    if outcome not in OUTCOMES:
        outcome = "connected"
    return render_view("flow/done.html", 200, outcome=outcome)
