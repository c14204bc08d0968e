"""Item 2 of issue 12: every message a customer reads is ours. Each error code of
docs/protocol.md §6.3 and §6.4 has our words and a field of ours (webapp/pages/common.py ERRORS);
Connect's English never reaches a page, known code or not; the fields a code marks exist on its
page, linked from the error summary and described by the message."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask_babel import force_locale

from tests.webapp.pages_harness import REFERENCE_PAGES, make_app, parse_document, render
from webapp.page import Page
from webapp.pages import FORM_ERROR, adapter_for
from webapp.pages.common import ANY_PAGE, ERRORS, GENERAL_ERROR, error_copy, error_marks

pytestmark = pytest.mark.unit  # no process: see tests/README.md

PROTOCOL = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text("utf-8")
SUMMARIES = ("summary_fixed_confirm", "summary_tou_confirm")
STATUS_PAGES = ("summary_tariff_inprogress", "summary_tariff_failed")


def _section(number: str) -> str:
    start = PROTOCOL.index(f"### {number} ")
    return PROTOCOL[start : PROTOCOL.index("\n### ", start + 1)]


def _ticked(cell: str) -> list[str]:
    return re.findall(r"`([a-z0-9_]+)`", cell)


def documented_page_codes() -> list[tuple[str | None, str, str]]:
    """(route or None for any page, code, Connect's message) for every row of §6.3."""
    rows = []
    routes: list[str | None] = []
    for line in _section("6.3").splitlines():
        cells = [c.strip() for c in line.split("|")[1:-1]]
        if len(cells) != 4 or not _ticked(cells[1]):
            continue
        if cells[0]:
            if cells[0].startswith("summaries"):
                routes = [*SUMMARIES, *STATUS_PAGES]
            elif cells[0] == "every page":
                routes = [None]
            else:
                routes = list(_ticked(cells[0]))
        for route in routes:
            for code in _ticked(cells[1]):
                rows.append((route, code, cells[2]))
    return rows


def documented_session_codes() -> list[str]:
    """The codes of §6.4 (about the token, the route and the session)."""
    codes = []
    for line in _section("6.4").splitlines():
        cells = [c.strip() for c in line.split("|")[1:-1]]
        if cells and _ticked(cells[0]):
            codes.append(_ticked(cells[0])[0])  # "`internal_error` (`api_error`)": a type
    return codes


PAGE_CODES = documented_page_codes()


@pytest.fixture(scope="module")
def app():
    return make_app()


@pytest.fixture
def ctx(app):
    with app.test_request_context("/connect/flow", method="POST"):
        yield


def test_the_protocol_tables_were_read():
    assert len(PAGE_CODES) > 30
    assert ("postal_address_capture", "timezone_not_found", "") not in PAGE_CODES
    assert any(code == "timezone_not_found" for _, code, _ in PAGE_CODES)
    assert {"token_expired", "session_completed", "route_invalid"} <= set(
        documented_session_codes()
    )


@pytest.mark.parametrize(("route", "code", "connects"), PAGE_CODES)
def test_every_documented_page_code_has_our_words(ctx, route, code, connects):
    copy = error_copy(route, code)
    assert copy is not None, (route, code)
    message = str(copy.message)
    assert message and message != connects
    # Written for a person: no JSON field names, ids or format codes.
    assert not re.search(r"[a-z]+_[a-z_]+|\bID\b|HH:mm|JSON|\(cost\)", message), message
    if route is not None:
        adapter = adapter_for(route)
        assert adapter.message_for_error(code, connects) == message


@pytest.mark.parametrize("code", documented_session_codes())
def test_every_session_code_has_our_words(ctx, code):
    copy = ERRORS[ANY_PAGE].get(code)
    assert copy is not None, code
    assert copy.fields == ()


def test_unknown_codes_get_our_general_message_never_connects(ctx):
    for route in ("postal_address_capture", "rate_fixed_capture", "rate_tod_capture"):
        adapter = adapter_for(route)
        said = adapter.message_for_error("brand_new_code", "Field foo_bar is required.")
        assert said == str(GENERAL_ERROR)
        assert adapter.field_for_error("brand_new_code") == FORM_ERROR


def _table_cases():
    for route, table in ERRORS.items():
        if route == ANY_PAGE or route not in REFERENCE_PAGES:
            continue
        for code, copy in table.items():
            yield route, code, copy.fields


@pytest.mark.parametrize(("route", "code", "fields"), list(_table_cases()))
def test_the_fields_a_code_marks_are_on_its_page(ctx, route, code, fields):
    """Rendered with the marks the table gives, every field shows its message inline, linked
    from the error summary, described by it and marked invalid; the page-level ones sit in the
    summary."""
    message = str(error_copy(route, code).message)
    first = fields[0] if fields else FORM_ERROR
    errors = error_marks(route, code, first, message)
    assert list(errors) == list(fields or (FORM_ERROR,))
    document = parse_document(render(REFERENCE_PAGES[route], errors=errors))
    summary = document.find(".//*[@id='error-summary']")
    assert message in "".join(summary.itertext())
    for field in fields:
        inline = document.find(f".//*[@id='f-{field}-error']")
        assert inline is not None and errors[field] in "".join(inline.itertext())
        assert summary.find(f".//a[@href='#f-{field}']") is not None
        target = document.find(f".//*[@id='f-{field}']")
        assert f"f-{field}-error" in (target.get("aria-describedby") or "")
        if target.tag in {"input", "select"}:
            assert target.get("aria-invalid") == "true"


def test_address_not_found_marks_the_fields_to_check_in_our_words(ctx):
    """timezone_not_found is "we couldn't find that address": the town and the postcode are
    marked to check, nothing asks for the country or city the customer already gave."""
    page = Page.from_connect(REFERENCE_PAGES["postal_address_capture"])
    connects = "Unable to detect location timezone, provide at least country_code and city."
    for code in ("timezone_not_found", "geo_location_not_found"):
        errors = error_marks(page.route, code, "city", str(error_copy(page.route, code).message))
        assert errors["city"].startswith("We couldn't find that address.")
        assert errors["post_code"] == "Check this is right."
        assert "country_code" not in " ".join(errors.values())
        assert connects not in " ".join(errors.values())
    # Through the adapter's hook: ours whatever field the address adapter names (see report).
    said = adapter_for(page.route).errors_for(page, "timezone_not_found", connects, {})
    assert all(
        "We couldn't find that address" in m or m == "Check this is right." for m in said.values()
    )


def test_address_messages_for_a_list_choice_say_choose(ctx):
    address = adapter_for("postal_address_capture")
    assert address.message_for_error("country_code_missing", "Country code is required.") == (
        "Choose your country."
    )
    assert address.message_for_error("post_code_missing", "Postal (zip) code is required.") == (
        "Enter your postcode or ZIP code."
    )


def test_market_page_geo_location_is_not_the_address_message(ctx):
    market = adapter_for("market_surcharge_capture")
    said = market.message_for_error("geo_location_not_found", "Unable to find market rates ...")
    assert "electricity market" in said and "couldn't find that address" not in said
    for alias in ("surcharge_capture", "region_select"):
        assert adapter_for(alias).message_for_error("geo_location_not_found") == said
    assert adapter_for("region_select").field_for_error("market_region_invalid") == "region"


# -- time of day: on the period to fix, in the locale's time format ---------------------------

TOD_FORM = {
    "periods": "2",
    "from_0": "07:00", "to_0": "15:00", "cost_0": "30.1",
    "from_1": "16:00", "to_1": "07:00", "cost_1": "9.5",
}  # fmt: skip


def test_local_gap_sits_on_the_period_to_fix_in_12_hour_english(ctx):
    adapter = adapter_for("rate_tod_capture")
    result = adapter.parse(Page.from_connect(REFERENCE_PAGES["rate_tod_capture"]), TOD_FORM)
    assert result.errors == {
        "to_0": "There's a gap from 3:00\u202fPM to 4:00\u202fPM. End this period at "
        "4:00\u202fPM, or start the next one at 3:00\u202fPM."
    }
    document = parse_document(
        render(REFERENCE_PAGES["rate_tod_capture"], values=result.values, errors=result.errors)
    )
    ends = document.find(".//input[@id='f-to_0']")
    assert ends.get("aria-invalid") == "true" and "f-to_0-error" in ends.get("aria-describedby")
    # The group is not blamed.
    assert document.find(".//*[@id='f-periods-error']") is None
    summary = "".join(document.find(".//*[@id='error-summary']").itertext())
    assert "Period 1 ends: There's a gap" in summary


def test_gap_times_follow_the_locale(app):
    with app.test_request_context("/connect/flow", method="POST"), force_locale("de_DE"):
        adapter = adapter_for("rate_tod_capture")
        page = Page.from_connect(REFERENCE_PAGES["rate_tod_capture"])
        result = adapter.parse(page, TOD_FORM)
        assert "from 15:00 to 16:00" in result.errors["to_0"]
        context = adapter.context(page)
        assert context["times"] == {"night_from": "23:00", "night_to": "07:00", "midnight": "00:00"}


def test_connects_gap_is_placed_like_ours(ctx):
    adapter = adapter_for("rate_tod_capture")
    page = Page.from_connect(REFERENCE_PAGES["rate_tod_capture"])
    connects = "Gap between 15:00:00 and 16:00:00 is found in the time period."
    errors = adapter.errors_for(page, "gap_in_time_period", connects, TOD_FORM)
    assert list(errors) == ["to_0"] and "3:00\u202fPM to 4:00\u202fPM" in errors["to_0"]
    # Without the periods (or the times) it falls back to the group, still in our words.
    fallback = adapter.errors_for(page, "gap_in_time_period", "Gap.", {})
    assert fallback == {
        "periods": "There's a gap between your periods. Together they must cover all 24 hours."
    }


def test_connects_zero_price_is_placed_on_its_period(ctx):
    adapter = adapter_for("rate_tod_capture")
    page = Page.from_connect(REFERENCE_PAGES["rate_tod_capture"])
    form = {**TOD_FORM, "cost_1": "0"}
    errors = adapter.errors_for(page, "cost_value_zero", "Tariff rate (cost) cannot be zero.", form)
    assert list(errors) == ["cost_1"] and errors["cost_1"].startswith("The price can't be zero.")


def test_tod_hint_and_time_errors_use_the_locale_format(ctx):
    markup = render(REFERENCE_PAGES["rate_tod_capture"])
    assert "for example 11:00\u202fPM to 7:00\u202fAM; 12:00\u202fAM as an end" in markup
    adapter = adapter_for("rate_tod_capture")
    page = Page.from_connect(REFERENCE_PAGES["rate_tod_capture"])
    result = adapter.parse(page, {**TOD_FORM, "from_0": "soon"})
    assert result.errors["from_0"] == "Enter a start time, for example 7:00\u202fAM."
