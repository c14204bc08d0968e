"""The demo partner page at ``/``: what a partner's own site does with this app.

A partner shows a "Connect your tariff" control for a signed-in customer, starts a flow for that
customer's reference, and, once the flow completes, has FlatPeak's permanent ``customer_id`` and
``location_id`` for the customer. Here the customer is a fixed demo reference (DEMO_CUSTOMER_REF).

The page is for development only (``DEMO_ENABLED``, off by default, refused in production):
anyone who can reach it sees the demo customer's ids, starts flows on the partner's account and
can change or disconnect the demo customer's tariff. Off, ``create_app`` does not register this
blueprint, so both paths are the ordinary 404 page.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    current_app,
    make_response,
    render_template,
    request,
    url_for,
)

from webapp import results
from webapp.completion import OUTCOMES
from webapp.entry import begin_partner_flow
from webapp.extensions import redis_store
from webapp.settings_links import sign_settings

bp = Blueprint("demo", __name__)


def connection_status(result: results.Result | None) -> str | None:
    """Where the stored connection stands: ``connected``, ``pending`` (connected, the tariff
    data still on its way from the provider) or ``disconnected``; None before any flow."""
    if result is None:
        return None
    if result.complete_action == "DISCONNECT":
        return "disconnected"
    return "connected" if result.is_tariff_processed else "pending"


@bp.get("/")
def index() -> Response:
    reference = current_app.config["DEMO_CUSTOMER_REF"]
    result = results.get(redis_store(), reference)
    status = connection_status(result)
    returned = request.args.get("connect")
    response = make_response(
        render_template(
            "demo/index.html",
            customer_ref=reference,
            result=result,
            status=status,
            # ``?connect=`` only says a flow has just ended; what it ended in is the stored
            # result's to say (the query string is anyone's to edit).
            outcome=(status or returned) if returned in OUTCOMES else None,
            settings_url=url_for("settings.page", signed=sign_settings(reference)),
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/demo/start")
def start() -> Response:
    """Start a flow for the demo customer; ``manage`` opens the stored location instead."""
    reference = current_app.config["DEMO_CUSTOMER_REF"]
    location_id = None
    if request.form.get("mode") == "manage":
        stored = results.get(redis_store(), reference)
        location_id = stored.location_id if stored else None
    return begin_partner_flow(
        reference,
        return_url=url_for("demo.index"),
        location_id=location_id,
        retry_url=url_for("demo.index"),
    )
