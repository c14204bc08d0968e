"""What the flow's session keeps for the summary (issue 12, item 4): the address a page showed,
the market surcharge and region a step sent (the summary's page object carries none of them),
and whether the flow manages an existing location."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.webapp.conftest import GB_ADDRESS
from tests.webapp.pages_harness import REFERENCE_PAGES
from webapp.flow_state import FlowState
from webapp.page import Page

pytestmark = pytest.mark.unit  # no process: see tests/README.md

LONDON = {**GB_ADDRESS}


# -- the flow's facts, kept in the session ---------------------------------------------------


def test_flow_state_remembers_what_later_pages_do_not_carry():
    store: dict[str, Any] = {}
    state = FlowState(store)
    state.page = Page.from_connect(REFERENCE_PAGES["postal_address_capture"])  # empty address
    assert state.entered == {}
    assert not state.manages_location
    provider_page = copy.deepcopy(REFERENCE_PAGES["provider_select"])
    provider_page["data"]["postal_address"] = {**LONDON, "state": ""}
    state.page = Page.from_connect(provider_page)
    assert state.entered["postal_address"] == LONDON
    state.remember_step(
        "market_surcharge_capture", {"surcharge": {"fixed": 0.02, "percentage": 5.0}, "region": "X"}
    )
    assert state.entered["surcharge"] == {"fixed": 0.02, "percentage": 5.0}
    assert state.entered["region"] == "X"
    # A new address drops the region chosen for the old one.
    provider_page["data"]["postal_address"] = {**LONDON, "post_code": "TD15 1AA"}
    state.page = Page.from_connect(provider_page)
    assert "region" not in state.entered and state.entered["postal_address"]["post_code"] == (
        "TD15 1AA"
    )
    # A surcharge page sent without a region clears one; anode's region page sets only it.
    state.remember_step("region_select", {"region": "Y"})
    assert state.entered["region"] == "Y"
    state.remember_step("market_surcharge_capture", {"surcharge": {"fixed": 0, "percentage": 0}})
    assert "region" not in state.entered
    state.remember_step("rate_fixed_capture", {"cost": 0.2})  # nothing of a fixed price is kept
    assert set(state.entered) == {"postal_address", "surcharge"}
    state.reset()
    assert state.entered == {} and store == {}


def test_a_flow_manages_a_location_when_its_link_or_its_first_page_says_so():
    state = FlowState({})
    state.begin("cot_x", {"kind": "partner", "location_id": "loc_1"}, "fh")
    assert state.manages_location
    state = FlowState({})
    state.begin("cot_x", {"kind": "external"}, "fh")
    state.page = Page.from_connect(REFERENCE_PAGES["summary_tou_confirm"])
    assert state.manages_location  # Connect opens on a summary only for a location_id
    state = FlowState({})
    state.begin("cot_x", {"kind": "external"}, "fh")
    state.page = Page.from_connect(REFERENCE_PAGES["provider_select"])
    state.page = Page.from_connect(REFERENCE_PAGES["summary_tou_confirm"])
    assert not state.manages_location
