"""The provider list is easy to scan and shows the logos a local sandbox serves
(issue 12, item 14)."""

from __future__ import annotations

import copy

import pytest

from tests.webapp.pages_harness import REFERENCE_PAGES, make_app, parse_document, render
from webapp.pages.common import provider_of, safe_logo_url

pytestmark = pytest.mark.unit  # no process: see tests/README.md

SANDBOX = "http://127.0.0.1:8010"
LOGO = f"{SANDBOX}/_sandbox/logos/prv_0000000000000000000000a1.svg"


@pytest.fixture(scope="module")
def app():
    return make_app(
        FLATPEAK_API_URL=SANDBOX, FLATPEAK_CONNECT_URL=SANDBOX, PUBLIC_URL="http://127.0.0.1:8000"
    )


@pytest.fixture
def ctx(app):
    with app.test_request_context("/connect/flow"):
        yield


# -- which logos are shown ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://s.flatpeak.com/a1.png",
        "/static/logo.svg",
        LOGO,  # the configured FlatPeak origin (a local sandbox), over http like our pages
        f"  {LOGO}  ",
    ],
)
def test_logos_we_show(ctx, url):
    assert safe_logo_url(url) == url.strip()


@pytest.mark.parametrize(
    "url",
    [
        "",
        None,
        42,
        "http://evil.example/logo.svg",
        "http://127.0.0.1:8011/_sandbox/logos/x.svg",  # another port: another origin
        "http://127.0.0.1:8010@evil.example/x.svg",  # user info, not the sandbox's host
        "http://127.0.0.1:8010.evil.example/x.svg",
        "//127.0.0.1:8010/_sandbox/logos/x.svg",
        "javascript:alert(1)",
        "data:image/svg+xml,<svg/>",
        "HTTP://evil.example/x.svg",
    ],
)
def test_logos_we_refuse(ctx, url):
    assert safe_logo_url(url) == ""


def test_an_http_flatpeak_logo_is_refused_on_https_pages():
    """An https page would block it as mixed content: the name stands alone instead."""
    app = make_app(FLATPEAK_API_URL=SANDBOX, PUBLIC_URL="https://connect.example")
    with app.test_request_context("/connect/flow"):
        assert safe_logo_url(LOGO) == ""
        assert safe_logo_url("https://s.flatpeak.com/a1.png") == "https://s.flatpeak.com/a1.png"


def test_no_origin_is_trusted_outside_a_request():
    assert safe_logo_url(LOGO) == ""
    assert safe_logo_url("https://s.flatpeak.com/a1.png") == "https://s.flatpeak.com/a1.png"


def test_the_page_provider_gets_the_same_rule(ctx):
    assert provider_of({"provider": {"id": "prv_1", "logo_url": LOGO}})["logo_url"] == LOGO


# -- the list ----------------------------------------------------------------------------------

NAMES = [
    "Voltaic Direct",
    "northwind Energy",
    "Tidal Market Power",
    "Électricité Verte",
    "Brightside Power",
    "Ember Utilities",
    "Cobalt Energy",
]


def provider_page(names: list[str] = NAMES, logo: str = LOGO) -> dict:
    page = copy.deepcopy(REFERENCE_PAGES["provider_select"])
    page["data"]["providers"] = [
        {"id": f"prv_{i:024x}", "display_name": name, "logo_url": logo if i % 2 else ""}
        for i, name in enumerate(names)
    ]
    return page


def rows(document) -> list:
    return document.findall(".//ul[@id='provider-list']/li")


def test_providers_are_listed_a_to_z(ctx):
    document = parse_document(render(provider_page()))
    shown = [li.find(".//span[@class='provider-name']").text for li in rows(document)]
    assert shown == [
        "Brightside Power",
        "Cobalt Energy",
        "Électricité Verte",
        "Ember Utilities",
        "northwind Energy",
        "Tidal Market Power",
        "Voltaic Direct",
    ]


def test_search_keeps_the_order(ctx):
    document = parse_document(render(provider_page(), query={"q": "power"}))
    shown = [li.find(".//span[@class='provider-name']").text for li in rows(document)]
    assert shown == ["Brightside Power", "Tidal Market Power"]


def test_each_row_is_logo_or_initial_and_name(ctx):
    document = parse_document(render(provider_page()))
    listed = document.find(".//ul[@id='provider-list']")
    assert "option-list--rows" in listed.get("class")
    for li in rows(document):
        button = li.find("button")
        assert button.get("name") == "provider_id" and "option--row" in button.get("class")
        img, monogram = button.find("img"), button.find("span[@class='provider-monogram']")
        assert (img is None) != (monogram is None)
        if img is not None:
            assert img.get("src") == LOGO and img.get("alt") == ""
            assert img.get("width") == img.get("height") == "40"
        else:
            assert monogram.get("aria-hidden") == "true"
        assert button.find("span[@class='provider-name']").text


def test_sandbox_logos_are_shown_in_the_list(ctx):
    markup = render(provider_page())
    assert f'src="{LOGO}"' in markup


def test_not_listed_sits_apart_under_its_own_heading(ctx):
    page = provider_page()
    page["actions"] = ["ADDRESS_CHANGE", "PROVIDER_MISSING", "BACK"]
    document = parse_document(render(page))
    body = list(document.iter())
    heading = next(el for el in body if el.tag == "h2" and el.text == "Can't find your provider?")
    missing = next(el for el in body if el.get("value") == "PROVIDER_MISSING")
    back = next(el for el in body if el.get("value") == "BACK")
    listed = document.find(".//ul[@id='provider-list']")
    assert body.index(listed) < body.index(heading) < body.index(missing) < body.index(back)
    # Back is not one of the "not listed" choices: it is in a form of its own.
    forms = [f for f in document.iter("form") if f.find(".//button[@name='action']") is not None]
    values = [[b.get("value") for b in f.iter("button")] for f in forms]
    assert ["PROVIDER_MISSING"] in values and ["BACK"] in values


def test_no_heading_without_the_action(ctx):
    page = provider_page()
    page["actions"] = ["ADDRESS_CHANGE"]
    assert "Can't find your provider?" not in render(page)


def test_tariff_list_is_unchanged(ctx):
    document = parse_document(render(REFERENCE_PAGES["tariff_select"]))
    assert document.find(".//ul[@id='tariff-list']").get("class").split() == ["option-list"]
    assert "Can't find" not in render(REFERENCE_PAGES["tariff_select"])
