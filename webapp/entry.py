"""How customers arrive: a signed start link, an externally created token, or a restart.

Start links are signed by the app (itsdangerous, with a maximum age), so nobody can mint connect
tokens on the partner's account by guessing a URL. An externally created token arrives once as
``?fp_cot=``; it moves into the server-side session and the browser is sent on to a URL without
it, so it does not stay in the address bar, history, logs or Referer headers.

Who may enter a flow, and what becomes of the one a browser already holds:

* **A start link works once.** Each carries a random nonce; its first use is recorded in Redis
  for the rest of the link's life, so a link that leaked from an email (forwarded, logged by a
  proxy) cannot mint tokens or replace a customer's stored ids later. A second use within
  ``START_LINK_REUSE_GRACE`` seconds (a double click, a reload of a slow first load) still starts
  as the first did. A link that manages an existing location (``loc``) lives
  ``MANAGE_LINK_MAX_AGE`` (an hour), not ``START_LINK_MAX_AGE``: it opens a connected tariff,
  with Disconnect on it. Links signed without a nonce (before this rule) are refused as invalid.
* **A token must be the partner's own.** One the app created is known (``tokens.recall``); any
  other is checked with the exchange, under the partner's bearer, before it is accepted: 422 means
  the partner's and still open, 404 another account's (or unknown), 200 already finished. A token
  from another FlatPeak account would otherwise run in the partner's branded flow and send the
  customer to whatever ``callback_uri`` its creator chose.
* **A link never silently moves a browser off its live flow** (login CSRF: an attacker's link to
  the attacker's own flow, so that what the victim types lands there). The same flow again, or a
  start for the same customer (and the same location), resumes it; anything else is held in the
  session (never in a URL or the page) behind a page that asks which connection to continue.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Blueprint, Response, current_app, redirect, request, url_for

from webapp import results, sessions, tokens
from webapp.extensions import flatpeak, ledger, redis_store
from webapp.flatpeak import mask
from webapp.flow_state import FlowState, flow_state
from webapp.htmx import navigate, personal
from webapp.i18n import use_locale
from webapp.links import into_flow, return_url_allowed, same_token, valid_token
from webapp.screens import invalid_link, no_flow, render_view, upstream_failed
from webapp.start_links import (
    claim_start_link,
    country_or_none,
    text_or_none,
    verify_start,
)
from webapp.tariff_kinds import direction_and_type, is_kind, kind_of
from webapp.upstream_errors import (
    AuthFailed,
    ConnectError,
    ExchangeNotReady,
    FlatPeakError,
    TokenNotFound,
    UpstreamTimeout,
)

log = logging.getLogger(__name__)

bp = Blueprint("entry", __name__)

MAX_REFERENCE_LENGTH = 128
# A token a partner brings is remembered for a day, the usual token life.
EXTERNAL_TOKEN_TTL = 86400


def _embed_origin(candidate: str | None) -> str | None:
    origins = current_app.config["PARTNER_ORIGINS"]
    if candidate and candidate in origins:
        return candidate
    return None


# -- the flow this browser holds ---------------------------------------------------------------


def _live(state: FlowState) -> bool:
    """Whether this browser holds a flow the customer is still answering. One that Connect has
    completed (``completing``: only the exchange is left) has nothing left to type or to lose."""
    return bool(state.token) and state.completing is None


def _holds_customer(state: FlowState, customer_ref: str, location_id: str | None) -> bool:
    """Whether this browser's live flow is a partner start for this customer, in the same mode
    (managing the same location, or connecting a new tariff)."""
    if not _live(state):
        return False
    held = state.entry
    return (
        held.get("kind") == "partner"
        and held.get("customer_ref") == customer_ref
        and (held.get("location_id") or None) == (location_id or None)
    )


def _resume() -> Response:
    """Show the live flow's current page: Connect resumes it, nothing typed is lost."""
    return navigate(into_flow(entry=True))


