"""The pages that guard who owns a flow, in Chromium: the question asked when a link would move
a live flow, answered by keyboard (and without JavaScript), and audited at every width."""

from __future__ import annotations

import pytest

from tests.e2e.driver import Flow
from tests.e2e.upstream import LONDON

pytestmark = pytest.mark.browser


def test_a_second_link_asks_first_and_continue_keeps_the_flow(
    open_page, auditor, signed_start_url
) -> None:
    page = open_page()
    audit = auditor(page)
    page.goto(signed_start_url("e2e-owner-1"))
    flow = Flow(page)
    flow.address(LONDON)
    flow.expect_route("provider_select")

    page.goto(signed_start_url("e2e-someone-else-1"))
    page.locator('[data-flow-state="switch"]').wait_for()
    assert "/start/" not in page.url
    audit.check("switch")
    # By keyboard: the first choice is continuing the connection in progress.
    continue_button = page.locator("button[name=choice][value=continue]")
    continue_button.focus()
    page.keyboard.press("Enter")
    flow.expect_route("provider_select")  # the flow in progress, where it was
    audit.assert_clean()


def test_the_question_without_javascript_at_320_px_starts_the_new_one(
    open_page, auditor, signed_start_url
) -> None:
    page = open_page(width=320, javascript=False)
    audit = auditor(page)
    page.goto(signed_start_url("e2e-owner-2"))
    Flow(page).expect_route("postal_address_capture")
    page.goto(signed_start_url("e2e-new-2"))
    page.locator('[data-flow-state="switch"]').wait_for()
    audit.check("switch-nojs", axe=False)
    page.locator("button[name=choice][value=new]").click()
    Flow(page).expect_route("postal_address_capture")
    audit.assert_clean()
