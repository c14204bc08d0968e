"""Results kept per customer reference and tariff kind; a token made for the kind asked for."""

from __future__ import annotations

import json

import pytest
import redis

from webapp import results
from webapp.config import ConfigError, from_env, load
from webapp.tariff_kinds import (
    COMMODITY_EXPORT,
    COMMODITY_IMPORT,
    NON_COMMODITY_IMPORT,
    direction_and_type,
    kind_of,
)


def _save(client: redis.Redis, ref: str, kind: str, location: str) -> results.Result:
    return results.save(
        client, ref, customer_id="cus_1", location_id=location, complete_action="SAVE",
        is_tariff_processed=True, live_mode=False, kind=kind,
    )  # fmt: skip


def test_each_kind_is_its_own_record(app_redis: redis.Redis) -> None:
    imported = _save(app_redis, "ref-k", COMMODITY_IMPORT, "loc_1")
    exported = _save(app_redis, "ref-k", COMMODITY_EXPORT, "loc_1")
    assert results.get(app_redis, "ref-k") == imported
    assert results.get(app_redis, "ref-k", COMMODITY_EXPORT) == exported
    assert results.get(app_redis, "ref-k", NON_COMMODITY_IMPORT) is None
    assert set(results.all_kinds(app_redis, "ref-k")) == {COMMODITY_IMPORT, COMMODITY_EXPORT}


def test_a_record_from_before_kinds_reads_as_import(app_redis: redis.Redis) -> None:
    old = {
        "customer_reference": "ref-old", "customer_id": "cus_9", "location_id": "loc_9",
        "complete_action": "SAVE", "is_tariff_processed": True, "live_mode": False,
        "completed_at": "2026-01-01T00:00:00+00:00",
    }  # fmt: skip
    app_redis.set("connect:result:ref-old", json.dumps(old))
    found = results.get(app_redis, "ref-old")
    assert found is not None and found.kind == COMMODITY_IMPORT
    assert results.location_of(app_redis, "ref-old") == found


def test_a_reference_with_a_colon_does_not_collide_with_another_kind(
    app_redis: redis.Redis,
) -> None:
    _save(app_redis, "x", COMMODITY_EXPORT, "loc_export")
    assert results.get(app_redis, "commodity_export:x") is None
    assert results.get(app_redis, f"{COMMODITY_EXPORT}:x", COMMODITY_IMPORT) is None


def test_kinds_map_to_direction_and_type() -> None:
    assert direction_and_type(NON_COMMODITY_IMPORT) == ("IMPORT", "NON_COMMODITY")
    assert kind_of("EXPORT", "COMMODITY") == COMMODITY_EXPORT
    assert kind_of(None, None) == COMMODITY_IMPORT


def test_tariff_kinds_setting_is_checked() -> None:
    assert from_env({})["TARIFF_KINDS"] == [COMMODITY_IMPORT]
    assert from_env({"TARIFF_KINDS": "commodity_import COMMODITY_EXPORT"})["TARIFF_KINDS"] == [
        COMMODITY_IMPORT,
        COMMODITY_EXPORT,
    ]
    with pytest.raises(ConfigError, match="TARIFF_KINDS"):
        load({"TARIFF_KINDS": ["non_commodity_export"]})
