"""Browser fixtures: one headless Debian Chromium per session, the app, the partner sites.

Servers start once per session (the app on ``localhost``, the allowed partner on ``127.0.0.2``,
a partner that is *not* allowed on ``127.0.0.3``); each test gets fresh browser contexts, so no
cookie or storage leaks between tests. Chromium runs with network-quiet flags.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from devstack.stack import AppServer, RedisServer, SandboxServer
from tests.e2e.audit import ARTIFACTS, PHONE, SCREENSHOTS, Auditor
from tests.e2e.servers import PartnerSite, browser_app, start_partner_site
from tests.e2e.upstream import external_start_url

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator:
    """Keep each phase's report on the item, so fixtures can save evidence when a test fails."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session", autouse=True)
def fresh_screenshots() -> None:
    """Screenshots describe the latest run only: none left over from renamed or removed tests."""
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    browser = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def partner() -> Iterator[PartnerSite]:
    """The partner site the app is configured to allow (PARTNER_ORIGINS)."""
    site = start_partner_site("127.0.0.2")
    yield site
    site.close()


@pytest.fixture(scope="session")
def partner_b() -> Iterator[PartnerSite]:
    """A second allowed partner: proves messages go to the flow's own partner, not to any."""
    site = start_partner_site("127.0.0.4")
    yield site
    site.close()


@pytest.fixture(scope="session")
def stranger() -> Iterator[PartnerSite]:
    """A site that is not in PARTNER_ORIGINS: it must not be able to frame the app."""
    site = start_partner_site("127.0.0.3")
    yield site
    site.close()


@pytest.fixture(scope="session")
def app_server(
    redis_server: RedisServer,
    sandbox: SandboxServer,
    partner: PartnerSite,
    partner_b: PartnerSite,
) -> Iterator[AppServer]:
    with browser_app(redis_server.url(2), sandbox, [partner, partner_b]) as server:
        yield server


@pytest.fixture
def app_factory(
    redis_server: RedisServer, partner: PartnerSite, partner_b: PartnerSite
) -> Iterator[Callable[..., AppServer]]:
    """Start another app (other settings or another sandbox); stopped after the test."""
    with ExitStack() as started:

        def make(sandbox: SandboxServer, db: int = 3, **settings: str) -> AppServer:
            server = browser_app(redis_server.url(db), sandbox, [partner, partner_b], **settings)
            return started.enter_context(server)

        yield make


