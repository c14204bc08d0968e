"""Every integration type and every page action, walked over HTTP (docs/protocol.md §7.3)."""

from __future__ import annotations

from itertools import pairwise
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.sandbox.conftest import (
    GB_ADDRESS,
    HEARTH,
    NORTHWIND,
    NORTHWIND_AGILE,
    NORTHWIND_E7,
    NORTHWIND_FIXED,
    TIDAL,
    VOLTAIC,
    Connect,
)


def test_library_path_ends_in_session_complete_and_exchange(connect):
    flow = connect(customer_reference_id="CUS-1", location_reference_id="LOC-1")
    page = flow.restore()
    assert page["route"] == "postal_address_capture"
    assert page["data"]["postal_address"]["city"] == ""
    page = flow.step("postal_address_capture", data={"postal_address": GB_ADDRESS})
    names = {p["display_name"] for p in page["data"]["providers"]}
    assert {
        "Voltaic Direct",
        "Northwind Energy",
        "Tidal Market Power",
        "Hearth & Home Electric",
    } <= names
    assert len(names) >= 10
    assert page["actions"] == ["ADDRESS_CHANGE", "PROVIDER_MISSING"]
    page = flow.step("provider_select", data={"provider": {"id": NORTHWIND}})
    assert page["route"] == "tariff_select"
    structures = {t["name"] for t in page["data"]["tariffs"]}
    assert {"Northwind Fixed 12M", "Northwind Economy 7", "Northwind Agile Tracker"} == structures
    page = flow.step("tariff_select", data={"tariff": {"id": NORTHWIND_FIXED}})
    assert page["route"] == "contract_term_capture"
    page = flow.step("contract_term_capture", data={"contract_end_date": "2027-03-01"})
    assert page["route"] == "summary_fixed_confirm"
    assert page["data"]["cost"] == 0.245
    assert page["data"]["tariff"]["contract_end_date"] == "2027-03-01T00:00:00Z"
    assert page["data"]["tariff"]["structure_type"] == "FIXED"
    assert page["actions"] == ["SAVE", "EDIT", "DISCONNECT"]
    assert flow.exchange().status_code == 422  # not complete yet
    page = flow.step("summary_fixed_confirm", action="SAVE")
    assert page["route"] == "session_complete"
    assert page["data"]["callback_uri"] == f"https://app.example.test/done?fp_cot={flow.token}"
    exchanged = flow.exchange()
    assert exchanged.status_code == 200
    body = exchanged.json()
    assert body["id"] == flow.token and body["object"] == "connect_token"
    assert body["complete_action"] == "SAVE" and body["is_tariff_processed"] is True
    assert body["customer_reference_id"] == "CUS-1" and body["location_reference_id"] == "LOC-1"
    assert body["customer_id"].startswith("cus_") and body["location_id"].startswith("loc_")
    # The same partner reference maps to the same FlatPeak customer next time.
    again = connect(customer_reference_id="CUS-1")
    again.pick(NORTHWIND)
    again.step("tariff_select", data={"tariff": {"id": NORTHWIND_FIXED}})
    again.step("contract_term_capture")
    again.step("summary_fixed_confirm", action="SAVE")
    assert again.exchange().json()["customer_id"] == body["customer_id"]


def test_manual_fixed_path(connect):
    flow = connect()
    page = flow.pick(HEARTH)
    assert page["route"] == "tariff_structure_select"
    assert page["data"]["options"] == ["FIXED", "TIME_OF_DAY"]
    assert page["data"]["provider"]["logo_url"] == ""  # the text fallback gets exercised
    page = flow.step("tariff_structure_select", data={"options": ["FIXED"]})
    assert page["route"] == "rate_fixed_capture"
    assert page["data"]["currency_code"] == "GBP" and page["data"]["cost"] == 0
    page = flow.step("rate_fixed_capture", data={"cost": 0.2731})
    assert page["route"] == "tariff_name_capture"
    page = flow.step("tariff_name_capture", data={"tariff": {"name": "Hearth Simple"}})
    assert page["route"] == "contract_term_capture"
    page = flow.step("contract_term_capture", data={"contract_end_date": None})
    assert page["route"] == "summary_fixed_confirm"
    assert page["data"]["tariff"]["name"] == "Hearth Simple"
    assert page["data"]["tariff"]["contract_end_date"] is None
    today = page["data"]["rates"]["today"]
    assert len(today) == 1 and today[0]["tariff"] == {"cost": 0.2731, "confidence": 1}
    page = flow.step("summary_fixed_confirm", action="SAVE")
    assert page["route"] == "session_complete"
    assert flow.exchange().json()["complete_action"] == "SAVE"


