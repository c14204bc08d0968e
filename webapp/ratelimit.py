"""Rate limits on starting flows, step posts, showing the flow and the provider-login wait
(Flask-Limiter).

What is limited, and why these defaults (each is a ``RATELIMIT_*`` setting, see config.py):

* **Starts** (``RATELIMIT_STARTS_PER_IP``, default 60/minute per client IP, shared by every
  entry: signed start links, ``/connect?fp_cot=``, "start again", the answer to "continue this
  connection or start the new one?", the demo start, and the
  provider return and callback when they open a session for a browser that lost its cookie).
  A partner start mints a connect token on the partner's FlatPeak account, so this is the limit
  that stops a script replaying a start link. A real customer starts once or twice; 60 a minute
  still lets a busy office or a mobile carrier's shared address (carrier-grade NAT) start one
  flow a second, and the browser test suite, which drives all its customers from 127.0.0.1,
  starts 20 to 35 a minute (measured from its access logs).
* **Steps** (``RATELIMIT_STEPS_PER_IP`` 300/minute, ``RATELIMIT_STEPS_PER_FLOW`` 30/minute):
  every step post costs a Connect call. One customer answers a page every few seconds, and even
  fixing typos one at a time rarely posts more than once in two seconds, so 30 a minute on one
  flow never gets in a real customer's way while a script driving one flow is held to one post
  every two seconds. 300 a minute per address is 15 to 25 customers stepping at once behind one
  household, office or carrier NAT; the flow limit, not the address limit, is the tight one.
* **Provider-login wait** (``RATELIMIT_POLLS_PER_IP`` 600/minute, ``RATELIMIT_POLLS_PER_FLOW``
  60/minute): the framed page polls every 2 s while the customer logs in elsewhere (30 a
  minute), so the flow limit is twice that; the address limit allows twenty such frames.
* **Showing the flow** (``RATELIMIT_VIEWS_PER_IP`` 600/minute, ``RATELIMIT_VIEWS_PER_FLOW``
  120/minute): ``GET /connect/flow`` asks Connect where the flow is (``session_restore``), so a
  script reloading it would cost a Connect call each time. A customer loads it on arrival, on
  a refresh and for each no-JS list search; two a second on one flow is far beyond that.

Per-client keys use ``request.remote_addr``. Behind a load balancer that is the balancer's
address unless ``TRUST_PROXY_HOPS`` installs ProxyFix (``create_app``), which then takes the
client from ``X-Forwarded-For``; without it that header is ignored, so nobody can dodge a
limit by sending one. IPv6 clients are keyed by their /64: one host usually holds a whole /64.
Per-flow keys are a hash of the session's connect token, never the token itself.

Counters live on the app's own Redis (``RATELIMIT_STORAGE_URI``, default ``REDIS_URL``) under
their own key prefix; under Sentinel on the current primary, which ``limits`` follows through a
failover (``storage_uri``). The strategy is the moving window: a limit is exact over any 60 seconds
(a fixed window lets twice the limit through across a window boundary), refused requests are
not counted (a script hammering a closed window does not push its own reopening back), and
``Retry-After`` is the real moment a slot frees instead of the end of a clock minute. Its Redis
cost is a list of at most N timestamps per key, which at these limits is a few kilobytes per
active client. If that Redis is unreachable the limiter fails open (logged): a limiter outage
must never take the flow down, and the session layer answers its own 503 when Redis is gone.
Under Sentinel it first waits out a failover (``REDIS_FAILOVER_WAIT``) as the app's own client
does, so a failover is not a window in which every request goes unlimited.

When a limit is hit the customer is told what happened, that nothing is lost and when to try
again, with 429 and ``Retry-After``. A plain (no-JS) step post gets its page back with what
they typed and the message at the top; other plain requests get a whole page. htmx does not swap
a 4xx (the htmx-config in base.html), so an htmx request gets an ``HX-Location`` that loads the
message into the top of the page without replacing the form: what the customer typed stays.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time
from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    make_response,
    render_template,
    request,
    url_for,
)
from flask_htmx import make_response as htmx_response
from flask_limiter import Limiter, RateLimitExceeded
from jinja2_fragments.flask import render_block
from limits import parse_many

from webapp import (
    completion,
    demo,
    entry,
    flow,
    provider_login,
    redis_connection,
    tariff_settings,
)
from webapp.config import ConfigError
from webapp.flow_state import flow_state
from webapp.htmx import personal, wants_fragment
from webapp.i18n import ngettext
from webapp.links import same_token, show_url
from webapp.pages import FORM_ERROR
from webapp.screens import render_page, typed_values

log = logging.getLogger(__name__)

bp = Blueprint("ratelimit", __name__)

# The views each limit covers, by endpoint.
# "entry.choose" is the answer to "continue this flow or start the new one?" (it may start one).
STARTS = (
    "entry.start",
    "entry.external",
    "entry.restart",
    "entry.choose",
    "demo.start",
    "settings.connect",
    "settings.disconnect",
)
# A start only when they adopt a flow.
RETURNS = ("provider_login.provider_return", "completion.callback")
STEPS = ("flow.step",)
POLLS = ("flow.provider_wait",)
VIEWS = ("flow.show",)
SETTINGS_VIEWS = ("settings.page",)

LIMIT_SETTINGS = (
    "RATELIMIT_STARTS_PER_IP",
    "RATELIMIT_STEPS_PER_IP",
    "RATELIMIT_STEPS_PER_FLOW",
    "RATELIMIT_POLLS_PER_IP",
    "RATELIMIT_POLLS_PER_FLOW",
    "RATELIMIT_VIEWS_PER_IP",
    "RATELIMIT_VIEWS_PER_FLOW",
)
# Keys read "connect:ratelimit:LIMITER/<who>/<scope>/...", apart from sessions and results.
STORAGE_KEY_PREFIX = "connect:ratelimit"
# A wedged Redis must not hold every limited request for long: fail open after a second.
STORAGE_TIMEOUT = 1.0


# -- whose counter ---------------------------------------------------------------------------


def client_key() -> str:
    """The client's address (from X-Forwarded-For only behind ProxyFix); IPv6 by its /64."""
    raw = request.remote_addr or ""
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return "ip:" + (raw[:64] or "unknown")
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return f"ip:{address.ipv4_mapped}"
        return f"ip:{ipaddress.ip_network(f'{address}/64', strict=False)}"
    return f"ip:{address}"