def _watch(page: Page, errors: list[str]) -> None:
    """Collect script errors, CSP refusals and failed sub-resources: the app must have none."""
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on(
        "console",
        lambda msg: (
            errors.append(f"console.{msg.type} at {page.url}: {msg.text[:200]}")
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on(
        "response",
        lambda r: (
            errors.append(f"HTTP {r.status} for {r.request.resource_type} {r.url}")
            if r.status >= 400 and r.request.resource_type not in ("document", "fetch", "xhr")
            else None
        ),
    )


@pytest.fixture
def open_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Callable[..., Page]]:
    """``open_page(width=375, height=812, javascript=True)``: a page in a fresh context.

    Each page gets ``page.e2e_errors`` (script errors and CSP refusals seen so far). When the test
    fails, a screenshot of every page it opened goes to ``test-artifacts/e2e/failures/``.
    """
    contexts: list[BrowserContext] = []
    pages: list[Page] = []

    def make(
        width: int = PHONE["width"],
        height: int = PHONE["height"],
        javascript: bool = True,
        **context_args: object,
    ) -> Page:
        context = browser.new_context(
            viewport={"width": width, "height": height},
            java_script_enabled=javascript,
            **context_args,
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.e2e_errors = []  # type: ignore[attr-defined]
        _watch(page, page.e2e_errors)  # type: ignore[attr-defined]
        pages.append(page)
        return page

    yield make
    _save_failure_evidence(request, pages)
    for context in contexts:
        context.close()


def _save_failure_evidence(request: pytest.FixtureRequest, pages: list[Page]) -> None:
    report = getattr(request.node, "rep_call", None)
    if report is None or not report.failed:
        return
    out = ARTIFACTS / "failures"
    out.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    for i, page in enumerate(pages):
        if page.is_closed():
            continue
        # Evidence is best effort: the test has already failed for its own reason.
        with contextlib.suppress(Exception):
            page.screenshot(path=str(out / f"{name}-{i}.png"), full_page=True)


@pytest.fixture
def auditor(request: pytest.FixtureRequest) -> Callable[[Page], Auditor]:
    def make(page: Page) -> Auditor:
        return Auditor(page=page, test_name=request.node.name)

    return make


@pytest.fixture
def start_url(app_server: AppServer, sandbox: SandboxServer) -> Callable[..., str]:
    """``start_url(origin=None, **token_fields)``: the external entry URL for a new token."""

    def make(origin: str | None = None, **fields: object) -> str:
        return external_start_url(sandbox, app_server.url, origin=origin, **fields)

    return make


@pytest.fixture
def signed_start_url(app_server: AppServer) -> Callable[..., str]:
    """``signed_start_url(ref, *options)``: a partner-initiated start link, as the app's CLI
    prints it for an email (options: ``--origin``, ``--return-url``, ``--location-id``)."""

    def make(reference: str, *options: str) -> str:
        out = app_server.cli("connect-link", reference, *options)
        match = re.search(r"(https?://\S+|/start/\S+)", out)
        assert match, f"connect-link printed no link: {out!r}"
        link = match.group(1)
        if link.startswith("/"):
            link = app_server.url + link
        # The CLI uses PUBLIC_URL, which is the app's own origin in these tests.
        return link

    return make


def _framed_app_profile(
    playwright_driver: Playwright,
    app_server: AppServer,
    partner: PartnerSite,
    *,
    block_scripts: bool = False,
) -> Iterator[BrowserContext]:
    profile = Path(tempfile.mkdtemp(prefix="e2e-chromium-"))
    (profile / "Default").mkdir()
    exceptions: dict[str, dict] = {
        "cookies": {f"{app_server.url},{partner.origin}": {"setting": 2}},
    }
    if block_scripts:
        # Chromium keys script settings by the top-level site, so no script runs anywhere in
        # the partner's tab, the app's frame included (the partner page for this is
        # /embed-static, whose iframe is in its HTML).
        exceptions["javascript"] = {f"{partner.origin},*": {"setting": 2}}
    prefs = {
        "profile": {
            "cookie_controls_mode": 1,
            "block_third_party_cookies": True,
            "content_settings": {"exceptions": exceptions},
        }
    }
    (profile / "Default" / "Preferences").write_text(json.dumps(prefs))
    context = playwright_driver.chromium.launch_persistent_context(
        str(profile),
        executable_path=CHROMIUM,
        args=[*CHROMIUM_ARGS, "--test-third-party-cookie-phaseout"],
        headless=True,
        viewport=PHONE,
    )
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def cookie_blocking_context(
    playwright_driver: Playwright, app_server: AppServer, partner: PartnerSite
) -> Iterator[BrowserContext]:
    """A Chromium profile in which the app can keep no cookie while framed by the partner.

    ``--test-third-party-cookie-phaseout`` makes Chromium block third-party cookies as when a user
    turns them off, but Chromium still lets CHIPS (``Partitioned``) cookies through, which Safari
    does not. A content-settings exception in the profile blocks every cookie of the app's origin
    while it is embedded in the partner's site (the same app origin keeps cookies as a top-level
    site), which is what Safari's default does to the frame. Tests prove the effect by checking
    the Cookie headers the framed app was sent.
    """
    yield from _framed_app_profile(playwright_driver, app_server, partner)


@pytest.fixture
def cookie_and_script_blocking_context(
    playwright_driver: Playwright, app_server: AppServer, partner: PartnerSite
) -> Iterator[BrowserContext]:
    """The same, and no JavaScript in the partner's tab, the framed app included."""
    yield from _framed_app_profile(playwright_driver, app_server, partner, block_scripts=True)
