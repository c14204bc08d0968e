"""The end of a flow: Connect answers ``session_complete``, and the callback exchanges the token.

The connect token stays in the server-side session until this blueprint's callback performs
the exchange: when Connect completes a flow whose callback is ours, the browser is sent to
``/connect/callback`` with nothing in the URL but (for a browser that may have no cookie) a
single-use launch code. The callback exchanges the token for the permanent ids, stores them
against the partner's customer reference, ends the session and sends the customer on to the
allowlisted return URL or our "You're connected" page.

That page recaps what was connected (provider and tariff, from the page the customer confirmed)
and offers the way back to the partner when the flow has one. It is shown after the session has
ended, so what it shows is kept in a receipt (:func:`webapp.tokens.issue_receipt`) named by a
random value in its URL, never by the token. Inside a partner's frame the flow always ends there,
rather than loading the partner's return page inside the partner's own page; its way back then
takes the whole tab.

A callback that arrives with ``?fp_cot=`` (a refresh of an old callback URL, or a browser whose
cookie did not survive) is checked against the token records we keep and finishes the same
way; a token whose ``callback_uri`` is a partner's own is handed over to it instead.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, request, url_for

from webapp import results, sessions, tokens
from webapp.extensions import durability, flatpeak, redis_store
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
from webapp.pages import adapter_for
from webapp.pages.common import provider_of
from webapp.pages.summary import SummaryAdapter, tariff_of
from webapp.pages.summary_tariff_inprogress import SummaryTariffInprogress
from webapp.screens import expired, invalid_link, no_flow, render_view, upstream_failed
from webapp.tariff_kinds import COMMODITY_IMPORT, is_kind
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
    recap = recap_of(state.page)
    if state.token and recap:
        # The page the customer just confirmed is about to be dropped from the session: keep
        # what the done page recaps with the token's record, which the callback reads.
        tokens.update(redis_store(), state.token, recap=recap)
    state.completing = how
    state.page = None
    return navigate(into_flow("completion.callback"))


def recap_of(page: Page | None) -> dict[str, str] | None:
    """The provider and tariff a flow completes with, from the page it completes from: a
    summary (provider and tariff) or the "on its way" page (the provider only). None from any
    other page: a flow that completed unseen may have cached something older."""
    if page is None:
        return None
    adapter = adapter_for(page.route)
    if not isinstance(adapter, SummaryAdapter | SummaryTariffInprogress):
        return None
    provider = provider_of(page.data)["display_name"].strip()[:120]
    tariff = ""
    if isinstance(adapter, SummaryAdapter):
        tariff = str(tariff_of(page.data).get("name") or "").strip()[:120]
    return {"provider": provider, "tariff": tariff} if provider or tariff else None


def in_a_frame() -> bool:
    """Whether this whole-page request loads inside a frame: the browser's fetch metadata, or
    what the flow learnt earlier when the browser sends none."""
    dest = request.headers.get("Sec-Fetch-Dest")
    if dest in ("iframe", "frame"):
        return True
    if dest is not None:
        return False
    return bool(flow_state().framed)


def done_url(
    outcome: str, recap: Any, return_url: Any, framed: bool, embed_origin: str | None
) -> str:
    """Our "You're connected" page for this completion, with a receipt of what it shows (and
    the partner origin its messages go to: the flow's session, which knew it, has ended)."""
    summary: dict[str, Any] = {
        "outcome": outcome,
        "return_url": return_url if return_url_allowed(return_url) else None,
        "framed": framed,
        "embed_origin": embed_origin,
    }
    if isinstance(recap, dict):
        summary["provider"] = str(recap.get("provider") or "")[:120]
        summary["tariff"] = str(recap.get("tariff") or "")[:120]
    lifetime = int(current_app.config["SESSION_LIFETIME"])
    receipt = tokens.issue_receipt(redis_store(), summary, lifetime, durability())
    return url_for("completion.done", outcome=outcome, receipt=receipt)


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
            # A repeat of a callback that finished here a moment ago (nginx retrying it on
            # another instance when the first died before its answer left): the same end.
            finished = _finished_target()
            return navigate(finished) if finished else no_flow()
        if state.completing is None:
            return navigate(show_url())
        return finish(state.token)
    token = request.args.get("fp_cot", "")
    if not valid_token(token):
        return invalid_link()
    context = tokens.recall(redis_store(), token)
    if context and context.get("state") == "done":
        # A refresh of the callback after completion: the ids are already stored.
        framed = in_a_frame()
        if same_token(state.token, token):
            sessions.end_flow()
        outcome = str(context.get("outcome") or "connected")
        entry = context.get("entry") or {}
        return_url = entry.get("return_url") if isinstance(entry, dict) else None
        origin = context.get("embed_origin")
        origin = origin if isinstance(origin, str) else None
        return navigate(done_url(outcome, context.get("recap"), return_url, framed, origin))
    if not same_token(state.token, token):
        if context is None or state.token:
            # Unknown, or another flow's token while this browser holds a live flow of its own:
            # never switch a browser onto someone else's flow.
            return invalid_link()
        # The session cookie did not come back. Finish the flow from the token we issued, but
        # only one Connect has completed (finish refuses otherwise), and without handing this
        # browser a cookie for it: a callback link must never put a browser into a live flow.
        sessions.start_flow(
            token,
            context.get("entry") or {},
            context.get("embed_origin"),
            tokens.locale_of(context),
        )
        sessions.keep_cookieless()
        return finish(token, adopted=True)
    return finish(token)


def _kind_of_entry(flow_entry: dict[str, Any]) -> str:
    kind = flow_entry.get("tariff_kind")
    return str(kind) if is_kind(kind) else COMMODITY_IMPORT


def finish(token: str, *, adopted: bool = False) -> Response:
    """Exchange the token, store the ids against the partner's customer reference, end the
    flow, and send the customer on.

    A completion Connect never answered (:data:`COMPLETED_UNSEEN`) still has its ids in the
    exchange; only if the exchange has none is the flow over. Until the exchange has answered,
    the session keeps the token and ``completing``, so a retry (or a GET of the flow) comes
    back here rather than resuming a finished Connect session. ``adopted``: the callback took
    the flow up from its token alone; if Connect has not completed it, nothing is adopted.
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
        if adopted:
            sessions.end_flow()
            return invalid_link()
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
    kind = _kind_of_entry(flow_entry)
    declined = exchanged.complete_action == "DISCONNECT" and not state.manages_location
    previous = results.get(store, str(reference), kind=kind) if declined else None
    if declined and previous is not None and previous.location_id != exchanged.location_id:
        # "Cancel without saving" on a new connection: nothing was connected, and the tariff
        # the customer already has (another location) must not be recorded as disconnected.
        log.info("flow %s declined; the stored connection is kept", mask(token))
    else:
        results.save(
            store,
            str(reference),
            customer_id=exchanged.customer_id,
            location_id=exchanged.location_id,
            complete_action=exchanged.complete_action,
            is_tariff_processed=exchanged.is_tariff_processed,
            live_mode=exchanged.live_mode,
            # The flow's entry says which tariff it was for; flows begun before kinds were
            # recorded (and tokens a partner made itself) were for the import tariff.
            kind=kind,
            # Only once a replica has it (REDIS_RESULT_REPLICAS): otherwise the 503 page, and
            # the retry stores it again (webapp/results.py).
            durability=durability(),
        )
    if exchanged.complete_action == "DISCONNECT":
        outcome = "disconnected"
    elif not exchanged.is_tariff_processed:
        outcome = "pending"
    else:
        outcome = "connected"
    tokens.update(store, token, durability(), state="done", outcome=outcome)
    log.info("flow %s completed: %s", mask(token), outcome)
    return_url = flow_entry.get("return_url")
    framed = in_a_frame()
    origin = state.embed_origin
    if return_url_allowed(return_url) and not framed:
        # Unframed, the partner's own page is the end: straight there, as the partner asked.
        target = with_query(str(return_url), connect=outcome)
    else:
        target = done_url(outcome, context.get("recap"), return_url, framed, origin)
    _remember_finished(target)
    sessions.end_flow()
    return navigate(target)


# A finished callback, for a moment, by what the request that finished it came with: its
# session cookie and its launch code. The flow (and its session) ends with the callback, so a
# repeat of the same request (nginx retries a GET on another instance when the first died
# before its answer left; a reload) would otherwise find no flow and say so, although the
# connection was made. Only the browser holding that cookie or that single-use code can ask.
_FINISHED_PREFIX = "connect:finished:"
_FINISHED_TTL = 120


def _request_keys() -> list[str]:
    found = [
        ("cookie", request.cookies.get(current_app.config["SESSION_COOKIE_NAME"])),
        ("launch", request.args.get(sessions.LAUNCH_PARAM)),
    ]
    return [f"{_FINISHED_PREFIX}{kind}:{tokens.digest(value)}" for kind, value in found if value]


def _remember_finished(target: str) -> None:
    keys = _request_keys()
    if keys:
        pipe = redis_store().pipeline(transaction=False)
        for key in keys:
            pipe.set(key, target, ex=_FINISHED_TTL)
        pipe.execute()


def _finished_target() -> str | None:
    keys = _request_keys()
    if not keys:
        return None
    for raw in redis_store().mget(keys):
        if raw:
            return raw.decode() if isinstance(raw, bytes) else str(raw)
    return None


@bp.get("/done")
def done() -> Response:
    """ "You're connected": what the receipt in the URL says, or (without one, or once it has
    expired) only the outcome, which the query names."""
    summary = tokens.read_receipt(redis_store(), request.args.get("receipt")) or {}
    outcome = summary.get("outcome") or request.args.get("outcome", "connected")
    if outcome not in OUTCOMES:
        outcome = "connected"
    return_url = summary.get("return_url")
    # Checked again: the allowlist may have changed since the flow ended.
    back_url = (
        with_query(str(return_url), connect=outcome) if return_url_allowed(return_url) else ""
    )
    dest = request.headers.get("Sec-Fetch-Dest")
    framed = dest in ("iframe", "frame") or (dest is None and summary.get("framed") is True)
    extra: dict[str, Any] = {}
    origin = summary.get("embed_origin")
    if origin in current_app.config["PARTNER_ORIGINS"]:
        # "complete" and "scroll-top" go to the flow's own partner (otherwise the template
        # context falls back to the first allowed origin, and a second partner hears nothing).
        extra["embed_origin"] = origin
    return render_view(
        "flow/done.html",
        200,
        **extra,
        outcome=outcome,
        provider=str(summary.get("provider") or ""),
        tariff=str(summary.get("tariff") or ""),
        back_url=back_url,
        framed=framed,
    )
