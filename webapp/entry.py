"""How customers arrive: a signed start link, an externally created token, or a restart.

Start links are signed by the app (itsdangerous, with a maximum age), so nobody can mint connect
tokens on the partner's account by guessing a URL. An externally created token arrives once as
``?fp_cot=``; it moves into the server-side session and the browser is sent on to a URL without
it, so it does not stay in the address bar, history, logs or Referer headers.
"""

from __future__ import annotations

import logging
from typing import Any

import click
from flask import Blueprint, Flask, Response, current_app, redirect, request, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from webapp import results, sessions, tokens
from webapp.extensions import flatpeak, redis_store
from webapp.flatpeak import mask
from webapp.flow_state import flow_state
from webapp.htmx import personal
from webapp.links import return_url_allowed, valid_token
from webapp.screens import invalid_link, no_flow, render_view, upstream_failed
from webapp.upstream_errors import FlatPeakError

log = logging.getLogger(__name__)

bp = Blueprint("entry", __name__)

_SALT = "connect-start-link"
MAX_REFERENCE_LENGTH = 128


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def sign_start(
    customer_ref: str,
    *,
    return_url: str | None = None,
    location_id: str | None = None,
    embed_origin: str | None = None,
) -> str:
    """The signed part of a start link for one partner customer reference."""
    payload: dict[str, str] = {"ref": customer_ref}
    if return_url:
        payload["ret"] = return_url
    if location_id:
        payload["loc"] = location_id
    if embed_origin:
        payload["org"] = embed_origin
    return _serializer().dumps(payload)


def start_link(customer_ref: str, **options: str | None) -> str:
    """The absolute start link (the "email link") for a customer reference."""
    signed = sign_start(customer_ref, **options)
    return current_app.config["PUBLIC_URL"] + url_for("entry.start", signed=signed)


def _embed_origin(candidate: str | None) -> str | None:
    origins = current_app.config["PARTNER_ORIGINS"]
    if candidate and candidate in origins:
        return candidate
    return None


def begin_partner_flow(
    customer_ref: str,
    *,
    return_url: str | None = None,
    location_id: str | None = None,
    embed_origin: str | None = None,
    retry_url: str | None = None,
) -> Response:
    """Create a connect token for the partner's customer and start a flow on it."""
    config = current_app.config
    public = config["PUBLIC_URL"]
    previous = results.get(redis_store(), customer_ref)
    try:
        created = flatpeak().create_token(
            callback_uri=public + url_for("completion.callback"),
            connect_web_uri=public + url_for("provider_login.provider_return"),
            customer_reference_id=customer_ref,
            customer_id=previous.customer_id if previous else None,
            location_id=location_id,
            direction=config["FLATPEAK_DIRECTION"],
            tariff_type=config["FLATPEAK_TARIFF_TYPE"],
        )
    except FlatPeakError as exc:
        return upstream_failed(exc, retry_url=retry_url or request.url)
    flow_entry = {
        "kind": "partner",
        "customer_ref": customer_ref,
        "return_url": return_url if return_url_allowed(return_url) else None,
        "location_id": location_id,
    }
    origin = _embed_origin(embed_origin)
    tokens.remember(
        redis_store(),
        created.connect_token,
        {"entry": flow_entry, "embed_origin": origin, "state": "active"},
        ttl=created.expires_in,
    )
    launch = sessions.start_flow(created.connect_token, flow_entry, origin)
    log.info("partner flow started with token %s", mask(created.connect_token))
    return personal(redirect(url_for("flow.show", launch=launch), 303))


@bp.get("/start/<signed>")
def start(signed: str) -> Response:
    max_age = current_app.config["START_LINK_MAX_AGE"]
    try:
        payload: Any = _serializer().loads(signed, max_age=max_age)
    except SignatureExpired:
        return render_view("flow/link_expired.html", 410)
    except BadSignature:
        return invalid_link()
    reference = payload.get("ref") if isinstance(payload, dict) else None
    if not isinstance(reference, str) or not reference:
        return invalid_link()
    return begin_partner_flow(
        reference,
        return_url=payload.get("ret"),
        location_id=payload.get("loc"),
        embed_origin=payload.get("org"),
    )


@bp.post("/start/again")
def restart() -> Response:
    """ "Start again" on the expired page of a partner start: a new token, same customer."""
    state = flow_state()
    flow_entry = state.entry
    reference = flow_entry.get("customer_ref")
    if flow_entry.get("kind") != "partner" or not reference:
        return no_flow()
    return begin_partner_flow(
        reference,
        return_url=flow_entry.get("return_url"),
        location_id=flow_entry.get("location_id"),
        embed_origin=state.embed_origin,
    )


@bp.get("/connect")
def external() -> Response:
    """``/connect?fp_cot=…``: a token the partner's backend created, used once."""
    token = request.args.get("fp_cot", "")
    if not valid_token(token):
        return invalid_link()
    origin = _embed_origin(request.args.get("origin"))
    known = tokens.recall(redis_store(), token)
    flow_entry = (known or {}).get("entry") or {"kind": "external"}
    if known is None:
        # Remember it (for a day, the usual token life) so the provider return and the callback
        # work even when this browser's cookie does not survive.
        tokens.remember(
            redis_store(),
            token,
            {"entry": flow_entry, "embed_origin": origin, "state": "active"},
            86400,
        )
    launch = sessions.start_flow(token, flow_entry, origin)
    log.info("external flow started with token %s", mask(token))
    return personal(redirect(url_for("flow.show", launch=launch), 303))


def register_cli(app: Flask) -> None:
    @app.cli.command("connect-link")
    @click.argument("customer_ref")
    @click.option("--return-url", default=None, help="Allowlisted URL to return to at the end.")
    @click.option("--location-id", default=None, help="Manage an existing location (loc_…).")
    @click.option("--origin", default=None, help="Partner origin framing the flow.")
    def connect_link(
        customer_ref: str, return_url: str | None, location_id: str | None, origin: str | None
    ) -> None:
        """Print a signed start link (the "email link") for CUSTOMER_REF."""
        if len(customer_ref) > MAX_REFERENCE_LENGTH:
            raise click.BadParameter("at most 128 characters", param_hint="CUSTOMER_REF")
        if return_url and not return_url_allowed(return_url):
            raise click.BadParameter("not in PARTNER_RETURN_URLS", param_hint="--return-url")
        with app.test_request_context(base_url=app.config["PUBLIC_URL"]):
            link = start_link(
                customer_ref, return_url=return_url, location_id=location_id, embed_origin=origin
            )
        click.echo(link)