def test_manual_time_of_day_path_rates_follow_the_periods(connect):
    flow = connect(postal_address=GB_ADDRESS)
    assert flow.restore()["route"] == "provider_select"  # the address page is skipped
    flow.step("provider_select", data={"provider": {"id": HEARTH}})
    flow.step("tariff_structure_select", data={"options": ["TIME_OF_DAY"]})
    hours = [
        {"valid_from": "07:00:00", "valid_to": "23:00:00", "cost": 0.30},
        {"valid_from": "23:00:00", "valid_to": "07:00:00", "cost": 0.09},
    ]
    page = flow.step("rate_tod_capture", data={"hours": hours})
    assert page["route"] == "tariff_name_capture"
    flow.step("tariff_name_capture", data={"tariff": {"name": "Day Night"}})
    page = flow.step("contract_term_capture", data={"contract_end_date": "0001-01-01T00:00:00Z"})
    assert page["route"] == "summary_tou_confirm"
    data = page["data"]
    assert data["market_rates_source"] is False
    assert data["tariff"]["structure_type"] == "TIME_OF_DAY"
    assert data["tariff"]["contract_end_date"] == "0001-01-01T00:00:00Z"
    today = data["rates"]["today"]
    assert [p["tariff"]["cost"] for p in today] == [0.09, 0.30, 0.09]
    assert [p["valid_from"][11:16] for p in today] == ["00:00", "07:00", "23:00"]
    for periods in data["rates"].values():
        for earlier, later in pairwise(periods):
            assert earlier["valid_to"] == later["valid_from"]  # contiguous
    assert all(p["tariff"]["confidence"] == 1 for p in data["rates"]["yesterday"] + today)
    assert all(p["tariff"]["confidence"] < 1 for p in data["rates"]["tomorrow"])


def test_market_only_provider_with_surcharge_and_region(connect):
    address = {**GB_ADDRESS, "city": "Berwick-upon-Tweed", "post_code": "TD15 1AA"}
    flow = connect(postal_address=address)
    flow.restore()
    page = flow.step("provider_select", data={"provider": {"id": TIDAL}})
    assert page["data"]["options"] == ["MARKET"]
    page = flow.step("tariff_structure_select", data={"options": ["MARKET"]})
    assert page["route"] == "market_surcharge_capture"
    assert page["data"]["regions"] == ["North East England", "South Scotland"]
    assert page["data"]["region"] == ""
    surcharge = {"fixed": 0.02, "percentage": 5}
    error = flow.error("market_surcharge_capture", data={"surcharge": surcharge, "region": "Mars"})
    assert error["code"] == "market_region_invalid"
    page = flow.step(
        "market_surcharge_capture",
        data={"surcharge": {"fixed": 0.02, "percentage": 5}, "region": "South Scotland"},
    )
    assert page["route"] == "tariff_name_capture"
    flow.step("tariff_name_capture", data={"tariff": {"name": "Tidal Tracker"}})
    page = flow.step("contract_term_capture")  # no data: skip / until terminated
    data = page["data"]
    assert page["route"] == "summary_tou_confirm"
    assert data["market_rates_source"] is True and data["tariff"]["structure_type"] == "MARKET"
    today = data["rates"]["today"]
    assert len(today) in (23, 24, 25)  # hourly, DST-aware
    # (wholesale + 0.02) * 1.05 is always above the fixed part of the surcharge.
    assert all(p["tariff"]["cost"] > 0.02 * 1.05 for p in today)
    assert all(p["tariff"]["confidence"] < 1 for p in data["rates"]["tomorrow"])


def test_market_surcharge_without_region_list_and_zero_skip(connect):
    flow = connect()
    flow.pick(TIDAL)
    page = flow.step("tariff_structure_select", data={"options": ["MARKET"]})
    assert "regions" not in page["data"] and "region" not in page["data"]
    page = flow.step("market_surcharge_capture", data={"surcharge": {"fixed": 0, "percentage": 0}})
    assert page["route"] == "tariff_name_capture"


