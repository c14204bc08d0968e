"""The demo partner page at ``/``: what a partner's own site does with this app.

A partner shows a "Connect your tariff" control for a signed-in customer, starts a flow for that
customer's reference, and, once the flow completes, has FlatPeak's permanent ``customer_id`` and
``location_id`` for the customer. Here the customer is a fixed demo reference (DEMO_CUSTOMER_REF).
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, make_response, render_template, request, url_for

from webapp import results
from webapp.completion import OUTCOMES
from webapp.entry import begin_partner_flow
from webapp.extensions import redis_store

bp = Blueprint("demo", __name__)


@bp.get("/")
def index() -> Response:
    reference = current_app.config["DEMO_CUSTOMER_REF"]
    outcome = request.args.get("connect")
    response = make_response(
        render_template(
            "demo/index.html",
            customer_ref=reference,
            result=results.get(redis_store(), reference),
            outcome=outcome if outcome in OUTCOMES else None,
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
