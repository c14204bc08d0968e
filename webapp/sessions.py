"""Server-side sessions on Redis, the cookie attributes an iframe needs, and the cookie-less path.

Flask-Session 0.8 holds the session in Redis and puts only a random id in the cookie. Two gaps are
filled here:

* It drops ``Partitioned`` from the cookie (pallets-eco/flask-session#273); CHIPS is what keeps
  the session alive in a partner iframe when third-party cookies are blocked in Chrome.
* Safari (and strict privacy settings anywhere) sends no cookie to an iframe at all. Each flow
  therefore has a *flow handle*: a random id bound to the session in Redis with a short TTL, sent
  back by every htmx request (``X-Connect-Flow`` header) and every form (hidden ``flow`` field).
  When the cookie is missing, the session is opened from the handle, never from the URL.
  A navigation that cannot carry a header or a field (the redirect from an entry point to the
  first page, and for a browser without the cookie each plain-form redirect and no-JS search)
  carries a *launch code* instead: single use, valid for two minutes, useless once the page has
  loaded.

The session stays tiny: the connect token, how the flow was entered, the last page object (so a
failed step can re-render without calling upstream) and the flow handle. FlatPeak remains the
source of truth for where the flow is.

When Redis is down, Flask would fail in places its error handlers never see: opening the session
happens before routing, saving it after the view. So a failed open gives the request an empty
session that is never saved, and a guard that runs before every other ``before_request`` turns
the outage into the ``redis.RedisError`` the app answers with 503; a failed save is marked so the
error page's own response does not try to save again. Either way the customer's cookie is left
alone, so the flow carries on once Redis is back.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import redis
from flask import Flask, Request, Response, current_app, g, request, session
from flask_session.base import ServerSideSession
from flask_session.redis import RedisSessionInterface
from werkzeug.exceptions import RequestEntityTooLarge

from webapp.extensions import REDIS_KEY
from webapp.flow_state import FlowState, flow_state

FLOW_HEADER = "X-Connect-Flow"
FLOW_FIELD = "flow"
LAUNCH_PARAM = "launch"

_FLOW_PREFIX = "connect:flow:"
_LAUNCH_PREFIX = "connect:launch:"
# Marks a launch code minted by an entry (its redirect may come from the partner's page).
_ENTRY_MARK = "entry:"
# Endpoints that never read the session, so they keep answering while Redis is down: the
# stylesheet of the "temporarily unavailable" page, and the health check that reports the outage.
SESSIONLESS_ENDPOINTS = frozenset({"static", "health.healthz"})


def _sessionless(app: Flask, request: Request) -> bool:
    """The paths of SESSIONLESS_ENDPOINTS, known before routing (when the session is opened)."""
    static = app.static_url_path
    return request.path == "/healthz" or bool(static and request.path.startswith(static + "/"))


def note_store_down(error: redis.RedisError) -> None:
    """Redis failed during this request: nothing more is read from or written to it."""
    g.connect_store_error = error


def store_down() -> redis.RedisError | None:
    return g.get("connect_store_error")


def _refuse_while_store_down() -> None:
    """First ``before_request``: a request whose session could not be read stops here, before
    CSRF (whose secret is in that session) or a view could act on an empty session."""
    error = store_down()
    if error is not None and request.endpoint not in SESSIONLESS_ENDPOINTS:
        raise error
    if g.get("connect_too_large"):
        raise RequestEntityTooLarge()


def from_our_pages(request: Request) -> bool:
    """Whether the browser says this request comes from a page of this site (fetch metadata);
    clients that send no ``Sec-Fetch-Site`` (not a browser, or a very old one) are taken at
    their word, as they cannot be steered by another site's page anyway."""
    return request.headers.get("Sec-Fetch-Site") in (None, "same-origin")


def _is_handle(value: str | None) -> bool:
    if not value or not 16 <= len(value) <= 64:
        return False
    return value.replace("-", "").replace("_", "").isalnum()