def test_library_market_tariff_goes_to_tou_summary(connect):
    flow = connect()
    flow.pick(NORTHWIND)
    flow.step("tariff_select", data={"tariff": {"id": NORTHWIND_AGILE}})
    page = flow.step("contract_term_capture", data={})
    assert page["route"] == "summary_tou_confirm"
    assert page["data"]["market_rates_source"] is True


def test_provider_missing_leads_to_manual_capture_with_custom_name(connect):
    flow = connect()
    flow.to_provider_select()
    page = flow.step("provider_select", action="PROVIDER_MISSING")
    assert page["route"] == "provider_name_capture"
    assert page["actions"] == ["ADDRESS_CHANGE"]
    assert page["data"]["provider"] == {"name": ""}
    page = flow.step("provider_name_capture", data={"provider": {"name": "Acme Power"}})
    assert page["route"] == "tariff_structure_select"
    assert page["data"]["provider"]["display_name"] == "Acme Power"
    assert page["data"]["options"] == ["FIXED", "TIME_OF_DAY", "MARKET"]


def test_tariff_missing_and_address_change(connect):
    flow = connect()
    flow.pick(NORTHWIND)
    page = flow.step("tariff_select", action="TARIFF_MISSING")
    assert page["route"] == "tariff_structure_select"
    flow2 = connect()
    flow2.pick(NORTHWIND)
    page = flow2.step("tariff_select", action="ADDRESS_CHANGE")
    assert page["route"] == "postal_address_capture"
    assert page["data"]["postal_address"]["post_code"] == "SW1A 1AA"  # pre-filled
    us = {
        "address_line1": "1 Test Street",
        "city": "Austin",
        "state": "TX",
        "post_code": "78701",
        "country_code": "US",
    }
    page = flow2.step("postal_address_capture", data={"postal_address": us})
    names = {p["display_name"] for p in page["data"]["providers"]}
    assert "Lone Star Direct" in names and "Northwind Energy" not in names


def test_summary_edit_and_disconnect(connect):
    flow = connect()
    flow.pick(NORTHWIND)
    flow.step("tariff_select", data={"tariff": {"id": NORTHWIND_E7}})
    flow.step("contract_term_capture")
    page = flow.step("summary_tou_confirm", action="EDIT")
    assert page["route"] == "provider_select"
    flow.step("provider_select", data={"provider": {"id": NORTHWIND}})
    flow.step("tariff_select", data={"tariff": {"id": NORTHWIND_E7}})
    flow.step("contract_term_capture")
    page = flow.step("summary_tou_confirm", action="DISCONNECT")
    assert page["route"] == "session_complete"
    body = flow.exchange().json()
    assert body["complete_action"] == "DISCONNECT" and body["is_tariff_processed"] is False


def _return_params(response) -> dict[str, list[str]]:
    assert response.status_code == 303
    location = urlsplit(response.headers["Location"])
    assert location.netloc == "app.example.test" and location.path == "/provider-return"
    return parse_qs(location.query)


def test_direct_approve(connect):
    flow = connect()
    page = flow.pick(VOLTAIC)
    assert page["route"] == "session_redirect"
    assert page["data"]["redirect_url"] == page["data"]["redirect_uri"]
    assert flow.restore()["route"] == "session_redirect"  # refresh-safe while away
    params = _return_params(flow.provider_login("approve"))
    assert params["fp_cot"] == [flow.token]
    page = flow.restore()
    assert page["route"] == "summary_tou_confirm"
    assert page["data"]["connection_type"] == "DIRECT"
    assert page["data"]["tariff"]["name"] == "Voltaic Smart Home"
    flow.step("summary_tou_confirm", action="SAVE")
    assert flow.exchange().json()["is_tariff_processed"] is True


def test_direct_login_link_is_single_use(connect, http):
    flow = connect()
    flow.pick(VOLTAIC)
    redirect = flow.last["data"]["redirect_url"]
    flow.provider_login("fail")
    again = http.get(redirect, timeout=10)
    assert again.status_code == 400 and "already been used" in again.text


def test_direct_pending_save_completes_unprocessed(connect):
    flow = connect()
    flow.pick(VOLTAIC)
    flow.provider_login("pending")
    page = flow.restore()
    assert page["route"] == "summary_tariff_inprogress"
    assert page["actions"] == ["SAVE", "DISCONNECT", "DISMISS_DIRECT"]
    assert page["data"]["connection_type"] == "DIRECT"
    page = flow.step("summary_tariff_inprogress", action="SAVE")
    assert page["route"] == "session_complete"
    body = flow.exchange().json()
    assert body["complete_action"] == "SAVE" and body["is_tariff_processed"] is False