def flow_key() -> str:
    """The flow this request belongs to, by a hash of its connect token; no flow: the client."""
    token = flow_state().token
    if not token:
        return client_key()
    digest = hashlib.sha256(b"ratelimit\0" + str(token).encode()).hexdigest()
    return "flow:" + digest[:32]


def returns_to_own_flow() -> bool:
    """The provider return or callback of the flow this browser's session already holds (or a
    callback without a token, which only ever finishes that flow): no flow is being started or
    adopted, so it does not count as a start."""
    token = request.args.get("fp_cot")
    return token is None or same_token(flow_state().token, token)


# -- installing ------------------------------------------------------------------------------


class StorageErrorsInOneLine(logging.Filter):
    """Flask-Limiter logs a storage failure with its whole traceback, on every limited request
    while its Redis is down; one line per request says all there is to say."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None:
            record.msg = "rate limit storage unavailable (%s); served without a limit"
            record.args = (type(error).__name__,)
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def _storage(config: Any) -> tuple[str, dict[str, Any]]:
    uri = str(config.get("RATELIMIT_STORAGE_URI") or config["REDIS_URL"])
    budget = redis_connection.failover_wait(uri, config.get("REDIS_FAILOVER_WAIT"))
    return redis_connection.limiter_storage(uri, STORAGE_TIMEOUT, STORAGE_KEY_PREFIX, budget)


def storage_uri(config: Any) -> str:
    """``RATELIMIT_STORAGE_URI``, or the app's own ``REDIS_URL``, in the form ``limits`` reads:
    ``unix://`` as ``redis+unix://``; a Sentinel URL ``…/mymaster/0`` as ``…/mymaster``, since
    ``limits`` takes the whole path for the service name (``mymaster0``, which no Sentinel
    knows, and Flask-Limiter swallows the errors: limiting would silently stop)."""
    return _storage(config)[0]


def storage_options(config: Any) -> dict[str, Any]:
    """``RATELIMIT_STORAGE_OPTIONS`` for that URI: the key prefix and timeouts, and under
    Sentinel the database and ``use_replicas=False`` (counters read from the primary)."""
    return _storage(config)[1]


def check_limits(config: Any) -> None:
    """Refuse to start on a limit string Flask-Limiter would only reject at the first request."""
    for name in LIMIT_SETTINGS:
        try:
            parsed = parse_many(str(config[name]))
        except ValueError:
            parsed = []
        if not parsed:
            raise ConfigError(f"{name} must be a rate such as '30/minute', not {config[name]!r}.")


def _setting(name: str) -> Callable[[], str]:
    return lambda: str(current_app.config[name])


def _only(
    endpoints: tuple[str, ...], unless: Callable[[], bool] | None = None
) -> Callable[[], bool]:
    """``exempt_when`` for a blueprint-wide limit that counts only ``endpoints``."""

    def exempt() -> bool:
        return request.endpoint not in endpoints or (unless is not None and unless())

    return exempt


def init_app(app: Flask) -> None:
    """Install the limits: one Limiter per app, whose limits are attached to blueprints.

    Flask-Limiter keeps its storage and settings on the Limiter instance, and the app factory
    makes one per app, so its view decorators (bound to one module-level instance) do not fit;
    blueprint limits are its per-instance way to limit views, checked in its own
    ``before_request`` hook. Each limit names the endpoints it counts (``exempt_when``) and
    has a scope of its own, so each is one counter, as its setting describes.
    """
    app.register_blueprint(bp)
    config = app.config
    check_limits(config)
    if not config["RATELIMIT_ENABLED"]:
        return
    config.setdefault("RATELIMIT_STORAGE_OPTIONS", storage_options(config))
    config["RATELIMIT_STORAGE_URI"] = storage_uri(config)
    # Fail open: a storage error is logged (in one line) and the request is served.
    config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    limiter_log = logging.getLogger("flask-limiter")
    if not any(isinstance(f, StorageErrorsInOneLine) for f in limiter_log.filters):
        limiter_log.addFilter(StorageErrorsInOneLine())
    # X-RateLimit-* headers would cost a Redis read on every limited response; a 429 carries
    # Retry-After, which is what a client needs.
    config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    limiter = Limiter(client_key, app=app)
    app.extensions["connect_limiter"] = limiter

    starts = _setting("RATELIMIT_STARTS_PER_IP")
    for blueprint in (entry.bp, demo.bp, tariff_settings.bp):
        limiter.shared_limit(starts, scope="starts", exempt_when=_only(STARTS))(blueprint)
    for blueprint in (completion.bp, provider_login.bp):
        exempt = _only(RETURNS, unless=returns_to_own_flow)
        limiter.shared_limit(starts, scope="starts", exempt_when=exempt)(blueprint)
    for endpoints, group in ((STEPS, "STEPS"), (POLLS, "POLLS"), (VIEWS, "VIEWS")):
        name = group.lower()
        limiter.shared_limit(
            _setting(f"RATELIMIT_{group}_PER_IP"),
            scope=f"{name}-ip",
            exempt_when=_only(endpoints),
        )(flow.bp)
        limiter.shared_limit(
            _setting(f"RATELIMIT_{group}_PER_FLOW"),
            scope=f"{name}-flow",
            key_func=flow_key,
            exempt_when=_only(endpoints),
        )(flow.bp)
    # The settings page asks FlatPeak for the location's status (and rates) on every view, so
    # its views count with the flow's, per client address.
    limiter.shared_limit(
        _setting("RATELIMIT_VIEWS_PER_IP"), scope="views-ip", exempt_when=_only(SETTINGS_VIEWS)
    )(tariff_settings.bp)
    app.register_error_handler(RateLimitExceeded, rate_limited)


# -- when a limit is hit ---------------------------------------------------------------------


def retry_after(error: RateLimitExceeded) -> int:
    """Whole seconds until the breached window lets one more request through."""
    limiter: Limiter | None = current_app.extensions.get("connect_limiter")
    current = limiter.current_limit if limiter else None
    if current is not None and current.breached:
        try:
            return max(1, math.ceil(current.window.reset_time - time.time()))
        except Exception:  # the storage may have gone away since the hit
            log.warning("rate limit window unreadable; Retry-After is the limit's length")
    return max(1, int(error.limit.limit.get_expiry()))


def notice_text(seconds: int) -> str:
    return ngettext(
        "Too many requests arrived in a short time, so we've paused for a moment. Nothing you "
        "entered has been lost: please try again in %(num)d second.",
        "Too many requests arrived in a short time, so we've paused for a moment. Nothing you "
        "entered has been lost: please try again in %(num)d seconds.",
        seconds,
    )


def _step_page_again(seconds: int) -> Response | None:
    """A plain step post: the same page again, with what was typed and the notice on top."""
    if request.endpoint != "flow.step":
        return None
    page = flow_state().page
    if page is None or page.route != request.form.get("route"):
        return None
    try:
        return render_page(
            page, values=typed_values(), errors={FORM_ERROR: notice_text(seconds)}, status=429
        )
    except Exception:  # a 429 must never become a 500; the whole-page notice will do
        log.exception("could not re-render the page for a rate-limited step")
        return None


def rate_limited(error: RateLimitExceeded) -> Response:
    seconds = retry_after(error)
    log.info("rate limit %s hit on %s", error.limit.limit, request.endpoint)
    if wants_fragment():
        # htmx leaves a 429 unswapped (base.html's htmx-config) and a redirect would lose what
        # the customer typed. HX-Location makes htmx fetch the notice and put it at the top of
        # the page, leaving the form alone; app.js focuses it (an error summary) and scrolls up.
        location = {
            "path": url_for("ratelimit.notice", wait=seconds),
            "target": "#page",
            "swap": "afterbegin",
            "push": "false",
        }
        response = htmx_response(notice_block(seconds), 429, location=location)
    else:
        has_flow = flow_state().token is not None
        response = _step_page_again(seconds) or make_response(
            render_template(
                "errors/429.html",
                seconds=seconds,
                has_flow=has_flow,
                # A GET can simply be repeated; a post goes back to the flow's current page.
                retry_here=request.method == "GET",
                flow_url=show_url() if has_flow and request.method != "GET" else None,
            ),
            429,
        )
    response.status_code = 429
    response.headers["Retry-After"] = str(seconds)
    return personal(response)


def notice_block(seconds: int) -> str:
    return render_block("errors/429.html", "notice", text=notice_text(seconds))


@bp.get("/connect/slow-down")
def notice() -> Response:
    """The notice an htmx request that hit a limit loads into its page. Never limited itself:
    it renders a sentence and touches neither Redis (beyond the session) nor FlatPeak."""
    seconds = min(max(request.args.get("wait", default=60, type=int) or 60, 1), 3600)
    response = htmx_response(notice_block(seconds), push_url=False)
    response.headers["Cache-Control"] = "no-store"
    return response
