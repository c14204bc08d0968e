"""Drive the Connect flow the way a customer does, through the form contract of docs/page-forms.md.

A ``Flow`` works on a ``Page`` or on the ``Frame`` of a partner's iframe. It finds controls by the
field names and button values that contract fixes (``name="provider_id"``, ``value="SAVE"`` ...)
and by the visible text customers read (provider and tariff names), never by CSS classes, so
the tests survive restyling but not a broken contract.

Where the app is on the flow is read from the hidden ``route`` input every flow form carries.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from playwright.sync_api import Frame, Locator, Page, expect

STEP_TIMEOUT_MS = 15_000

#: The field-name -> value pairs of an address, in the order a customer fills them in.
Address = dict[str, str]


@dataclass
class Flow:
    scope: Page | Frame

    # -- where are we ---------------------------------------------------------------------------

    @property
    def page(self) -> Page:
        return self.scope if isinstance(self.scope, Page) else self.scope.page

    def main(self) -> Locator:
        return self.scope.locator("#page")

    def route(self) -> str:
        """The Connect route the shown page was rendered for ('' when the page has no form)."""
        field = self.scope.locator("#page input[name=route]")
        if field.count() == 0:
            return ""
        return field.first.get_attribute("value") or ""

    def expect_route(self, route: str, timeout: float = STEP_TIMEOUT_MS) -> None:
        """Wait until the flow shows ``route``; fail with what is shown instead."""
        locator = self.scope.locator(f'#page input[name=route][value="{route}"]').first
        try:
            locator.wait_for(state="attached", timeout=timeout)
        except Exception as exc:
            raise AssertionError(
                f"expected the {route!r} page, the browser shows route={self.route()!r} "
                f"at {self.scope.url}: {self.heading_text()!r}\n{self.page_text()[:800]}"
            ) from exc

    def expect_one_of(self, *routes: str, timeout: float = STEP_TIMEOUT_MS) -> str:
        """Wait until the flow shows one of ``routes`` (the next page may depend on upstream
        data, e.g. whether it knows the contract term) and return the one shown."""
        selector = ", ".join(f'#page input[name=route][value="{r}"]' for r in routes)
        try:
            self.scope.locator(selector).first.wait_for(state="attached", timeout=timeout)
        except Exception as exc:
            raise AssertionError(
                f"expected one of {routes}, the browser shows route={self.route()!r}"
            ) from exc
        return self.route()

    def heading_text(self) -> str:
        h1 = self.scope.locator("h1")
        return h1.first.inner_text().strip() if h1.count() else ""

    def page_text(self) -> str:
        return self.scope.locator("body").inner_text()

    # -- controls -------------------------------------------------------------------------------

    def field(self, name: str) -> Locator:
        return self.scope.locator(f'#page [name="{name}"]:not([type=hidden])').first

    def set_field(self, name: str, value: str) -> None:
        field = self.field(name)
        tag = field.evaluate("el => el.tagName.toLowerCase()")
        if tag != "select":
            field.fill(value)
        elif field.get_attribute("hx-post") and self.scope.locator("html.js").count():
            # A list that re-renders the fields after it (the address page's country): wait
            # for that, as the customer sees it happen, so that a step sent next does not race
            # the refresh. Choosing what is already chosen changes nothing and sends nothing.
            if field.input_value() == value:
                return
            with self.page.expect_response(
                lambda r: r.request.method == "POST" and urlsplit(r.url).path == "/connect/flow"
            ):
                field.select_option(value)
        else:
            field.select_option(value)

    def continue_button(self) -> Locator:
        """The page's main submit control: a submit button that carries no name of its own
        (named buttons are choices: actions, providers, options, local edits)."""
        buttons = self.scope.locator(
            "#page form[method=post] button:not([name]):not([type=button]):not([type=reset]), "
            "#page form[method=post] input[type=submit]:not([name])"
        ).filter(visible=True)
        expect(buttons.first, "the page has a visible continue button").to_be_visible()
        return buttons.first

    def choice(self, name: str, value: str | None = None, text: str | None = None) -> Locator:
        selector = f'#page button[name="{name}"]'
        if value is not None:
            selector += f'[value="{value}"]'
        buttons = self.scope.locator(selector)
        if text is not None:
            buttons = buttons.filter(has_text=re.compile(re.escape(text), re.IGNORECASE))
        return buttons.first

    # -- steps ----------------------------------------------------------------------------------

    def submit(self) -> None:
        self.continue_button().click()

    def address(self, address: Address, submit: bool = True) -> None:
        self.expect_route("postal_address_capture")
        for name, value in address.items():
            self.set_field(name, value)
        if submit:
            self.submit()

    def provider(self, name: str) -> None:
        self.expect_route("provider_select")
        self.choice("provider_id", text=name).click()

    def action(self, action: str) -> None:
        self.choice("action", value=action).click()

    def tariff(self, name: str) -> None:
        self.expect_route("tariff_select")
        self.choice("tariff_id", text=name).click()

    def structure(self, option: str) -> None:
        self.expect_route("tariff_structure_select")
        self.choice("option", value=option).click()

    def fixed_rate(self, minor_units: str) -> None:
        self.expect_route("rate_fixed_capture")
        self.set_field("cost", minor_units)
        self.submit()

    def time_of_day(self, periods: list[tuple[str, str, str]]) -> None:
        """``periods``: (from HH:MM, to HH:MM, cost in minor units); the page shows two rows."""
        self.expect_route("rate_tod_capture")
        for i, (start, end, cost) in enumerate(periods):
            self.set_field(f"from_{i}", start)
            self.set_field(f"to_{i}", end)
            self.set_field(f"cost_{i}", cost)
        self.submit()

    def surcharge(self, fixed: str, percentage: str, region: str | None = None) -> None:
        self.expect_route("market_surcharge_capture")
        self.set_field("surcharge_fixed", fixed)
        self.set_field("surcharge_percentage", percentage)
        if region is not None:
            self.set_field("region", region)
        self.submit()

    def tariff_name(self, name: str) -> None:
        self.expect_route("tariff_name_capture")
        self.set_field("tariff_name", name)
        self.submit()

    def contract_term(self, term: str = "unknown", end_date: str | None = None) -> None:
        """``term``: ``date`` (with ``end_date`` YYYY-MM-DD), ``none`` or ``unknown``."""
        self.expect_route("contract_term_capture")
        if end_date is not None:
            self.set_field("contract_end_date", end_date)
        button = self.scope.locator(f'#page button[name=term][value="{term}"]')
        if button.count():
            button.first.click()
            return
        self.scope.locator(f'#page input[name=term][value="{term}"]').first.check()
        self.submit()

    def save(self) -> None:
        self.action("SAVE")

    def leave_for_login(self) -> None:
        """On our page that says where a DIRECT provider's login is and why, press its button
        (unframed it goes there; framed it opens the login in a new tab)."""
        self.scope.locator('#page [data-flow-state="provider-login"]').wait_for()
        self.scope.locator('#page form[action$="/connect/provider-login"] button').click()


def complete_short_flow(flow: Flow, before_save: Callable[[], None] = lambda: None) -> None:
    """The shortest whole flow from the provider list: a library tariff with a fixed price,
    skipping the contract date if asked, then SAVE on the summary."""
    flow.provider("Northwind Energy")
    flow.tariff("Northwind Fixed 12M")
    if flow.expect_one_of("contract_term_capture", "summary_fixed_confirm") != (
        "summary_fixed_confirm"
    ):
        flow.contract_term("unknown")
    flow.expect_route("summary_fixed_confirm")
    before_save()
    flow.save()


def provider_login(scope: Page | Frame, outcome: str) -> None:
    """On the sandbox's provider login page, pick ``approve``, ``pending``, ``fail`` or ``skip``."""
    scope.locator(f'button[name=outcome][value="{outcome}"]').click()


def expect_done(scope: Page | Frame, timeout: float = STEP_TIMEOUT_MS) -> None:
    """The customer has reached the app's done page."""
    scope.wait_for_url(re.compile(r"/connect/done"), timeout=timeout)


def embed(page: Page, partner: Any, start: str, below: int | None = None) -> Frame:
    """Open the partner test page framing ``start`` (with ``below`` px of partner content under
    the frame) and return the app's frame once it shows a page."""
    query = f"below={below}&" if below is not None else ""
    page.goto(partner.url(f"embed.html?{query}src={quote(start, safe='')}"))
    handle = page.locator("iframe#connect").element_handle()
    assert handle is not None
    frame = handle.content_frame()
    assert frame is not None
    frame.locator("#page").wait_for(state="attached")
    return frame
