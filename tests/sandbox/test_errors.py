"""Every validation error code in docs/protocol.md §6.3, and the session staying put after each."""

from __future__ import annotations

import pytest

from tests.sandbox.conftest import GB_ADDRESS, HEARTH, ISLESTONE, NORTHWIND, TIDAL

ERROR_KEYS = {
    "object",
    "type",
    "code",
    "message",
    "connect_token",
    "context",
    "time_created",
    "request_id",
    "live_mode",
}


def _address(**changes: str) -> dict:
    return {"postal_address": {**GB_ADDRESS, **changes}}


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (_address(address_line1=""), "address_line1_missing"),
        (_address(city=" "), "city_missing"),
        (_address(post_code=""), "post_code_missing"),
        (_address(country_code=""), "country_code_missing"),
        (_address(country_code="GBR"), "country_code_invalid"),
        (_address(country_code="QQ"), "country_code_invalid"),
        (_address(post_code="XX0 0XX"), "timezone_not_found"),
        ({"postal_address": "London"}, "data_json_invalid"),
        ({"postal_address": {**GB_ADDRESS, "city": 7}}, "data_json_invalid"),
    ],
)
def test_postal_address_errors(connect, data, code):
    flow = connect()
    flow.restore()
    error = flow.error("postal_address_capture", data=data)
    assert error["code"] == code and flow.status == 400
    assert set(error) == ERROR_KEYS
    assert error["context"] == "connect.postal_address_capture"
    assert error["connect_token"] == flow.token and error["type"] == "invalid_request"
    assert flow.restore()["route"] == "postal_address_capture"  # did not advance


def test_lowercase_country_code_is_accepted(connect):
    flow = connect()
    flow.restore()
    page = flow.step("postal_address_capture", data=_address(country_code="gb"))
    assert page["data"]["postal_address"]["country_code"] == "GB"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({}, "provider_id_missing"),
        ({"provider": {"id": ""}}, "provider_id_missing"),
        ({"provider": {"id": "prv_ffffffffffffffffffffffff"}}, "provider_not_found"),
        ({"provider": {"id": ISLESTONE}}, "provider_id_invalid"),
        ({"provider": {"id": "prv_0000000000000000000000b1"}}, "provider_id_invalid"),  # US
        ({"provider": "Northwind"}, "data_json_invalid"),
    ],
)
def test_provider_select_errors(connect, data, code):
    flow = connect()
    flow.to_provider_select()
    assert flow.error("provider_select", data=data)["code"] == code
    assert flow.restore()["route"] == "provider_select"


def test_provider_name_missing(connect):
    flow = connect()
    flow.to_provider_select()
    flow.step("provider_select", action="PROVIDER_MISSING")
    assert flow.error("provider_name_capture", data={"provider": {"name": "  "}})["code"] == (
        "provider_name_missing"
    )


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({}, "tariff_id_missing"),
        ({"tariff": {"id": "trt_ffffffffffffffffffffffff"}}, "tariff_not_found"),
        ({"tariff": {"id": "trt_000000000000000000000101"}}, "tariff_id_invalid"),  # Voltaic's
    ],
)
def test_tariff_select_errors(connect, data, code):
    flow = connect()
    flow.pick(NORTHWIND)
    assert flow.error("tariff_select", data=data)["code"] == code


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({"options": ["FIXED", "TIME_OF_DAY"]}, "option_invalid"),
        ({"options": []}, "option_invalid"),
        ({"options": ["MARKET"]}, "option_not_supported"),  # MANUAL-only provider
        ({"options": ["ADVANCED"]}, "option_not_supported"),
        ({"options": "FIXED"}, "data_json_invalid"),
    ],
)
def test_structure_errors(connect, data, code):
    flow = connect()
    flow.pick(HEARTH)
    assert flow.error("tariff_structure_select", data=data)["code"] == code


@pytest.mark.parametrize(
    ("cost", "code"),
    [
        (0, "cost_value_zero"),
        (-0.1, "cost_value_negative"),
        ("0.2", "data_json_invalid"),
        (None, "data_json_invalid"),
        (True, "data_json_invalid"),
    ],
)
def test_fixed_rate_errors(connect, cost, code):
    flow = connect()
    flow.pick(HEARTH)
    flow.step("tariff_structure_select", data={"options": ["FIXED"]})
    assert flow.error("rate_fixed_capture", data={"cost": cost})["code"] == code


def _p(start: str, end: str, cost: float = 0.2) -> dict:
    return {"valid_from": start, "valid_to": end, "cost": cost}


