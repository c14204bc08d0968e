"""The sandbox's HTTP layer: FlatPeak's REST API, the Connect endpoint and the test hooks.

One Flask app serves everything on one port, the way the webapp sees the real service at two base
URLs (``FLATPEAK_API_URL`` and ``FLATPEAK_CONNECT_URL``). All state lives in Redis (``store.py``),
so any number of workers and restarts serve one flow; the state machine is in ``flow.py``.
"""

from __future__ import annotations

import hmac
import json
import secrets
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import redis
from flask import Flask, Response, abort, current_app, jsonify, redirect, render_template, request
from werkzeug.exceptions import HTTPException

from sandbox import fixtures, flow, journal, locations
from sandbox.config import Settings
from sandbox.errors import ConnectError, data_json_invalid, error_object, request_id
from sandbox.faults import FaultMiddleware, Faults
from sandbox.store import Store, new_id

BAD_CREDENTIALS = {"message": "Bad credentials"}
NOT_FOUND = {"message": "Not Found"}


def create_app(config: Settings | None = None) -> Flask:
    """App factory; gunicorn: ``gunicorn 'sandbox.app:create_app()'`` (settings from the env)."""
    settings = config or Settings.from_env()
    app = Flask(__name__)
    app.config["SANDBOX"] = settings
    app.extensions["sandbox_store"] = store = Store(settings.redis_url)
    app.json.sort_keys = False  # keep page objects in the documented key order

    def effective_faults() -> Faults:
        try:
            override = store.faults(settings.fault_instance)
        except Exception:  # Redis down: fall back to the process defaults
            override = None
        return Faults.from_mapping(override) if override else settings.faults

    app.wsgi_app = FaultMiddleware(app.wsgi_app, effective_faults)  # type: ignore[method-assign]
    app.register_error_handler(ConnectError, _connect_error_response)
    app.register_error_handler(HTTPException, _http_error_response)
    _register_rest(app)
    _register_connect(app)
    _register_provider_login(app)
    _register_hooks(app)
    return app


# --- shared helpers ----------------------------------------------------------------------------
def _settings() -> Settings:
    return current_app.config["SANDBOX"]


def _store() -> Store:
    return current_app.extensions["sandbox_store"]


def _options() -> flow.Options:
    settings = _settings()
    return flow.Options(
        public_url=settings.public_url or request.host_url.rstrip("/"),
        offer_advanced=settings.offer_advanced,
        route_mismatch=settings.route_mismatch,
    )


def _connect_error_response(error: ConnectError) -> Response:
    """Errors raised outside the Connect endpoint's own handling (REST validation)."""
    body = error_object(
        error,
        context=getattr(error, "context", "api"),
        connect_token=None,
        live_mode=_settings().live_mode,
    )
    return _json(body, error.status)


def _http_error_response(error: HTTPException) -> Response:
    """Like FlatPeak's API, answer unknown paths and server faults with ``{"message": ...}``
    JSON; the provider login pages are for browsers and keep Werkzeug's HTML pages."""
    if request.path.startswith("/provider-login/"):
        return error.get_response()
    response = _json({"message": error.name}, error.code or 500)
    if error.code == 405 and getattr(error, "valid_methods", None):
        response.headers["Allow"] = ", ".join(error.valid_methods or ())
    return response


