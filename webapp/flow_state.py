"""The flow a browser's session holds: every session key the flow reads or writes, in one place.

The session (Flask-Session, in Redis) carries one flow at a time. Each key below is read and
written only through :class:`FlowState`, and :meth:`FlowState.reset` forgets all of them, so a
new flow in the same browser never inherits anything from the last one (a half-finished
completion, a cached page, the framing of another start). Other session keys, such as
Flask-WTF's CSRF secret, are not the flow's and are left to their owners.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
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
ENTERED = "entered"
OPENED_ON = "opened_on"
LOCALE = "locale"
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
    ENTERED,
    OPENED_ON,
    LOCALE,
)

#: ``completing``: Connect answered ``session_complete`` for our callback; the callback exchanges.
COMPLETE = "complete"
#: ``completing``: Connect refused ``session_restore`` as ``session_completed``: the final step
#: landed but its answer never reached us. The exchange decides whether there is anything to store.
COMPLETED_UNSEEN = "completed-unseen"

#: The pages Connect opens a flow on only for a location that already has a tariff
#: (docs/protocol.md §7.1): a flow that starts on one manages that location.
LOCATION_PAGES = frozenset(
    {
        "summary_fixed_confirm",
        "summary_tou_confirm",
        "summary_tariff_inprogress",
        "summary_tariff_failed",
        "tariff_summary",
        "tariffs_summary",
        "tariff_connection_pending",
        "tariff_connection_failed",
    }
)
#: The steps whose market surcharge and region no later page carries (anode splits the page).
_SURCHARGE_ROUTES = ("market_surcharge_capture", "surcharge_capture")
_REGION_ROUTES = ("market_surcharge_capture", "region_select")
_ADDRESS_FIELDS = ("address_line1", "address_line2", "city", "state", "post_code", "country_code")


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

    @property
    def locale(self) -> str | None:
        """The language the partner chose for this flow (a start link's or ``/connect``'s
        ``locale``), kept for every later page: the browser's Accept-Language only decides
        when the partner chose nothing (webapp/i18n.py select_locale)."""
        value = self._store.get(LOCALE)
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
        if page is not None:
            self._note_page(page)

    def _note_page(self, page: Page) -> None:
        """Every page the flow shows passes here: remember the first one's route (whether the
        flow manages a location) and the latest address a page showed (the summary's page
        object carries none)."""
        self._store.setdefault(OPENED_ON, page.route)
        address = page.data.get("postal_address")
        if not isinstance(address, Mapping):
            return
        shown = {
            name: value.strip()[:200]
            for name in _ADDRESS_FIELDS
            if isinstance(value := address.get(name), str) and value.strip()
        }
        entered = self.entered
        if not shown or entered.get("postal_address") == shown:
            return
        entered["postal_address"] = shown
        # A region chosen for another address is not this address's region.
        entered.pop("region", None)
        self._store[ENTERED] = entered

    # -- what the customer told Connect ---------------------------------------------------------

    @property
    def entered(self) -> dict[str, Any]:
        """What the customer told Connect that later page objects do not carry, so the summary
        can show it back: ``postal_address`` (the latest a page showed), and a market tariff's
        ``surcharge`` (``fixed`` in major units per kWh, ``percentage``) and ``region`` as the
        customer's accepted step sent them."""
        value = self._store.get(ENTERED)
        return dict(value) if isinstance(value, dict) else {}

    def remember_step(self, route: str, data: Mapping[str, Any] | None) -> None:
        """A step Connect accepted: keep the surcharge and region it sent (see :attr:`entered`).
        A surcharge page sent without a region clears an earlier one: none applies now."""
        if not isinstance(data, Mapping):
            return
        entered = self.entered
        if route in _SURCHARGE_ROUTES:
            surcharge = data.get("surcharge")
            if isinstance(surcharge, Mapping):
                entered["surcharge"] = {
                    key: number
                    for key in ("fixed", "percentage")
                    if isinstance(number := surcharge.get(key), int | float)
                    and not isinstance(number, bool)
                }
        if route in _REGION_ROUTES:
            region = data.get("region")
            if isinstance(region, str) and region.strip():
                entered["region"] = region.strip()[:200]
            elif route == "market_surcharge_capture":
                entered.pop("region", None)
        self._store[ENTERED] = entered

    @property
    def manages_location(self) -> bool:
        """The flow is for an existing location, not a first connection: its start link named
        one, or Connect opened it on a location's own page (a token that named one)."""
        return bool(self.entry.get("location_id")) or self._store.get(OPENED_ON) in LOCATION_PAGES

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
        self,
        token: str,
        entry: dict[str, Any],
        handle: str,
        embed_origin: str | None = None,
        locale: str | None = None,
    ) -> None:
        """A new flow: nothing of the previous one survives (its language neither: a new link
        that names none goes back to the browser's)."""
        self.reset()
        self._store[TOKEN] = token
        self._store[ENTRY] = dict(entry)
        self._store[HANDLE] = handle
        if embed_origin:
            self._store[EMBED_ORIGIN] = embed_origin
        if locale:
            self._store[LOCALE] = locale

    def reset(self) -> None:
        for key in KEYS:
            self._store.pop(key, None)


def flow_state() -> FlowState:
    """The flow of the current request's session."""
    return FlowState(session)
