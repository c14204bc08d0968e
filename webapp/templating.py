"""Everything templates can use beyond their own context, registered in one place.

``asset_url`` names a static file by its content (:mod:`webapp.assets`). Filters format
numbers, money, rates and times in the customer's locale (:mod:`webapp.formatting`). The other
globals are what the shared partials need: the partials are imported without context, so Jinja
builds each of them once rather than on every render, and whatever they read per request (the
flow handle, a launch code for a browser without cookies, the page's version on ``g``) comes
from a global instead. The context processor adds what every page shows: the flow handle, the
partner origin that may receive ``postMessage`` events, and the partner's brand.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask

from webapp import assets, formatting, sessions
from webapp.branding import brand_from_config
from webapp.flow_state import flow_state
from webapp.pages.common import action_hint, action_label


def init_app(
    app: Flask,
    *,
    flow_handle: Callable[[], str | None] = sessions.flow_handle,
    launch_code: Callable[[], str | None] = sessions.cookieless_launch_code,
) -> None:
    """``flow_handle`` and ``launch_code`` are the session's; a harness that renders pages
    without sessions passes its own."""
    app.jinja_env.filters.update(
        rate=formatting.format_rate,
        display_rate=formatting.format_display_rate,
        money=formatting.format_money,
        number=formatting.format_number,
        percent=formatting.format_percent,
        date=formatting.format_date,
        moment=formatting.format_moment,
        time_of_day=formatting.format_time_of_day,
    )
    app.jinja_env.globals.update(
        asset_url=assets.asset_url,
        html_lang=formatting.html_lang,
        country_name=formatting.country_name,
        rate_unit=formatting.rate_unit,
        time_range=formatting.format_time_range,
        current_flow_handle=flow_handle,
        cookieless_launch_code=launch_code,
        action_label=action_label,
        action_hint=action_hint,
    )

    @app.context_processor
    def flow_context() -> dict[str, Any]:
        origins = app.config["PARTNER_ORIGINS"]
        origin = flow_state().embed_origin
        return {
            "flow_handle": flow_handle(),
            "embed_origin": origin if origin in origins else (origins[0] if origins else None),
            "brand": brand_from_config(app.config),
        }
