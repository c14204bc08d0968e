"""The Connect web app: ``create_app()`` wires settings, Redis, sessions, security and views."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import redis
from flask import Flask, Response, make_response, render_template, request, session
from flask_htmx import HTMX
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from webapp import config as settings
from webapp import i18n, security, sessions
from webapp.flatpeak import FlatPeakClient

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger(__name__)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app. ``config`` overrides the environment (tests point it at their sandbox)."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_mapping(settings.load(config))
    logging.basicConfig(level=app.config["LOG_LEVEL"])
    security.install_log_masking()

    if app.config["TRUST_PROXY_HOPS"]:
        hops = int(app.config["TRUST_PROXY_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    client = redis.Redis.from_url(
        app.config["REDIS_URL"],
        socket_timeout=2,
        socket_connect_timeout=2,
        health_check_interval=30,
    )
    app.extensions["connect_redis"] = client
    app.extensions["flatpeak"] = FlatPeakClient.from_config(app.config, client)

    sessions.init_app(app, client)
    security.init_app(app)
    i18n.init_app(app)
    HTMX(app)
    _register_pages(app)
    _register_blueprints(app)
    _register_context(app)
    _register_errors(app)
    return app


def _register_pages(app: Flask) -> None:
    from webapp import assets, branding, formatting

    assets.init_app(app)
    formatting.init_app(app)
    app.register_blueprint(branding.bp)


def _register_blueprints(app: Flask) -> None:
    from webapp import demo, entry, flow, health

    app.register_blueprint(health.bp)
    app.register_blueprint(demo.bp)
    app.register_blueprint(entry.bp)
    app.register_blueprint(flow.bp)
    entry.register_cli(app)


def _register_context(app: Flask) -> None:
    from webapp.branding import brand_from_config

    @app.context_processor
    def flow_context() -> dict[str, Any]:
        origins = app.config["PARTNER_ORIGINS"]
        origin = session.get("embed_origin") if session else None
        return {
            "flow_handle": sessions.flow_handle(),
            "embed_origin": origin if origin in origins else (origins[0] if origins else None),
            "brand": brand_from_config(app.config),
        }


def _error_page(template: str, status: int) -> Response:
    response = make_response(render_template(template, status=status), status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _register_errors(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_failed(error: CSRFError) -> Any:
        log.warning("CSRF check failed on %s: %s", request.path, error.description)
        response = _error_page("errors/csrf.html", 400)
        if request.headers.get("HX-Request") == "true":
            # htmx does not swap a 400, so the customer would only see "try again" forever.
            # Send the whole frame to the flow page instead: it shows the current step, or says
            # plainly that this browser's session has ended.
            from webapp.flow import show_url

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
        # Standalone page: base.html needs the session (CSRF token), which lives in Redis.
        return _error_page("errors/503.html", 503)

    @app.errorhandler(500)
    def server_error(error: Exception) -> Any:
        # The traceback goes to the log (masked), never to the customer.
        return _error_page("errors/500.html", 500)
