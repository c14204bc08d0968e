"""``steps.decide``: whether a posted step may be sent, as a plain function of what the step lock
found, what the form carried, the cached page and Connect's answer. No Flask, Redis or HTTP."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from webapp import steps
from webapp.page import Page
from webapp.steps import Current, Pending, Proceed, Refused, State, decide, fingerprint
from webapp.upstream_errors import ConnectError, UpstreamUnavailable

pytestmark = pytest.mark.unit  # no process: see tests/README.md

ADDRESS = Page(route="postal_address_capture", data={"postal_address": {"city": ""}})
PROVIDERS = Page(route="provider_select", data={"providers": [{"id": "prv_1"}]})
COMPLETED = ConnectError(code="session_completed")


def state_of(page: Page, version: int = 3, pending: str | None = None) -> State:
    return State(
        version=version,
        fp=fingerprint(page),
        route=page.route,
        pending=Pending(fp=pending) if pending is not None else None,
    )


class Connect:
    """Answers ``session_restore`` with one page (or error), counting the questions."""

    def __init__(self, answer: Page | ConnectError) -> None:
        self.answer = answer
        self.asked = 0

    def __call__(self) -> Page | ConnectError:
        self.asked += 1
        return self.answer


def run(
    state: State | None,
    connect: Callable[[], Page | ConnectError],
    *,
    posted: int = 3,
    route: str = "postal_address_capture",
    cached: Page = ADDRESS,
    page: str = "",
):
    return decide(
        state,
        posted_version=posted,
        posted_route=route,
        cached=cached,
        ask=connect,
        posted_fp=page,
    )


def test_the_current_page_proceeds_without_asking_connect() -> None:
    connect = Connect(PROVIDERS)
    assert run(state_of(ADDRESS), connect) == Proceed(ADDRESS, 3)
    assert connect.asked == 0


def test_a_form_for_a_page_the_flow_has_left_shows_the_current_page() -> None:
    connect = Connect(PROVIDERS)
    assert run(state_of(PROVIDERS, version=4), connect, posted=3) == Current(PROVIDERS)
    assert connect.asked == 1


def test_a_version_for_another_route_is_not_the_current_page() -> None:
    connect = Connect(ADDRESS)
    assert run(state_of(ADDRESS), connect, route="provider_select") == Current(ADDRESS)


def test_no_record_proceeds_only_when_connect_is_on_the_posted_page() -> None:
    assert run(None, Connect(ADDRESS)) == Proceed(ADDRESS, None)
    assert run(None, Connect(PROVIDERS)) == Current(PROVIDERS)
    # Another page with the same route (Connect has other data now) is not the posted page.
    refilled = Page(route="postal_address_capture", data={"postal_address": {"city": "Leeds"}})
    assert run(None, Connect(refilled)) == Current(refilled)


def test_a_ledger_behind_the_form_proceeds_when_connect_is_on_the_forms_page() -> None:
    """Redis lost the ledger's (and the session's) last writes in a failover: the ledger is on
    the address page at 3, the customer's form is from the provider page at 4, and the session
    still caches the address page. The form names its page, so it is still recognised."""
    connect = Connect(PROVIDERS)
    lost = run(
        state_of(ADDRESS, version=3),
        connect,
        posted=4,
        route="provider_select",
        page=fingerprint(PROVIDERS),
    )
    assert lost == Proceed(PROVIDERS, None)  # the caller records it at the form's version
    assert connect.asked == 1


def test_a_ledger_behind_the_form_still_refuses_a_form_for_another_page() -> None:
    connect = Connect(PROVIDERS)
    stale = Page(route="provider_select", data={"providers": [{"id": "prv_gone"}]})
    posted = {"posted": 4, "route": "provider_select", "page": fingerprint(stale)}
    assert run(state_of(ADDRESS, version=3), connect, **posted) == Current(PROVIDERS)
    # Without the form's fingerprint (a page rendered before it was added), the session's.
    assert run(state_of(ADDRESS), connect, posted=4, route="provider_select") == Current(PROVIDERS)
    assert run(
        state_of(ADDRESS), connect, posted=4, route="provider_select", cached=PROVIDERS
    ) == Proceed(PROVIDERS, None)


def test_the_form_fingerprint_cannot_make_a_stale_version_current() -> None:
    """An old form (the ledger is past it) never proceeds, whatever fingerprint it carries."""
    connect = Connect(PROVIDERS)
    posted = {"posted": 3, "route": "provider_select", "page": fingerprint(PROVIDERS)}
    assert run(state_of(PROVIDERS, version=5), connect, **posted) == Current(PROVIDERS)


def test_a_pending_send_that_landed_is_not_sent_again() -> None:
    connect = Connect(PROVIDERS)
    decision = run(state_of(ADDRESS, pending=fingerprint(ADDRESS)), connect)
    assert decision == Current(PROVIDERS, landed=True)
    assert connect.asked == 1


def test_a_pending_send_that_did_not_land_is_sent_once_and_settled() -> None:
    decision = run(state_of(ADDRESS, pending=fingerprint(ADDRESS)), Connect(ADDRESS))
    assert decision == Proceed(ADDRESS, 3, settle=True)


def test_an_unreadable_note_counts_as_pending_from_this_page() -> None:
    decision = run(state_of(ADDRESS, pending=""), Connect(PROVIDERS))
    assert decision == Current(PROVIDERS, landed=True)


def test_a_note_for_an_earlier_page_is_void() -> None:
    connect = Connect(PROVIDERS)
    assert run(state_of(ADDRESS, pending="0" * 32), connect) == Proceed(ADDRESS, 3)
    assert connect.asked == 0


def test_a_cached_copy_older_than_the_ledger_is_replaced_by_connects() -> None:
    newer = Page(route="postal_address_capture", data={"postal_address": {"city": "London"}})
    connect = Connect(newer)
    decision = run(state_of(newer), connect, cached=ADDRESS)
    assert decision == Proceed(newer, 3) and connect.asked == 1
    # Asked once, even when a pending note needs Connect's word too.
    connect = Connect(newer)
    decision = run(state_of(newer, pending=fingerprint(newer)), connect, cached=ADDRESS)
    assert decision == Proceed(newer, 3, settle=True) and connect.asked == 1


@pytest.mark.parametrize(
    "state",
    [None, state_of(PROVIDERS, version=9), state_of(ADDRESS, pending=fingerprint(ADDRESS))],
)
def test_connect_refusing_to_say_where_the_flow_is_is_refused(state: State | None) -> None:
    assert run(state, Connect(COMPLETED)) == Refused(COMPLETED)


def test_a_failure_to_ask_propagates_with_nothing_decided() -> None:
    def down() -> Page:
        raise UpstreamUnavailable("connect down")

    with pytest.raises(UpstreamUnavailable):
        run(state_of(ADDRESS, pending=fingerprint(ADDRESS)), down)


def test_only_a_few_versions_ahead_count_as_lost_writes() -> None:
    """A failover loses a step or two; a form further ahead is forged and treated as stale."""
    known = state_of(ADDRESS, version=3)
    assert steps.lost_writes_behind(known, 4)
    assert steps.lost_writes_behind(known, 3 + steps.MAX_VERSIONS_LOST)
    assert not steps.lost_writes_behind(known, 4 + steps.MAX_VERSIONS_LOST)
    assert not steps.lost_writes_behind(known, 3) and not steps.lost_writes_behind(None, 4)
    forged = run(known, Connect(ADDRESS), posted=999_999_999_999, page=fingerprint(ADDRESS))
    assert forged == Current(ADDRESS)
    # The ledger may follow a credible form only, and never past the ceiling.
    assert steps.credible_floor(known, 5) == 5
    assert steps.credible_floor(known, 999_999_999_999) == 0
    assert steps.credible_floor(None, 999_999_999_999) == steps.VERSION_CEILING
