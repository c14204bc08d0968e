"""The partner's frame fits its content, and the customer always sees the top of a new page.

At 375 px, on a partner page with its own content below the frame (``?below=``; without it a
frame that shrinks would pull the partner's scroll position back up by itself and hide the bug):

- the frame's height follows the page's content both ways: smaller pages shrink it, taller ones
  grow it, and filtering a list shrinks and grows it without a page change;
- after a step taken low on a long page, and after "Confirm and save", the top of the frame is
  in view on the partner's page (the ``scroll-top`` message the README's snippet acts on);
- a local edit (a time period added) grows the frame and leaves the partner page where it is.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Frame, Page, expect

from tests.e2e.audit import PHONE
from tests.e2e.driver import Flow, embed
from tests.e2e.test_embed import messages, wait_for_message
from tests.e2e.upstream import BERWICK, LONDON

pytestmark = pytest.mark.browser

#: Partner content under the frame: taller than the phone's screen.
BELOW = 1500


def embed_with_footer(page: Page, partner, start: str) -> Frame:
    return embed(page, partner, start, below=BELOW)


def frame_height(page: Page) -> float:
    return page.evaluate("() => document.getElementById('connect').getBoundingClientRect().height")


def content_height(frame: Frame) -> float:
    return frame.evaluate("() => document.body.getBoundingClientRect().height")


def frame_top(page: Page) -> float:
    """Where the frame's top is on the partner's screen (negative: scrolled out above)."""
    return page.evaluate("() => document.getElementById('connect').getBoundingClientRect().top")


def settled_fit(page: Page, frame: Frame, label: str) -> float:
    """Wait until the frame is exactly as tall as its content (no inner scrollbar and no blank
    space under it) and return that height."""
    try:
        frame.wait_for_function(
            "() => Math.abs(window.innerHeight - document.body.getBoundingClientRect().height)"
            " <= 1",
            timeout=5_000,
        )
    except Exception as exc:
        raise AssertionError(
            f"{label}: the frame is {frame_height(page):.0f} px tall for "
            f"{content_height(frame):.0f} px of content; heights posted: "
            f"{page.evaluate('() => window.__heights')}"
        ) from exc
    assert frame.evaluate("() => document.documentElement.scrollHeight <= innerHeight + 1"), label
    return frame_height(page)


def test_the_frame_follows_its_content_both_ways(open_page, partner, start_url) -> None:
    page = open_page()
    frame = embed_with_footer(
        page, partner, start_url(origin=partner.origin, postal_address=BERWICK)
    )
    flow = Flow(frame)
    heights: dict[str, float] = {}

    flow.expect_route("provider_select")
    heights["provider_select"] = settled_fit(page, frame, "provider_select")

    # Filtering the list on the same page: fewer providers, a shorter frame; and back.
    search = frame.locator("#page input[data-filter-input]")
    search.fill("tidal")
    heights["provider_select, filtered"] = settled_fit(page, frame, "filtered list")
    search.fill("")
    heights["provider_select, unfiltered"] = settled_fit(page, frame, "unfiltered list")

    flow.provider("Tidal Market Power")
    flow.expect_route("tariff_structure_select")
    heights["tariff_structure_select"] = settled_fit(page, frame, "tariff_structure_select")

    flow.structure("MARKET")
    flow.expect_route("market_surcharge_capture")
    heights["market_surcharge_capture"] = settled_fit(page, frame, "market_surcharge_capture")

    region = flow.field("region").locator("option:not([value=''])").first.get_attribute("value")
    flow.surcharge("2", "5", region=region)
    flow.expect_route("tariff_name_capture")
    heights["tariff_name_capture"] = settled_fit(page, frame, "tariff_name_capture")

    flow.tariff_name("Tidal Tracker")
    flow.contract_term("unknown")
    flow.expect_route("summary_tou_confirm")
    heights["summary_tou_confirm"] = settled_fit(page, frame, "summary_tou_confirm")

    flow.save()
    frame.wait_for_url(re.compile(r"/connect/done"))
    frame.locator("#page h1").wait_for()
    heights["done"] = settled_fit(page, frame, "done")

    report = ", ".join(f"{name} {value:.0f}" for name, value in heights.items())
    # Both ways: every shorter page shrinks the frame, every taller page grows it.
    assert heights["provider_select, filtered"] < heights["provider_select"] - 200, report
    assert abs(heights["provider_select, unfiltered"] - heights["provider_select"]) <= 1, report
    assert heights["tariff_structure_select"] < heights["provider_select"] - 200, report
    assert heights["market_surcharge_capture"] > heights["tariff_structure_select"] + 100, report
    assert heights["tariff_name_capture"] < heights["market_surcharge_capture"] - 100, report
    assert heights["summary_tou_confirm"] > heights["tariff_name_capture"] + 500, report
    assert heights["done"] < heights["summary_tou_confirm"] - 500, report
    assert heights["done"] < PHONE["height"], report


def test_a_step_low_on_a_long_page_shows_the_next_page_from_its_top(
    open_page, partner, start_url
) -> None:
    """The customer scrolls the partner page down to a button near the bottom of a long page;
    the next page's top is then in view, not a screen of blank frame."""
    page = open_page()
    frame = embed_with_footer(
        page, partner, start_url(origin=partner.origin, postal_address=LONDON)
    )
    flow = Flow(frame)
    flow.expect_route("provider_select")
    settled_fit(page, frame, "provider_select")
    missing = flow.choice("action", value="PROVIDER_MISSING")
    missing.scroll_into_view_if_needed()
    assert frame_top(page) < -PHONE["height"], "the button is more than a screen down"
    missing.click()
    flow.expect_route("provider_name_capture")
    wait_for_message(page, r"^scroll-top$")
    page.wait_for_function(
        "() => document.getElementById('connect').getBoundingClientRect().top >= -1"
    )
    top = frame_top(page)
    assert -1 <= top < PHONE["height"] / 2, f"the frame's top is at {top:.0f} px"
    expect(frame.locator("#page h1")).to_be_in_viewport()

    # Errors to fix: the page comes back with its error summary at the top, also in view.
    field = flow.field("provider_name")
    field.scroll_into_view_if_needed()
    flow.submit()
    frame.locator("#page [aria-invalid=true]").first.wait_for()
    page.wait_for_function(
        "() => document.getElementById('connect').getBoundingClientRect().top >= -1"
    )
    expect(frame.locator("#page .error-summary, #page [role=alert]").first).to_be_in_viewport()


