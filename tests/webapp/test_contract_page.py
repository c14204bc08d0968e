"""Item 8 of issue 12: the contract page says what it asks (the date is not "optional" and then
required, no example date gone stale)."""

from __future__ import annotations

import re
from datetime import date

import pytest

from tests.webapp.pages_harness import REFERENCE_PAGES, make_app, parse_document, render
from webapp.page import Page
from webapp.pages import Rerender, adapter_for
from webapp.pages.contract_term_capture import ContractTermCapture, example_end

pytestmark = pytest.mark.unit  # no process: see tests/README.md


@pytest.fixture(autouse=True)
def ctx():
    with make_app().test_request_context("/connect/flow", method="POST"):
        yield


# -- item 8: the contract page --------------------------------------------------------------


def test_contract_date_is_not_labelled_optional_nor_required_on_its_own():
    document = parse_document(render(REFERENCE_PAGES["contract_term_capture"]))
    label = document.find(".//label[@for='f-contract_end_date']")
    assert "".join(label.itertext()).strip() == "Contract end date"
    date_input = document.find(".//input[@id='f-contract_end_date']")
    assert date_input.get("type") == "date"
    # Needed only with "On a date": not a required field of the form as a whole.
    assert date_input.get("required") is None and date_input.get("aria-required") is None
    assert date_input.get("aria-describedby") == "f-contract_end_date-hint"
    assert "(optional)" not in "".join(document.find(".//*[@id='f-term']").itertext())


def test_contract_page_shows_no_example_date_to_go_stale():
    document = parse_document(render(REFERENCE_PAGES["contract_term_capture"]))
    hint = "".join(document.find(".//*[@id='f-contract_end_date-hint']").itertext())
    assert not re.search(r"\d", hint), hint


@pytest.mark.parametrize(
    ("today", "example"),
    [
        (date(2026, 11, 29), date(2027, 11, 30)),
        (date(2026, 6, 30), date(2027, 6, 30)),
        (date(2027, 2, 1), date(2028, 2, 29)),
        (date(2028, 2, 29), date(2029, 2, 28)),
        (date(2026, 12, 31), date(2027, 12, 31)),
    ],
)
def test_example_end_date_is_always_ahead(today, example):
    assert example_end(today) == example
    assert example_end(today) > today


def test_a_malformed_date_gets_the_format_with_a_future_example(monkeypatch):
    monkeypatch.setattr(ContractTermCapture, "today", lambda self: date(2026, 11, 29))
    adapter = adapter_for("contract_term_capture")
    page = Page.from_connect(REFERENCE_PAGES["contract_term_capture"])
    result = adapter.parse(page, {"term": "date", "contract_end_date": "30/11/2027"})
    assert isinstance(result, Rerender)
    assert result.errors == {
        "contract_end_date": "Enter a real date as year-month-day, for example 2027-11-30."
    }
    document = parse_document(
        render(REFERENCE_PAGES["contract_term_capture"], values=result.values, errors=result.errors)
    )
    date_input = document.find(".//input[@id='f-contract_end_date']")
    assert date_input.get("value") == "30/11/2027"
    assert date_input.get("aria-invalid") == "true"
    assert date_input.get("aria-describedby") == (
        "f-contract_end_date-hint f-contract_end_date-error"
    )
    # Choosing another answer needs no date at all.
    assert adapter.parse(page, {"term": "none", "contract_end_date": ""}).data == {
        "contract_end_date": "0001-01-01T00:00:00Z"
    }


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("1999-12-31", "Enter a date between 2000 and 2100."),
        ("2026-02-30", "Enter a real date as year-month-day, for example"),
    ],
)
def test_a_date_outside_the_years_is_told_so_not_its_format(typed, message):
    adapter = adapter_for("contract_term_capture")
    page = Page.from_connect(REFERENCE_PAGES["contract_term_capture"])
    result = adapter.parse(page, {"term": "date", "contract_end_date": typed})
    assert result.errors["contract_end_date"].startswith(message)


# -- a contract end date that has passed ------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "taken"),
    [
        ("2026-11-27", False),
        ("2026-11-28", True),  # UTC's yesterday: still today for a customer at UTC-12
        ("2026-11-29", True),
        ("2031-01-01", True),
    ],
)
def test_an_end_date_that_has_passed_is_refused_next_to_the_field(monkeypatch, typed, taken):
    """The reference client's calendar greys out past days; a typed one (or a browser with a
    text box) gets told why, with what was typed kept, and which choice fits an ended contract."""
    monkeypatch.setattr(ContractTermCapture, "today", lambda self: date(2026, 11, 29))
    adapter = adapter_for("contract_term_capture")
    page = Page.from_connect(REFERENCE_PAGES["contract_term_capture"])
    result = adapter.parse(page, {"term": "date", "contract_end_date": typed})
    if taken:
        assert result.data == {"contract_end_date": f"{typed}T00:00:00Z"}
        return
    assert isinstance(result, Rerender)
    assert result.values == {"term": "date", "contract_end_date": typed}
    assert result.errors == {
        "contract_end_date": "That date has passed. Enter a date from today on, or, if your "
        "contract has already ended, choose no end date."
    }


def test_the_date_picker_starts_at_the_earliest_date_taken(monkeypatch):
    monkeypatch.setattr(ContractTermCapture, "today", lambda self: date(2026, 11, 29))
    document = parse_document(render(REFERENCE_PAGES["contract_term_capture"]))
    assert document.find(".//input[@id='f-contract_end_date']").get("min") == "2026-11-28"
