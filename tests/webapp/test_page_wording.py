"""Item 12 of issue 12: one word for the company that sells the electricity ("provider"), the
tax wording of the customer's market, and no unit said twice."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from tests.webapp.pages_harness import REFERENCE_PAGES, make_app, parse_document, render
from webapp.formatting import tax_kind
from webapp.pages import adapter_for

pytestmark = pytest.mark.unit  # no process: see tests/README.md

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def ctx():
    with make_app().test_request_context("/connect/flow", method="POST"):
        yield


def page_in(route: str, currency: str):
    page = copy.deepcopy(REFERENCE_PAGES[route])
    page["data"]["currency_code"] = currency
    return page


def visible_text(element) -> str:
    """An element's text as seen on screen: without its visually hidden parts."""
    parts = [element.text or ""]
    for child in element:
        if "visually-hidden" not in (child.get("class") or ""):
            parts.append(visible_text(child))
        parts.append(child.tail or "")
    return " ".join("".join(parts).split())


# -- item 12: one word for the provider ------------------------------------------------------


def test_provider_is_the_one_word_for_who_sells_the_electricity():
    """No customer-facing text says "supplier": templates, the Python strings and the
    translation catalogue."""
    found = []
    for path in [
        *(ROOT / "templates").rglob("*.html"),
        *(ROOT / "webapp").rglob("*.py"),
        ROOT / "webapp" / "translations" / "messages.pot",
    ]:
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if re.search(r"supplier", line, re.IGNORECASE):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)


def test_market_page_speaks_of_the_provider():
    markup = render(REFERENCE_PAGES["market_surcharge_capture"])
    assert "My provider adds no extra charges" in markup
    assert adapter_for("market_surcharge_capture").title == "Your provider's extra charges"


# -- item 12: the market's tax wording ---------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "country", "kind"),
    [
        ("GBP", None, "vat"),
        ("EUR", None, "vat"),
        ("USD", None, "taxes"),
        ("CAD", None, "taxes"),
        ("AUD", None, "gst"),
        ("JPY", None, "taxes"),
        (None, None, "taxes"),
        ("EUR", "ME", "taxes"),  # the euro outside the EU: the country decides
        ("USD", "GB", "vat"),
        ("EUR", "NZ", "gst"),
    ],
)
def test_tax_kind(currency, country, kind):
    assert tax_kind(currency, country) == kind


@pytest.mark.parametrize("route", ["rate_fixed_capture", "rate_tod_capture"])
@pytest.mark.parametrize(
    ("currency", "says", "never"),
    [
        ("GBP", "including VAT.", "including taxes"),
        ("EUR", "including VAT.", "including taxes"),
        ("USD", "including taxes.", "VAT"),
        ("AUD", "including GST.", "VAT"),
        ("JPY", "including taxes.", "VAT"),
    ],
)
def test_price_pages_use_the_markets_tax_wording(route, currency, says, never):
    markup = render(page_in(route, currency))
    assert says in markup
    assert never not in markup


# -- item 12: the unit is said once ----------------------------------------------------------


@pytest.mark.parametrize(
    ("route", "name", "label"),
    [
        ("rate_fixed_capture", "cost", "Price per kWh"),
        ("rate_tod_capture", "cost_0", "Price per kWh"),
        ("market_surcharge_capture", "surcharge_fixed", "Extra charge per kWh (optional)"),
    ],
)
@pytest.mark.parametrize(("currency", "unit"), [("GBP", "p/kWh"), ("USD", "¢/kWh")])
def test_price_label_does_not_repeat_the_suffix(route, name, label, currency, unit):
    document = parse_document(render(page_in(route, currency)))
    field = document.find(f".//input[@name='{name}']")
    label_element = document.find(f".//label[@for='{field.get('id')}']")
    # On screen: the label, then the box with its unit after it, each said once.
    assert visible_text(label_element) == label
    row = next(r for r in document.iter("div") if r.find(f"./input[@name='{name}']") is not None)
    suffix = row.find("./span[@class='input-suffix']")
    assert suffix.text == unit and suffix.get("aria-hidden") == "true"
    # A screen reader skips the suffix, so it hears the unit from the label.
    assert unit in "".join(label_element.itertext())
