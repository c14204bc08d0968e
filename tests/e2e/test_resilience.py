"""In-flight and failure behaviour: a slow upstream, an upstream that is down, a lost network.

A second sandbox with injected latency (or one the test stops) sits behind a second app, so the
shared servers stay healthy for the other tests. Tokens live in the shared sandbox Redis, so a
token created on the shared sandbox works on either.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from devstack.stack import RedisServer
from tests.e2e.driver import Flow
from tests.e2e.servers import browser_app
from tests.e2e.upstream import LONDON, external_start_url

pytestmark = pytest.mark.browser

_BUSY_JS = """
(button) => {
  const form = button.form;
  return {
    disabled: button.disabled || button.getAttribute('aria-disabled') === 'true',
    busy: !!(button.getAttribute('aria-busy') === 'true' ||
             (form && (form.getAttribute('aria-busy') === 'true' ||
                       form.classList.contains('htmx-request'))) ||
             document.querySelector('#page [aria-busy=true], #page .htmx-request')),
    text: button.innerText.trim(),
  };
}
"""


def state(button: Locator) -> dict:
    return button.evaluate(_BUSY_JS)


def fill_address(flow: Flow) -> None:
    flow.expect_route("postal_address_capture")
    for name, value in LONDON.items():
        flow.set_field(name, value)


def test_slow_upstream_shows_progress_and_ignores_a_second_press(
    open_page, sandbox, sandbox_factory, app_factory
) -> None:
    slow = sandbox_factory(SANDBOX_FAULT_LATENCY_MS="1500")
    app = app_factory(slow)
    page: Page = open_page()
    posts = []
    flow = Flow(page)
    page.goto(external_start_url(sandbox, app.url))
    fill_address(flow)  # choosing the country re-renders the fields after it: not a step
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    button = flow.continue_button()
    initial_text = button.inner_text().strip()
    button.click()
    page.wait_for_timeout(300)
    during = state(button)
    assert during["disabled"], f"the continue button can be pressed again while saving: {during}"
    assert during["busy"] or during["text"] != initial_text, f"no progress shown: {during}"
    button.click(force=True)  # a second tap on the disabled button
    flow.field("post_code").press("Enter")  # and an impatient Enter
    flow.expect_route("provider_select")
    assert len(posts) == 1, f"{len(posts)} posts for one step: {posts}"

    # The same for a choice button: a double tap on a provider is one step.
    choice = flow.choice("provider_id", text="Northwind Energy")
    choice.dblclick()
    page.wait_for_timeout(300)
    choice_state = state(choice) if choice.count() else {"disabled": True}
    flow.expect_route("tariff_select")
    assert len(posts) == 2, f"a double tap on a provider sent {len(posts) - 1} posts"
    assert choice_state["disabled"], f"the chosen provider could be pressed again: {choice_state}"


def test_upstream_down_reenables_the_form_with_a_message(
    open_page, auditor, sandbox, sandbox_factory, app_factory
) -> None:
    flaky = sandbox_factory()
    app = app_factory(flaky)
    page = open_page()
    flow = Flow(page)
    page.goto(external_start_url(sandbox, app.url))
    fill_address(flow)
    flaky.stop()
    button = flow.continue_button()
    button.click()
    message = page.locator("#page [role=alert], #live, #page .notice--error")
    expect(message.filter(has_text=re.compile(r"\w{4,}")).first).to_be_visible(timeout=20_000)
    text = " ".join(message.all_inner_texts())
    assert "Traceback" not in text and "cot_" not in text, text
    expect(flow.continue_button()).to_be_enabled()
    expect(flow.field("city")).to_have_value(LONDON["city"])
    assert not state(flow.continue_button())["disabled"]
    # htmx logs the app's 503 answer to the console; that is the failure being tested.
    page.e2e_errors[:] = [e for e in page.e2e_errors if "Response Status Error Code" not in e]
    audit = auditor(page)
    audit.check("upstream-down")
    audit.assert_clean()


def test_lost_network_reenables_the_form_with_a_message(open_page, start_url) -> None:
    page = open_page()
    flow = Flow(page)
    page.goto(start_url())
    fill_address(flow)
    page.context.set_offline(True)
    flow.continue_button().click()
    offline_text = page.locator("body").get_attribute("data-msg-offline") or "try again"
    expect(page.locator("body")).to_contain_text(offline_text[:30], timeout=10_000)
    expect(flow.continue_button()).to_be_enabled()
    expect(flow.field("city")).to_have_value(LONDON["city"])
    page.context.set_offline(False)
    flow.continue_button().click()
    flow.expect_route("provider_select")


def test_session_store_outage_keeps_the_step_and_what_was_typed(
    open_page, auditor, sandbox, partner, partner_b, tmp_path
) -> None:
    """Redis (our session store) stops while the customer presses Continue: the step stays on
    the page with everything typed, the alert says the service is briefly unavailable (not that
    FlatPeak is down), and once Redis is back the same press carries on."""
    store = RedisServer(tmp_path, append_only=True, appendfsync="always")
    app = browser_app(store.url(0), sandbox, [partner, partner_b])
    with store, app:
        page = open_page()
        flow = Flow(page)
        page.goto(external_start_url(sandbox, app.url))
        fill_address(flow)
        store.kill()  # SIGKILL; every write is already in the append-only file (always)
        flow.continue_button().click()
        alert = page.locator("#page [role=alert]").filter(has_text="briefly unavailable")
        expect(alert.first).to_be_visible(timeout=20_000)
        assert "Traceback" not in page.content()
        expect(flow.continue_button()).to_be_enabled()
        for name, value in LONDON.items():
            expect(flow.field(name)).to_have_value(value)
        page.e2e_errors[:] = [e for e in page.e2e_errors if "Response Status Error Code" not in e]
        audit = auditor(page)
        audit.check("session-store-down")
        audit.assert_clean()

        store.start()
        flow.continue_button().click()
        flow.expect_route("provider_select")
