"""A small Flask app that renders the Connect pages exactly as the flow does (whole document, or
``<title>`` + the ``page`` block for htmx), with the real Babel, CSRF, formatting and branding
set-up, but without upstream calls: the page tests feed it page objects directly.

Kept apart from ``create_app`` on purpose: these tests pin the contract between the adapters and
the templates, and must not depend on sessions, Redis or the sandbox.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import html5lib
from flask import Blueprint, Flask
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect
from jinja2_fragments.flask import render_block

from webapp import assets, branding, templating
from webapp.page import Page
from webapp.pages import adapter_for

ROOT = Path(__file__).resolve().parents[2]
REFERENCE_PAGES: dict[str, Any] = json.loads(
    (ROOT / "tests" / "fixtures" / "reference_pages.json").read_text(encoding="utf-8")
)
FLOW_HANDLE = "fh_test_handle_0001"


def make_app(**config: Any) -> Flask:
    app = Flask(
        "pages_harness",
        template_folder=str(ROOT / "templates"),
        static_folder=None,
    )
    app.config.update(
        SECRET_KEY="test-only-secret",
        TESTING=True,
        BRAND_NAME="Acme Energy Partner",
        PARTNER_ORIGINS=["https://partner.example"],
        **config,
    )
    Babel(app)
    CSRFProtect(app)
    assets.init_app(app)
    templating.init_app(app, flow_handle=lambda: FLOW_HANDLE, launch_code=lambda: None)
    app.register_blueprint(branding.bp)

    # Endpoint names the templates link to; the real views live in webapp/flow.py.
    flow = Blueprint("flow", __name__)
    flow.add_url_rule("/connect/flow", "show", lambda: "", methods=["GET"])
    flow.add_url_rule("/connect/flow", "step", lambda: "", methods=["POST"])
    app.register_blueprint(flow)
    return app


def render(
    page: dict[str, Any],
    *,
    htmx: bool = False,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> str:
    """Render a page object the way webapp/flow.py does; call inside a request context."""
    typed = Page.from_connect(page)
    adapter = adapter_for(typed.route)
    assert adapter is not None, typed.route
    context = adapter.context(typed, values, errors, query)
    template = adapter.template
    if htmx:
        return (
            "<title>"
            + render_block(template, "title", **context).strip()
            + "</title>"
            + render_block(template, "page", **context)
        )
    from flask import render_template

    return render_template(template, **context)


def parse_document(markup: str) -> Any:
    """Strict HTML5 parsing: any parse error (bad nesting, stray end tag) fails the test."""
    return html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(markup)


def parse_fragment(markup: str) -> Any:
    return html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parseFragment(markup)


_INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)


def csp_violations(markup: str) -> list[str]:
    """What a strict CSP (no inline script or style) would block in this markup."""
    problems = []
    if re.search(r"\sstyle\s*=", markup, re.IGNORECASE):
        problems.append("style attribute")
    if re.search(r"<style[\s>]", markup, re.IGNORECASE):
        problems.append("<style> element")
    for match in re.finditer(r"<script\b([^>]*)>(.*?)</script>", markup, re.DOTALL | re.I):
        if "src=" not in match[1] or match[2].strip():
            problems.append("inline script")
    if _INLINE_HANDLER.search(markup):
        problems.append("on* handler")
    if re.search(r"\shx-on", markup):
        problems.append("hx-on attribute")
    if "javascript:" in markup.lower():
        problems.append("javascript: URL")
    return problems
