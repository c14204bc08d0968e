"""The flow a browser's session holds: every session key the flow reads or writes, in one place.

The session (Flask-Session, in Redis) carries one flow at a time. Each key below is read and
written only through :class:`FlowState`, and :meth:`FlowState.reset` forgets all of them, so a
new flow in the same browser never inherits anything from the last one (a half-finished
completion, a cached page, the framing of another start). Other session keys, such as
Flask-WTF's CSRF secret, are not the flow's and are left to their owners.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from flask import session

from webapp.page import Page

TOKEN = "token"  # noqa: S105 (a session key name, not a secret)
ENTRY = "entry"
PAGE = "page"
FRESH = "fresh"
HANDLE = "flow"
EMBED_ORIGIN = "embed_origin"
FRAMED = "framed"
COMPLETING = "completing"
LOGIN_TARGET = "login_target"
PENDING_ENTRY = "pending_entry"
KEYS = (
    TOKEN,
    ENTRY,
    PAGE,
    FRESH,
    HANDLE,
    EMBED_ORIGIN,
    FRAMED,
    COMPLETING,
    LOGIN_TARGET,
    PENDING_ENTRY,
)

#: ``completing``: Connect answered ``session_complete`` for our callback; the callback exchanges.
COMPLETE = "complete"
#: ``completing``: Connect refused ``session_restore`` as ``session_completed``: the final step
#: landed but its answer never reached us. The exchange decides whether there is anything to store.
COMPLETED_UNSEEN = "completed-unseen"


class FlowState:
    """Typed access to the flow's keys in a session (or any mapping standing in for one)."""

    def __init__(self, store: MutableMapping[str, Any]) -> None:
        self._store = store

    # -- what the flow is ----------------------------------------------------------------------

    @property
    def token(self) -> str | None:
        """The connect token: only ever here and in Redis, never in a URL or page after entry."""
        value = self._store.get(TOKEN)
        return value if isinstance(value, str) and value else None

    @property
    def entry(self) -> dict[str, Any]:
        """How the flow was entered: ``kind`` (partner, external), ``customer_ref``,
        ``return_url``, ``location_id``."""
        value = self._store.get(ENTRY)
        return dict(value) if isinstance(value, dict) else {}

    @property
    def handle(self) -> str | None:
        """The flow handle that opens this session without its cookie (see sessions.py)."""
        value = self._store.get(HANDLE)
        return value if isinstance(value, str) and value else None

    @property
    def embed_origin(self) -> str | None:
        """The partner origin a start link named for framing the flow, if any."""
        value = self._store.get(EMBED_ORIGIN)
        return value if isinstance(value, str) and value else None

    # -- where it is ---------------------------------------------------------------------------

    @property
    def page(self) -> Page | None:
        """The last page object Connect answered, to re-render after a failed step without a
        round trip. Connect stays the source of truth: a GET always asks it again."""
        return Page.from_session(self._store.get(PAGE))

    @page.setter
    def page(self, page: Page | None) -> None:
        self._store[PAGE] = page.to_session() if page is not None else None

    def mark_fresh(self) -> None:
        """Post/redirect/get: the GET that follows shows the cached page once, unasked."""
        self._store[FRESH] = True

    def take_fresh(self) -> bool:
        return bool(self._store.pop(FRESH, False))

    @property
    def framed(self) -> bool | None:
        """Whether the flow runs inside a frame; None until a whole-page load tells us."""
        value = self._store.get(FRAMED)
        return value if isinstance(value, bool) else None

    @framed.setter
    def framed(self, value: bool) -> None:
        self._store[FRAMED] = value

    @property
    def completing(self) -> str | None:
        """:data:`COMPLETE` or :data:`COMPLETED_UNSEEN` once Connect is done with the flow and
        the callback has yet to exchange the token; None otherwise."""
        value = self._store.get(COMPLETING)
        return value if value in (COMPLETE, COMPLETED_UNSEEN) else None

    @completing.setter
    def completing(self, value: str | None) -> None:
        if value is None:
            self._store.pop(COMPLETING, None)
        else:
            self._store[COMPLETING] = value

    @property
    def login_target(self) -> str | None:
        """A DIRECT provider's login URL (without the token) while the flow's login page waits
        for the customer to go there (in a new tab when framed)."""
        value = self._store.get(LOGIN_TARGET)
        return value if isinstance(value, str) and value else None

    @login_target.setter
    def login_target(self, value: str | None) -> None:
        self._store[LOGIN_TARGET] = value

    @property
    def pending_entry(self) -> dict[str, Any] | None:
        """An entry link to another flow that arrived while this one was live, held here (never
        in a URL or the page) until the customer chooses between the two (see entry.py)."""
        value = self._store.get(PENDING_ENTRY)
        return dict(value) if isinstance(value, dict) else None

    @pending_entry.setter
    def pending_entry(self, value: dict[str, Any] | None) -> None:
        if value is None:
            self._store.pop(PENDING_ENTRY, None)
        else:
            self._store[PENDING_ENTRY] = dict(value)

    # -- beginning and ending ------------------------------------------------------------------

    def begin(
        self, token: str, entry: dict[str, Any], handle: str, embed_origin: str | None = None
    ) -> None:
        """A new flow: nothing of the previous one survives."""
        self.reset()
        self._store[TOKEN] = token
        self._store[ENTRY] = dict(entry)
        self._store[HANDLE] = handle
        if embed_origin:
            self._store[EMBED_ORIGIN] = embed_origin

    def reset(self) -> None:
        for key in KEYS:
            self._store.pop(key, None)


def flow_state() -> FlowState:
    """The flow of the current request's session."""
    return FlowState(session)