def test_direct_pending_disconnect_and_dismiss(connect):
    flow = connect()
    flow.pick(VOLTAIC)
    flow.provider_login("pending")
    flow.restore()
    page = flow.step("summary_tariff_inprogress", action="DISCONNECT")
    assert page["route"] == "provider_select"
    page = flow.step("provider_select", data={"provider": {"id": VOLTAIC}})
    assert page["route"] == "session_redirect"
    flow.provider_login("pending")
    flow.restore()
    page = flow.step("summary_tariff_inprogress", action="DISMISS_DIRECT")
    assert page["route"] == "tariff_select"
    assert page["data"]["provider"]["id"] == VOLTAIC
    # DIRECT stays suppressed for this provider for the rest of the session.
    flow.step("tariff_select", action="ADDRESS_CHANGE")
    flow.step("postal_address_capture", data={"postal_address": GB_ADDRESS})
    assert flow.step("provider_select", data={"provider": {"id": VOLTAIC}})["route"] == (
        "tariff_select"
    )


def test_direct_fail_reconnect_and_disconnect(connect):
    flow = connect()
    flow.pick(VOLTAIC)
    flow.provider_login("fail")
    page = flow.restore()
    assert page["route"] == "summary_tariff_failed"
    assert page["actions"] == ["RECONNECT", "DISCONNECT"]
    page = flow.step("summary_tariff_failed", action="RECONNECT")
    assert page["route"] == "provider_select"
    flow.step("provider_select", data={"provider": {"id": VOLTAIC}})
    flow.provider_login("fail")
    flow.restore()
    page = flow.step("summary_tariff_failed", action="DISCONNECT")
    assert page["route"] == "session_complete"
    assert flow.exchange().json()["complete_action"] == "DISCONNECT"


def test_direct_skip_falls_back_to_library(connect):
    flow = connect()
    flow.pick(VOLTAIC)
    flow.provider_login("skip")
    page = flow.restore()
    assert page["route"] == "tariff_select"
    assert {t["name"] for t in page["data"]["tariffs"]} == {
        "Voltaic Fixed 24M",
        "Voltaic Night Saver",
    }


def test_provider_return_without_connect_web_uri_uses_callback(connect):
    flow = connect(connect_web_uri=None)
    flow.pick(VOLTAIC)
    response = flow.provider_login("approve")
    assert response.headers["Location"].startswith("https://app.example.test/done?fp_cot=")


@pytest.mark.parametrize(
    ("state", "route", "actions"),
    [
        ("connected_fixed", "summary_fixed_confirm", ["SAVE", "EDIT", "DISCONNECT"]),
        ("connected_time_of_day", "summary_tou_confirm", ["SAVE", "EDIT", "DISCONNECT"]),
        ("connected_market", "summary_tou_confirm", ["SAVE", "EDIT", "DISCONNECT"]),
        ("pending", "summary_tariff_inprogress", ["SAVE", "DISCONNECT", "DISMISS_DIRECT"]),
        ("failed", "summary_tariff_failed", ["RECONNECT", "DISCONNECT"]),
    ],
)
def test_token_with_location_id_starts_on_its_page(connect, sandbox, http, state, route, actions):
    made = http.post(f"{sandbox.url}/_sandbox/locations", json={"state": state}, timeout=10)
    assert made.status_code == 201
    location = made.json()
    flow = connect(location_id=location["location_id"])
    page = flow.restore()
    assert page["route"] == route and page["actions"] == actions
    assert flow.restore() == page  # refresh-safe
    page = flow.step(route, action="DISCONNECT")
    if state == "pending":
        assert page["route"] == "provider_select"
        return
    assert page["route"] == "session_complete"
    body = flow.exchange().json()
    assert body["location_id"] == location["location_id"]
    assert body["customer_id"] == location["customer_id"]
    # The location is now disconnected: a new session starts at provider_select.
    assert connect(location_id=location["location_id"]).restore()["route"] == "provider_select"


