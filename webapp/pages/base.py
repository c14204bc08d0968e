"""The contract between the flow views and the per-route page adapters.

Only adapters know both sides of a page: the HTML form's field names and Connect's JSON shape.
The flow blueprint (``webapp/flow.py``) knows neither; it asks the adapter for the route it is on:

* :meth:`PageAdapter.context` turns the page object (plus typed values and errors after a failed
  step) into template variables; a route adds its own in :meth:`PageAdapter.extra_context`;
* :meth:`PageAdapter.parse` turns a posted form into what to send upstream (``Submit``), or into
  a re-render without calling upstream (``Rerender``: a check we can make ourselves failed, or a
  purely local edit such as adding a time-of-day period);
* :meth:`PageAdapter.field_for_error` says next to which field a Connect error code belongs, and
  :meth:`PageAdapter.errors_for` gives every field it marks with our words for it (the table is
  ``webapp/pages/common.py``'s ``ERRORS``).

Every form posts ``route`` (the route it was rendered for), ``csrf_token`` and ``flow`` (the
cookie-less session handle) as hidden fields; actions are ``<button name="action" value="...">``.
Field names per route are listed in ``docs/page-forms.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from webapp.i18n import gettext as _
from webapp.page import Page

# Errors shown on a page: field name -> message; FORM_ERROR for the page as a whole.
FORM_ERROR = "_form"
Errors = dict[str, str]


@dataclass(frozen=True)
class FlowFacts:
    """What the flow knows beyond the page object, for the pages that show it back. The flow
    (``webapp/screens.py``) builds it from the session; adapters never read the session.

    ``entered``: what the customer told Connect on earlier pages that later page objects do not
    carry (``postal_address``; ``surcharge`` and ``region`` of a market tariff), see
    :meth:`webapp.flow_state.FlowState.entered`. ``manages_location``: the flow is for a
    location that already exists, rather than a first connection.
    """

    entered: Mapping[str, Any] = field(default_factory=dict)
    manages_location: bool = False


@dataclass(frozen=True)
class Submit:
    """Send this step to Connect: exactly one of ``data`` / ``action``, or neither (a bare
    submit, which contract_term_capture uses for "skip")."""

    data: dict[str, Any] | None = None
    action: str | None = None


@dataclass(frozen=True)
class Rerender:
    """Show the same page again without calling Connect, keeping what the customer typed."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: Errors = field(default_factory=dict)


class PageAdapter:
    """Base adapter: a page whose only inputs are the action buttons Connect offers."""

    #: Connect route names this adapter renders (the zero name first, then anode aliases).
    routes: ClassVar[tuple[str, ...]] = ()
    #: Template path, ``pages/<zero route>.html``.
    template: ClassVar[str] = ""
    #: Short, customer-facing step title (already marked for translation by the subclass).
    title: ClassVar[str] = ""
    #: Which part of the flow the page belongs to, 1 to 6 (``progress.PARTS``); the progress
    #: bar names the stage that part falls in, since Connect does not say how many pages are left.
    stage: ClassVar[int]

    def context(
        self,
        page: Page,
        values: Mapping[str, Any] | None = None,
        errors: Errors | None = None,
        query: Mapping[str, str] | None = None,
        flow: FlowFacts | None = None,
    ) -> dict[str, Any]:
        """Template variables. ``values`` are typed values to show again (after an error or a
        local edit); without them :meth:`initial_values` fills the form from ``page["data"]``.
        ``query`` is the GET query string (no-JS list filtering, ``?q=``); ``flow`` what the
        flow knows beyond the page (``ctx["flow"]``, for :meth:`extra_context`)."""
        # Imported here: common and progress import flask_babel lazily, and base must stay
        # importable on its own for the flow's type hints.
        from webapp.pages.common import address_of, has_address, provider_of
        from webapp.pages.progress import progress_at

        data = page.data
        route = page.route
        address = address_of(data)
        ctx: dict[str, Any] = {
            "page": page,
            "route": route,
            "data": data,
            "actions": page.actions,
            "values": dict(values) if values else self.initial_values(data),
            "errors": dict(errors or {}),
            "provider": provider_of(data),
            # The address Connect is working with, for the pages that show it as a card.
            "address": address,
            "show_address": has_address(address),
            "direction": page.direction,
            "live_mode": page.live_mode,
            "title": str(self.title),
            "progress": progress_at(self.stage),
            "flow": flow or FlowFacts(),
        }
        ctx.update(self.extra_context(page, ctx, query or {}))
        return ctx

    def extra_context(
        self, page: Page, ctx: Mapping[str, Any], query: Mapping[str, str]
    ) -> dict[str, Any]:
        """Variables this route's template needs beyond those every page gets. ``ctx`` holds
        the common ones, to read and not to change: a key returned here replaces the common one
        of that name, as for a page that normalises ``values``. ``query`` is the GET query
        string, empty on a POST."""
        return {}

    def initial_values(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """The form's values from the page data, shown when the customer has typed nothing yet
        (first render, not a re-render after an error). Pages without inputs have none."""
        return {}

    def message_for_error(self, code: str, message: str | None = None) -> str:
        """Our text for a Connect error code on this page, translated; never Connect's own
        ``message``, which is written for developers (see ``common.ERRORS``)."""
        from webapp.pages.common import message_for

        return message_for(code, message, route=self.routes[0] if self.routes else None)

    def parse(self, page: Page, form: Mapping[str, str]) -> Submit | Rerender:
        """Turn a posted form into a step. The default handles action-only pages."""
        action = (form.get("action") or "").strip()
        if action and action in page.actions:
            return Submit(action=action)
        return Rerender(errors={FORM_ERROR: _("Choose one of the options on this page.")})

    def field_for_error(self, code: str) -> str:
        """Which form field a Connect error code belongs to; FORM_ERROR if none. The table is
        ``common.ERRORS``."""
        from webapp.pages.common import error_field

        return error_field(self.routes[0] if self.routes else None, code)

    def errors_for(
        self, page: Page, code: str, message: str | None, values: Mapping[str, Any]
    ) -> Errors:
        """Every field a Connect error marks, each with its message, for the page re-rendered
        with ``values`` (what the customer posted). An address that cannot be found marks the
        fields to check, not just one; a route whose fields are numbered (the time-of-day
        periods) overrides this to find the one to fix from ``values``."""
        from webapp.pages.common import error_marks

        target = self.field_for_error(code)
        return error_marks(page.route, code, target, self.message_for_error(code, message))