def _json(body: Any, status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


def _bearer() -> dict[str, Any] | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return _store().bearer(value.strip())


def _rest_error(code: str, message: str, context: str, status: int = 400) -> ConnectError:
    error = ConnectError(code, message, status)
    error.context = context  # type: ignore[attr-defined]
    return error


# --- REST API ----------------------------------------------------------------------------------
def _register_rest(app: Flask) -> None:
    @app.get("/_sandbox/health")
    def health() -> Response:
        try:
            _store().ping()
        except Exception:
            return _json({"status": "redis unavailable"}, 503)
        return _json({"status": "ok"})

    @app.get("/login")
    def login() -> Response:
        settings = _settings()
        auth = request.authorization
        if auth is None or auth.type != "basic":
            return _json(BAD_CREDENTIALS, 403)
        account = _account_for(auth.username or "", auth.password or "")
        if account is None:
            return _json(BAD_CREDENTIALS, 403)
        account_id, api_key = account
        live_mode = api_key.startswith("sk_live_")
        bearer = secrets.token_urlsafe(32)
        record = {"account_id": account_id, "live_mode": live_mode}
        _store().save_bearer(bearer, record, settings.bearer_ttl)
        return _json(
            {
                "bearer_token": bearer,
                "expires_in": settings.bearer_ttl,
                "live_mode": live_mode,
            }
        )

    @app.post("/connect/tariff/token")
    def create_token() -> Response:
        account = _bearer()
        if account is None:
            return _json(BAD_CREDENTIALS, 403)
        fields = _token_fields(request.get_json(force=True, silent=True))
        settings, store = _settings(), _store()
        location = None
        if fields.get("location_id"):
            # Another account's location is as unknown to this account as one never created.
            location = _owned_location(fields["location_id"], account)
            if location is None or (
                fields.get("customer_id") and fields["customer_id"] != location["customer_id"]
            ):
                raise _rest_error(
                    "location_id_invalid",
                    f"Location ID {fields['location_id']} not found.",
                    "api.connect_token_create",
                )
        if fields.get("customer_id"):
            customer_id = fields["customer_id"]
        elif location:
            customer_id = location["customer_id"]
        elif fields.get("customer_reference_id"):
            customer_id = store.customer_for_reference(
                account["account_id"], fields["customer_reference_id"]
            )
        else:
            customer_id = new_id("cus")
        token = new_id("cot")
        now = time.time()
        session = flow.new_session(
            token,
            fields,
            live_mode=account["live_mode"],
            created=now,
            expires_in=settings.token_ttl,
            customer_id=customer_id,
            location_id=location["id"] if location else new_id("loc"),
            location=location,
        )
        if (
            location
            and location.get("location_reference_id")
            and not fields.get("location_reference_id")
        ):
            session["location_reference_id"] = location["location_reference_id"]
        # The token belongs to the account that created it: only that account may exchange it.
        session["account_id"] = account["account_id"]
        store.save_session(session, now)
        return _json(
            {
                "connect_token": token,
                "expires_in": settings.token_ttl,
                "live_mode": account["live_mode"],
            }
        )

    @app.get("/locations/<location_id>/status")
    def location_status(location_id: str) -> Response:
        return _location_status(location_id)

    @app.get("/tariffs/rates/<location_id>")
    def tariff_rates(location_id: str) -> Response:
        return _tariff_rates(location_id)

    @app.get("/connect/tariff/token")
    def exchange_token() -> Response:
        account = _bearer()
        if account is None:
            return _json(BAD_CREDENTIALS, 403)
        token = request.args.get("connect_token", "").strip()
        if not token:
            raise _rest_error(
                "connect_token_missing", "Connect token is required.", "api.connect_token_exchange"
            )
        store = _store()
        now = time.time()
        with store.locked(token):
            session = store.session(token)
            if session is None or now > session["expires_at"]:
                return _json(NOT_FOUND, 404)  # unknown, or past time_expiry: cannot be claimed
            if not _owned_by(session, account):
                # Another partner's token is as unknown to this account as one never created.
                return _json(NOT_FOUND, 404)
            if session.get("exchanged") and _settings().exchange_once:
                return _json(NOT_FOUND, 404)
            if session["status"] != "complete":
                body = error_object(
                    ConnectError(
                        "data_not_available",
                        "Connect session is not complete yet; data not available.",
                        422,
                    ),
                    context="api.connect_token_exchange",
                    connect_token=token,
                    live_mode=session["live_mode"],
                )
                return _json(body, 422)
            session["exchanged"] = True
            store.save_session(session, now)
        return _json(
            {
                "id": token,
                "object": "connect_token",
                "live_mode": session["live_mode"],
                "customer_id": session["customer_id"],
                "customer_reference_id": session["customer_reference_id"],
                "location_id": session["location_id"],
                "location_reference_id": session["location_reference_id"],
                "is_tariff_processed": session["is_tariff_processed"],
                "complete_action": session["complete_action"],
                "time_created": _utc(session["created"]),
                "time_expiry": _utc(session["expires_at"]),
            }
        )


def _owned_location(location_id: str, account: dict[str, Any]) -> dict[str, Any] | None:
    """The location, if it exists and belongs to the bearer's account (else None: a 404)."""
    location = _store().location(location_id)
    if location is None:
        return None
    owner = locations.owner(location, _settings().account_id)
    if not hmac.compare_digest(owner.encode(), str(account.get("account_id")).encode()):
        return None
    return location


def _location_status(location_id: str) -> Response:
    account = _bearer()
    if account is None:
        return _json(BAD_CREDENTIALS, 403)
    location = _owned_location(location_id, account)
    if location is None:
        return _json(NOT_FOUND, 404)  # unknown, or another account's: the same answer
    body = locations.location_status(
        location,
        account_id=account["account_id"],
        live_mode=account["live_mode"],
        public_url=_options().public_url,
    )
    return _json(body)


def _flag_arg(name: str) -> bool:
    return request.args.get(name, "").strip().lower() in ("1", "true", "yes")


def _tariff_rates(location_id: str) -> Response:
    account = _bearer()
    if account is None:
        return _json(BAD_CREDENTIALS, 403)
    context = "api.tariff_rates"
    location = _owned_location(location_id, account)
    if location is None:
        return _json(NOT_FOUND, 404)
    direction = request.args.get("direction", "").strip().upper() or "IMPORT"
    if direction not in ("IMPORT", "EXPORT"):
        raise _rest_error("direction_invalid", "direction must be IMPORT or EXPORT.", context)
    raw_end = request.args.get("end_time", "").strip()
    if not raw_end:
        raise _rest_error("end_time_missing", "end_time is required.", context)
    end = locations.parse_time(raw_end)
    if end is None:
        raise _rest_error("end_time_invalid", "end_time must be an RFC 3339 time.", context)
    raw_start = request.args.get("start_time", "").strip()
    now = datetime.now(UTC)
    start = locations.parse_time(raw_start) if raw_start else now.replace(microsecond=0)
    if start is None:
        raise _rest_error("start_time_invalid", "start_time must be an RFC 3339 time.", context)
    if end <= start:
        raise _rest_error("time_range_invalid", "end_time must be after start_time.", context)
    if end - start > locations.MAX_WINDOW:
        raise _rest_error(
            "time_range_exceeded",
            "The period between start_time and end_time cannot exceed 90 days.",
            context,
        )
    include_tariff = _flag_arg("include_tariff")
    echo = {
        "include_tariff": include_tariff,
        "include_carbon": _flag_arg("include_carbon"),
        "direction": direction,
        "start_time": raw_start or locations.format_time(start, end),
        "end_time": raw_end,
    }
    found = locations.element(location, locations.kind_key("COMMODITY", direction))
    status = found.get("status")
    tariff = found.get("tariff") or {}
    if status == flow.PENDING_STATUS or (status == flow.CONNECTED and not tariff.get("structure")):
        body = error_object(
            ConnectError(
                "pending_connect",
                "Tariff connection is pending; rates are not available yet.",
                422,
            ),
            context=context,
            connect_token=None,
            live_mode=account["live_mode"],
        )
        return _json(body, 422)
    if status != flow.CONNECTED or not tariff.get("structure"):
        raise _rest_error(
            "tariff_not_connected",
            f"Location {location_id} has no connected {direction} tariff.",
            context,
            422,
        )
    body = locations.tariff_rate(
        location,
        tariff,
        direction=direction,
        start=start,
        end=end,
        request_echo=echo,
        include_tariff=include_tariff,
        account_id=account["account_id"],
        live_mode=account["live_mode"],
        rate_id=new_id("rts"),
        now=now,
    )
    return _json(body)


def _account_for(username: str, password: str) -> tuple[str, str] | None:
    """The (account_id, api_key) pair the Basic credentials name, if the sandbox knows it.

    Every pair is compared, each in constant time, so the answer's timing does not tell which
    account ids exist."""
    found = None
    for account_id, api_key in _settings().credentials:
        same_id = hmac.compare_digest(username.encode(), account_id.encode())
        same_key = hmac.compare_digest(password.encode(), api_key.encode())
        if same_id and same_key and found is None:
            found = (account_id, api_key)
    return found


def _owned_by(session: dict[str, Any], account: dict[str, Any]) -> bool:
    """Whether the bearer's account created this token. A session saved before tokens recorded
    their account belongs to the default account, which was then the only one."""
    owner = session.get("account_id") or _settings().account_id
    return hmac.compare_digest(str(owner).encode(), str(account.get("account_id")).encode())


def _utc(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _token_fields(body: Any) -> dict[str, Any]:
    """The create-token body, checked the way the real API checks it (400 on bad input)."""
    context = "api.connect_token_create"
    if not isinstance(body, dict):
        raise _rest_error("data_json_invalid", "Data does not conform to the JSON schema.", context)
    fields: dict[str, Any] = {}
    for key in (
        "callback_uri",
        "direction",
        "type",
        "connect_web_uri",
        "customer_id",
        "customer_reference_id",
        "location_id",
        "location_reference_id",
        "tariff_id",
    ):
        value = body.get(key)
        if value is not None and not isinstance(value, str):
            raise _rest_error(f"{key}_invalid", f"{key} must be a string.", context)
        fields[key] = (value or "").strip()
    if not fields["callback_uri"]:
        raise _rest_error("callback_uri_missing", "callback_uri is required.", context)
    for key in ("callback_uri", "connect_web_uri"):
        if fields[key] and not urlsplit(fields[key]).scheme:
            raise _rest_error(f"{key}_invalid", f"{key} must be an absolute URI.", context)
    fields["direction"] = fields["direction"].upper() or "IMPORT"
    fields["type"] = fields["type"].upper() or "COMMODITY"
    if fields["direction"] not in ("IMPORT", "EXPORT"):
        raise _rest_error("direction_invalid", "direction must be IMPORT or EXPORT.", context)
    if fields["type"] not in ("COMMODITY", "NON_COMMODITY"):
        raise _rest_error("type_invalid", "type must be COMMODITY or NON_COMMODITY.", context)
    if fields["type"] == "NON_COMMODITY" and fields["direction"] == "EXPORT":
        raise _rest_error(
            "type_invalid", "NON_COMMODITY EXPORT tariffs are not supported.", context
        )
    if body.get("postal_address") is not None:
        try:
            fields["postal_address"] = flow.clean_address(body["postal_address"])
        except ConnectError:
            raise _rest_error(
                "postal_address_invalid", "postal_address must be an object of strings.", context
            ) from None
    return fields


# --- the Connect endpoint ----------------------------------------------------------------------
def _register_connect(app: Flask) -> None:
    @app.route("/", methods=["GET", "POST", "OPTIONS"])
    def connect() -> Response:
        if request.method == "OPTIONS":
            return _cors(Response(status=204))
        if request.method == "GET":
            return Response(render_template("index.html"), mimetype="text/html")
        return _cors(_connect_post())


def _cors(response: Response) -> Response:
    """The real Connect endpoint is called from browsers on partners' origins (no credentials)."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    requested = request.headers.get("Access-Control-Request-Headers")
    response.headers["Access-Control-Allow-Headers"] = requested or "Content-Type"
    response.headers["Access-Control-Max-Age"] = "86400"
    response.headers["Vary"] = "Origin, Access-Control-Request-Headers"
    return response


def _connect_post() -> Response:
    req_id = request_id()
    token: str | None = None
    context = "connect"
    live_mode = _settings().live_mode
    try:
        # FlatPeak's web client long sent no Content-Type: any body is JSON (docs/protocol.md §3.1).
        try:
            body = json.loads(request.get_data() or b"null")
        except (ValueError, UnicodeDecodeError):
            raise data_json_invalid() from None
        if not isinstance(body, dict):
            raise data_json_invalid()
        route = body.get("route")
        if isinstance(route, str) and route:
            context = f"connect.{route}"
        raw_token = body.get("connect_token")
        if raw_token is None or raw_token == "":
            raise ConnectError("connect_token_missing", "Connect token is required.")
        if not isinstance(raw_token, str):
            raise data_json_invalid()
        token = raw_token
        store = _store()
        if store.session(token) is None:
            raise ConnectError("token_not_found", f"Connect token {token} not found.", 404)
        with store.locked(token):
            try:
                step = _apply(store, token, body)
            except ConnectError as error:
                _journal(token, body, error.code, None)
                live_mode = getattr(error, "live_mode", live_mode)
                raise
            live_mode = step.session["live_mode"]
            _journal(token, body, "applied", step.page.get("route"))
        return _json(step.page)
    except (redis.RedisError, TimeoutError):
        # The emulated service's own fault (its database is unreachable): an api_error, 5xx.
        current_app.logger.exception("connect request failed")
        failure = ConnectError(
            "internal_error", "Connect is temporarily unavailable. Try again.", 503, "api_error"
        )
        body = error_object(
            failure, context=context, connect_token=token, live_mode=live_mode, request_id_=req_id
        )
        return _json(body, failure.status)
    except ConnectError as error:
        body = error_object(
            error, context=context, connect_token=token, live_mode=live_mode, request_id_=req_id
        )
        return _json(body, error.status)


def _apply(store: Store, token: str, body: dict[str, Any]) -> flow.Step:
    """One Connect POST for a known token, under its lock: checks, the state machine, save."""
    session = store.session(token)
    assert session is not None
    now = time.time()
    if now > session["expires_at"]:
        raise _with_mode(
            ConnectError(
                "token_expired",
                "Connect token has expired. Create a new connect token and start again.",
                401,
            ),
            session,
        )
    if session["status"] == "complete":
        raise _with_mode(
            ConnectError(
                "session_completed",
                "This Connect session is already complete. Create a new connect token to "
                "start again.",
            ),
            session,
        )
    try:
        step = flow.handle(session, body, _options())
    except ConnectError as error:
        raise _with_mode(error, session) from None
    store.save_session(step.session, now)
    if step.location:
        # Only the session's kind of tariff changes; the location's other kinds stay as they were.
        kind = locations.kind_key(session["type"], session["direction"])
        existing = store.location(step.location["id"])
        merged = locations.merge(existing, step.location, kind)
        merged.setdefault("account_id", session.get("account_id") or _settings().account_id)
        merged.setdefault("time_created", _utc(now))
        store.save_location(merged)
    return step


def _with_mode(error: ConnectError, session: dict[str, Any]) -> ConnectError:
    error.live_mode = session["live_mode"]  # type: ignore[attr-defined]
    return error


def _journal(token: str, body: dict[str, Any], outcome: str, answered: str | None) -> None:
    """Test hook: note what this token's Connect endpoint received (see ``journal.py``)."""
    if _settings().hooks:
        journal.record(_store().redis, token, body, outcome=outcome, answered=answered)


# --- the fake provider login -------------------------------------------------------------------
def _register_provider_login(app: Flask) -> None:
    @app.route("/provider-login/<provider_id>", methods=["GET", "POST"])
    def provider_login(provider_id: str) -> Response:
        provider = fixtures.PROVIDERS_BY_ID.get(provider_id)
        if provider is None or provider.kind != fixtures.DIRECT:
            abort(404)
        token = (request.values.get("fp_cot") or "").strip()
        store = _store()
        session = store.session(token) if token else None
        problem = None
        if session is None:
            problem = "This sign-in link is not valid."
        elif time.time() > session["expires_at"]:
            problem = "This sign-in link has expired."
        elif (
            session["route"] != flow.SESSION_REDIRECT
            or (session.get("provider") or {}).get("id") != provider_id
        ):
            problem = "This sign-in link has already been used."
        if problem:
            html = render_template("provider_login.html", provider=provider, problem=problem)
            return Response(html, status=400, mimetype="text/html")
        assert session is not None
        if request.method == "GET":
            html = render_template(
                "provider_login.html",
                provider=provider,
                problem=None,
                token=token,
                outcomes=OUTCOME_LABELS,
            )
            return Response(html, mimetype="text/html")
        outcome = request.form.get("outcome", "")
        with store.locked(token):
            session = store.session(token)
            assert session is not None
            try:
                updated = flow.provider_outcome(session, provider_id, outcome)
            except ConnectError as error:
                html = render_template(
                    "provider_login.html", provider=provider, problem=error.message
                )
                return Response(html, status=400, mimetype="text/html")
            store.save_session(updated, time.time())
        back_to = session["connect_web_uri"] or session["callback_uri"]
        return redirect(flow.with_fp_cot(back_to, token), code=303)


OUTCOME_LABELS = (
    ("approve", "Approve", "Share my tariff. Connect shows the tariff summary."),
    ("pending", "Approve, data delayed", "Share my tariff, but the data is not ready yet."),
    ("fail", "Fail", "The sign-in fails. Connect shows the failed-connection page."),
    ("skip", "Skip", "Do not sign in. Connect offers the next way to find the tariff."),
)


# --- test hooks --------------------------------------------------------------------------------
def _register_hooks(app: Flask) -> None:
    @app.get("/_sandbox/logos/<provider_id>.svg")
    def logo(provider_id: str) -> Response:
        provider = fixtures.PROVIDERS_BY_ID.get(provider_id)
        if provider is None or not provider.has_logo:
            abort(404)
        response = Response(fixtures.logo_svg(provider), mimetype="image/svg+xml")
        response.headers["Cache-Control"] = "public, max-age=86400"
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    @app.before_request
    def hooks_enabled() -> None:
        path = request.path
        if (
            path.startswith("/_sandbox/")
            and not path.startswith(("/_sandbox/health", "/_sandbox/logos/"))
            and not _settings().hooks
        ):
            abort(404)

    @app.get("/_sandbox/tokens/<token>")
    def token_state(token: str) -> Response:
        session = _store().session(token)
        return _json(session) if session else _json(NOT_FOUND, 404)

    @app.get("/_sandbox/tokens/<token>/journal")
    def token_journal(token: str) -> Response:
        """The Connect POSTs this token's session received, oldest first."""
        return _json({"connect_token": token, "requests": journal.entries(_store().redis, token)})

    @app.post("/_sandbox/tokens/<token>/expire")
    def expire_token(token: str) -> Response:
        store = _store()
        with store.locked(token):
            session = store.session(token)
            if session is None:
                return _json(NOT_FOUND, 404)
            now = time.time()
            session["expires_at"] = now - 1
            store.save_session(session, now)
        return _json({"connect_token": token, "expired": True})

    @app.post("/_sandbox/locations")
    def create_location() -> Response:
        body = request.get_json(force=True, silent=True) or {}
        state = str(body.get("state", "")).lower().replace("connected_tod", "connected_time_of_day")
        country_code = str(body.get("country_code", "GB")).upper()
        if state not in fixtures.LOCATION_STATES or country_code not in fixtures.TEST_ADDRESSES:
            return _json(
                {
                    "message": f"state must be one of {', '.join(fixtures.LOCATION_STATES)}; "
                    f"country_code one of {', '.join(fixtures.TEST_ADDRESSES)}"
                },
                400,
            )
        try:
            record = fixtures.location_fixture(country_code, state)
        except ValueError as error:
            return _json({"message": str(error)}, 400)
        record["id"] = new_id("loc")
        record["customer_id"] = str(body.get("customer_id") or new_id("cus"))
        record["location_reference_id"] = str(body.get("location_reference_id") or "")
        record["time_created"] = _utc(time.time())
        _store().save_location(record)
        return _json(
            {
                "location_id": record["id"],
                "customer_id": record["customer_id"],
                "status": record["status"],
            },
            201,
        )

    @app.post("/_sandbox/locations/<location_id>/status")
    def set_location_status(location_id: str) -> Response:
        store = _store()
        location = store.location(location_id)
        body = request.get_json(force=True, silent=True) or {}
        status = str(body.get("status", "")).upper()
        if location is None:
            return _json(NOT_FOUND, 404)
        kind = locations.kind_key(
            str(body.get("type") or "COMMODITY").upper(),
            str(body.get("direction") or "IMPORT").upper(),
        )
        if kind not in locations.KINDS or kind in locations.UNSUPPORTED:
            return _json({"message": "type/direction is not a supported kind of tariff"}, 400)
        record, location = location, locations.element(location, kind)
        if status not in (
            flow.CONNECTED,
            flow.PENDING_STATUS,
            flow.FAILED_STATUS,
            flow.DISCONNECTED,
        ):
            return _json(
                {"message": "status must be CONNECTED, PENDING, FAILED or DISCONNECTED"}, 400
            )
        if status == flow.CONNECTED and not (location.get("tariff") or {}).get("structure"):
            # A pending DIRECT connection that "arrives": the provider's account tariff.
            provider = fixtures.PROVIDERS_BY_ID.get((location.get("provider") or {}).get("id", ""))
            if provider is None or provider.account_tariff is None:
                return _json({"message": "this location has no tariff to connect"}, 400)
            location["tariff"] = {
                **provider.account_tariff.answers(),
                "library_id": provider.account_tariff.id,
                "region": (record.get("address") or {}).get("country_code", ""),
                "contract_start_date": None,
                "contract_end_date": None,
            }
        location["status"] = status
        locations.set_element(record, kind, location)
        store.save_location(record)
        return _json({"location_id": location_id, "status": status, "kind": kind})

    @app.route("/_sandbox/faults", methods=["GET", "PUT", "POST", "DELETE"])
    def faults() -> Response:
        settings, store = _settings(), _store()
        instance = settings.fault_instance
        if request.method == "DELETE":
            store.clear_faults(instance)
        elif request.method in ("PUT", "POST"):
            body = request.get_json(force=True, silent=True)
            if not isinstance(body, dict):
                return _json({"message": "send a JSON object"}, 400)
            try:
                new = Faults.from_mapping(body)
            except ValueError as error:
                return _json({"message": str(error)}, 400)
            store.save_faults(instance, new.as_dict())
        override = store.faults(instance)
        effective = Faults.from_mapping(override) if override else settings.faults
        return _json(
            {
                "instance": instance,
                "overridden": bool(override),
                "faults": effective.as_dict(),
                "defaults": settings.faults.as_dict(),
            }
        )
