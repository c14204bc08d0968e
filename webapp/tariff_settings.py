"""The tariff settings page: every tariff kind the partner enables, live, with its actions.

A partner links to (or frames) ``/settings/<signed>``: a signed, time-limited link for one
customer reference, made like a start link but not single use, since a customer comes back to
their settings (:mod:`webapp.settings_links`, or ``flask connect-settings-link``). The page asks
FlatPeak's location-status API every time it is shown, never a stored copy: a direct connection
turns from pending to connected, or a tariff is changed elsewhere, without us hearing of it.

Connect and Change start an ordinary flow for that kind of tariff (:func:`begin_partner_flow`);
Disconnect needs no Connect screens: a token for the location and kind, ``session_restore``,
the summary's ``DISCONNECT`` action, the exchange, and the result stored like any other.

The action forms carry a token signed for the customer reference instead of the session's CSRF
token (:mod:`webapp.settings_links` says why); today's prices are :mod:`webapp.settings_prices`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, abort, current_app, redirect, request, url_for

from webapp import results
from webapp.entry import begin_partner_flow
from webapp.extensions import flatpeak, redis_store
from webapp.flatpeak import mask
from webapp.htmx import personal, render
from webapp.i18n import use_locale
from webapp.page import Page
from webapp.screens import invalid_link
from webapp.security import csrf
from webapp.settings_links import (
    ACTION_FIELD,
    SettingsLink,
    action_allowed,
    action_token,
    verify_settings,
)
from webapp.settings_prices import Prices, todays_prices
from webapp.tariff_kinds import COMMODITY_IMPORT, direction_and_type, is_kind
from webapp.upstream_errors import FlatPeakError, LocationNotFound

log = logging.getLogger(__name__)
bp = Blueprint("settings", __name__, url_prefix="/settings")


# FlatPeak status -> what the page calls it (and the data-status the tests read).
CONNECTED, PENDING, FAILED, DISCONNECTED, NOT_CONNECTED, UNSUPPORTED = (
    "connected",
    "pending",
    "failed",
    "disconnected",
    "not_connected",
    "not_supported",
)
_STATUSES = {
    "CONNECTED": CONNECTED,
    "PENDING": PENDING,
    "ERROR": FAILED,
    "FAILED": FAILED,
    "DISCONNECTED": DISCONNECTED,
    "NOT_SUPPORTED": UNSUPPORTED,
}


@dataclass(frozen=True)
class Card:
    kind: str
    status: str
    provider: str | None
    tariff_name: str | None
    contract_end: str | None
    actions: tuple[str, ...]


def _link_or_404(signed: str) -> SettingsLink:
    link = verify_settings(signed)
    if link is None:
        abort(invalid_link())
    use_locale(link.locale)
    return link


def _enabled_kind(kind: str) -> str:
    if not is_kind(kind) or kind not in current_app.config["TARIFF_KINDS"]:
        abort(404)
    return kind


# -- the page --------------------------------------------------------------------------------


def card_of(kind: str, entry: dict[str, Any] | None) -> Card:
    entry = entry or {}
    raw = str(entry.get("status") or "").strip().upper()  # FlatPeak's example has "CONNECTED "
    status = _STATUSES.get(raw, NOT_CONNECTED)
    provider = entry.get("provider") if isinstance(entry.get("provider"), dict) else {}
    tariff = entry.get("tariff") if isinstance(entry.get("tariff"), dict) else {}
    if status in (CONNECTED, FAILED):
        actions: tuple[str, ...] = ("change", "disconnect")
    elif status == PENDING:
        # Connect's pending page answers DISCONNECT with the provider list, not a completion,
        # so a pending connection is changed (which can drop it), not disconnected from here.
        actions = ("change",)
    elif status == UNSUPPORTED:
        actions = ()
    else:
        actions = ("connect",)
    show_details = status in (CONNECTED, PENDING, FAILED)
    return Card(
        kind=kind,
        status=status,
        provider=str(provider.get("display_name") or "") or None if show_details else None,
        tariff_name=str(tariff.get("display_name") or "") or None if show_details else None,
        contract_end=str(tariff.get("contract_end_date") or "") or None if show_details else None,
        actions=actions,
    )


@bp.get("/<signed>")
def page(signed: str) -> Response:
    link = _link_or_404(signed)
    kinds = list(current_app.config["TARIFF_KINDS"])
    stored = results.location_of(redis_store(), link.reference)
    location_id = stored.location_id if stored else None
    statuses: dict[str, Any] = {}
    failed = False
    prices: Prices | None = None
    if location_id:
        try:
            # Asked every time the page is shown: the status changes without a flow of ours.
            statuses = flatpeak().location_status(location_id)
        except LocationNotFound:
            log.warning("settings: stored location %s is unknown upstream", mask(location_id))
        except FlatPeakError as exc:
            log.warning("settings: location status failed: %s", type(exc).__name__)
            failed = True
    cards = [card_of(kind, statuses.get(kind)) for kind in kinds]
    imported = next((c for c in cards if c.kind == COMMODITY_IMPORT), None)
    if location_id and imported and imported.status in (CONNECTED, PENDING):
        try:
            prices = todays_prices(location_id)
        except FlatPeakError as exc:
            # The prices are extra: the page without them still lets the customer act.
            log.warning("settings: tariff rates failed: %s", type(exc).__name__)
    notice = request.args.get("done")
    response = render(
        "settings/index.html",
        status=503 if failed else 200,
        link=link,
        signed=signed,
        cards=[] if failed else cards,
        failed=failed,
        prices=prices,
        notice=notice if notice in ("disconnected",) else None,
        action_field=ACTION_FIELD,
        action_token=action_token(link.reference),
    )
    return personal(response)


# -- actions ---------------------------------------------------------------------------------


@bp.post("/<signed>/connect/<kind>")
@csrf.exempt
def connect(signed: str, kind: str) -> Response:
    """Connect or Change: an ordinary flow for this kind of tariff, back to this page after."""
    link = _link_or_404(signed)
    kind = _enabled_kind(kind)
    back = url_for("settings.page", signed=signed)
    if not action_allowed(link.reference):
        return _refused(back)
    stored = results.location_of(redis_store(), link.reference)
    return begin_partner_flow(
        link.reference,
        return_url=back,
        location_id=stored.location_id if stored else None,
        embed_origin=link.embed_origin,
        locale=link.locale,
        retry_url=back,
        # A live flow of this customer here may be for another kind: never resume it instead.
        resume=False,
        kind=kind,
    )


@bp.get("/<signed>/disconnect/<kind>")
def confirm_disconnect(signed: str, kind: str) -> Response:
    link = _link_or_404(signed)
    kind = _enabled_kind(kind)
    response = render(
        "settings/disconnect.html",
        link=link,
        signed=signed,
        kind=kind,
        action_field=ACTION_FIELD,
        action_token=action_token(link.reference),
    )
    return personal(response)


@bp.post("/<signed>/disconnect/<kind>")
@csrf.exempt
def disconnect(signed: str, kind: str) -> Response:
    link = _link_or_404(signed)
    kind = _enabled_kind(kind)
    if not action_allowed(link.reference):
        return _refused(url_for("settings.confirm_disconnect", signed=signed, kind=kind))
    stored = results.location_of(redis_store(), link.reference)
    if not stored or not stored.location_id:
        return redirect(url_for("settings.page", signed=signed), 303)
    if not _disconnect(link.reference, kind, stored):
        response = render("settings/disconnect.html", status=502, link=link, signed=signed,
                          kind=kind, failed=True, action_field=ACTION_FIELD,
                          action_token=action_token(link.reference))  # fmt: skip
        response.headers["Cache-Control"] = "no-store"
        return response
    return redirect(url_for("settings.page", signed=signed, done="disconnected"), 303)


def _refused(back: str) -> Response:
    """A form without a valid token (a page left open past SESSION_LIFETIME, or a forgery):
    nothing is done, and the page is shown again with fresh forms rather than a bare error."""
    log.info("settings: action refused (no valid form token)")
    return redirect(back, 303)


def _disconnect(reference: str, kind: str, stored: results.Result) -> bool:
    """Disconnect without Connect's screens: the summary's DISCONNECT on a fresh token."""
    client = flatpeak()
    public = current_app.config["PUBLIC_URL"]
    direction, tariff_type = direction_and_type(kind)
    try:
        created = client.create_token(
            callback_uri=public + url_for("completion.callback"),
            connect_web_uri=public + url_for("provider_login.provider_return"),
            customer_reference_id=reference,
            customer_id=stored.customer_id,
            location_id=stored.location_id,
            direction=direction,
            tariff_type=tariff_type,
        )
        token = created.connect_token
        current = client.restore(token)
        if not isinstance(current, Page) or "DISCONNECT" not in current.actions:
            log.warning("settings: %s offers no DISCONNECT", getattr(current, "route", "error"))
            return False
        done = client.submit(token, current.route, action="DISCONNECT")
        if not isinstance(done, Page) or done.route != "session_complete":
            log.warning("settings: DISCONNECT did not complete the session")
            return False
        exchanged = client.exchange(token)
    except FlatPeakError as exc:
        log.warning("settings: disconnect failed: %s", type(exc).__name__)
        return False
    results.save(
        redis_store(),
        reference,
        customer_id=exchanged.customer_id,
        location_id=exchanged.location_id,
        complete_action=exchanged.complete_action,
        is_tariff_processed=exchanged.is_tariff_processed,
        live_mode=exchanged.live_mode,
        kind=kind,
    )
    log.info("settings: %s disconnected with token %s", kind, mask(token))
    return True
