"""Property: whatever page object the upstream sends, the renderer answers with a page.

Connect (or something pretending to be it) may send a route we do not know, ``data`` of the
wrong shape, wrong types in any field an adapter reads, NaN and infinities, huge numbers and
strings, control characters, deep nesting. The flow renders whatever ``session_restore`` or a
step answered through ``webapp.screens.render_page``; these properties drive exactly that function
inside a request to the real app and require: no exception, and either a well-formed HTML page
(html5lib strict, as ``test_templates`` parses them) or the app's own "unknown step" page.

Two generators: reference page objects (one per route, ``tests/fixtures/reference_pages.json``)
with values replaced at random depths, which keeps the structure close enough to reach deep
into the adapters; and page objects built from scratch, with every key an adapter reads.
Derandomized, so CI runs the same examples every time.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.webapp.pages_harness import REFERENCE_PAGES, parse_document, parse_fragment
from webapp.page import Page
from webapp.pages import ROUTES
from webapp.screens import render_page

# Every route we render (zero names and anode aliases), plus the reference file's others
# (session_redirect, error ...), which render_page must turn into the unknown-step page.
KNOWN_ROUTES = sorted(set(ROUTES) | set(REFERENCE_PAGES))

# Strings that have broken parsers before: number-ish text the money code reads, date-ish text
# the formatting code reads, markup and URLs the templates write out, and characters that are
# not allowed in HTML at all.
TRICKY_STRINGS = [
    "",
    " ",
    "0",
    "-1",
    "1e999999999",
    "-1E-999999999",
    "1e308",
    "nan",
    "NaN",
    "sNaN",
    "inf",
    "-Infinity",
    "0x10",
    "24:00",
    "25:61",
    "00:00:00",
    "2024-02-01T07:00:00+00:00",
    "2024-02-01T07:00:00Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59+14:00",
    "2024-02-30",
    "GBP",
    "gbp",
    "XXX",
    "€",
    "FIXED",
    "TIME_OF_DAY",
    "MARKET",
    "STATIC",
    "SAVE",
    "EDIT",
    "prv_0000000000000000000000a1",
    "<script>alert(1)</script>",
    '"><img src=x>',
    "javascript:alert(1)",
    "https://evil.example/logo.png",
    "//evil.example/x.png",
    "\u202eevil\u202c",
    "a\x00b",
    "\x01\x02\x1b[31m",
    "\ufffe\uffff",
    "\ud800",
    "x" * 5000,
]

# A page's ``data`` keys the adapters and templates read (grep "data.get" in webapp/pages).
DATA_KEYS = [
    "actions",
    "connection_type",
    "contract_end_date",
    "cost",
    "currency_code",
    "hours",
    "market_rates_source",
    "options",
    "postal_address",
    "provider",
    "providers",
    "rates",
    "region",
    "regions",
    "surcharge",
    "tariff",
    "tariffs",
]

leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(),  # NaN, infinities, -0.0, subnormals
    st.text(max_size=40),
    st.sampled_from(TRICKY_STRINGS),
)
json_values = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(st.one_of(st.sampled_from(DATA_KEYS), st.text(max_size=10)), children),
    ),
    max_leaves=25,
)


def deep(levels: int) -> Any:
    """Nesting far past anything a page holds (a recursion bomb for a careless walker). A
    chain, not a tree with shared parts: printing a shared tree would take 2**levels steps."""
    value: Any = "bottom"
    for level in range(levels):
        value = {"tariff": value, "cost": level} if level % 2 else [value, {"valid_from": "x"}]
    return value


@st.composite
def mutated(draw: st.DrawFn, value: Any, depth: int = 0) -> Any:
    """``value`` with some of its parts swapped for hostile ones, keeping the rest."""
    # The upstream client only hands over a dict with a string route (webapp/flatpeak.py), so
    # the top level stays a dict; everything below it is fair game.
    if depth and draw(st.integers(0, 5)) == 0:
        return draw(json_values)
    if isinstance(value, dict) and depth < 6:
        result = {
            # A page's route stays as it was (an unknown route is from_scratch's business).
            key: item if (depth, key) == (0, "route") else draw(mutated(item, depth + 1))
            for key, item in value.items()
        }
        for key in draw(st.lists(st.sampled_from(list(value) or DATA_KEYS), max_size=2)):
            if (depth, key) == (0, "route"):
                continue
            result.pop(key, None)
        return result
    if isinstance(value, list) and depth < 6:
        items = [draw(mutated(item, depth + 1)) for item in value]
        if items and draw(st.booleans()):
            items.append(draw(mutated(items[0], depth + 1)))  # one more of the same shape
        return items
    return value


reference_based = st.sampled_from(sorted(REFERENCE_PAGES)).flatmap(
    lambda route: mutated(REFERENCE_PAGES[route])
)
from_scratch = st.fixed_dictionaries(
    {
        "route": st.one_of(
            st.sampled_from(sorted(ROUTES)),
            st.sampled_from(sorted(ROUTES)),
            st.sampled_from(KNOWN_ROUTES),
            st.text(max_size=20),
            json_values,
        )
    },
    optional={
        "data": st.one_of(
            st.fixed_dictionaries({}, optional={key: json_values for key in DATA_KEYS}),
            json_values,
        ),
        "actions": st.one_of(
            st.lists(st.one_of(st.sampled_from(["SAVE", "EDIT", "BACK", "CLOSE"]), leaves)),
            json_values,
        ),
        "direction": json_values,
        "live_mode": json_values,
        "connect_token": json_values,
    },
)
page_objects = st.one_of(reference_based, from_scratch)

HOSTILE_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def render(app: Flask, page: dict[str, Any], *, htmx: bool) -> tuple[int, str, dict[str, str]]:
    headers = {"HX-Request": "true"} if htmx else {}
    with app.test_request_context("/connect/flow", headers=headers):
        response = render_page(Page.from_connect(page))
        return response.status_code, response.get_data(as_text=True), dict(response.headers)


def check(app: Flask, page: dict[str, Any]) -> None:
    for htmx in (False, True):
        status, body, headers = render(app, page, htmx=htmx)
        assert "Traceback" not in body
        if status == 502 or (htmx and "HX-Redirect" in headers):
            # Only a route we have no adapter for may end here: the unknown-step page, or for
            # htmx (which does not swap errors) an empty answer sending the frame to it.
            assert str(page.get("route") or "") not in ROUTES
            if htmx:
                assert headers["HX-Redirect"].startswith("/connect/flow") and not body
            else:
                assert 'data-flow-state="unknown-route"' in body
                parse_document(body)
            continue
        assert status == 200, status
        if htmx:
            assert body.startswith("<title>")
            parse_fragment(body)
        else:
            assert body.lower().startswith("<!doctype html>")
            parse_document(body)


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_every_route_renders_with_empty_or_missing_data(app: Flask, route: str) -> None:
    for data in ({}, None, [], "data", 0, math.nan):
        check(app, {"route": route, "data": data})
        check(app, {"route": route, "data": data, "actions": data})


@HOSTILE_SETTINGS
@given(page=page_objects)
@example(page={"route": "summary_tou_confirm", "data": {"rates": {"today": deep(200)}}})
def test_any_page_object_renders_as_a_page(app: Flask, page: dict[str, Any]) -> None:
    check(app, page)
