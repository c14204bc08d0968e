"""Signed links to the tariff settings page, and the signed token its action forms carry.

A settings link is signed for one customer reference and expires (``SETTINGS_LINK_MAX_AGE``);
unlike a start link it is not single use, since a customer comes back to their settings. The
action forms carry a token signed for the customer reference instead of the session's CSRF
token: framed with third-party cookies blocked there is no session to keep a CSRF secret in
(the flow handle that carries a flow's session without a cookie exists only once a flow has
begun), and a cross-site forger cannot make this token any more than a session's.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer

_LINK_SALT = "connect-settings-link"
_ACTION_SALT = "connect-settings-action"
ACTION_FIELD = "settings_token"


@dataclass(frozen=True)
class SettingsLink:
    reference: str
    embed_origin: str | None
    locale: str | None


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


def action_token(reference: str) -> str:
    return _serializer(_ACTION_SALT).dumps(reference)


def action_allowed(reference: str) -> bool:
    try:
        signed_for = _serializer(_ACTION_SALT).loads(
            request.form.get(ACTION_FIELD, ""),
            max_age=int(current_app.config["SESSION_LIFETIME"]),
        )
    except BadSignature:
        return False
    return signed_for == reference
