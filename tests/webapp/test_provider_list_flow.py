"""The sandbox's provider list through the app: A to Z, with the logos the sandbox serves, which
the app's CSP allows (issue 12, item 14)."""

from __future__ import annotations

import re

import requests

from devstack.stack import SandboxServer
from sandbox import fixtures
from tests.webapp.conftest import Browser
from tests.webapp.test_flow_paths import to_provider_select
from webapp.pages.common import fold


def test_sandbox_logos_show_in_the_list(browser: Browser, sandbox: SandboxServer) -> None:
    to_provider_select(browser)
    page = browser.page
    assert page is not None and page.route == "provider_select"
    rows = re.findall(
        r'<button type="submit" name="provider_id" value="(prv_\w+)" class="option option--row">'
        r"\s*(?:<img class=\"provider-logo\" src=\"([^\"]+)\"|<span class=\"provider-monogram\")",
        page.html,
    )
    gb = [p for p in fixtures.PROVIDERS if p.country == "GB" and p.supplies("SW1A 1AA")]
    assert len(rows) == len(gb) == 14
    logos = {provider_id: src for provider_id, src in rows}
    for provider in gb:
        if provider.has_logo:
            assert logos[provider.id] == f"{sandbox.url}/_sandbox/logos/{provider.id}.svg"
        else:
            assert logos[provider.id] == "", provider.name
    assert sum(1 for p in gb if p.has_logo) >= 10, "most providers should have a logo"
    # The browser may load them: CSP img-src names the sandbox (the FlatPeak origin).
    img_src = next(d for d in page.headers["Content-Security-Policy"].split(";") if "img-src" in d)
    assert sandbox.url in img_src.split()
    shown = [src for src in logos.values() if src]
    answer = requests.get(shown[0], timeout=10)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("image/svg")


def test_the_list_is_a_to_z(browser: Browser) -> None:
    to_provider_select(browser)
    names = re.findall(r'<span class="provider-name">([^<]+)</span>', browser.page.html)
    names = [n.replace("&amp;", "&") for n in names]
    assert len(names) == 14
    assert names == sorted(names, key=fold)
    assert names[0] == "Brightside Power" and names[-1] == "Voltaic Direct"
