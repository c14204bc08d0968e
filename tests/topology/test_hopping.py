"""Hopping instances: a customer whose successive requests land on different app instances
completes every path.

Workers and instances keep nothing between requests (sessions, flow handles, the step ledger,
the bearer cache, rate-limit counters and results are in Redis), so nginx balances with no
stickiness. These tests force the worst case of that: every request goes to the other instance
than the one before (``HopBrowser``, straight at their ports), through each path Connect has
(tests/webapp/test_flow_paths.py walks the same ones in-process), the settings page, with and
without cookies, and once through nginx itself.
"""

from __future__ import annotations

import itertools
from urllib.parse import urlsplit

import pytest
import redis

from devstack.topology import APP_DB, Topology
from tests.topology.conftest import HopBrowser
from tests.webapp.conftest import GB_ADDRESS, Browser, HttpBrowser
from webapp import results

pytestmark = pytest.mark.topology

DEMO_REF = "demo-customer-0001"


def app_redis(topology: Topology) -> redis.Redis:
    return topology.redis_client(APP_DB)


def stored(topology: Topology, ref: str = DEMO_REF) -> results.Result | None:
    with app_redis(topology) as client:
        return results.get(client, ref)


@pytest.fixture(autouse=True)
def no_stored_result(topology: Topology) -> None:
    """Each path starts with no stored result for the demo customer, so its own result is the
    one checked (rate-limit counters stay: nginx and the instances keep the same address)."""
    with app_redis(topology) as client:
        for key in client.scan_iter("connect:result*"):
            client.delete(key)


def to_provider_select(browser: Browser) -> None:
    browser.get("/")
    page = browser.submit(button=("mode", "connect"))
    assert page.route == "postal_address_capture", page.text()[:400]
    page = browser.submit(GB_ADDRESS)
    assert page.route == "provider_select", page.text()[:400]


def name_and_term(browser: Browser, name: str) -> None:
    page = browser.submit({"tariff_name": name})
    assert page.route == "contract_term_capture", page.text()[:400]
    browser.submit({"term": "date", "contract_end_date": "2099-06-30"})


def save(topology: Topology, browser: Browser, summary: str, action: str = "SAVE") -> None:
    assert browser.page is not None and browser.page.route == summary, browser.page.text()[:400]
    page = browser.action(action)
    assert page.status == 200, page.text()[:400]
    result = stored(topology)
    assert result is not None and result.complete_action == action
    assert result.customer_id.startswith("cus_") and result.location_id.startswith("loc_")


def library(browser: Browser) -> str:
    browser.provider("Northwind Energy")
    page = browser.tariff("Northwind Fixed 12M")
    assert page.route == "contract_term_capture", page.text()[:400]
    browser.submit({"term": "none"})
    return "summary_fixed_confirm"


def manual_fixed(browser: Browser) -> str:
    browser.provider("Hearth & Home Electric")
    browser.submit(button=("option", "FIXED"))
    page = browser.submit({"cost": "24.5"})
    assert page.route == "tariff_name_capture", page.text()[:400]
    name_and_term(browser, "Hearth Fixed")
    return "summary_fixed_confirm"


def time_of_day(browser: Browser) -> str:
    browser.provider("Hearth & Home Electric")
    page = browser.submit(button=("option", "TIME_OF_DAY"))
    assert page.route == "rate_tod_capture", page.text()[:400]
    periods = {
        "from_0": "07:00", "to_0": "23:00", "cost_0": "30",
        "from_1": "23:00", "to_1": "07:00", "cost_1": "9.5",
    }  # fmt: skip
    page = browser.submit(periods)
    assert page.route == "tariff_name_capture", page.text()[:600]
    name_and_term(browser, "Two Rate")
    return "summary_tou_confirm"


def market(browser: Browser) -> str:
    browser.provider("Tidal Market Power")
    page = browser.submit(button=("option", "MARKET"))
    assert page.route == "market_surcharge_capture", page.text()[:400]
    page = browser.submit({"surcharge_fixed": "2.5", "surcharge_percentage": "5"})
    assert page.route == "tariff_name_capture", page.text()[:600]
    name_and_term(browser, "Tidal Tracker")
    return "summary_tou_confirm"


def provider_missing(browser: Browser) -> str:
    browser.action("PROVIDER_MISSING")
    page = browser.submit({"provider_name": "Acme Power"})
    assert page.route == "tariff_structure_select", page.text()[:400]
    browser.submit(button=("option", "FIXED"))
    browser.submit({"cost": "27"})
    name_and_term(browser, "Acme")
    return "summary_fixed_confirm"