def hold_for_choice(state: FlowState, pending: dict[str, Any]) -> Response:
    """Keep an entry to another flow in the session and ask the customer which to continue.

    The question's page has a URL of its own, so neither the token nor the signed link stays in
    the address bar; its launch code finds this session in a frame that sends no cookie. Any
    other way in that would move a live flow (the provider return, say) can hold its token here
    as ``{"kind": "external", "token": …, "origin": …}``; the answer starts it."""
    state.pending_entry = pending
    log.info("entry to another flow while one is live: asking the customer")
    launch = sessions.new_launch_code(entry=True)  # answers a link from elsewhere
    return personal(redirect(url_for("entry.switch", launch=launch), 303))


def _live_flow_url(state: FlowState) -> str | None:
    return into_flow() if _live(state) else None


# -- partner starts ----------------------------------------------------------------------------


def begin_partner_flow(
    customer_ref: str,
    *,
    return_url: str | None = None,
    location_id: str | None = None,
    embed_origin: str | None = None,
    country: str | None = None,
    locale: str | None = None,
    retry_url: str | None = None,
    resume: bool = True,
    kind: str | None = None,
) -> Response:
    """Create a connect token for the partner's customer and start a flow on it.

    With ``resume``, a browser that already holds this customer's live flow (same location, or
    none) is shown that flow instead: pressing the partner's "Connect your tariff" again after
    Back must not start over and lose what was typed. "Start again" passes False: its flow has
    ended upstream.

    ``country`` goes to Connect as the token's address, with nothing else known: Connect then
    opens the address page with that country filled in (docs/protocol.md §2.2, §7.1), in any
    browser the token is resumed in. A flow that manages a location starts on its tariff.
    ``locale``, if we speak it, is the language of the whole flow (kept in its session).
    ``kind`` (:mod:`webapp.tariff_kinds`) is the tariff the token asks Connect for; without it,
    ``FLATPEAK_DIRECTION`` and ``FLATPEAK_TARIFF_TYPE`` say. The flow's entry records it, since
    the exchange does not tell which kind a completed flow was for.
    """
    locale = use_locale(locale)
    if resume and _holds_customer(flow_state(), customer_ref, location_id):
        log.info("partner start for the customer whose flow is live here: resuming it")
        return _resume()
    config = current_app.config
    public = config["PUBLIC_URL"]
    if not is_kind(kind):
        kind = kind_of(config["FLATPEAK_DIRECTION"], config["FLATPEAK_TARIFF_TYPE"])
    direction, tariff_type = direction_and_type(str(kind))
    # Any kind's record names the customer: FlatPeak keeps one customer for all their tariffs.
    previous = results.get(redis_store(), customer_ref) or results.location_of(
        redis_store(), customer_ref
    )
    country = country_or_none(country) if not location_id else None
    try:
        created = flatpeak().create_token(
            callback_uri=public + url_for("completion.callback"),
            connect_web_uri=public + url_for("provider_login.provider_return"),
            customer_reference_id=customer_ref,
            customer_id=previous.customer_id if previous else None,
            location_id=location_id,
            postal_address={"country_code": country} if country else None,
            direction=direction,
            tariff_type=tariff_type,
        )
    except FlatPeakError as exc:
        return upstream_failed(exc, retry_url=retry_url or request.url)
    flow_entry = {
        "kind": "partner",
        "customer_ref": customer_ref,
        "return_url": return_url if return_url_allowed(return_url) else None,
        "location_id": location_id,
        "country": country,
        "tariff_kind": kind,
    }
    origin = _embed_origin(embed_origin)
    tokens.remember(
        redis_store(),
        created.connect_token,
        {"entry": flow_entry, "embed_origin": origin, "state": "active", "locale": locale},
        ttl=created.expires_in,
    )
    launch = sessions.start_flow(created.connect_token, flow_entry, origin, locale)
    log.info("partner flow started with token %s", mask(created.connect_token))
    return personal(redirect(url_for("flow.show", launch=launch), 303))


