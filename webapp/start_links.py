"""Start links: the signed, single-use links a partner sends a customer (an email, a button).

A link is a customer reference (and optionally a return URL, a location to manage and the
partner origin that frames the flow), signed with the app's secret so nobody can mint connect
tokens on the partner's account by guessing a URL. Each carries a random nonce, and its first
use is recorded in Redis for the rest of its life (:func:`claim_start_link`): a link that leaked
cannot start again later. A link that manages a location lives ``MANAGE_LINK_MAX_AGE``, others
``START_LINK_MAX_AGE``. What happens once a link is verified is :mod:`webapp.entry`'s.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from flask import Response, current_app, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer

from webapp.config import is_country_code
from webapp.extensions import redis_store
from webapp.screens import invalid_link, render_view

_SALT = "connect-start-link"
# The first use of each start link, by a SHA-256 of its nonce (a Redis dump names no live link).
_USED_PREFIX = "connect:startlink:"
_NONCE_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def sign_start(
    customer_ref: str,
    *,
    return_url: str | None = None,
    location_id: str | None = None,
    embed_origin: str | None = None,
    country: str | None = None,
    locale: str | None = None,
) -> str:
    """The signed part of a start link for one partner customer reference; each call makes a
    new link, good for one use (its nonce). ``country`` (ISO 3166-1 alpha-2) is where the
    customer lives, if the partner knows: the address page starts with it chosen. ``locale``
    ("de", "en_US") is the language the whole flow speaks, whatever the browser asks for."""
    payload: dict[str, str] = {"ref": customer_ref, "n": secrets.token_urlsafe(16)}
    if return_url:
        payload["ret"] = return_url
    if location_id:
        payload["loc"] = location_id
    if embed_origin:
        payload["org"] = embed_origin
    if country:
        payload["cty"] = country
    if locale:
        payload["lc"] = locale
    return _serializer().dumps(payload)


def start_link(customer_ref: str, **options: str | None) -> str:
    """The absolute start link (the "email link") for a customer reference."""
    signed = sign_start(customer_ref, **options)
    return current_app.config["PUBLIC_URL"] + url_for("entry.start", signed=signed)


def text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def country_or_none(value: Any) -> str | None:
    """A country code from a start link or the session, if it is one."""
    code = text_or_none(value)
    return code if code is not None and is_country_code(code) else None


@dataclass(frozen=True)
class StartLink:
    """A verified start link: whose it is, what it opens, and how long it has left."""

    reference: str
    nonce: str
    return_url: str | None
    location_id: str | None
    embed_origin: str | None
    remaining: int
    country: str | None = None
    locale: str | None = None

    def pending(self) -> dict[str, Any]:
        """What the session holds while the customer chooses (the link itself is spent)."""
        return {
            "kind": "start",
            "ref": self.reference,
            "ret": self.return_url,
            "loc": self.location_id,
            "org": self.embed_origin,
            "cty": self.country,
            "lc": self.locale,
        }


def verify_start(signed: str) -> StartLink | Response:
    """The start link's payload if it is ours, within its age and single-use; else the page
    that says why not."""
    try:
        payload, signed_at = _serializer().loads(signed, return_timestamp=True)
    except BadSignature:
        return invalid_link()
    reference = payload.get("ref") if isinstance(payload, dict) else None
    if not isinstance(reference, str) or not reference:
        return invalid_link()
    location_id = text_or_none(payload.get("loc"))
    config = current_app.config
    max_age = int(config["MANAGE_LINK_MAX_AGE"] if location_id else config["START_LINK_MAX_AGE"])
    age = time.time() - signed_at.timestamp()
    if age > max_age:
        return render_view("flow/link_expired.html", 410)
    nonce = payload.get("n")
    if not isinstance(nonce, str) or not _NONCE_RE.match(nonce):
        # Signed before links became single use: a bearer link for its whole week. Refused.
        return invalid_link()
    return StartLink(
        reference=reference,
        nonce=nonce,
        return_url=text_or_none(payload.get("ret")),
        location_id=location_id,
        embed_origin=text_or_none(payload.get("org")),
        remaining=max(1, int(max_age - age)),
        country=country_or_none(payload.get("cty")),
        # As signed; whether we speak it is decided when the page is answered (i18n.py), so a
        # link made before a catalogue shipped still works, in the browser's language.
        locale=text_or_none(payload.get("lc")),
    )


def claim_start_link(link: StartLink) -> bool:
    """Record the link's use: True for its first use, and for another within the grace.

    ``SET NX`` decides the first use atomically across workers; the value is when it happened,
    and the key lives as long as the link would (after that the signature's age refuses it)."""
    store = redis_store()
    key = _USED_PREFIX + hashlib.sha256(link.nonce.encode()).hexdigest()
    now = time.time()
    if store.set(key, f"{now:.3f}", nx=True, ex=link.remaining):
        return True
    first = store.get(key)
    try:
        first_use = float(first or "")
    except ValueError:
        return False
    return now - first_use <= float(current_app.config["START_LINK_REUSE_GRACE"])
