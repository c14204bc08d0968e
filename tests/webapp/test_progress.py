"""The progress bar names the stage and never counts pages (issue 12, item 9), and the failed
page says what is true after a first sign-in that failed as well as for a broken connection."""

from __future__ import annotations

import copy
import re

import pytest

from tests.protocol import ZERO_ROUTES
from tests.webapp.pages_harness import REFERENCE_PAGES, make_app, parse_document, render
from webapp.pages import ROUTES, adapter_for
from webapp.pages.progress import PARTS, STAGE_OF_PART, STAGES, progress_at, stage_of

pytestmark = pytest.mark.unit  # no process: see tests/README.md


@pytest.fixture(scope="module")
def app():
    return make_app()


@pytest.fixture
def ctx(app):
    with app.test_request_context("/connect/flow"):
        yield


def bar(markup: str) -> tuple[str, int, int]:
    """(the stage named, the bar's value, its maximum) of a rendered page."""
    document = parse_document(markup)
    label = document.find(".//p[@id='progress-label']")
    progress = document.find(".//progress")
    assert label is not None and progress is not None
    assert progress.get("aria-labelledby") == "progress-label"
    return label.text, int(progress.get("value")), int(progress.get("max"))


def test_every_part_belongs_to_a_stage_in_order():
    assert set(STAGE_OF_PART) == set(PARTS)
    stages = [stage_of(part) for part in range(1, len(PARTS) + 1)]
    assert stages == sorted(stages)
    # Every stage is some part's, so a path through every part never skips one on the bar.
    assert set(stages) == set(range(1, len(STAGES) + 1))


def test_entering_rates_is_part_of_your_tariff():
    """A library tariff has no rates to enter: without this it would skip a stage."""
    tariff, rates = PARTS.index("tariff") + 1, PARTS.index("rates") + 1
    assert progress_at(tariff) == progress_at(rates)
    assert progress_at(rates).label == "Your tariff"


@pytest.mark.parametrize("route", ZERO_ROUTES)
def test_no_page_counts_steps(ctx, route):
    markup = render(REFERENCE_PAGES[route])
    label, value, maximum = bar(markup)
    assert not re.search(r"\bStep \d|\bof \d\b|\d of \d", markup), route
    assert (value, maximum) == (stage_of(adapter_for(route).stage), len(STAGES))
    assert label == str(STAGES[value - 1])


@pytest.mark.parametrize(
    ("route", "label"),
    [
        ("postal_address_capture", "Your address"),
        ("provider_select", "Your provider"),
        ("provider_name_capture", "Your provider"),
        ("tariff_select", "Your tariff"),
        ("tariff_structure_select", "Your tariff"),
        ("rate_fixed_capture", "Your tariff"),
        ("rate_tod_capture", "Your tariff"),
        ("market_surcharge_capture", "Your tariff"),
        ("tariff_name_capture", "Tariff details"),
        ("contract_term_capture", "Tariff details"),
        ("summary_fixed_confirm", "Check and confirm"),
        ("summary_tou_confirm", "Check and confirm"),
        ("summary_tariff_inprogress", "Check and confirm"),
        ("summary_tariff_failed", "Your provider"),
    ],
)
def test_each_page_names_its_stage(ctx, route, label):
    assert bar(render(REFERENCE_PAGES[route]))[0] == label


def test_every_adapter_has_a_part():
    assert all(1 <= adapter.stage <= len(PARTS) for adapter in ROUTES.values())


# -- the failed page ---------------------------------------------------------------------------


def failed_page(actions: list[str] | None = None, name: str = "Octopus Energy") -> dict:
    page = copy.deepcopy(REFERENCE_PAGES["summary_tariff_failed"])
    if actions is not None:
        page["actions"] = actions
    page["data"]["provider"]["display_name"] = name
    return page


def test_failed_page_is_not_check_and_confirm(ctx):
    markup = render(failed_page())
    assert "Check and confirm" not in markup
    assert bar(markup)[0] == "Your provider"


def test_failed_page_copy_holds_after_a_first_sign_in(ctx):
    """The page follows a first sign-in that just failed too: nothing may say the tariff was
    ever read ("no longer")."""
    text = " ".join(parse_document(render(failed_page())).itertext())
    assert "no longer read" not in text and "can no longer" not in text
    assert "Octopus Energy didn't share your tariff with us." in text
    assert "signing in didn't finish" in text


def test_failed_page_offers_another_way_through_reconnect(ctx):
    """Connect offers RECONNECT and DISCONNECT here, not DISMISS_DIRECT (docs/protocol.md §7.4):
    the way to enter the tariff otherwise is RECONNECT, and the page says so."""
    document = parse_document(render(failed_page()))
    buttons = document.findall(".//button[@name='action']")
    assert [(b.get("value"), "".join(b.itertext()).strip()) for b in buttons] == [
        ("RECONNECT", "Try again"),
        ("DISCONNECT", "Finish without a tariff"),
    ]
    assert "button--primary" in buttons[0].get("class")
    for button in buttons:
        hint = document.find(f".//p[@id='{button.get('aria-describedby')}']")
        assert hint is not None and hint.text
    reconnect_hint = document.find(".//p[@id='hint-reconnect']").text
    assert "sign in to Octopus Energy once more" in reconnect_hint
    assert "enter your tariff another way" in reconnect_hint
    assert "DISMISS_DIRECT" not in render(failed_page())


def test_failed_page_shows_only_offered_actions_in_a_sensible_order(ctx):
    document = parse_document(render(failed_page(["DISCONNECT", "CLOSE", "RECONNECT"])))
    values = [b.get("value") for b in document.findall(".//button[@name='action']")]
    assert values == ["RECONNECT", "DISCONNECT", "CLOSE"]
    document = parse_document(render(failed_page(["DISCONNECT"])))
    values = [b.get("value") for b in document.findall(".//button[@name='action']")]
    assert values == ["DISCONNECT"]


def test_failed_page_without_a_provider_name(ctx):
    text = " ".join(parse_document(render(failed_page(name=""))).itertext())
    assert "Your provider didn't share your tariff with us." in text
    assert "sign in to your provider once more" in text