@bp.get("/start/<signed>")
def start(signed: str) -> Response:
    link = verify_start(signed)
    if isinstance(link, Response):
        return link
    # The link's language for whatever this request answers, the refusals and the question too.
    use_locale(link.locale)
    state = flow_state()
    if _holds_customer(state, link.reference, link.location_id):
        # This customer's own flow, live here (Back, then the partner's button again): show it.
        # The link is spent all the same: it has done its job in this browser.
        claim_start_link(link)
        return _resume()
    if not claim_start_link(link):
        log.info("start link used again after its first use: refused")
        return render_view(
            "flow/link_used.html", 410, completed=False, live_flow_url=_live_flow_url(state)
        )
    if _live(state):
        return hold_for_choice(state, link.pending())
    return begin_partner_flow(
        link.reference,
        return_url=link.return_url,
        location_id=link.location_id,
        embed_origin=link.embed_origin,
        country=link.country,
        locale=link.locale,
    )


@bp.post("/start/again")
def restart() -> Response:
    """ "Start again" on the expired page of a partner start: a new token, same customer."""
    state = flow_state()
    flow_entry = state.entry
    reference = flow_entry.get("customer_ref")
    if flow_entry.get("kind") != "partner" or not reference:
        return no_flow()
    return begin_partner_flow(
        reference,
        return_url=flow_entry.get("return_url"),
        location_id=flow_entry.get("location_id"),
        embed_origin=state.embed_origin,
        country=flow_entry.get("country"),
        locale=state.locale,
        resume=False,
    )


# -- tokens a partner brings -------------------------------------------------------------------


@bp.get("/connect")
def external() -> Response:
    """``/connect?fp_cot=…``: a token the partner's backend created, used once; ``&locale=de``
    names the flow's language."""
    locale = use_locale(request.args.get("locale"))
    token = request.args.get("fp_cot", "")
    if not valid_token(token):
        return invalid_link()
    state = flow_state()
    if same_token(state.token, token):
        return _resume()  # the flow this browser already holds
    known = tokens.recall(redis_store(), token)
    if known is not None and known.get("state") == "done":
        return already_complete(state)
    if known is not None and not _entered_moments_ago(token, known):
        # A token we know has been entered before (or was made for a start link): its link is
        # spent. Entering it again in a browser that does not hold its flow would put that
        # browser into someone else's flow (the token leaks to its customer through the
        # provider login's URL, minutes later), so it is not accepted twice. Except within the
        # grace a start link has (START_LINK_REUSE_GRACE): a double click, or nginx repeating
        # the request on another instance when the first died before its answer (and cookie)
        # reached the browser.
        log.info("entry with token %s refused: its link was used before", mask(token))
        return render_view(
            "flow/link_used.html", 410, completed=False, live_flow_url=_live_flow_url(state)
        )
    if known is None:
        refused = check_partner_token(token)
        if refused is not None:
            return refused
    pending = {
        "kind": "external",
        "token": token,
        "origin": request.args.get("origin"),
        "locale": locale,
    }
    if _live(state):
        return hold_for_choice(state, pending)
    return accept_external(token, request.args.get("origin"), locale)


def _entered_moments_ago(token: str, known: dict[str, Any]) -> bool:
    """Whether a partner's token was first entered here (``/connect?fp_cot=``, not a start
    link) within START_LINK_REUSE_GRACE seconds, and its flow is still on its first page: a
    repeat can then only ever land where nothing has been typed or sent."""
    entered_at = known.get("entered_at")
    if known.get("state") != "active" or not isinstance(entered_at, int | float):
        return False
    grace = float(current_app.config["START_LINK_REUSE_GRACE"])
    if not 0 <= time.time() - float(entered_at) <= grace:
        return False
    state = ledger(token).state()
    return state is None or (state.version <= 1 and state.pending is None)


