"""The Connect web app: ``create_app()`` wires settings, Redis, sessions, security and views."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import redis
from flask import Flask, Response, current_app, make_response, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from webapp import (
    assets,
    branding,
    cli,
    completion,
    compression,
    demo,
    entry,
    extensions,
    flow,
    health,
    i18n,
    provider_login,
    ratelimit,
    security,
    sessions,
    tariff_settings,
    templating,
)
from webapp import config as settings
from webapp.htmx import htmx, wants_fragment
from webapp.links import show_url

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger(__name__)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app. ``config`` overrides the environment (tests point it at their sandbox).

    The order below is the one place where order matters. Flask runs ``before_request`` hooks
    in the order they are registered and ``after_request`` hooks in reverse:

    * compression registers the first ``after_request`` hook, so it runs last and compresses
      the final body (security headers, caching, immutable static files already set);
    * sessions registers the first ``before_request`` hook: while Redis is down, a request
      stops there, before CSRF (whose secret is in the session) or a view reads an empty one;
    * CSRF (security) runs before the rate limits, so a forged post is refused, not counted.
    """
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=None,
    )
    app.config.from_mapping(settings.load(config))
    logging.basicConfig(level=app.config["LOG_LEVEL"])
    security.install_log_masking()

    if app.config["TRUST_PROXY_HOPS"]:
        hops = int(app.config["TRUST_PROXY_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    extensions.init_app(app)
    settings.check_eviction_policy(app.extensions[extensions.REDIS_KEY], app.config)
    compression.init_app(app)
    sessions.init_app(app)
    security.init_app(app)
    i18n.init_app(app)
    htmx.init_app(app)
    assets.init_app(app)
    templating.init_app(app)
    blueprints = [
        health.bp,
        branding.bp,
        entry.bp,
        flow.bp,
        provider_login.bp,
        completion.bp,
        tariff_settings.bp,
    ]
    if app.config["DEMO_ENABLED"]:
        # Off unless asked for, and refused in production (config.py): it shows the demo
        # customer's ids and starts flows on the partner's account for anyone.
        blueprints.append(demo.bp)
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    cli.init_app(app)
    ratelimit.init_app(app)
    _register_errors(app)
    return app


def _error_page(template: str, status: int) -> Response:
    response = make_response(render_template(template, status=status), status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _register_errors(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_failed(error: CSRFError) -> Any:
        log.warning("CSRF check failed on %s: %s", request.path, error.description)
        response = _error_page("errors/csrf.html", 400)
        if wants_fragment():
            # htmx does not swap a 400, so the customer would only see "try again" forever.
            # Send the whole frame to the flow page instead: it shows the current step, or says
            # plainly that this browser's session has ended.
            response.headers["HX-Redirect"] = show_url()
        return response

    @app.errorhandler(413)
    def too_large(error: HTTPException) -> Any:
        log.warning("request too large on %s", request.path)
        response = _error_page("errors/413.html", 413)
        if wants_fragment():
            # htmx does not swap a 413 either: send the frame to the current step, the same way
            # back as after a CSRF failure (with a launch code for a frame without cookies).
            response.headers["HX-Redirect"] = show_url()
        return response

    @app.errorhandler(404)
    def not_found(error: HTTPException) -> Any:
        return _error_page("errors/404.html", 404)

    @app.errorhandler(405)
    def not_allowed(error: HTTPException) -> Any:
        return _error_page("errors/404.html", 405)

    @app.errorhandler(redis.RedisError)
    def redis_down(error: redis.RedisError) -> Any:
        log.error("redis unavailable: %s", type(error).__name__)
        sessions.note_store_down(error)  # so saving the session does not fail a second time
        return _store_down_page()

    @app.errorhandler(500)
    def server_error(error: Exception) -> Any:
        if isinstance(getattr(error, "original_exception", None), redis.RedisError):
            # Redis failed while the session was being saved: Flask sends that here.
            return redis_down(error.original_exception)  # type: ignore[attr-defined]
        # The traceback goes to the log (masked), never to the customer.
        return _error_page("errors/500.html", 500)


# Seconds a client should wait before retrying while Redis is down (a restart replaying its
# append-only file takes about that long).
STORE_RETRY_AFTER = 10
OUTAGE_HEADER = "X-Connect-Outage"
# A plain form post the outage met is carried into the 503 page to be sent again, up to this
# many fields of at most this many characters (every form of ours is far smaller).
RESEND_MAX_FIELDS = 64
RESEND_MAX_CHARS = 4000


def _resendable_fields() -> list[tuple[str, str]]:
    """The fields of a plain (no-JS) form post, to post again from the 503 page.

    htmx keeps a failed step's form on screen as typed; a browser without JavaScript shows the
    503 page instead, and its Back button reloads the step (our pages are ``no-store``), so what
    was typed would be lost. Sending the very same fields again is safe: the CSRF token and the
    step ledger judge the repeat as they would the first post. A post too large to carry whole
    gets no form (changing a field would send something else), only the link back.

    Only for a post from one of our own pages: the resend is a same-origin post, so carrying a
    cross-site one would launder another site's fields (its flow handle, planted in this
    browser) past the check that refuses a handle arriving from elsewhere."""
    if request.method != "POST" or wants_fragment() or not sessions.from_our_pages(request):
        return []
    try:
        fields = list(request.form.items(multi=True))
    except RequestEntityTooLarge:  # read here it would escape the error handlers: a 500
        return []
    if len(fields) > RESEND_MAX_FIELDS or any(
        len(name) + len(value) > RESEND_MAX_CHARS for name, value in fields
    ):
        return []
    return fields


def _store_down_page() -> Response:
    """503 with ``Retry-After``. The page is standalone: base.html needs the CSRF token, which
    lives in the session, in Redis. htmx does not swap a 503, so a step posted by htmx stays on
    its page with everything typed in it, and app.js says in the form that the service is
    briefly unavailable; pressing again once Redis is back carries on. Any other htmx request
    (nothing typed to keep) follows ``HX-Redirect`` to the flow, which shows this message in
    full while Redis is down and the current step once it is back; not in a frame that gets no
    cookie, though: minting the launch code such a page needs takes Redis, so there the 503
    stays unswapped too and the next request (with the flow header) carries on."""
    # A GET can simply be repeated; after a post, the flow's page says where things stand.
    retry_url = request.path if request.method in ("GET", "HEAD") else url_for("flow.show")
    response = make_response(
        render_template(
            "errors/503.html", status=503, retry_url=retry_url, resend=_resendable_fields()
        ),
        503,
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Retry-After"] = str(STORE_RETRY_AFTER)
    # Tells app.js this 503 is ours (the session store), not FlatPeak's.
    response.headers[OUTAGE_HEADER] = "session-store"
    cookie = request.cookies.get(current_app.config["SESSION_COOKIE_NAME"])
    if (
        wants_fragment()
        and request.method in ("GET", "HEAD")
        and (cookie or not request.headers.get(sessions.FLOW_HEADER))
    ):
        response.headers["HX-Redirect"] = url_for("flow.show")
    return response
