"""The address page asks only what the customer's country needs, with the country chosen where
we can tell it (issue 12, item 7): template and adapter, without a process."""

from __future__ import annotations

import copy

import pytest

from tests.webapp.pages_harness import REFERENCE_PAGES, make_app, parse_document, render
from webapp.config import ConfigError, from_env, load
from webapp.page import Page
from webapp.pages import Rerender, Submit, adapter_for
from webapp.pages.postal_address_capture import guessed_country, region_of

pytestmark = pytest.mark.unit  # no process: see tests/README.md

ADAPTER = adapter_for("postal_address_capture")


def address_page(**address: str) -> dict:
    page = copy.deepcopy(REFERENCE_PAGES["postal_address_capture"])
    page["data"]["postal_address"].update(address)
    return page


def rendered(page: dict, app=None, languages: str | None = None, **kwargs) -> str:
    app = app or make_app()
    headers = {"Accept-Language": languages} if languages else {}
    with app.test_request_context("/connect/flow", headers=headers):
        return render(page, **kwargs)


def chosen_country(markup: str) -> list[str]:
    document = parse_document(markup)
    options = document.findall(".//select[@name='country_code']/option")
    return [o.get("value") for o in options if o.get("selected") is not None]


def label_of(document, name: str) -> str:
    label = document.find(f".//label[@for='f-{name}']")
    return "".join(label.itertext()).replace("(optional)", "").strip()


# -- which country is chosen -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "region"),
    [
        ("en-GB", "GB"),
        ("en-gb", "GB"),
        ("de_AT", "AT"),
        ("zh-Hant-TW", "TW"),
        ("sr-Latn-RS", "RS"),
        ("en", ""),
        ("es-419", ""),
        ("*", ""),
        ("en-GB-oxendict", "GB"),
        ("x-klingon", ""),
    ],
)
def test_region_of_a_language_tag(tag, region):
    assert region_of(tag) == region


@pytest.mark.parametrize(
    ("languages", "country"),
    [
        ("en-GB,en;q=0.9", ["GB"]),
        ("en-US,en;q=0.9", ["US"]),
        ("fr-CH, fr;q=0.9, en-GB;q=0.8", ["CH"]),
        ("en;q=0.9, de-DE;q=0.8", ["DE"]),  # the first language that names a country
        ("en", []),  # a language alone names no country
        ("en-ZZ", []),  # not a country we list
        (None, []),
    ],
)
def test_the_browsers_region_chooses_the_country(languages, country):
    assert chosen_country(rendered(address_page(), languages=languages)) == country


def test_the_partners_default_beats_the_browser():
    app = make_app(DEFAULT_COUNTRY="DE")
    assert chosen_country(rendered(address_page(), app, "en-GB")) == ["DE"]


def test_connects_country_beats_everything():
    """The start link's country arrives this way too (the token's address, webapp/entry.py)."""
    app = make_app(DEFAULT_COUNTRY="DE")
    assert chosen_country(rendered(address_page(country_code="US"), app, "en-GB")) == ["US"]


def test_what_the_customer_chose_beats_everything():
    app = make_app(DEFAULT_COUNTRY="DE")
    typed = {"country_code": "FR", "city": "Paris"}
    markup = rendered(address_page(country_code="US"), app, "en-GB", values=typed)
    assert chosen_country(markup) == ["FR"]
    # Chosen nothing, after an error: nothing is chosen for them behind their back.
    markup = rendered(address_page(), app, "en-GB", values={"country_code": ""})
    assert chosen_country(markup) == []


def test_no_guess_outside_a_request():
    assert guessed_country() == ""


def test_default_country_setting_is_checked():
    assert from_env({"DEFAULT_COUNTRY": " gb "})["DEFAULT_COUNTRY"] == "GB"
    assert from_env({})["DEFAULT_COUNTRY"] == ""
    for bad in ("GBR", "UK", "EU", "ZZ", "1A"):
        with pytest.raises(ConfigError, match="DEFAULT_COUNTRY"):
            load({"DEFAULT_COUNTRY": bad})
    assert load({"DEFAULT_COUNTRY": "IE"})["DEFAULT_COUNTRY"] == "IE"


# -- the fields follow the country -------------------------------------------------------------


def test_the_country_comes_first():
    document = parse_document(rendered(address_page(country_code="GB")))
    form = document.find(".//form[@id='address-form']")
    named = [el.get("name") for el in form.iter() if el.tag in ("input", "select")]
    named = [n for n in named if n not in ("csrf_token", "flow", "route", "version")]
    assert named == ["country_code", "address_line1", "address_line2", "city", "post_code"]