def check_partner_token(token: str) -> Response | None:
    """None if ``token`` is the partner's own and still open; else the page that refuses it.

    The exchange, asked with the partner's bearer, is the one call that says whose a token is
    (docs/protocol.md §2.3). It answers 404 both for another account's token and for an expired
    one of ours; Connect tells the two apart (``token_expired``), so the customer with an old
    link hears that it expired, not that it was tampered with.
    """
    try:
        flatpeak().exchange(token)
    except ExchangeNotReady:
        return None
    except TokenNotFound:
        pass
    except FlatPeakError as exc:
        return entry_unavailable(exc)
    else:
        log.info("entry with token %s refused: its flow is already complete", mask(token))
        return already_complete(flow_state())
    try:
        answer = flatpeak().restore(token)
    except FlatPeakError as exc:
        return entry_unavailable(exc)
    if isinstance(answer, ConnectError) and answer.code == "token_expired":
        return render_view("flow/expired.html", 410, partner_start=False)
    log.warning("entry with token %s refused: not a token of the partner's account", mask(token))
    return invalid_link()


def entry_unavailable(exc: FlatPeakError) -> Response:
    """FlatPeak could not say whose the token is: never accept it unchecked.

    "Try again" is this very entry URL, linked as ``href=""`` (the document's own address), so
    the token is not written into the page."""
    if isinstance(exc, AuthFailed):
        log.error("flatpeak refused our credentials: check FLATPEAK_ACCOUNT_ID / FLATPEAK_API_KEY")
    else:
        log.warning("could not check an entry token with flatpeak: %s", exc)
    slow = isinstance(exc, UpstreamTimeout)
    return render_view("flow/unavailable.html", 504 if slow else 503, retry_url="", slow=slow)


def already_complete(state: FlowState) -> Response:
    return render_view(
        "flow/link_used.html", 410, completed=True, live_flow_url=_live_flow_url(state)
    )


def accept_external(token: str, origin: str | None, locale: str | None = None) -> Response:
    """Start a flow on a token that is the partner's (checked, or created by us), in
    ``locale`` if the entry named one we speak (else in the one the token was made with)."""
    origin = _embed_origin(origin)
    known = tokens.recall(redis_store(), token)
    flow_entry = (known or {}).get("entry") or {"kind": "external"}
    locale = use_locale(locale) or (tokens.locale_of(known) if known else None)
    if known is None:
        # Remember it so the provider return and the callback work even when this browser's
        # cookie does not survive; and when it was entered (_entered_moments_ago).
        tokens.remember(
            redis_store(),
            token,
            {
                "entry": flow_entry,
                "embed_origin": origin,
                "state": "active",
                "locale": locale,
                "entered_at": round(time.time(), 3),
            },
            EXTERNAL_TOKEN_TTL,
        )
    launch = sessions.start_flow(token, flow_entry, origin, locale)
    log.info("external flow started with token %s", mask(token))
    return personal(redirect(url_for("flow.show", launch=launch), 303))


# -- the question: this flow or the new one ----------------------------------------------------


@bp.get("/connect/switch")
def switch() -> Response:
    """Ask whether to continue the live flow or start the one the link was for."""
    state = flow_state()
    if not state.token:
        return no_flow()
    if state.pending_entry is None:
        return _resume()
    return render_view("flow/switch.html", 200)


@bp.post("/connect/switch")
def choose() -> Response:
    """The customer's answer. Anything but "new" continues the flow in progress: the safe
    choice, and the one an attacker's link must never take away."""
    state = flow_state()
    pending = state.pending_entry
    if not state.token:
        return no_flow()
    if pending is None or request.form.get("choice") != "new":
        state.pending_entry = None
        return _resume()
    # The pending entry stays until the new flow has begun (start_flow forgets it), so a failed
    # token creation can be retried from the question.
    if pending.get("kind") == "external" and valid_token(pending.get("token")):
        return accept_external(
            str(pending["token"]),
            text_or_none(pending.get("origin")),
            text_or_none(pending.get("locale")),
        )
    reference = text_or_none(pending.get("ref"))
    if pending.get("kind") == "start" and reference:
        return begin_partner_flow(
            reference,
            return_url=text_or_none(pending.get("ret")),
            location_id=text_or_none(pending.get("loc")),
            embed_origin=text_or_none(pending.get("org")),
            country=country_or_none(pending.get("cty")),
            locale=text_or_none(pending.get("lc")),
            retry_url=into_flow("entry.switch"),
        )
    state.pending_entry = None
    return invalid_link()
