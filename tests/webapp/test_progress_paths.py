"""The progress bar along every path through the sandbox (issue 12, item 9): it names a stage
on every page, never counts steps, never goes back on a forward path, and skips a stage only
where the provider login supplied what the skipped pages would have asked."""

from __future__ import annotations

import re

from tests.webapp.conftest import GB_ADDRESS, Browser, Page
from tests.webapp.test_flow_paths import start_demo

TERM = {"term": "date", "contract_end_date": "2099-06-30"}


def stage(page: Page) -> tuple[str, int]:
    """(the stage the bar names, its value) on a flow page, after checking there is no count."""
    label = re.search(r'<p class="progress__label" id="progress-label">([^<]*)</p>', page.html)
    value = re.search(r'<progress class="progress__bar" max="5" value="(\d)"', page.html)
    assert label and value, f"no progress bar on {page.route}: {page.text()[:300]}"
    assert not re.search(r"Step \d+ of \d+", page.html), page.route
    return label.group(1), int(value.group(1))


class Walk:
    """A browser that notes the bar of every flow page it is shown."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.seen: list[tuple[str, str, int]] = []
        start_demo(browser)
        self.note()

    def note(self) -> None:
        page = self.browser.page
        assert page is not None
        # The page before a provider's login is ours, about leaving, not a stage of the flow.
        if page.route and page.route != "session_redirect":
            self.seen.append((page.route, *stage(page)))

    def submit(self, fields: dict[str, str] | None = None, **kwargs) -> None:
        self.browser.submit(fields, **kwargs)
        self.note()

    def provider(self, name: str) -> None:
        self.browser.provider(name)
        self.note()

    def login(self, outcome: str) -> None:
        self.browser.provider_login(outcome)
        self.note()

    def values(self) -> list[int]:
        return [value for _route, _label, value in self.seen]

    def routes(self) -> list[str]:
        return [route for route, _label, _value in self.seen]


def assert_forward_without_gaps(walk: Walk) -> None:
    values = walk.values()
    assert values == sorted(values), walk.seen
    assert set(values) == set(range(1, 6)), f"a stage was skipped: {walk.seen}"


def test_library_path_skips_no_stage(browser: Browser) -> None:
    """The path of the issue: it used to jump from step 3 to step 5."""
    walk = Walk(browser)
    walk.submit(GB_ADDRESS)
    walk.provider("Northwind Energy")
    walk.browser.tariff("Northwind Fixed 12M")
    walk.note()
    walk.submit(TERM)
    assert walk.routes() == [
        "postal_address_capture",
        "provider_select",
        "tariff_select",
        "contract_term_capture",
        "summary_fixed_confirm",
    ]
    assert_forward_without_gaps(walk)
    assert [label for _r, label, _v in walk.seen] == [
        "Your address",
        "Your provider",
        "Your tariff",
        "Tariff details",
        "Check and confirm",
    ]


def test_manual_fixed_path(browser: Browser) -> None:
    walk = Walk(browser)
    walk.submit(GB_ADDRESS)
    walk.provider("Hearth & Home Electric")
    walk.submit(button=("option", "FIXED"))
    walk.submit({"cost": "24.5"})
    walk.submit({"tariff_name": "Hearth Fixed"})
    walk.submit(TERM)
    assert walk.routes()[-1] == "summary_fixed_confirm"
    assert_forward_without_gaps(walk)


def test_manual_time_of_day_path(browser: Browser) -> None:
    walk = Walk(browser)
    walk.submit(GB_ADDRESS)
    walk.provider("Hearth & Home Electric")
    walk.submit(button=("option", "TIME_OF_DAY"))
    periods = {"from_0": "07:00", "to_0": "23:00", "cost_0": "30",
               "from_1": "23:00", "to_1": "07:00", "cost_1": "9.5"}  # fmt: skip
    walk.submit(periods)
    walk.submit({"tariff_name": "Two Rate"})
    walk.submit(TERM)
    assert walk.routes()[-1] == "summary_tou_confirm", walk.seen
    assert_forward_without_gaps(walk)


def test_market_path(browser: Browser) -> None:
    walk = Walk(browser)
    walk.submit(GB_ADDRESS)
    walk.provider("Tidal Market Power")
    walk.submit(button=("option", "MARKET"))
    walk.submit({"surcharge_fixed": "2.5", "surcharge_percentage": "5"})
    walk.submit({"tariff_name": "Tracker"})
    walk.submit(TERM)
    assert walk.routes()[-1] == "summary_tou_confirm", walk.seen
    assert_forward_without_gaps(walk)


def test_provider_not_listed_path(browser: Browser) -> None:
    walk = Walk(browser)
    walk.submit(GB_ADDRESS)
    walk.submit(button=("action", "PROVIDER_MISSING"))
    walk.submit({"provider_name": "Acme Power"})
    walk.submit(button=("option", "FIXED"))
    walk.submit({"cost": "27"})
    walk.submit({"tariff_name": "Acme"})
    walk.submit(TERM)
    assert walk.seen[2][:2] == ("provider_name_capture", "Your provider")
    assert_forward_without_gaps(walk)


def test_direct_approve_fills_the_bar_at_once(browser: Browser) -> None:
    """The provider login reads the tariff: from the provider straight to check and confirm.
    No count was promised, so nothing was skipped that the customer was told about."""
    walk = Walk(browser)
    walk.submit(GB_ADDRESS)
    walk.provider("Voltaic Direct")
    walk.login("approve")
    assert walk.values() == [1, 2, 5], walk.seen
    assert walk.seen[-1][1] == "Check and confirm"


def test_direct_pending_is_the_last_stage(browser: Browser) -> None:
    walk = Walk(browser)
    walk.submit(GB_ADDRESS)
    walk.provider("Voltaic Direct")
    walk.login("pending")
    assert walk.seen[-1][:2] == ("summary_tariff_inprogress", "Check and confirm")


def test_direct_fail_stays_at_the_provider_and_reconnect_continues_there(
    browser: Browser,
) -> None:
    walk = Walk(browser)
    walk.submit(GB_ADDRESS)
    walk.provider("Voltaic Direct")
    walk.login("fail")
    assert walk.seen[-1] == ("summary_tariff_failed", "Your provider", 2)
    assert "Check and confirm" not in walk.browser.page.html
    walk.submit(button=("action", "RECONNECT"))
    assert walk.seen[-1] == ("provider_select", "Your provider", 2)


def test_direct_skip_continues_at_the_tariff(browser: Browser) -> None:
    walk = Walk(browser)
    walk.submit(GB_ADDRESS)
    walk.provider("Voltaic Direct")
    walk.login("skip")
    walk.browser.tariff("Voltaic Fixed 24M")
    walk.note()
    walk.submit(TERM)
    assert walk.routes()[2:] == ["tariff_select", "contract_term_capture", "summary_fixed_confirm"]
    assert_forward_without_gaps(walk)