class FlowSessionInterface(RedisSessionInterface):
    """Flask-Session's Redis interface plus Partitioned cookies and the flow-handle fallback.

    It uses Flask-Session's underscore methods (``_retrieve_session_data``, ``_get_store_id``,
    ``_generate_sid`` and ``_delete_session`` are called, ``_upsert_session`` is replaced)
    because the library has no public way to open a session by an id other than the cookie's,
    to save one without setting the cookie, or to write a second key in the same round trip;
    ``flask-session`` is pinned to an exact version in pyproject.toml, and the session tests
    exercise every override.
    """

    def _load(self, sid: str) -> ServerSideSession | None:
        data = self._retrieve_session_data(self._get_store_id(sid))
        return self.session_class(data, sid=sid) if data is not None else None

    def _sid_for(self, prefix: str, value: str | None, *, consume: bool = False) -> str | None:
        if not _is_handle(value):
            return None
        key = prefix + str(value)
        raw = self.client.getdel(key) if consume else self.client.get(key)
        if not raw:
            return None
        return raw.decode() if isinstance(raw, bytes) else str(raw)

    def open_session(self, app: Flask, request: Request) -> ServerSideSession:
        if _sessionless(app, request):
            # Not even a read: a stalled Redis must not hold up a stylesheet or the health check.
            # Nor a write: a 404 page for a missing file must not swap the customer's cookie
            # for a new, empty session.
            g.connect_sessionless = True
            return self.session_class(sid=self._generate_sid(self.sid_length))
        try:
            return self._open_from_store(app, request)
        except redis.RedisError as error:
            note_store_down(error)
            return self.session_class(sid=self._generate_sid(self.sid_length))

    def _open_from_store(self, app: Flask, request: Request) -> ServerSideSession:
        opened = super().open_session(app, request)
        launch = request.args.get(LAUNCH_PARAM) if request.method == "GET" else None
        # A launch code is single use whether or not the cookie made it unnecessary.
        launch_sid = self._sid_for(_LAUNCH_PREFIX, launch, consume=True) if launch else None
        if launch_sid and launch_sid.startswith(_ENTRY_MARK):
            launch_sid = launch_sid[len(_ENTRY_MARK) :]
        elif launch_sid and not from_our_pages(request):
            # Only an entry's code may arrive from elsewhere (the partner's page or email that
            # led to the entry); every other code is minted for one of our own pages' next
            # navigation, so one arriving from another site is someone else's flow.
            launch_sid = None
        if opened:
            return opened
        # A flow handle is sent only by our own pages (their forms and htmx requests): one that
        # arrives from another site is someone else's flow being planted in this browser.
        handle = request.headers.get(FLOW_HEADER) if from_our_pages(request) else None
        if (
            not handle
            and from_our_pages(request)
            and request.method == "POST"
            and request.mimetype
            in (
                "application/x-www-form-urlencoded",
                "multipart/form-data",
            )
        ):
            try:
                handle = request.form.get(FLOW_FIELD)
            except RequestEntityTooLarge:
                # Raised here it would escape the error handlers (a 500); the first
                # before_request hook answers the friendly 413 instead.
                g.connect_too_large = True
                handle = None
        for sid in (self._sid_for(_FLOW_PREFIX, handle), launch_sid):
            if sid:
                restored = self._load(sid)
                if restored is not None and FlowState(restored).handle:
                    restored.opened_without_cookie = True  # type: ignore[attr-defined]
                    return restored
        return opened

    def _upsert_session(
        self, session_lifetime: timedelta, session: ServerSideSession, store_id: str
    ) -> None:
        """Write the session, and renew its flow handle in the same round trip: the handle
        lives exactly as long as the session it opens."""
        handle = FlowState(session).handle
        pipe = self.client.pipeline(transaction=False)
        pipe.set(store_id, self.serializer.encode(session), ex=session_lifetime)
        if handle:
            pipe.set(
                _FLOW_PREFIX + handle,
                session.sid,
                ex=current_app.config["FLOW_HANDLE_TTL"],  # type: ignore[attr-defined]
            )
        pipe.execute()

    def save_session(self, app: Flask, session: ServerSideSession, response: Response) -> None:
        if store_down() is not None or g.get("connect_sessionless"):
            return  # no Set-Cookie either: the browser keeps the session it had
        try:
            if opened_without_cookie(session):
                self._save_without_cookie(app, session)
                return
            super().save_session(app, session, response)
        except redis.RedisError as error:
            # Raised from process_response, this reaches the 500 handler, not the RedisError one;
            # the mark tells both the handler and the error page's own save what happened.
            note_store_down(error)
            raise
        if not self.get_cookie_partitioned(app):
            return
        prefix = self.get_cookie_name(app) + "="
        cookies = response.headers.getlist("Set-Cookie")
        if not any(cookie.startswith(prefix) for cookie in cookies):
            return
        del response.headers["Set-Cookie"]
        for cookie in cookies:
            if cookie.startswith(prefix) and "Partitioned" not in cookie:
                cookie += "; Partitioned"
            response.headers.add("Set-Cookie", cookie)

    def renew(self, session: ServerSideSession) -> None:
        """A new id for this session, its old record deleted. Unlike Flask-Session's
        ``regenerate``, also for a session that is empty by now (a new flow clears it first)."""
        self._delete_session(self._get_store_id(session.sid))
        session.sid = self._generate_sid(self.sid_length)
        session.modified = True

    def _save_without_cookie(self, app: Flask, session: ServerSideSession) -> None:
        """A session opened by a flow handle or a launch code is written back, but never handed
        to the browser as its cookie: whoever holds a handle or code (a cross-site form, a link)
        must not be able to plant their session in someone else's browser."""
        store_id = self._get_store_id(session.sid)
        if not session:
            if session.modified:
                self._delete_session(store_id)
            return
        if self.should_set_storage(app, session):
            self._upsert_session(app.permanent_session_lifetime, session, store_id)


