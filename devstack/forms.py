"""The forms on a page, as a browser would submit them by default, and the page's flow route.

Shared by the tests' form-driving browser and the benchmark's load driver. The driver parses
every page of every flow while it competes for the same cores as the app it measures, so this is
a handful of regular expressions over the tags that matter rather than a full HTML parser; the
app's own markup (and the sandbox's provider login page) is all it has to read. Comments,
scripts and styles are skipped, as a browser's parser skips them.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from typing import NamedTuple

# One match per comment, script or style (skipped whole) or per form tag, opening or closing.
_TAG = re.compile(
    r"<!--.*?-->"
    r"|<(script|style)\b[^>]*>.*?</\1\s*>"
    r"""|<(/?)(form|input|button|select|option|textarea)\b([^>"']*(?:(?:"[^"]*"|'[^']*')[^>"']*)*)>""",
    re.S | re.I,
)
_ATTR = re.compile(r"""([\w:.@-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?""")
_ROUTE = re.compile(r"""(?<![\w-])data-route\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_FLOW_STATE = re.compile(r"""(?<![\w-])data-flow-state\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_MARKUP = re.compile(r"<[^>]+>")
_HX_HEADERS = re.compile(r"<body\b[^>]*\bhx-headers='([^']*)'", re.S)


def attrs(raw: str) -> dict[str, str]:
    """A tag's attributes, names lower-cased, values unescaped (a bare attribute is "")."""
    found: dict[str, str] = {}
    for match in _ATTR.finditer(raw):
        name, double, single, bare = match.groups()
        value = double if double is not None else single if single is not None else bare
        found[name.lower()] = html.unescape(value) if value is not None else ""
    return found


class Button(NamedTuple):
    """A submit button: what pressing it adds to the submission, and the text it shows."""

    name: str
    value: str
    label: str


@dataclass
class Form:
    action: str
    method: str = "get"
    hx_post: str = ""  # where htmx posts it instead of ``action``
    fields: list[tuple[str, str]] = field(default_factory=list)  # the default submission
    buttons: list[Button] = field(default_factory=list)
    radios: dict[str, list[str]] = field(default_factory=dict)  # every choice, checked or not

    @property
    def is_post(self) -> bool:
        return self.method.lower() == "post"

    @property
    def names(self) -> set[str]:
        """The names a customer can fill in (fields, and radios or checkboxes unchecked)."""
        return {key for key, _ in self.fields} | set(self.radios)

    def value(self, name: str) -> str | None:
        return next((value for key, value in self.fields if key == name), None)

    def has_button(self, name: str, value: str) -> bool:
        return any(b.name == name and b.value == value for b in self.buttons)


def _label(markup: str) -> str:
    return " ".join(html.unescape(_MARKUP.sub(" ", markup)).split())


def parse_forms(page: str) -> list[Form]:
    """Every form in document order. Controls outside a form are not submitted by a browser and
    are left out (the app does not use the ``form=`` attribute)."""
    forms: list[Form] = []
    form: Form | None = None
    select: str | None = None
    select_value: str | None = None
    button: tuple[str, str] | None = None
    button_start = 0

    def end_button(end: int) -> None:
        nonlocal button
        if button is not None and form is not None:
            form.buttons.append(Button(*button, _label(page[button_start:end])))
        button = None

    for match in _TAG.finditer(page):
        _skipped, closing, tag, raw = match.groups()
        if tag is None:
            continue
        tag = tag.lower()
        if closing:
            if tag == "button":
                end_button(match.start())
            elif tag == "select" and select is not None:
                if form is not None:
                    form.fields.append((select, select_value or ""))
                select = None
            elif tag == "form":
                end_button(match.start())
                form = None
            continue
        a = attrs(raw)
        if tag == "form":
            end_button(match.start())
            form = Form(
                action=a.get("action", ""),
                method=a.get("method", "get"),
                hx_post=a.get("hx-post", ""),
            )
            forms.append(form)
            continue
        if tag == "option":
            # The first option unless one is selected (the last one, if several are).
            if select is not None and (select_value is None or "selected" in a):
                select_value = a.get("value", "")
            continue
        name = a.get("name", "")
        if form is None or not name:
            continue
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("submit", "image"):
                form.buttons.append(Button(name, a.get("value", ""), a.get("value", "")))
            elif kind in ("radio", "checkbox"):
                form.radios.setdefault(name, []).append(a.get("value", "on"))
                if "checked" in a:
                    form.fields.append((name, a.get("value", "on")))
            elif kind != "button":
                form.fields.append((name, a.get("value", "")))
        elif tag == "button":
            end_button(match.start())
            if a.get("type", "submit").lower() == "submit":
                button, button_start = (name, a.get("value", "")), match.end()
        elif tag == "select":
            select, select_value = name, None
        elif tag == "textarea":
            form.fields.append((name, ""))
    end_button(len(page))
    return forms


def _first(pattern: re.Pattern[str], page: str) -> str | None:
    match = pattern.search(page)
    if match is None:
        return None
    double, single = match.groups()
    return html.unescape(double if double is not None else single)


def route_of(page: str) -> str | None:
    """The Connect route the page shows (``data-route``), if it is a flow page."""
    return _first(_ROUTE, page)


def flow_state_of(page: str) -> str | None:
    """The flow's state outside Connect's pages (``data-flow-state``: done, expired…)."""
    return _first(_FLOW_STATE, page)


def hx_headers_of(page: str) -> dict[str, str]:
    """The headers htmx adds to every request from the page (``<body hx-headers>``: the CSRF
    token and the flow handle), or none on a page without them."""
    match = _HX_HEADERS.search(page)
    return json.loads(html.unescape(match.group(1))) if match else {}


def find_form(
    forms: list[Form], *, button: tuple[str, str] | None = None, names: tuple[str, ...] = ()
) -> Form | None:
    """The first POST form with that button and all those names."""
    for form in forms:
        if not form.is_post or (button is not None and not form.has_button(*button)):
            continue
        if all(name in form.names for name in names):
            return form
    return None


def find_button(forms: list[Form], name: str, label: str) -> tuple[Form, str] | None:
    """The form and value of the ``name`` button whose visible text contains ``label``."""
    for form in forms:
        for button in form.buttons:
            if button.name == name and label in button.label:
                return form, button.value
    return None