def test_pending_location_can_be_forced_connected(connect, sandbox, http):
    location = http.post(
        f"{sandbox.url}/_sandbox/locations", json={"state": "pending"}, timeout=10
    ).json()
    forced = http.post(
        f"{sandbox.url}/_sandbox/locations/{location['location_id']}/status",
        json={"status": "CONNECTED"},
        timeout=10,
    )
    assert forced.status_code == 200
    assert connect(location_id=location["location_id"]).restore()["route"] == "summary_tou_confirm"


@pytest.mark.parametrize(
    ("address", "currency", "provider"),
    [
        (
            {
                "address_line1": "1 Test Street",
                "city": "Austin",
                "state": "TX",
                "post_code": "78701",
                "country_code": "US",
            },
            "USD",
            "Bluebonnet Electric",
        ),
        (
            {
                "address_line1": "Teststraße 1",
                "city": "Berlin",
                "post_code": "10115",
                "country_code": "DE",
            },
            "EUR",
            "Nordlicht Energie",
        ),
    ],
)
def test_other_countries_have_their_currency_and_timezone(connect, address, currency, provider):
    flow = connect(postal_address=address)
    page = flow.restore()
    chosen = next(p for p in page["data"]["providers"] if p["display_name"] == provider)
    page = flow.step("provider_select", data={"provider": {"id": chosen["id"]}})
    tariff = page["data"]["tariffs"][0]  # a fixed tariff in both countries
    flow.step("tariff_select", data={"tariff": {"id": tariff["id"]}})
    page = flow.step("contract_term_capture")
    assert page["data"]["currency_code"] == currency
    offset = page["data"]["rates"]["today"][0]["valid_from"][-6:]
    assert offset in (("-06:00", "-05:00") if currency == "USD" else ("+01:00", "+02:00"))


def test_provider_login_page_is_plain_accessible_html(connect, http):
    flow = connect()
    flow.pick(VOLTAIC)
    page = http.get(flow.last["data"]["redirect_url"], timeout=10)
    assert page.headers["Content-Type"].startswith("text/html")
    html = page.text
    assert '<html lang="en">' in html and 'name="viewport"' in html
    assert "<h1>Sign in to Voltaic Direct</h1>" in html
    assert "<script" not in html  # works without JavaScript
    for outcome in ("approve", "pending", "fail", "skip"):
        assert f'<button type="submit" name="outcome" value="{outcome}"' in html
    bad = http.post(
        flow.last["data"]["redirect_url"].split("?")[0],
        data={"fp_cot": flow.token, "outcome": "maybe"},
        timeout=10,
    )
    assert bad.status_code == 400 and "Unknown outcome" in bad.text
    assert flow.restore()["route"] == "session_redirect"


def test_advanced_capture_when_offered(sandbox_factory, http):
    server = sandbox_factory(SANDBOX_OFFER_ADVANCED="1")
    flow = Connect(server, http)
    page = flow.pick(HEARTH)
    assert page["data"]["options"] == ["FIXED", "TIME_OF_DAY", "ADVANCED"]
    page = flow.step("tariff_structure_select", data={"options": ["ADVANCED"]})
    assert page["route"] == "rate_advanced_capture"
    tariff = {
        "market_rates": False,
        "schedule": [
            {
                "months": ["All"],
                "days_and_hours": [
                    {
                        "days": ["All"],
                        "hours": [
                            {
                                "valid_from": "00:00:00",
                                "valid_to": "00:00:00",
                                "rate": [{"fixed": 0.2345}],
                            }
                        ],
                    }
                ],
            }
        ],
    }
    assert flow.error("rate_advanced_capture", data={"tariff": {}})["code"] == "data_json_invalid"
    page = flow.step("rate_advanced_capture", data={"tariff": tariff})
    assert page["route"] == "tariff_name_capture"
    flow.step("tariff_name_capture", data={"tariff": {"name": "Complex"}})
    assert flow.step("contract_term_capture")["data"]["cost"] == 0.2345


def test_token_address_that_cannot_resolve_starts_on_the_address_page(connect):
    flow = connect(postal_address={**GB_ADDRESS, "post_code": "XX0 0XX"})
    page = flow.restore()
    assert page["route"] == "postal_address_capture"
    assert page["data"]["postal_address"]["post_code"] == "XX0 0XX"  # pre-filled from the token
    assert flow.error("postal_address_capture", data=page["data"])["code"] == "timezone_not_found"