def opened_without_cookie(session: Any) -> bool:
    """Whether this request's session came from a flow handle or a launch code."""
    return bool(getattr(session, "opened_without_cookie", False))


def _interface() -> FlowSessionInterface:
    return current_app.session_interface  # type: ignore[return-value]


def start_flow(
    connect_token: str,
    entry: dict[str, Any],
    embed_origin: str | None = None,
    locale: str | None = None,
) -> str:
    """Bind a new flow to this browser: new session id and CSRF secret (against fixation), new
    handle, and nothing kept from the flow before (see :class:`~webapp.flow_state.FlowState`).
    A session that arrived by handle or launch code stays cookieless (see ``save_session``).

    Returns a launch code for the redirect to the first page.
    """
    interface = _interface()
    state = flow_state()
    if state.handle:
        interface.client.delete(_FLOW_PREFIX + state.handle)
    state.reset()
    # A new CSRF secret too: a token read before this flow began (perhaps by someone who
    # planted a session here) must not be good for posting into it.
    csrf_key = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    session.pop(csrf_key, None)
    g.pop(csrf_key, None)
    interface.renew(session)  # type: ignore[arg-type]
    session.permanent = True
    state.begin(connect_token, entry, secrets.token_urlsafe(24), embed_origin, locale)
    return new_launch_code(entry=True)


def keep_cookieless() -> None:
    """This request's session is saved, but never handed to the browser as its cookie (as for
    a session opened by a handle or launch code)."""
    session.opened_without_cookie = True  # type: ignore[attr-defined]


def new_launch_code(*, entry: bool = False) -> str:
    """A single-use code that opens the current session on the next GET, for two minutes.

    ``entry``: the code of a flow's first page, whose redirect may come from another site (the
    partner's page or email that led to the entry); any other code opens the session only for
    a navigation from one of our own pages."""
    interface = _interface()
    code = secrets.token_urlsafe(24)
    session.modified = True
    interface.client.set(
        _LAUNCH_PREFIX + code,
        (_ENTRY_MARK if entry else "") + session.sid,
        ex=current_app.config["LAUNCH_CODE_TTL"],  # type: ignore[attr-defined]
    )
    return code


def cookieless_launch_code() -> str | None:
    """A launch code for a plain GET back into this flow, only for a browser that sends no
    cookie (a frame that blocks them): such a GET (the redirect after a plain form post, the
    no-JS list search, "clear search") carries neither the flow header nor a form field, so its
    URL carries a single-use code instead, never the token or the handle. With JavaScript the
    search never submits and the code lapses unused after two minutes. A browser whose cookie
    works gets None, and costs no Redis write."""
    if not session or not flow_state().handle:
        return None
    if not opened_without_cookie(session):
        return None
    try:
        return new_launch_code()
    except redis.RedisError:
        return None  # the search then shows "can't find your tariff connection", as before


def end_flow() -> None:
    """Forget the flow: delete the handle and the session (Flask-Session drops the cookie)."""
    handle = flow_state().handle
    if handle:
        _interface().client.delete(_FLOW_PREFIX + handle)
    # An empty, modified session makes Flask-Session delete the Redis key and the cookie.
    session.clear()
    session.modified = True


def flow_handle() -> str | None:
    return flow_state().handle if session else None


def init_app(app: Flask) -> None:
    app.session_interface = FlowSessionInterface(
        app,
        client=app.extensions[REDIS_KEY],
        key_prefix=app.config["SESSION_KEY_PREFIX"],
        permanent=app.config["SESSION_PERMANENT"],
        serialization_format=app.config["SESSION_SERIALIZATION_FORMAT"],
    )
    # create_app installs this module before CSRF and the rate limits, so this hook runs
    # before theirs (Flask runs before_request hooks in the order they were registered).
    app.before_request(_refuse_while_store_down)
