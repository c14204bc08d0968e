"""The flow: show the current Connect page, take a step, and the two returns from elsewhere.

Connect is the source of truth for where a customer is. A GET always resumes with
``session_restore`` (so refresh, a second tab and the Back button show the current page, never a
stale one); the session only caches the last page object, so a failed step can be shown again
with the customer's typed values without another round trip.

A step is sent to Connect at most once per page (:mod:`webapp.steps`): every step form carries
the page's version, a per-page lock lets one of racing posts through, and a send whose outcome
is unknown (timeout, dropped connection, 5xx, garbage) is resolved by ``session_restore`` on the
retry, never by sending it again.

Plain form posts follow post/redirect/get; htmx posts get the page fragment straight back.
Leaving the flow (provider login, completion) is always a whole-page navigation: ``HX-Redirect``
for htmx, ``303`` otherwise.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from jinja2_fragments.flask import render_block
from markupsafe import escape

from webapp import results, sessions, steps, tokens
from webapp.flatpeak import (
    AuthFailed,
    ConnectError,
    ExchangeNotReady,
    FlatPeakClient,
    FlatPeakError,
    PageObject,
    TokenNotFound,
    UpstreamTimeout,
    mask,
)
from webapp.i18n import gettext as _
from webapp.pages import FORM_ERROR, Rerender, adapter_for
from webapp.pages.sanitize import clean_page, clean_text

log = logging.getLogger(__name__)

bp = Blueprint("flow", __name__, url_prefix="/connect")

TOKEN_RE = re.compile(r"^cot_[A-Za-z0-9]{8,64}$")
# Form fields that are plumbing, not the customer's answers.
_PLUMBING = {"csrf_token", sessions.FLOW_FIELD, "route", "action", steps.VERSION_FIELD}
# What a completed flow reports on the done page and to the partner frame.
OUTCOMES = ("connected", "pending", "disconnected")
# Links from a framed flow to the provider login in a new tab (see provider_login_elsewhere).
_PROVIDER_LINK_PREFIX = "connect:provider-link:"
_PROVIDER_LINK_TTL = 15 * 60


# -- helpers ---------------------------------------------------------------------------------


def client() -> FlatPeakClient:
    return current_app.extensions["flatpeak"]


def store() -> Any:
    return current_app.extensions["connect_redis"]


def ledger(token: str) -> steps.Ledger:
    return steps.Ledger.for_flow(store(), token, current_app.config)


def is_htmx() -> bool:
    """A fragment request: htmx, but not a boosted link or a history restore (those need the
    whole document)."""
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-Boosted") != "true"
        and headers.get("HX-History-Restore-Request") != "true"
    )


def valid_token(value: str | None) -> bool:
    return bool(value) and bool(TOKEN_RE.match(str(value)))


def same_token(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a).encode(), str(b).encode())


def _personal(response: Response) -> Response:
    """Flow responses hold personal data and depend on HX-Request: never cache them."""
    response.headers["Cache-Control"] = "no-store"
    response.vary.add("HX-Request")
    return response


def navigate(url: str) -> Response:
    """Leave the current document: a full-page navigation, also from htmx."""
    if is_htmx():
        response = make_response("", 200)
        response.headers["HX-Redirect"] = url
    else:
        response = redirect(url, 303)
    return _personal(response)


def show_url() -> str:
    """Where to send the browser to see the current page.

    A whole-page navigation carries no ``X-Connect-Flow`` header and no form field, so inside a
    frame that gets no cookie it would arrive without its session. While a flow is open the
    URL therefore carries a fresh launch code (single use, two minutes, never the token).
    """
    if session.get("token"):
        return url_for("flow.show", launch=sessions.new_launch_code())
    return url_for("flow.show")


def fragment(template: str, context: dict[str, Any]) -> str:
    """What htmx swaps in: the new ``<title>`` (htmx moves it to the head) and the page block."""
    title = render_block(template, "title", **context).strip()
    suffix = escape(_("Connect your tariff"))
    return f"<title>{title} \u2013 {suffix}</title>" + render_block(template, "page", **context)


def render_view(template: str, status: int = 200, **context: Any) -> Response:
    """Render one of our own templates (``flow/*.html``) the same way as a Connect page."""
    if is_htmx():
        if status >= 400:
            # htmx leaves error responses unswapped; send the browser to the page itself, where
            # a plain GET re-evaluates the situation and renders it whole.
            return navigate(show_url())
        body = fragment(template, context)
    else:
        body = render_template(template, **context)
    return _personal(make_response(body, status))


def render_page(
    page: PageObject,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    version: int | None = None,
) -> Response:
    """Render a Connect page object through its adapter: whole document or the page fragment.

    Its step forms carry the ledger's version of the page (see :mod:`webapp.steps`), looked up
    when not given; a page the ledger does not know renders without one.
    """
    route = str(page.get("route") or "")
    adapter = adapter_for(route)
    if adapter is None:
        return unknown_route(route)
    query = request.args if request.method == "GET" else None
    context = adapter.context(page, values, errors, query)
    if version is None and session.get("token"):
        version = ledger(session["token"]).version_of(page)
    # Read by the step forms (_partials/forms.html), which are built once, without context.
    g.page_version = version
    template = adapter.template_for(page)
    body = fragment(template, context) if is_htmx() else render_template(template, **context)
    return _personal(make_response(body, status))


def unknown_route(route: str) -> Response:
    log.warning("connect answered a route we cannot render: %r", route[:80])
    return render_view("flow/unknown_route.html", 502, route=clean_text(route[:80]))


def entry() -> dict[str, Any]:
    return dict(session.get("entry") or {})


def expired() -> Response:
    """The token is past its life (or unknown upstream): say so, and say what to do next."""
    kind = entry().get("kind", "external")
    return render_view("flow/expired.html", 410, partner_start=kind == "partner")


def upstream_failed(exc: FlatPeakError, retry_url: str | None = None) -> Response:
    """FlatPeak down, slow or answering garbage: a page that says so, with a retry."""
    if isinstance(exc, AuthFailed):
        log.error("flatpeak refused our credentials: check FLATPEAK_ACCOUNT_ID / FLATPEAK_API_KEY")
    else:
        log.warning("flatpeak unavailable: %s", exc)
    status = 504 if isinstance(exc, UpstreamTimeout) else 503
    slow = isinstance(exc, UpstreamTimeout)
    return render_view(
        "flow/unavailable.html", status, retry_url=retry_url or show_url(), slow=slow
    )


def upstream_message(exc: FlatPeakError) -> str:
    if isinstance(exc, UpstreamTimeout):
        return _(
            "The tariff service is taking too long to answer. Your answers are still here; "
            "please try again in a moment."
        )
    return _("We couldn't reach the tariff service. Your answers are still here; please try again.")


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


# -- responding to a page object -------------------------------------------------------------


def respond(page: PageObject, *, after_post: bool = False, version: int | None = None) -> Response:
    """Turn whatever Connect answered into the right response.

    ``version`` is the ledger's version once the caller has recorded the page; otherwise the
    page is recorded here (Connect's answer is the flow's current page, whatever was cached).
    """
    route = str(page.get("route") or "")
    if version is None:
        version = ledger(session["token"]).observe(page)
    data = page.get("data") if isinstance(page.get("data"), dict) else {}
    if route == "session_redirect":
        target = data.get("redirect_url") or data.get("redirect_uri")
        if not isinstance(target, str) or not target.startswith(("https://", "http://")):
            return unknown_route(route)
        # The provider login needs the token to come back to us; it is FlatPeak's URL, not ours.
        login_url = with_query(target, fp_cot=session["token"])
        if session.get("framed"):
            return provider_login_elsewhere(login_url)
        return navigate(login_url)
    if route in ("session_complete", "complete_tariff"):
        return complete(page)
    if route == "error":
        session["page"] = None
        message = str(page.get("error_message") or "")[:300]
        return render_view("flow/error.html", 502, message=message)
    if adapter_for(route) is None:
        return unknown_route(route)
    session["page"] = page
    if after_post and not is_htmx():
        # Post/redirect/get; the GET shows this cached page once instead of asking again. In a
        # frame that gets no cookie the redirect carries a launch code: the GET has no other way
        # to find this flow.
        session["fresh"] = True
        launch = sessions.cookieless_launch_code()
        return _personal(redirect(url_for("flow.show", launch=launch), 303))
    return render_page(page, version=version)


def provider_login_elsewhere(login_url: str) -> Response:
    """A DIRECT provider's login cannot run inside the partner's frame: providers refuse to be
    framed, and a frame that navigates away loses the partner's page. The frame shows a link
    that opens the login in a new tab (a user activation, so no pop-up blocker) and waits;
    the tab comes back to ``provider_return``, which tells this frame to carry on."""
    token = session["token"]
    tokens.update(store(), token, provider_login="waiting")
    provider = provider_name(session.get("page"), request.form.get("provider_id"))
    session["page"] = None
    # The link names a short-lived code, not the provider URL itself: that URL carries the
    # connect token, which must never appear in our markup.
    code = secrets.token_urlsafe(18)
    store().set(_PROVIDER_LINK_PREFIX + code, login_url, ex=_PROVIDER_LINK_TTL)
    return render_view(
        "flow/provider_login.html",
        200,
        login_url=url_for("flow.provider_link", code=code),
        provider=provider,
    )


@bp.get("/provider-login/<code>")
def provider_link(code: str) -> Response:
    """Opened in a new tab from a framed flow: on to the provider's login (with ``fp_cot``)."""
    login_url = store().get(_PROVIDER_LINK_PREFIX + code) if len(code) < 64 else None
    if not login_url:
        return render_view("flow/invalid_link.html", 400)
    if isinstance(login_url, bytes):
        login_url = login_url.decode()
    return _personal(redirect(login_url, 303))


def provider_name(page: PageObject | None, provider_id: str | None) -> str:
    """The display name of the provider the customer just chose, if the page listed it."""
    data = (page or {}).get("data") or {}
    for provider in data.get("providers") or []:
        if isinstance(provider, dict) and provider.get("id") == provider_id:
            return str(provider.get("display_name") or "")[:80]
    return ""


def complete(page: PageObject) -> Response:
    """``session_complete``: exchange here when the callback is ours, else hand over."""
    token = session["token"]
    data = page.get("data") if isinstance(page.get("data"), dict) else {}
    callback = str(data.get("callback_uri") or data.get("callback_url") or "")
    if callback and not is_our_callback(callback):
        # A token a partner created with its own callback: its backend exchanges the token.
        log.info("flow %s completed; handing over to the token's own callback", mask(token))
        sessions.end_flow()
        return navigate(with_query(callback, fp_cot=token))
    # Our own callback: finish right here, so the token never travels back through a URL.
    return finish(token)


def is_our_callback(url: str) -> bool:
    parts = urlsplit(url)
    ours = urlsplit(current_app.config["PUBLIC_URL"])
    return (parts.scheme, parts.netloc) == (ours.scheme, ours.netloc) and parts.path == url_for(
        "flow.callback"
    )


def finish(token: str, *, completed_upstream: bool = False) -> Response:
    """Exchange the token, store the ids against the partner's customer reference, end the
    flow, and send the customer on.

    ``completed_upstream``: Connect refused ``session_restore`` as ``session_completed``, so
    the step that completed it landed but its answer never reached us (a timeout, Redis gone
    mid-request). The exchange still has the ids; only if it has none is the flow over.
    """
    redis_client = store()
    context = tokens.recall(redis_client, token) or {}
    flow_entry = entry() or dict(context.get("entry") or {})
    session["completing"] = True
    try:
        exchanged = client().exchange(token)
    except ExchangeNotReady:
        session.pop("completing", None)
        if completed_upstream:
            return expired()
        # Connect has not completed this session after all: show where it really is.
        return navigate(show_url())
    except TokenNotFound:
        session.pop("completing", None)
        return expired()
    except FlatPeakError as exc:
        return upstream_failed(exc)
    reference = (
        flow_entry.get("customer_ref")
        or exchanged.customer_reference_id
        or exchanged.customer_id
        or exchanged.location_id
    )
    results.save(
        redis_client,
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
    tokens.update(redis_client, token, state="done", outcome=outcome)
    log.info("flow %s completed: %s", mask(token), outcome)
    return_url = flow_entry.get("return_url")
    sessions.end_flow()
    if return_url_allowed(return_url):
        return navigate(with_query(str(return_url), connect=outcome))
    return navigate(url_for("flow.done", outcome=outcome))


def cleaned(answer: PageObject | ConnectError) -> PageObject | ConnectError:
    """A page object as everything downstream may rely on it (types, no characters HTML or the
    session store would refuse), cleaned once where it arrives so every fingerprint, cache and
    render sees the same page."""
    return answer if isinstance(answer, ConnectError) else clean_page(answer)


def restore_or_fail(token: str) -> PageObject | Response:
    """The current page from Connect, or the response that explains why there is none."""
    try:
        answer = cleaned(client().restore(token))
    except FlatPeakError as exc:
        return upstream_failed(exc)
    if isinstance(answer, ConnectError):
        return connect_refused(answer)
    return answer


def connect_refused(answer: ConnectError) -> Response:
    """``session_restore`` itself was refused: the session completed without us seeing it, the
    token has ended, or Connect is confused."""
    if answer.code == "session_completed" and session.get("token"):
        log.info("flow %s completed upstream; exchanging", mask(session["token"]))
        return finish(session["token"], completed_upstream=True)
    if answer.token_expired or answer.token_unknown:
        return expired()
    log.warning("connect refused session_restore: %s", answer.code)
    return render_view("flow/error.html", 502, message="")


# -- views -----------------------------------------------------------------------------------


def note_framing() -> None:
    """Remember whether the flow runs inside a frame, from the browser's fetch metadata on a
    whole-page load (htmx requests say ``empty``). Browsers without it fall back to whether
    the partner framed us through a start link naming its origin."""
    dest = request.headers.get("Sec-Fetch-Dest")
    if dest == "iframe":
        session["framed"] = True
    elif dest == "document":
        session["framed"] = False
    elif dest is None and session.get("embed_origin") and "framed" not in session:
        session["framed"] = True


@bp.get("/flow")
def show() -> Response:
    token = session.get("token")
    if not token:
        return render_view("flow/no_flow.html", 404)
    note_framing()
    if session.get("completing"):
        # A completion whose exchange failed: retry it rather than resuming a finished session.
        return finish(token)
    cached = session.get("page")
    if session.pop("fresh", False) and cached:
        return render_page(cached)
    answer = restore_or_fail(token)
    if isinstance(answer, Response):
        return answer
    return respond(answer)


def typed_values() -> dict[str, str]:
    return {key: value for key, value in request.form.items() if key not in _PLUMBING}


def moved_on_notice() -> str:
    return _(
        "This page had moved on since that form was shown (perhaps in another tab), so "
        "nothing was sent. Here is where your connection is now."
    )


def step_failed(page: PageObject, exc: FlatPeakError) -> Response:
    """The same page, what the customer typed and what went wrong, with the form to retry."""
    status = 504 if isinstance(exc, UpstreamTimeout) else 503
    return render_page(
        page, values=typed_values(), errors={FORM_ERROR: upstream_message(exc)}, status=status
    )


def show_current(answer: PageObject | ConnectError, version: int | None = None) -> Response:
    """Connect's current page after a form that could not be sent: with the notice that
    nothing was sent (pages we render), or whatever that page calls for (redirect, completion)."""
    if isinstance(answer, ConnectError):
        return connect_refused(answer)
    if version is None:
        version = ledger(session["token"]).observe(answer)
    route = str(answer.get("route") or "")
    if adapter_for(route) is None:
        return respond(answer, version=version)
    session["page"] = answer
    return render_page(answer, errors={FORM_ERROR: moved_on_notice()}, version=version)


def still_sending(page: PageObject) -> Response:
    """Another request of this flow is still talking to Connect after our bounded wait:
    send nothing, keep what was typed, and ask for a moment's patience."""
    message = _(
        "Your previous answer on this page is still being sent. Your answers are still here; "
        "please wait a moment and try again."
    )
    return render_page(page, values=typed_values(), errors={FORM_ERROR: message})


@bp.post("/flow")
def step() -> Response:
    """Take one step, sending it to Connect at most once (see :mod:`webapp.steps`)."""
    token = session.get("token")
    page = session.get("page")
    if not token or not page:
        return navigate(show_url())
    flow_ledger = ledger(token)
    posted_version = steps.parse_version(request.form.get(steps.VERSION_FIELD))
    if posted_version is None:
        seen = flow_ledger.state()
        locked_version = seen.version if seen else 0
    else:
        # The page the form names: every copy of one form meets at this lock; a form for a page
        # the flow has left takes a lock nobody else wants and is then turned away below.
        locked_version = posted_version
    lock = flow_ledger.lock(locked_version)
    if not lock.acquire():
        return still_sending(page)
    try:
        return take_step(token, page, flow_ledger, lock, locked_version, posted_version)
    finally:
        lock.release()


def take_step(
    token: str,
    cached: PageObject,
    flow_ledger: steps.Ledger,
    lock: steps.StepLock,
    locked_version: int,
    posted_version: int | None,
) -> Response:
    """Under the lock for page ``locked_version``: check the form is for the current page,
    resolve an earlier ambiguous send, then send this one."""
    posted_route = request.form.get("route", "")
    state = lock.state
    restored: PageObject | None = None

    def restore() -> PageObject | ConnectError:
        return cleaned(client().restore(token))

    try:
        if state is None:
            # No record (the first step after an upgrade, or Redis lost it): Connect says
            # where the flow is, and the form counts only if it is for exactly that page.
            answer = restore()
            if isinstance(answer, ConnectError):
                return connect_refused(answer)
            version = flow_ledger.observe(answer)
            if answer.get("route") != posted_route or steps.fingerprint(
                answer
            ) != steps.fingerprint(cached):
                return show_current(answer, version)
            page, restored = answer, answer
            state = flow_ledger.state()
            assert state is not None
        elif state.version != locked_version:
            # A form for a page the flow has left, or the flow moved on while this request
            # waited for the lock: nothing is sent.
            return show_current(restore())
        else:
            if posted_version is not None:
                current = posted_version == state.version and posted_route == state.route
            else:
                # A form rendered without a version: the page this session last showed stands in.
                current = (
                    posted_route == cached.get("route") and steps.fingerprint(cached) == state.fp
                )
            if not current:
                return show_current(restore())
            page = cached
            if steps.fingerprint(cached) != state.fp:
                # Another request of this session recorded the page first; use Connect's copy.
                answer = restore()
                if isinstance(answer, ConnectError):
                    return connect_refused(answer)
                if steps.fingerprint(answer) != state.fp:
                    return show_current(answer)
                page, restored = answer, answer

        if state.pending is not None and state.pending.fp in (state.fp, ""):
            # The last send from this page may have landed: Connect decides, nothing is resent
            # (an unreadable note counts as one from this page).
            answer = restored if restored is not None else restore()
            if isinstance(answer, ConnectError):
                return connect_refused(answer)
            if steps.fingerprint(answer) != state.fp:
                log.info("step %s had landed before the retry; not resending", posted_route)
                version = flow_ledger.observe(answer, stepped=True)
                return respond(answer, after_post=True, version=version)
            flow_ledger.settle()
            page = answer
    except FlatPeakError as exc:
        log.warning("could not check step %s with connect: %s", posted_route, exc)
        return step_failed(cached, exc)

    session["page"] = page
    route = str(page["route"])
    adapter = adapter_for(route)
    if adapter is None:
        return unknown_route(route)
    parsed = adapter.parse(page, request.form)
    if isinstance(parsed, Rerender):
        status = 422 if parsed.errors else 200
        return render_page(
            page, values=parsed.values, errors=parsed.errors, status=status, version=state.version
        )

    flow_ledger.begin(page)
    try:
        answer = cleaned(client().submit(token, route, data=parsed.data, action=parsed.action))
    except FlatPeakError as exc:
        if steps.may_have_reached(exc):
            flow_ledger.unknown(page)
            log.warning("step %s failed upstream, outcome unknown: %s", route, exc)
        else:
            flow_ledger.settle()
            log.warning("step %s not sent: %s", route, exc)
        return step_failed(page, exc)
    if isinstance(answer, ConnectError):
        flow_ledger.settle()
        if answer.code == "session_completed":
            # Completed by an earlier send whose answer we never saw: finish from the exchange.
            return finish(token, completed_upstream=True)
        if answer.token_expired or answer.token_unknown:
            return expired() if not is_htmx() else navigate(url_for("flow.show"))
        if answer.route_mismatch:
            return navigate(show_url())
        field = adapter.field_for_error(answer.code)
        message = adapter.message_for_error(answer.code, answer.message)
        return render_page(
            page,
            values=typed_values(),
            errors={field: message},
            status=422,
            version=state.version,
        )
    version = flow_ledger.observe(answer, stepped=True, release=lock)
    return respond(answer, after_post=True, version=version)


@bp.get("/provider-return")
def provider_return() -> Response:
    """Back from the provider login with ``?fp_cot=``: resume, without the token in the URL.

    The cookie may not have survived the trip (Safari iframe, an in-app browser), so a token we
    know opens a fresh session for this browser; FlatPeak resumes by token either way.
    """
    token = request.args.get("fp_cot", "")
    if not valid_token(token):
        return render_view("flow/invalid_link.html", 400)
    if same_token(session.get("token"), token):
        session["page"] = None
        return _personal(redirect(url_for("flow.show"), 303))
    context = tokens.recall(store(), token)
    if context is None:
        return render_view("flow/invalid_link.html", 400)
    waiting_frame = context.get("provider_login") == "waiting"
    if waiting_frame:
        tokens.update(store(), token, provider_login="returned")
    launch = sessions.start_flow(token, context.get("entry") or {}, context.get("embed_origin"))
    if waiting_frame:
        # The login ran in a tab of its own; the partner's frame is waiting for it and moves on
        # by itself. This tab says so, and can still carry on here if that frame is gone.
        continue_url = url_for("flow.show", launch=launch)
        return render_view("flow/provider_returned.html", 200, continue_url=continue_url)
    return _personal(redirect(url_for("flow.show", launch=launch), 303))


@bp.route("/provider-wait", methods=["GET", "POST"])
def provider_wait() -> Response:
    """The framed flow waiting for the provider login in another tab.

    htmx polls this (GET): 204 until ``provider_return`` has seen the customer come back, then
    the current page. The no-JS "I've logged in" button posts here and gets the page whole.
    """
    token = session.get("token")
    if not token:
        return render_view("flow/no_flow.html", 404)
    context = tokens.recall(store(), token) or {}
    if request.method == "GET" and context.get("provider_login") == "waiting":
        return _personal(make_response("", 204))
    tokens.update(store(), token, provider_login="done")
    answer = restore_or_fail(token)
    if isinstance(answer, Response):
        return answer
    # Pressed before logging in, Connect still answers session_redirect: the frame waits again.
    return respond(answer)


@bp.get("/callback")
def callback() -> Response:
    """The token's ``callback_uri``: validate ``fp_cot``, exchange, store, end the flow."""
    token = request.args.get("fp_cot", "")
    if not valid_token(token):
        return render_view("flow/invalid_link.html", 400)
    context = tokens.recall(store(), token)
    if context and context.get("state") == "done":
        # A refresh of the callback after completion: the ids are already stored.
        if same_token(session.get("token"), token):
            sessions.end_flow()
        return navigate(url_for("flow.done", outcome=context.get("outcome") or "connected"))
    if not same_token(session.get("token"), token):
        if context is None or session.get("token"):
            # Unknown, or another flow's token while this browser holds a live flow of its own:
            # never switch a browser onto someone else's flow.
            return render_view("flow/invalid_link.html", 400)
        # The session cookie did not come back: adopt the flow from the token we issued.
        sessions.start_flow(token, context.get("entry") or {}, context.get("embed_origin"))
    return finish(token)


@bp.get("/done")
def done() -> Response:
    outcome = request.args.get("outcome", "connected")
    if outcome not in OUTCOMES:
        outcome = "connected"
    return render_view("flow/done.html", 200, outcome=outcome)