@pytest.mark.parametrize(
    ("hours", "code", "message_part"),
    [
        ([_p("00:00:00", "12:00:00"), _p("12:00:00", "00:00:00", 0)], "cost_value_zero", ""),
        ([_p("00:00:00", "00:00:00", -1)], "cost_value_negative", ""),
        ([_p("7:00", "23:00:00")], "valid_from_invalid", "HH:mm:ss"),
        ([_p("07:00:00", "24:00:00")], "valid_to_invalid", "HH:mm:ss"),
        (
            [_p("00:00:00", "12:00:00"), _p("13:00:00", "00:00:00")],
            "gap_in_time_period",
            "Gap between 12:00:00 and 13:00:00",
        ),
        ([_p("07:00:00", "23:00:00")], "incomplete_time_period", ""),
        (
            [_p("00:00:00", "13:00:00"), _p("12:00:00", "00:00:00")],
            "incomplete_time_period",
            "overlap",
        ),
        ([], "data_json_invalid", ""),
    ],
)
def test_time_of_day_errors(connect, hours, code, message_part):
    flow = connect()
    flow.pick(HEARTH)
    flow.step("tariff_structure_select", data={"options": ["TIME_OF_DAY"]})
    error = flow.error("rate_tod_capture", data={"hours": hours})
    assert error["code"] == code and message_part in error["message"]


@pytest.mark.parametrize(
    "hours",
    [
        [_p("00:00:00", "00:00:00")],
        [_p("23:00:00", "07:00:00", 0.09), _p("07:00:00", "23:00:00", 0.3)],
        [_p("00:00:00", "06:00:00"), _p("06:00:00", "18:00:00"), _p("18:00:00", "00:00:00")],
    ],
)
def test_time_of_day_accepts_full_days(connect, hours):
    flow = connect()
    flow.pick(HEARTH)
    flow.step("tariff_structure_select", data={"options": ["TIME_OF_DAY"]})
    assert flow.step("rate_tod_capture", data={"hours": hours})["route"] == "tariff_name_capture"


def test_market_surcharge_errors(connect):
    flow = connect()
    flow.pick(TIDAL)
    flow.step("tariff_structure_select", data={"options": ["MARKET"]})
    error = flow.error(
        "market_surcharge_capture", data={"surcharge": {"fixed": 0.01, "percentage": -5}}
    )
    assert error["code"] == "surcharge_percentage_invalid"
    assert flow.error("market_surcharge_capture", data={"surcharge": 5})["code"] == (
        "data_json_invalid"
    )
    no_region = connect(postal_address={**GB_ADDRESS, "post_code": "ZZ9 9ZZ"})
    no_region.restore()
    no_region.step("provider_select", data={"provider": {"id": TIDAL}})
    no_region.step("tariff_structure_select", data={"options": ["MARKET"]})
    error = no_region.error(
        "market_surcharge_capture", data={"surcharge": {"fixed": 0, "percentage": 0}}
    )
    assert error["code"] == "geo_location_not_found"
    # An error leaves the session exactly as it was.
    assert flow.restore()["data"]["surcharge"] == {"fixed": 0, "percentage": 0}


def _to_name_and_term(flow) -> None:
    flow.pick(HEARTH)
    flow.step("tariff_structure_select", data={"options": ["FIXED"]})
    flow.step("rate_fixed_capture", data={"cost": 0.25})


def test_tariff_name_and_contract_term_errors(connect):
    flow = connect()
    _to_name_and_term(flow)
    assert flow.error("tariff_name_capture", data={"tariff": {"name": ""}})["code"] == (
        "tariff_name_missing"
    )
    assert flow.error("tariff_name_capture", data={"tariff": "x"})["code"] == "data_json_invalid"
    flow.step("tariff_name_capture", data={"tariff": {"name": "Mine"}})
    for bad in ("15/06/2026", "2026-13-40", "tomorrow", 20260615):
        error = flow.error("contract_term_capture", data={"contract_end_date": bad})
        assert error["code"] == "date_format_invalid", bad
    page = flow.step(
        "contract_term_capture",
        data={
            "contract_start_date": "2025-06-15T00:00:00.000Z",
            "contract_end_date": "2026-06-15T01:00:00+01:00",
        },
    )
    assert page["data"]["tariff"]["contract_end_date"] == "2026-06-15T00:00:00Z"


def test_action_errors(connect):
    flow = connect()
    _to_name_and_term(flow)
    flow.step("tariff_name_capture", data={"tariff": {"name": "Mine"}})
    flow.step("contract_term_capture")
    assert flow.error("summary_fixed_confirm")["code"] == "action_missing"
    assert flow.error("summary_fixed_confirm", action="DISMISS_DIRECT")["code"] == "action_invalid"
    assert flow.error("summary_fixed_confirm", action="BACK")["code"] == "action_invalid"
    error = flow.error("summary_fixed_confirm", action=7)
    assert error["code"] == "data_json_invalid"


def test_action_not_offered_on_a_data_page(connect):
    flow = connect()
    flow.restore()
    error = flow.error("postal_address_capture", action="PROVIDER_MISSING")
    assert error["code"] == "action_invalid" and "PROVIDER_MISSING" in error["message"]
