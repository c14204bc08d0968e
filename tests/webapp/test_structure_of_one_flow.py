"""A market-only provider in the sandbox: its one tariff structure is confirmed with one button
and leads on to the surcharge (issue 12, item 10)."""

from __future__ import annotations

import re

from tests.webapp.conftest import Browser
from tests.webapp.test_flow_paths import to_provider_select


def test_market_only_provider_is_a_confirmation(browser: Browser) -> None:
    to_provider_select(browser)
    page = browser.provider("Tidal Market Power")
    assert page.route == "tariff_structure_select"
    assert re.search(r"<h1[^>]*>Your price follows the market</h1>", page.html)
    options = re.findall(r'<button type="submit"[^>]*name="option" value="([A-Z_]+)"', page.html)
    assert options == ["MARKET"]
    page = browser.submit(button=("option", "MARKET"))
    assert page.route == "market_surcharge_capture", page.text()[:400]


def test_manual_provider_is_still_a_choice(browser: Browser) -> None:
    to_provider_select(browser)
    page = browser.provider("Hearth & Home Electric")
    assert re.search(r"<h1[^>]*>How your price works</h1>", page.html)
    options = re.findall(r'name="option" value="([A-Z_]+)"', page.html)
    assert options == ["FIXED", "TIME_OF_DAY"]
