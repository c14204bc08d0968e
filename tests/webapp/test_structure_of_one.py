"""A tariff structure page that offers one structure is a confirmation, not a choice
(issue 12, item 10)."""

from __future__ import annotations

import copy

import pytest

from tests.webapp.pages_harness import REFERENCE_PAGES, make_app, parse_document, render
from webapp.page import Page
from webapp.pages import Submit, adapter_for

pytestmark = pytest.mark.unit  # no process: see tests/README.md


@pytest.fixture(scope="module")
def app():
    return make_app()


@pytest.fixture
def ctx(app):
    with app.test_request_context("/connect/flow"):
        yield


def structure_page(options: list[str]) -> dict:
    page = copy.deepcopy(REFERENCE_PAGES["tariff_structure_select"])
    page["data"]["options"] = options
    return page


def buttons(document) -> list[tuple[str | None, str | None, str]]:
    return [
        (b.get("name"), b.get("value"), "".join(b.itertext()).strip())
        for b in document.iter("button")
        if b.get("type") == "submit"
    ]


@pytest.mark.parametrize(
    ("options", "heading", "lead"),
    [
        (["MARKET"], "Your price follows the market", "what your provider adds on top"),
        (["FIXED"], "You pay one price all day", "enter the price per kWh"),
        (["TIME_OF_DAY"], "Your price changes with the time of day", "each time period"),
        # ADVANCED has no page of ours, so MARKET is the one option this page can offer.
        (["MARKET", "ADVANCED"], "Your price follows the market", "on top of the market"),
        (["MARKET", "MARKET"], "Your price follows the market", "on top of the market"),
    ],
)
def test_one_option_is_stated_with_one_button(ctx, options, heading, lead):
    markup = render(structure_page(options))
    document = parse_document(markup)
    assert document.find(".//h1").text == heading
    assert lead in document.find(".//p[@class='lead']").text
    assert document.find(".//title").text.startswith(heading)
    only = options[0]
    assert buttons(document) == [("option", only, "Continue")]
    assert document.find(".//ul[@class='option-list']") is None
    assert "How does the price you pay per kWh work?" not in markup


def test_one_option_fragment_has_the_confirmation_title(ctx):
    markup = render(structure_page(["MARKET"]), htmx=True)
    assert markup.startswith("<title>Your price follows the market")


def test_several_options_are_still_a_choice(ctx):
    document = parse_document(render(structure_page(["FIXED", "TIME_OF_DAY", "MARKET"])))
    assert document.find(".//h1").text == "How your price works"
    assert [value for _name, value, _text in buttons(document)] == [
        "FIXED",
        "TIME_OF_DAY",
        "MARKET",
    ]


def test_the_one_button_posts_the_option_connect_offered():
    adapter = adapter_for("tariff_structure_select")
    page = Page.from_connect(structure_page(["MARKET"]))
    assert adapter.parse(page, {"option": "MARKET"}) == Submit(data={"options": ["MARKET"]})
    assert adapter.parse(page, {"option": "FIXED"}) != Submit(data={"options": ["FIXED"]})