def direct_login(browser: Browser) -> str:
    """A provider's own login (DIRECT): out to the sandbox's login page and back through
    nginx's URL (``PUBLIC_URL``), which the customer's browser then sends to whichever
    instance is next."""
    page = browser.provider("Voltaic Direct")
    assert page.state == "provider-login", page.text()[:400]
    browser.leave_for_login()
    page = browser.provider_login("approve")
    assert page.route in ("summary_fixed_confirm", "summary_tou_confirm"), page.text()[:400]
    return page.route


PATHS = {
    "library": library,
    "manual": manual_fixed,
    "time-of-use": time_of_day,
    "market": market,
    "provider-missing": provider_missing,
    "direct-login": direct_login,
}


def assert_hopped(browser: HopBrowser, topology: Topology) -> None:
    served = browser.hops.served_by
    assert len(served) >= 6
    assert all(a != b for a, b in itertools.pairwise(served)), served
    assert {app.url for app in topology.apps} == set(served)


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("path", list(PATHS))
def test_every_path_completes_hopping_between_instances(
    topology: Topology, path: str, htmx: bool
) -> None:
    browser = HopBrowser(topology, htmx=htmx)
    to_provider_select(browser)
    summary = PATHS[path](browser)
    save(topology, browser, summary)
    assert_hopped(browser, topology)


def test_a_browser_without_cookies_completes_hopping_between_instances(
    topology: Topology,
) -> None:
    """A partner's frame whose browser keeps no cookie (Safari) runs on the flow handle and
    launch codes: Redis-backed too, so they work on any instance."""
    link = topology.apps[0].cli(
        "connect-link", "cookieless-hopper", "--origin", "https://partner.example"
    )
    browser = HopBrowser(topology, cookies=False)
    page = browser.get(link.strip())
    assert page.route == "postal_address_capture", page.text()[:400]
    page = browser.submit(GB_ADDRESS)
    assert page.route == "provider_select", page.text()[:400]
    summary = library(browser)
    assert browser.page is not None and browser.page.route == summary
    page = browser.action("SAVE")
    assert page.status == 200 and page.state == "done", page.text()[:400]
    result = stored(topology, "cookieless-hopper")
    assert result is not None and result.complete_action == "SAVE"
    assert not browser.hops.http.cookies, "a cookie was stored against the policy"
    assert_hopped(browser, topology)


def test_settings_page_connect_and_back_hopping_between_instances(topology: Topology) -> None:
    """The tariff settings page: a card's Connect starts a flow, which ends back on the page,
    now showing the tariff connected, every request on the other instance."""
    link = topology.apps[1].cli("connect-settings-link", "settings-hopper").strip()
    assert link.startswith(topology.url + "/settings/")  # PUBLIC_URL is nginx's
    browser = HopBrowser(topology)
    page = browser.get(link)
    assert page.status == 200
    assert (
        'data-kind="commodity_import"' in page.html and 'data-kind="commodity_export"' in page.html
    )
    connect = next(f for f in page.forms if f.action.endswith("/connect/commodity_import"))
    page = browser.submit(form=connect)
    assert page.route == "postal_address_capture", page.text()[:400]
    page = browser.submit(GB_ADDRESS)
    assert page.route == "provider_select", page.text()[:400]
    assert library(browser) == browser.page.route
    page = browser.action("SAVE")
    assert urlsplit(page.url).path.startswith("/settings/"), page.url
    assert 'data-status="connected"' in page.html
    result = stored(topology, "settings-hopper")
    assert result is not None and result.complete_action == "SAVE"
    assert_hopped(browser, topology)


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_a_flow_through_nginx_completes(topology: Topology, htmx: bool) -> None:
    """The way production's customers come: only through nginx, which spreads the requests
    over both instances (least_conn, no stickiness)."""
    browser = HttpBrowser(topology.url, htmx=htmx)
    to_provider_select(browser)
    save(topology, browser, library(browser))
    # nginx's access log names the instance of every request it passed on.
    used = {
        line.split("upstream=")[1].split()[0]
        for line in topology.nginx.access_log().splitlines()
        if "upstream=" in line and "upstream=-" not in line
    }
    assert {f"127.0.0.1:{app.port}" for app in topology.apps} <= used
