"""Pure pieces of the state machine (no HTTP): dates, time periods, callback URLs."""

from __future__ import annotations

import pytest

from sandbox import flow
from sandbox.errors import ConnectError

pytestmark = pytest.mark.unit  # no process: see tests/README.md


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-06-15T00:00:00Z", "2026-06-15T00:00:00Z"),
        ("2026-06-15T00:00:00.000Z", "2026-06-15T00:00:00Z"),
        ("2026-06-15T02:00:00+02:00", "2026-06-15T00:00:00Z"),
        ("2026-06-15", "2026-06-15T00:00:00Z"),
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"),
        (None, None),
    ],
)
def test_parse_date(value, expected):
    assert flow.parse_date(value) == expected


@pytest.mark.parametrize("value", ["2026-02-30", "15/06/2026", "", 5, "2026-06-15T25:00:00Z"])
def test_parse_date_rejects(value):
    with pytest.raises(ConnectError) as caught:
        flow.parse_date(value)
    assert caught.value.code == "date_format_invalid"


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("https://a.test/done", "https://a.test/done?fp_cot=cot_1"),
        ("https://a.test/done?x=1", "https://a.test/done?x=1&fp_cot=cot_1"),
        ("https://a.test/done#top", "https://a.test/done?fp_cot=cot_1#top"),
        ("myapp://connect/done", "myapp://connect/done?fp_cot=cot_1"),
    ],
)
def test_with_fp_cot(uri, expected):
    assert flow.with_fp_cot(uri, "cot_1") == expected


def _p(start: str, end: str) -> dict:
    return {"valid_from": start, "valid_to": end, "cost": 0.2}


def test_hours_accept_wrapping_periods_in_any_order():
    hours = [_p("07:00:00", "23:00:00"), _p("23:00:00", "07:00:00")]
    assert flow._hours(list(reversed(hours))) == list(reversed(hours))


def test_hours_reject_a_period_running_past_midnight_into_another():
    with pytest.raises(ConnectError) as caught:
        flow._hours([_p("23:00:00", "07:00:00"), _p("07:00:00", "00:00:00")])
    assert caught.value.code == "incomplete_time_period"
    assert "23:00:00 and 00:00:00" in caught.value.message
