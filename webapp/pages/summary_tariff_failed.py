"""``summary_tariff_failed`` (anode ``tariff_connection_failed``): Connect could not read the
tariff from the provider's account.

The page comes right after a provider login that failed, and also opens a managed location whose
connection broke later (docs/protocol.md §7.1, §9.2); Connect's page data does not say which, so
every sentence here is true in both cases.

Connect offers ``RECONNECT`` (back to the provider list) and ``DISCONNECT`` (end the session
without a tariff), not the pending page's ``DISMISS_DIRECT`` (§7.3, §7.4). Entering the tariff
another way is still possible, through ``RECONNECT``: the provider's login can be skipped, which
leads to its next method (§7.2), and the list offers "My provider isn't listed". So this page
words ``RECONNECT`` as the way to both, and ``DISCONNECT`` as what it is on a tariff that never
connected: finishing without one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from webapp.i18n import gettext as _
from webapp.i18n import lazy_gettext as _l
from webapp.page import Page
from webapp.pages.base import PageAdapter
from webapp.pages.common import action_label

# The order the choices are shown in; any other action Connect offers (anode's) follows.
_ORDER = ("RECONNECT", "DISCONNECT")


class SummaryTariffFailed(PageAdapter):
    routes: ClassVar[tuple[str, ...]] = ("summary_tariff_failed", "tariff_connection_failed")
    template: ClassVar[str] = "pages/summary_tariff_failed.html"
    title: ClassVar[Any] = _l("We couldn't read your tariff")
    # The provider connection is what failed, and RECONNECT goes back to the provider list: the
    # customer is at the provider stage again, not checking and confirming a tariff.
    stage: ClassVar[int] = 2

    def extra_context(
        self, page: Page, ctx: Mapping[str, Any], query: Mapping[str, str]
    ) -> dict[str, Any]:
        name = ctx["provider"]["display_name"] or _("your provider")
        words = {
            "RECONNECT": (
                _("Try again"),
                _(
                    "Choose your provider again. You can sign in to %(provider)s once more, or "
                    "skip signing in and enter your tariff another way.",
                    provider=name,
                ),
            ),
            "DISCONNECT": (
                _("Finish without a tariff"),
                _(
                    "Ends here. No tariff from %(provider)s is kept for this address.",
                    provider=name,
                ),
            ),
        }
        offered = [a for a in _ORDER if a in page.actions]
        offered += [a for a in page.actions if a not in _ORDER]
        choices = []
        for action in offered:
            label, hint = words.get(action, (action_label(action), None))
            choices.append(
                {
                    "action": action,
                    "label": label or action.replace("_", " ").capitalize(),
                    "hint": hint,
                    "primary": action == "RECONNECT",
                }
            )
        return {"choices": choices}
