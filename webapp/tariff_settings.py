"""The tariff settings page: every tariff kind the partner enables, live, with its actions.

A partner links to (or frames) ``/settings/<signed>``: a signed, time-limited link for one
customer reference, made like a start link but not single use, since a customer comes back to
their settings (:func:`settings_link`, or ``flask connect-settings-link``). The page asks
FlatPeak's location-status API every time it is shown, never a stored copy: a direct connection
turns from pending to connected, or a tariff is changed elsewhere, without us hearing of it.

Connect and Change start an ordinary flow for that kind of tariff (:func:`begin_partner_flow`);
Disconnect needs no Connect screens: a token for the location and kind, ``session_restore``,
the summary's ``DISCONNECT`` action, the exchange, and the result stored like any other.

The action forms carry a token signed for the customer reference instead of the session's CSRF
token: framed with third-party cookies blocked there is no session to keep a CSRF secret in
(the flow handle that carries a flow's session without a cookie exists only once a flow has
begun), and a cross-site forger cannot make this token any more than a session's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, Response, abort, current_app, redirect, request, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer
from markupsafe import Markup

from webapp import results
from webapp.charts import RateRow, bar_chart, rate_rows
from webapp.entry import begin_partner_flow
from webapp.extensions import flatpeak, redis_store
from webapp.flatpeak import mask
from webapp.formatting import format_display_rate, format_time_range, price_places
from webapp.htmx import personal, render
from webapp.i18n import gettext as _
from webapp.i18n import use_locale
from webapp.money import RateUnit, rate_unit
from webapp.page import Page
from webapp.screens import invalid_link
from webapp.security import csrf
from webapp.tariff_kinds import COMMODITY_IMPORT, direction_and_type, is_kind
from webapp.upstream_errors import FlatPeakError, LocationNotFound, RatesPending

log = logging.getLogger(__name__)
bp = Blueprint("settings", __name__, url_prefix="/settings")

_LINK_SALT = "connect-settings-link"
_ACTION_SALT = "connect-settings-action"
ACTION_FIELD = "settings_token"

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
class SettingsLink:
    reference: str
    embed_origin: str | None
    locale: str | None


@dataclass(frozen=True)
class Card:
    kind: str
    status: str
    provider: str | None
    tariff_name: str | None
    contract_end: str | None
    actions: tuple[str, ...]


@dataclass(frozen=True)
class Prices:
    """Today's import prices, or ``pending`` while a direct connection's data is on its way."""

    pending: bool
    rows: list[RateRow]
    chart: Markup
    unit: RateUnit | None
    places: int | None
    cheapest: str | None


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def sign_settings(
    customer_ref: str, *, embed_origin: str | None = None, locale: str | None = None
) -> str:
    payload = {"ref": customer_ref}
    if embed_origin:
        payload["org"] = embed_origin
    if locale:
        payload["lc"] = locale
    return _serializer(_LINK_SALT).dumps(payload)


def settings_link(customer_ref: str, **options: str | None) -> str:
    """The absolute settings link for a customer reference (needs a request context)."""
    return current_app.config["PUBLIC_URL"] + url_for(
        "settings.page", signed=sign_settings(customer_ref, **options)
    )


def verify_settings(signed: str) -> SettingsLink | None:
    try:
        payload = _serializer(_LINK_SALT).loads(
            signed, max_age=int(current_app.config["SETTINGS_LINK_MAX_AGE"])
        )
    except BadSignature:  # SignatureExpired is one too
        return None
    reference = payload.get("ref") if isinstance(payload, dict) else None
    if not isinstance(reference, str) or not reference:
        return None
    origin, locale = payload.get("org"), payload.get("lc")
    return SettingsLink(
        reference,
        origin if isinstance(origin, str) else None,
        locale if isinstance(locale, str) else None,
    )


def _action_token(reference: str) -> str:
    return _serializer(_ACTION_SALT).dumps(reference)


def _action_allowed(reference: str) -> bool:
    try:
        signed_for = _serializer(_ACTION_SALT).loads(
            request.form.get(ACTION_FIELD, ""),
            max_age=int(current_app.config["SESSION_LIFETIME"]),
        )
    except BadSignature:
        return False
    return signed_for == reference


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


def _zone(name: Any) -> ZoneInfo:
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def todays_prices(location_id: str, now: datetime | None = None) -> Prices:
    """Today's import prices in the location's own day, and the next cheapest window.

    The location's time zone comes with the answer, so the request spans yesterday to tomorrow
    in UTC, which holds the location's whole today and the rest of its tomorrow whatever its
    offset; rows outside today are kept only for the next cheapest window.
    """
    now = now or datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    start, end = midnight - timedelta(days=1), midnight + timedelta(days=2)
    try:
        body = flatpeak().tariff_rates(
            location_id, _rfc3339(start), _rfc3339(end), direction="IMPORT"
        )
    except RatesPending:
        return Prices(True, [], Markup(""), None, None, None)
    zone = _zone(body.get("location_timezone"))
    unit = rate_unit(str(body.get("currency_code") or "GBP"))
    entries = []
    for item in body.get("data") or []:
        if not isinstance(item, dict) or not isinstance(item.get("tariff"), dict):
            continue
        # charts.rate_rows reads Connect's summary shape, where the price is ``cost``.
        rate = item["tariff"]
        entries.append(
            {
                "valid_from": _local(item.get("valid_from"), zone),
                "valid_to": _local(item.get("valid_to"), zone),
                "tariff": {"cost": rate.get("rate"), "confidence": rate.get("confidence")},
            }
        )
    today = now.astimezone(zone).date()
    rows_all = rate_rows(entries, unit, now)
    # Banded again on today's rows alone: the chart's cheaper/dearer thirds are today's.
    rows = rate_rows([e for e in entries if _day_of(e["valid_from"]) == today], unit, now)
    places = price_places((row.cost for row in rows), unit)
    chart = bar_chart(rows, unit, "settings-rates", _("Prices today"), places)
    return Prices(False, rows, chart, unit, places, _next_cheapest(rows_all, now, today, unit))


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _local(value: Any, zone: ZoneInfo) -> Any:
    try:
        return (
            datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(zone).isoformat()
        )
    except ValueError:
        return value


def _day_of(value: Any) -> date | None:
    try:
        return datetime.fromisoformat(str(value)).date()
    except ValueError:
        return None


def _next_cheapest(rows: list[RateRow], now: datetime, today: date, unit: RateUnit) -> str | None:
    """The first coming spell at the lowest price still ahead today or tomorrow."""
    ahead = [row for row in rows if row.end > now and row.start.date() <= today + timedelta(1)]
    if not ahead:
        return None
    lowest = min(row.cost for row in ahead)
    first = next(i for i, row in enumerate(ahead) if row.cost == lowest)
    start, end = ahead[first].start, ahead[first].end
    for row in ahead[first + 1 :]:
        if row.cost != lowest or row.start != end:
            break
        end = row.end
    day = _("Today") if start.date() <= today else _("Tomorrow")
    return _(
        "%(day)s, %(when)s, at %(price)s",
        day=day,
        when=format_time_range(max(start, now.astimezone(start.tzinfo)), end),
        price=format_display_rate(lowest, unit),
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
        action_token=_action_token(link.reference),
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
    if not _action_allowed(link.reference):
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
        action_token=_action_token(link.reference),
    )
    return personal(response)


@bp.post("/<signed>/disconnect/<kind>")
@csrf.exempt
def disconnect(signed: str, kind: str) -> Response:
    link = _link_or_404(signed)
    kind = _enabled_kind(kind)
    if not _action_allowed(link.reference):
        return _refused(url_for("settings.confirm_disconnect", signed=signed, kind=kind))
    stored = results.location_of(redis_store(), link.reference)
    if not stored or not stored.location_id:
        return redirect(url_for("settings.page", signed=signed), 303)
    if not _disconnect(link.reference, kind, stored):
        response = render("settings/disconnect.html", status=502, link=link, signed=signed,
                          kind=kind, failed=True, action_field=ACTION_FIELD,
                          action_token=_action_token(link.reference))  # fmt: skip
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
