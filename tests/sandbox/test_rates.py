"""Summary rates in the location's timezone, across clock changes (pure functions, no HTTP)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from sandbox import rates

pytestmark = pytest.mark.unit  # no process: see tests/README.md

LONDON = ZoneInfo("Europe/London")
E7 = {
    "structure": "TIME_OF_DAY",
    "hours": [
        {"valid_from": "00:30:00", "valid_to": "07:30:00", "cost": 0.13},
        {"valid_from": "07:30:00", "valid_to": "00:30:00", "cost": 0.32},
    ],
}


def _hours(periods) -> float:
    start = datetime.fromisoformat(periods[0]["valid_from"])
    end = datetime.fromisoformat(periods[-1]["valid_to"])
    return (end - start).total_seconds() / 3600


@pytest.mark.parametrize(
    ("day", "length"), [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25), (date(2026, 6, 1), 24)]
)
@pytest.mark.parametrize(
    "tariff",
    [
        {"structure": "FIXED", "cost": 0.25},
        E7,
        {"structure": "MARKET", "surcharge": {"fixed": 0.02, "percentage": 5}},
    ],
)
def test_a_day_runs_midnight_to_midnight_without_gaps(day, length, tariff):
    periods = rates.day_rates(day, LONDON, tariff, 1, "GB", 0.16)
    assert periods[0]["valid_from"].startswith(day.isoformat() + "T00:00:00")
    assert _hours(periods) == length
    for earlier, later in pairwise(periods):
        assert earlier["valid_to"] == later["valid_from"]
    if tariff["structure"] == "MARKET":
        assert len(periods) == length


def test_time_of_day_cuts_at_the_entered_times():
    periods = rates.day_rates(date(2026, 6, 1), LONDON, E7, 1)
    assert [(p["valid_from"][11:19], p["tariff"]["cost"]) for p in periods] == [
        ("00:00:00", 0.32),
        ("00:30:00", 0.13),
        ("07:30:00", 0.32),
    ]
    assert periods[0]["valid_from"].endswith("+01:00")  # British Summer Time


def test_market_price_is_deterministic_and_includes_the_surcharge():
    tariff = {"structure": "MARKET", "surcharge": {"fixed": 0.0, "percentage": 0}}
    plain = rates.day_rates(date(2026, 6, 1), LONDON, tariff, 1, "GB", 0.16)
    assert plain == rates.day_rates(date(2026, 6, 1), LONDON, tariff, 1, "GB", 0.16)
    tariff = {"structure": "MARKET", "surcharge": {"fixed": 0.02, "percentage": 10}}
    dearer = rates.day_rates(date(2026, 6, 1), LONDON, tariff, 1, "GB", 0.16)
    for base, with_surcharge in zip(plain, dearer, strict=True):
        expected = (base["tariff"]["cost"] + 0.02) * 1.1
        assert with_surcharge["tariff"]["cost"] == pytest.approx(expected, abs=1e-4)


def test_summary_days_and_confidence():
    now = datetime(2026, 6, 1, 23, 30, tzinfo=UTC)  # already 2 June in London
    summary = rates.summary_rates({"structure": "FIXED", "cost": 0.2}, "Europe/London", now=now)
    assert summary["today"][0]["valid_from"] == "2026-06-02T00:00:00+01:00"
    assert summary["yesterday"][0]["tariff"]["confidence"] == 1
    assert summary["today"][0]["tariff"]["confidence"] == 1
    assert 0 < summary["tomorrow"][0]["tariff"]["confidence"] < 1
