"""The flow's own page, ``/connect/flow``: show where the customer is, and take a step.

Connect is the source of truth for where a customer is. A GET always resumes with
``session_restore`` (so refresh, a second tab and the Back button show the current page, never a
stale one); the session only caches the last page object, so a failed step can be shown again
with the customer's typed values without another round trip.

A step is sent to Connect at most once per page (:mod:`webapp.steps` decides, under a per-page
lock): every step form carries the page's version, and a send whose outcome is unknown
(timeout, dropped connection, 5xx, garbage) is resolved by ``session_restore`` on the retry,
never by sending it again.

Plain form posts follow post/redirect/get; htmx posts get the page fragment straight back.
Leaving the flow (provider login, completion) is a whole-page navigation (:mod:`webapp.htmx`).
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, make_response, redirect, request, url_for

from webapp import completion, provider_login, sessions, steps
from webapp.extensions import flatpeak, ledger
from webapp.flatpeak import mask
from webapp.flow_state import COMPLETED_UNSEEN, FlowState, flow_state
from webapp.htmx import navigate, personal, wants_fragment
from webapp.i18n import gettext as _
from webapp.links import show_url
from webapp.page import Page
from webapp.pages import FORM_ERROR, Rerender, adapter_for
from webapp.screens import (
    expired,
    no_flow,
    render_page,
    render_view,
    typed_values,
    unknown_route,
    upstream_failed,
    upstream_message,
)
from webapp.upstream_errors import ConnectError, FlatPeakError, UpstreamTimeout, may_have_reached

log = logging.getLogger(__name__)

bp = Blueprint("flow", __name__, url_prefix="/connect")


# -- responding to Connect ---------------------------------------------------------------------


def respond(page: Page, *, after_post: bool = False, version: int | None = None) -> Response:
    """Turn whatever Connect answered into the right response.

    ``version`` is the ledger's version once the caller has recorded the page; otherwise the
    page is recorded here (Connect's answer is the flow's current page, whatever was cached).
    """
    state = flow_state()
    if version is None and state.token:
        version = ledger(state.token).observe(page)
    if page.route == "session_redirect":
        leaving = provider_login.leave_for_login(page, request.form.get("provider_id"))
        return leaving if leaving is not None else unknown_route(page.route)
    if page.route in ("session_complete", "complete_tariff"):
        return completion.complete(page)
    if page.route == "error":
        state.page = None
        # Connect's own text is written for developers; the page says what happened in ours.
        log.warning("connect answered its error route: %s", page.error_message[:200])
        return render_view("flow/error.html", 502)
    if adapter_for(page.route) is None:
        return unknown_route(page.route)
    state.page = page
    if after_post and not wants_fragment():
        # Post/redirect/get; the GET shows this cached page once instead of asking again. In a
        # frame that gets no cookie the redirect carries a launch code: the GET has no other way
        # to find this flow.
        state.mark_fresh()
        launch = sessions.cookieless_launch_code()
        return personal(redirect(url_for("flow.show", launch=launch), 303))
    return render_page(page, version=version)


def connect_refused(answer: ConnectError) -> Response:
    """``session_restore`` itself was refused: the session completed without us seeing it, the
    token has ended, or Connect is confused."""
    state = flow_state()
    if answer.code == "session_completed" and state.token:
        log.info("flow %s completed upstream; exchanging", mask(state.token))
        return completion.to_callback(COMPLETED_UNSEEN)
    if answer.token_expired or answer.token_unknown:
        return expired()
    log.warning("connect refused session_restore: %s", answer.code)
    return render_view("flow/error.html", 502)


def restore_and_respond(token: str) -> Response:
    """Ask Connect for the current page and show it (or why there is none)."""
    try:
        answer = flatpeak().restore(token)
    except FlatPeakError as exc:
        return upstream_failed(exc)
    if isinstance(answer, ConnectError):
        return connect_refused(answer)
    return respond(answer)


# -- views -------------------------------------------------------------------------------------


def note_framing(state: FlowState) -> None:
    """Remember whether the flow runs inside a frame, from the browser's fetch metadata on a
    whole-page load (htmx requests say ``empty``). Browsers without it fall back to whether
    the partner framed us through a start link naming its origin."""
    dest = request.headers.get("Sec-Fetch-Dest")
    if dest == "iframe":
        state.framed = True
    elif dest == "document":
        state.framed = False
    elif dest is None and state.embed_origin and state.framed is None:
        state.framed = True


@bp.get("/flow")
def show() -> Response:
    state = flow_state()
    token = state.token
    if not token:
        return no_flow()
    note_framing(state)
    if state.completing:
        # A completion whose exchange has not happened (or failed): the callback finishes it.
        return completion.to_callback(state.completing)
    cached = state.page
    if state.take_fresh() and cached is not None:
        return render_page(cached)
    return restore_and_respond(token)


@bp.route("/provider-wait", methods=["GET", "POST"])
def provider_wait() -> Response:
    """The framed flow waiting for the provider login in another tab.

    htmx polls this (GET): 204 until the login tab has come back, then the current page. The
    no-JS "I've logged in" button posts here and gets the page whole.
    """
    token = flow_state().token
    if not token:
        return no_flow()
    if request.method == "GET" and provider_login.waiting_for_login(token):
        return personal(make_response("", 204))
    provider_login.stop_waiting(token)
    flow_state().login_target = None
    # Pressed before logging in, Connect still answers session_redirect: the frame waits again.
    return restore_and_respond(token)


@bp.post("/flow")
def step() -> Response:
    """Take one step, sending it to Connect at most once (see :mod:`webapp.steps`)."""
    state = flow_state()
    token, cached = state.token, state.page
    if not token or cached is None:
        return navigate(show_url())
    posted_route = request.form.get("route", "")
    posted_version = steps.parse_version(request.form.get(steps.VERSION_FIELD))
    posted_fp = request.form.get(steps.PAGE_FIELD, "")[:64]
    if posted_version is None:
        return unversioned(token, cached, posted_route)
    flow_ledger = ledger(token)
    # The page the form names: every copy of one form meets at this lock; a form for a page the
    # flow has left takes a lock nobody else wants and is then turned away.
    lock = flow_ledger.lock(posted_version)
    if not lock.acquire():
        return still_sending(cached)
    # The lock of the page the ledger knows, when the form is ahead of it (below).
    known: steps.StepLock | None = None
    try:
        found = lock.state
        if steps.lost_writes_behind(found, posted_version):
            assert found is not None
            # Only lost writes produce this (a failover, an append-only file short of its last
            # second): worth an operator's notice. steps.decide checks the form with Connect.
            log.warning("step %s: the form is ahead of the step ledger", posted_route)
            # A form of the page the ledger knows (another tab's, rendered before the writes
            # were lost) takes that page's lock: take it too, so the two never send side by
            # side, and decide on the ledger as it is once nobody sends from that page. Locks
            # are always taken from the higher version to the lower, so two posts cannot wait
            # for each other.
            known = flow_ledger.lock(found.version)
            if not known.acquire():
                return still_sending(cached)
            found = known.state
        try:
            decision = steps.decide(
                found,
                posted_version=posted_version,
                posted_route=posted_route,
                cached=cached,
                ask=lambda: flatpeak().restore(token),
                posted_fp=posted_fp,
            )
        except FlatPeakError as exc:
            log.warning("could not check step %s with connect: %s", posted_route, exc)
            return step_failed(cached, exc)
        if isinstance(decision, steps.Refused):
            return connect_refused(decision.error)
        # Past the posted form's version, whatever the ledger had: a ledger that lost writes
        # must not hand that number out again (a forged version far ahead moves nothing).
        floor = steps.credible_floor(found, posted_version)
        newer = floor + 1 if floor else 0
        if isinstance(decision, steps.Current):
            if decision.landed:
                log.info("step %s had landed before the retry; not resending", posted_route)
                version = flow_ledger.observe(decision.page, stepped=True, at_least=newer)
                return respond(decision.page, after_post=True, version=version)
            return show_current(decision.page, at_least=newer)
        version = decision.version
        if version is None:
            version = flow_ledger.observe(decision.page, at_least=floor)
        if decision.settle:
            flow_ledger.settle()
        return send_step(token, decision.page, version, flow_ledger, lock)
    finally:
        if known is not None:
            known.release()
        lock.release()


def send_step(
    token: str, page: Page, version: int, flow_ledger: steps.Ledger, lock: steps.StepLock
) -> Response:
    """Under the step lock, with ``page`` checked current: parse the form and send it once."""
    state = flow_state()
    state.page = page
    adapter = adapter_for(page.route)
    if adapter is None:
        return unknown_route(page.route)
    parsed = adapter.parse(page, request.form)
    if isinstance(parsed, Rerender):
        status = 422 if parsed.errors else 200
        return render_page(
            page, values=parsed.values, errors=parsed.errors, status=status, version=version
        )
    flow_ledger.begin(page)
    try:
        answer = flatpeak().submit(token, page.route, data=parsed.data, action=parsed.action)
    except FlatPeakError as exc:
        if may_have_reached(exc):
            flow_ledger.unknown(page)
            log.warning("step %s failed upstream, outcome unknown: %s", page.route, exc)
        else:
            flow_ledger.settle()
            log.warning("step %s not sent: %s", page.route, exc)
        return step_failed(page, exc)
    if isinstance(answer, ConnectError):
        flow_ledger.settle()
        if answer.code == "session_completed":
            # Completed by an earlier send whose answer we never saw: finish from the exchange.
            return completion.to_callback(COMPLETED_UNSEEN)
        if answer.token_expired or answer.token_unknown:
            return navigate(url_for("flow.show")) if wants_fragment() else expired()
        if answer.route_mismatch:
            return navigate(show_url())
        typed = typed_values()
        errors = adapter.errors_for(page, answer.code, answer.message, typed)
        return render_page(page, values=typed, errors=errors, status=422, version=version)
    version = flow_ledger.observe(answer, stepped=True, release=lock)
    if parsed.data is not None:
        state.remember_step(page.route, parsed.data)  # shown back on the summary
    return respond(answer, after_post=True, version=version)


def unversioned(token: str, cached: Page, posted_route: str) -> Response:
    """A step form that names no page version is never sent: every form we render carries one,
    so this one is forged, or from a page rendered while the ledger had no record. The customer
    gets the current page; if it is the one they posted from, with what they typed."""
    try:
        answer = flatpeak().restore(token)
    except FlatPeakError as exc:
        return step_failed(cached, exc)
    if isinstance(answer, ConnectError):
        return connect_refused(answer)
    if answer.route != posted_route or adapter_for(answer.route) is None:
        return show_current(answer)
    state = flow_state()
    state.page = answer
    version = ledger(token).observe(answer)
    notice = _("Nothing was sent yet. Please check your answers and press the button again.")
    return render_page(answer, values=typed_values(), errors={FORM_ERROR: notice}, version=version)


def step_failed(page: Page, exc: FlatPeakError) -> Response:
    """The same page, what the customer typed and what went wrong, with the form to retry."""
    status = 504 if isinstance(exc, UpstreamTimeout) else 503
    return render_page(
        page, values=typed_values(), errors={FORM_ERROR: upstream_message(exc)}, status=status
    )


def show_current(answer: Page, *, at_least: int = 0) -> Response:
    """Connect's current page after a form that could not be sent: with the notice that
    nothing was sent (pages we render), or whatever that page calls for (redirect, completion)."""
    state = flow_state()
    version = ledger(state.token).observe(answer, at_least=at_least) if state.token else None
    if adapter_for(answer.route) is None:
        return respond(answer, version=version)
    state.page = answer
    notice = _(
        "This page had moved on since that form was shown (perhaps in another tab), so "
        "nothing was sent. Here is where your connection is now."
    )
    return render_page(answer, errors={FORM_ERROR: notice}, version=version)


def still_sending(page: Page) -> Response:
    """Another request of this flow is still talking to Connect after our bounded wait:
    send nothing, keep what was typed, and ask for a moment's patience."""
    message = _(
        "Your previous answer on this page is still being sent. Your answers are still here; "
        "please wait a moment and try again."
    )
    return render_page(page, values=typed_values(), errors={FORM_ERROR: message})
