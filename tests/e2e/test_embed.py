"""The flow embedded in a partner's iframe, cross-site, as partners will ship it.

The partner test site (``127.0.0.2``) frames the app (``localhost``), listens for its postMessage
events and sizes the iframe from them. ``127.0.0.4`` is a second allowed partner (messages must go
to the flow's own partner only); ``127.0.0.3`` is not in PARTNER_ORIGINS and must not be able to
frame the app at all.
"""

from __future__ import annotations

import json
import re
import time
from urllib.parse import quote

import pytest
from playwright.sync_api import Frame, Page, Request, expect

from tests.e2e.audit import PHONE
from tests.e2e.driver import Flow, complete_short_flow, embed, provider_login
from tests.e2e.upstream import LONDON

pytestmark = pytest.mark.browser


def messages(page: Page) -> list[dict]:
    return page.evaluate("() => window.__messages")


def message_types(page: Page) -> list[str]:
    return [str((m["data"] or {}).get("type", "")) for m in messages(page)]


def wait_for_message(page: Page, pattern: str, timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for m in messages(page):
            if re.search(pattern, str((m["data"] or {}).get("type", ""))):
                return m
        page.wait_for_timeout(100)
    raise AssertionError(f"no {pattern!r} message; the partner got: {message_types(page)}")


def no_inner_scrollbar(frame: Frame) -> bool:
    return frame.evaluate("() => document.documentElement.scrollHeight <= window.innerHeight + 1")


def test_iframe_flow_with_third_party_cookies_blocked(
    cookie_blocking_context, partner, app_server, start_url, auditor
) -> None:
    """A whole framed flow in a browser that keeps no cookie for the app: the flow handle (header
    and hidden field) carries the session, and the token never travels in a URL again."""
    context = cookie_blocking_context
    app_requests: list[Request] = []
    context.on(
        "request", lambda r: app_requests.append(r) if r.url.startswith(app_server.url) else None
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    frame = embed(page, partner, start_url(origin=partner.origin, postal_address=LONDON))
    flow = Flow(frame)
    flow.expect_route("provider_select")
    history_length = page.evaluate("() => history.length")

    wait_for_message(page, r"ready")
    audit = auditor(page)
    audit.check("iframe-provider_select", scope=frame)
    audit.screenshot("partner-embed-viewport", PHONE["width"], full_page=False)

    def steps_added_no_history() -> None:
        assert page.evaluate("() => history.length") == history_length, "a step pushed history"

    complete_short_flow(flow, before_save=steps_added_no_history)
    frame.wait_for_url(re.compile(r"/connect/done"))

    # The browser really kept no cookie for the framed app, so the flow handle carried the
    # session: every request the app received arrived without a Cookie header.
    assert context.cookies(app_server.url) == [], context.cookies(app_server.url)
    with_cookie = [r.url for r in app_requests if r.all_headers().get("cookie")]
    assert with_cookie == [], f"the framed app was sent cookies: {with_cookie}"
    posts = [r for r in app_requests if r.method == "POST"]
    assert len(posts) >= 3, [r.url for r in app_requests]
    # The connect token only ever travels in the launch URL, never again in a URL.
    later = [r.url for r in app_requests[1:] if "cot_" in r.url]
    assert later == [], f"connect token in later URLs: {later}"

    # postMessage: from the app's origin only, no secrets, the documented sequence.
    received = messages(page)
    assert {m["origin"] for m in received} == {app_server.url}, received
    assert "cot_" not in json.dumps(received), "a connect token was posted to the parent"
    types = message_types(page)
    assert any(re.search(r"page|route|step", t) for t in types), types
    assert any(re.search(r"height|resize", t) for t in types), types
    routes = [str(m["data"].get("route", "")) for m in received if m["data"].get("route")]
    assert "provider_select" in routes and "summary_fixed_confirm" in routes, routes
    assert not errors, errors
    audit.assert_clean()


def test_completion_is_posted_to_the_partner(open_page, partner, app_server, start_url) -> None:
    page = open_page()
    frame = embed(page, partner, start_url(origin=partner.origin, postal_address=LONDON))
    complete_short_flow(Flow(frame))
    frame.wait_for_url(re.compile(r"/connect/done"))
    completed = wait_for_message(page, r"complete")
    assert completed["origin"] == app_server.url
    assert "cot_" not in json.dumps(messages(page)), "a connect token was posted to the parent"
    expect(page.locator("#status")).to_have_text("Tariff connected.")


def test_completing_leaves_no_partner_history(open_page, partner, start_url) -> None:
    """Back on the partner page after completing must not take the iframe back into the
    finished flow: leaving for the done page replaces the frame's entry."""
    page = open_page()
    frame = embed(page, partner, start_url(origin=partner.origin, postal_address=LONDON))
    Flow(frame).expect_route("provider_select")
    history_length = page.evaluate("() => history.length")
    complete_short_flow(Flow(frame))
    frame.wait_for_url(re.compile(r"/connect/done"))
    assert page.evaluate("() => history.length") == history_length, (
        "completing pushed a history entry (the iframe navigates with location.href)"
    )


def test_lost_flow_handle_is_not_silent(open_page, partner, app_server, start_url) -> None:
    """Without a cookie *and* without the flow handle the app cannot know the customer: it must
    say so, not silently start over or pretend the step worked."""
    page = open_page()
    frame = embed(page, partner, start_url(origin=partner.origin))
    flow = Flow(frame)
    flow.expect_route("postal_address_capture")

    def strip_handle(route, request) -> None:
        dropped = ("x-connect-flow", "cookie")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in dropped}
        body = re.sub(r"(^|&)flow=[^&]*", "", request.post_data or "")
        route.continue_(headers=headers, post_data=body)

    page.context.clear_cookies()
    page.route(re.compile(re.escape(app_server.url) + r"/connect/flow$"), strip_handle)
    # The text fields only: choosing another country posts too (a local re-render), and would
    # be the request that finds no flow.
    for name, value in LONDON.items():
        if name != "country_code":
            flow.set_field(name, value)
    flow.submit()
    told = frame.locator("#page [role=alert], #live, #page h1").filter(
        has_text=re.compile(r"session|expired|start again|no longer|lost|find your", re.I)
    )
    expect(told.first, "the customer is told the session is gone").to_be_visible(timeout=10_000)
    assert flow.route() != "provider_select"


def test_messages_go_only_to_the_flows_partner(open_page, partner, partner_b, start_url) -> None:
    """A flow started for partner B but framed by partner A: A must receive nothing (the app
    posts to B's origin, never to "*")."""
    page = open_page()
    frame = embed(page, partner, start_url(origin=partner_b.origin, postal_address=LONDON))
    Flow(frame).expect_route("provider_select")
    page.wait_for_timeout(1000)
    assert messages(page) == [], messages(page)

    # The control: framed by its own partner, the same kind of flow does talk.
    page_b = open_page()
    frame_b = embed(page_b, partner_b, start_url(origin=partner_b.origin, postal_address=LONDON))
    Flow(frame_b).expect_route("provider_select")
    wait_for_message(page_b, r"ready")


def test_iframe_resizes_to_its_content(open_page, partner, start_url) -> None:
    page = open_page()
    frame = embed(page, partner, start_url(origin=partner.origin))
    flow = Flow(frame)
    flow.expect_route("postal_address_capture")
    wait_for_message(page, r"height|resize")
    page.wait_for_function("() => window.__heights.length > 0")
    page.wait_for_timeout(300)
    assert no_inner_scrollbar(frame), "the iframe shows an inner scrollbar on the address page"

    # A taller page (errors added) must grow the iframe again.
    before = page.evaluate("() => window.__heights.length")
    flow.submit()
    frame.locator("[aria-invalid=true]").first.wait_for()
    page.wait_for_function(f"() => window.__heights.length > {before}")
    page.wait_for_timeout(300)
    assert no_inner_scrollbar(frame), "the iframe did not grow with the validation errors"

    # A narrower phone wraps the text: the frame must grow again, with no inner scrollbar.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.wait_for_timeout(400)
    page.set_viewport_size({"width": 320, "height": 640})
    page.wait_for_timeout(600)
    assert no_inner_scrollbar(frame), "the iframe did not grow when the page got narrower"


def test_iframe_flow_from_a_signed_start_link(open_page, partner, signed_start_url) -> None:
    """The partner's backend signs a start link for its customer and frames it."""
    page = open_page()
    link = signed_start_url("e2e-framed-customer", "--origin", partner.origin)
    frame = embed(page, partner, link)
    flow = Flow(frame)
    flow.address(LONDON)
    flow.expect_route("provider_select")
    wait_for_message(page, r"ready")


def test_iframe_messages_name_each_page(open_page, partner, app_server, start_url) -> None:
    """Also the control for the cookie-blocking test: a default Chromium keeps the app's
    partitioned session cookie in the frame, so the blocking there is what removes it."""
    page = open_page()
    frame = embed(page, partner, start_url(origin=partner.origin, postal_address=LONDON))
    flow = Flow(frame)
    flow.expect_route("provider_select")
    flow.provider("Hearth & Home Electric")
    flow.expect_route("tariff_structure_select")
    page.wait_for_timeout(300)
    routes = [str(m["data"].get("route", "")) for m in messages(page)]
    assert routes[-2:] == ["provider_select", "tariff_structure_select"] or (
        "tariff_structure_select" in routes
    ), routes
    assert frame.evaluate("() => document.body.dataset.parentOrigin") == partner.origin
    cookies = page.context.cookies(app_server.url)
    assert cookies, "control: a default Chromium keeps the framed app's (partitioned) cookie"
    assert all(c.get("partitionKey") for c in cookies), cookies


def test_non_allowed_origin_cannot_frame_the_app(open_page, stranger, app_server, start_url):
    page = open_page()
    start = start_url(origin=stranger.origin)  # the app must ignore an origin it does not know
    with page.expect_response(lambda r: r.url.startswith(app_server.url + "/connect")) as info:
        page.goto(stranger.url(f"embed.html?src={quote(start, safe='')}"))
    csp = info.value.all_headers().get("content-security-policy", "")
    ancestors = re.search(r"frame-ancestors([^;]*)", csp)
    assert ancestors, f"no frame-ancestors in {csp!r}"
    assert stranger.origin not in ancestors.group(1)
    page.wait_for_timeout(1000)
    frame = page.locator("iframe#connect").element_handle().content_frame()
    assert frame is not None
    assert frame.locator("#page").count() == 0, "the app rendered inside a non-allowed site"
    assert messages(page) == [], "the app talked to a non-allowed parent"


def test_allowed_origin_is_in_frame_ancestors(open_page, partner, app_server, start_url):
    page = open_page()
    response = page.goto(start_url())
    assert response is not None
    page.locator("#page").wait_for(state="attached")
    flow_response = page.request.get(app_server.url + "/connect/flow")
    csp = flow_response.headers.get("content-security-policy", "")
    assert partner.origin in re.search(r"frame-ancestors([^;]*)", csp).group(1), csp
    assert "x-frame-options" not in {k.lower() for k in flow_response.headers}


def direct_login_from_the_iframe(page: Page, partner, start: str, audit=None) -> None:
    """Choose the DIRECT provider in the frame, log in outside it, and expect the frame itself
    (the partner's page) to carry on to the summary."""
    context = page.context
    frame = embed(page, partner, start)
    flow = Flow(frame)
    flow.expect_route("provider_select")
    pages_before = len(context.pages)
    flow.provider("Voltaic Direct")
    login = None
    deadline = time.monotonic() + 15
    while login is None and time.monotonic() < deadline:
        if len(context.pages) > pages_before:
            login = context.pages[-1]  # the app opened the login in a new window
        elif not page.url.startswith(partner.origin):
            login = page  # the app navigated the top-level window (user-activated)
        else:
            # The app shows a link or button that opens the login (a user activation).
            opener = frame.locator(
                "#page a[target=_blank], #page a[target=_top], #page form[target=_blank] button"
            )
            if opener.count():
                opener.first.click()
                page.wait_for_timeout(500)
                continue
            page.wait_for_timeout(250)
    assert login is not None, "the provider login never opened outside the iframe"
    if audit is not None and login is not page:
        audit.check("iframe-waiting-for-provider-login", scope=frame)
    login.wait_for_load_state()
    provider_login(login, "approve")
    login.wait_for_load_state()
    if login is page:
        # A top-level login comes back to the app as a first-party page: the flow goes on there.
        Flow(page).expect_one_of("summary_fixed_confirm", "summary_tou_confirm", timeout=20_000)
        return
    route = flow.expect_one_of("summary_fixed_confirm", "summary_tou_confirm", timeout=20_000)
    assert route.startswith("summary_")
    if audit is not None and not login.is_closed():
        login_audit = type(audit)(page=login, test_name=audit.test_name)
        login_audit.check("login-tab-after-return")
        audit.problems += login_audit.problems


def test_direct_provider_login_from_the_iframe(open_page, auditor, partner, start_url) -> None:
    """The provider's login cannot run inside the partner's iframe; the customer completes it in
    a new window (or a user-activated top-level navigation) and lands back in the flow."""
    page = open_page()
    audit = auditor(page)
    direct_login_from_the_iframe(
        page, partner, start_url(origin=partner.origin, postal_address=LONDON), audit
    )
    audit.assert_clean()


def test_direct_provider_login_from_the_iframe_without_cookies(
    cookie_blocking_context, partner, start_url
) -> None:
    """The same with third-party cookies blocked: the login tab is first-party (it has its own
    cookie jar), the frame has none; the frame still carries on."""
    page = cookie_blocking_context.new_page()
    direct_login_from_the_iframe(
        page, partner, start_url(origin=partner.origin, postal_address=LONDON)
    )


def test_iframe_close_tells_the_partner(open_page, partner, start_url) -> None:
    """A customer who closes or cancels inside the frame: the partner hears about it."""
    page = open_page()
    frame = embed(page, partner, start_url(origin=partner.origin, postal_address=LONDON))
    Flow(frame).expect_route("provider_select")
    close = frame.get_by_role("button", name=re.compile(r"close|cancel", re.I)).or_(
        frame.get_by_role("link", name=re.compile(r"close|cancel", re.I))
    )
    expect(close.first, "the framed flow offers a way out").to_be_visible()
    close.first.click()
    wait_for_message(page, r"close|cancel")


def test_a_no_js_browser_in_a_cookie_blocking_frame_completes_the_flow(
    cookie_and_script_blocking_context, partner, app_server, start_url
) -> None:
    """Plain forms inside the partner's frame with no cookie and no script: the posts find the
    flow by their hidden field, the redirects and the list search by a single-use launch code."""
    context = cookie_and_script_blocking_context
    app_requests: list[Request] = []
    context.on(
        "request", lambda r: app_requests.append(r) if r.url.startswith(app_server.url) else None
    )
    page = context.new_page()
    start = start_url(origin=partner.origin, postal_address=LONDON)
    page.goto(partner.url(f"embed-static?src={quote(start, safe='')}"))
    handle = page.locator("iframe#connect").element_handle()
    assert handle is not None
    frame = handle.content_frame()
    assert frame is not None
    flow = Flow(frame)
    flow.expect_route("provider_select")
    assert not frame.evaluate("document.documentElement.classList.contains('js')"), (
        "app.js ran: the frame was meant to have no script"
    )
    search = frame.locator("#page input[name=q]")
    search.fill("north")
    search.press("Enter")
    frame.wait_for_url(re.compile(r"q=north"))
    expect(frame.locator("#page button[name=provider_id]")).to_have_count(1)
    complete_short_flow(flow)
    frame.wait_for_url(re.compile(r"/connect/done"))
    assert context.cookies(app_server.url) == [], context.cookies(app_server.url)
    with_cookie = [r.url for r in app_requests if r.all_headers().get("cookie")]
    assert with_cookie == [], f"the framed app was sent cookies: {with_cookie}"
    posts = [r for r in app_requests if r.method == "POST"]
    assert posts and all("hx-request" not in r.headers for r in posts)
    later = [r.url for r in app_requests[1:] if "cot_" in r.url]
    assert later == [], f"connect token in later URLs: {later}"