def test_after_confirm_and_save_the_partner_shows_the_top_of_the_frame(
    open_page, partner, start_url
) -> None:
    """The issue's blank phone screen: "Confirm and save" at the bottom of a long summary, then
    "You're connected" sat at the top of the frame, 471 px above the partner's viewport."""
    page = open_page()
    frame = embed_with_footer(
        page, partner, start_url(origin=partner.origin, postal_address=BERWICK)
    )
    flow = Flow(frame)
    flow.provider("Tidal Market Power")
    flow.structure("MARKET")
    region = flow.field("region").locator("option:not([value=''])").first.get_attribute("value")
    flow.surcharge("2", "5", region=region)
    flow.tariff_name("Tidal Tracker")
    flow.contract_term("unknown")
    flow.expect_route("summary_tou_confirm")
    save = flow.choice("action", value="SAVE")
    save.scroll_into_view_if_needed()
    scrolled = page.evaluate("() => scrollY")
    assert frame_top(page) < -PHONE["height"], "Confirm and save is more than a screen down"
    flow.save()
    frame.wait_for_url(re.compile(r"/connect/done"))
    heading = frame.locator("#page h1")
    expect(heading).to_have_text(re.compile("connected", re.I))
    page.wait_for_function(
        "() => document.getElementById('connect').getBoundingClientRect().top >= -1"
    )
    top = frame_top(page)
    assert -1 <= top < PHONE["height"] / 2, (
        f"after completion the frame's top is at {top:.0f} px (partner scrolled "
        f"{page.evaluate('() => scrollY')} px, was {scrolled})"
    )
    expect(heading).to_be_in_viewport()
    # The page still has its own content below the frame: the partner page did not simply get
    # shorter than the screen, it was scrolled to the frame.
    assert page.evaluate("() => scrollY") > 0
    types = [str((m["data"] or {}).get("type", "")) for m in messages(page)]
    completed = types.index("complete")
    assert "scroll-top" in types[completed:], types


def test_a_local_edit_keeps_the_partner_page_where_it_is(open_page, partner, start_url) -> None:
    """Adding a time period re-renders the page around the customer, who stays where they
    are: the frame grows with the new row, and no scroll-top pulls the partner page up."""
    page = open_page()
    frame = embed_with_footer(
        page, partner, start_url(origin=partner.origin, postal_address=LONDON)
    )
    flow = Flow(frame)
    flow.provider("Hearth & Home Electric")
    flow.structure("TIME_OF_DAY")
    flow.expect_route("rate_tod_capture")
    before = settled_fit(page, frame, "rate_tod_capture")
    rows = frame.locator("#page input[name^=cost_]")
    count = rows.count()
    scrolls = page.evaluate("() => window.__scrolls.length")
    add = frame.locator("#page button[name=edit][value=add]")
    add.scroll_into_view_if_needed()
    add.click()
    expect(rows).to_have_count(count + 1)
    after = settled_fit(page, frame, "rate_tod_capture with a period added")
    assert after > before, (before, after)
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.__scrolls.length") == scrolls