@pytest.mark.parametrize(
    ("country", "post_code", "state"),
    [
        ("GB", "Postcode", None),
        ("US", "ZIP code", "State"),
        ("CA", "Postal code", "Province or territory"),
        ("AU", "Postcode", "State or territory"),
        ("IE", "Eircode", None),
        ("DE", "Postal code", None),
        ("", "Postal code", None),
    ],
)
def test_labels_and_state_follow_the_country(country, post_code, state):
    markup = rendered(address_page(country_code=country))
    document = parse_document(markup)
    assert label_of(document, "post_code") == post_code
    assert document.find(".//span[@id='post-code-name']").text == post_code
    field = document.find(".//*[@name='state']")
    if state is None:
        assert field is None
    else:
        assert field.tag == "select" and field.get("required") is not None
        assert label_of(document, "state") == state
    assert "State, province or county" not in markup
    assert "Postcode or ZIP code" not in markup


def test_a_uk_customer_never_sees_a_state_field():
    """Connect may know a county for a UK address ("Greater London"); the form does not ask."""
    markup = rendered(address_page(country_code="GB", state="Greater London"), languages="en-GB")
    assert 'name="state"' not in markup and "county" not in markup.lower()


def test_state_list_keeps_the_choice():
    document = parse_document(rendered(address_page(country_code="CA", state="QC")))
    options = document.findall(".//select[@name='state']/option")
    assert options[0].get("value") == "" and options[0].text == "Choose your province or territory"
    assert [o.get("value") for o in options if o.get("selected") is not None] == ["QC"]


def test_error_summary_names_the_fields_as_the_country_does():
    errors = {"post_code": "Enter your ZIP code.", "state": "Choose your state."}
    document = parse_document(
        rendered(address_page(country_code="US"), values={"country_code": "US"}, errors=errors)
    )
    links = [
        "".join(a.itertext()) for a in document.findall(".//ul[@class='error-summary__list']/li/a")
    ]
    assert links == ["ZIP code: Enter your ZIP code.", "State: Choose your state."]


# -- changing the country, with and without JS ------------------------------------------------


def test_without_js_a_button_beside_the_country_shows_its_fields():
    document = parse_document(rendered(address_page(country_code="GB")))
    form = document.find(".//form[@id='address-form']")
    submits = [el for el in form.iter("button") if el.get("type") == "submit"]
    # Enter in a field presses the first submit button: a hidden, unnamed Continue.
    assert submits[0].get("hidden") is not None and submits[0].get("name") is None
    refresh = submits[1]
    assert (refresh.get("name"), refresh.get("value")) == ("edit", "country")
    assert "".join(refresh.itertext()).strip() == "Show the fields for this country"
    order = list(form.iter())
    assert order.index(form.find(".//select[@name='country_code']")) < order.index(refresh)
    assert order.index(refresh) < order.index(form.find(".//input[@name='address_line1']"))
    assert submits[-1].get("name") is None and submits[-1].get("hidden") is None  # Continue


def test_with_js_the_country_swaps_only_what_depends_on_it():
    document = parse_document(rendered(address_page(country_code="GB")))
    select = document.find(".//select[@name='country_code']")
    assert select.get("hx-post") == "/connect/flow"
    assert select.get("hx-vals") == '{"edit": "country"}'
    assert select.get("hx-trigger").startswith("change")
    assert select.get("hx-target") == select.get("hx-select") == "#address-state"
    assert select.get("hx-select-oob") == "#post-code-name"
    assert select.get("hx-sync") == "closest form:abort"
    assert document.find(".//div[@id='address-state']") is not None  # present, even empty
    assert select.get("data-refresh") is None  # app.js's old local swap stays out of it


def test_the_swapped_fragment_carries_the_new_fields():
    """What htmx receives after choosing the US: the state list and the ZIP code's name."""
    fragment = rendered(address_page(country_code="GB"), values={"country_code": "US"}, htmx=True)
    assert '<div id="address-state">' in fragment and 'name="state"' in fragment
    assert '<span id="post-code-name">ZIP code</span>' in fragment


# -- what is sent ------------------------------------------------------------------------------

TYPED = {
    "address_line1": "1 Test Street",
    "city": "London",
    "post_code": "SW1A 1AA",
    "country_code": "GB",
}


def parse(form: dict[str, str]):
    return ADAPTER.parse(Page.from_connect(address_page()), form)


def test_a_state_left_from_another_country_is_not_sent():
    """No JS: the customer had the US (and Texas) chosen, picked the UK and pressed Continue."""
    result = parse({**TYPED, "state": "TX"})
    assert isinstance(result, Submit)
    assert "state" not in result.data["postal_address"]


def test_a_country_that_needs_a_state_asks_for_it():
    result = parse({**TYPED, "country_code": "US", "city": "Austin", "post_code": "78701"})
    assert isinstance(result, Rerender) and result.errors == {"state": "Choose your state."}
    result = parse({**TYPED, "country_code": "AU", "state": "TX"})
    assert isinstance(result, Rerender) and result.errors == {"state": "Choose one from the list."}
    result = parse({**TYPED, "country_code": "US", "state": "TX"})
    assert isinstance(result, Submit) and result.data["postal_address"]["state"] == "TX"


def test_changing_the_country_sends_nothing():
    result = parse({**TYPED, "country_code": "us", "state": "", "edit": "country"})
    assert result == Rerender(values={**result.values, "country_code": "US"}, errors={})
    assert result.values["city"] == "London"
