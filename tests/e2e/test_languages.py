"""A whole flow in each shipped language (German and French, where strings run longest, and
Spanish, Italian and Dutch), in Chromium at 320 px: every page in the language the browser asks
for, axe clean at every width, no horizontal scroll, and no control whose text is clipped."""

from __future__ import annotations

import re

import pytest

from tests.e2e.driver import Flow, complete_short_flow
from tests.e2e.upstream import LONDON

pytestmark = pytest.mark.browser

# Text wider than the control that holds it: cut off, or spilling out of its box.
_CLIPPED_JS = """
() => [...document.querySelectorAll('#page button, #page a.button, #page summary, #page label')]
  .filter(el => el.offsetParent !== null)
  .filter(el => el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1)
  .map(el => el.tagName.toLowerCase() + ' "' + el.innerText.trim().slice(0, 50) + '"')
"""

LANGUAGES = {
    # What the browser asks for, <html lang>, and words that only that language's pages use.
    "de-DE": ("de", re.compile(r"Weiter|Adresse|Stromanbieter|Tarif")),
    "fr-FR": ("fr", re.compile(r"Continuer|Adresse|fournisseur|offre")),
    "es-ES": ("es", re.compile(r"Continuar|Dirección|comercializadora|tarifa", re.IGNORECASE)),
    "it-IT": ("it", re.compile(r"Continua|Indirizzo|fornitore|tariffa", re.IGNORECASE)),
    "nl-NL": ("nl", re.compile(r"Doorgaan|Adres|leverancier|tarief", re.IGNORECASE)),
}


@pytest.mark.parametrize("browser_locale", sorted(LANGUAGES))
def test_a_whole_flow_in_the_browsers_language_at_320_px(
    open_page, auditor, start_url, browser_locale: str
) -> None:
    lang, own_words = LANGUAGES[browser_locale]
    page = open_page(width=320, height=640, locale=browser_locale)
    audit = auditor(page)
    flow = Flow(page)
    problems: list[str] = []

    def check(state: str) -> None:
        assert (page.get_attribute("html", "lang") or "").startswith(lang), state
        text = page.inner_text("#page")
        assert own_words.search(text), f"{state} is not in {lang}: {text[:200]}"
        assert not re.search(r"\b(Continue|Your address|Check your tariff)\b", text), state
        page.set_viewport_size({"width": 320, "height": 640})
        problems.extend(f"{state}: clipped {what}" for what in page.evaluate(_CLIPPED_JS))
        audit.check(f"{lang}-{state}")

    page.goto(start_url())
    flow.expect_route("postal_address_capture")
    check("address")
    flow.address(LONDON)
    flow.expect_route("provider_select")
    check("providers")
    complete_short_flow(flow, before_save=lambda: check("summary"))
    page.locator('[data-flow-state="done"]').wait_for()
    check("done")
    assert not problems, "\n".join(problems)
    audit.assert_clean()


def test_a_start_link_in_german_wins_over_an_english_browser(
    open_page, auditor, signed_start_url
) -> None:
    page = open_page(width=320, height=640, locale="en-GB")
    audit = auditor(page)
    page.goto(signed_start_url("e2e-deutsch-1", "--locale", "de"))
    flow = Flow(page)
    flow.expect_route("postal_address_capture")
    assert page.get_attribute("html", "lang") == "de"
    assert "Adresse" in page.inner_text("#page")
    flow.address(LONDON)
    flow.expect_route("provider_select")
    assert "Stromanbieter" in page.inner_text("#page")
    audit.check("de-link-providers")
    audit.assert_clean()
