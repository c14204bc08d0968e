"""Checks run on every page state: axe (WCAG 2.2 A/AA), layout at phone and desktop widths,
form-field hints for phones, and screenshots written to ``test-artifacts/``.

Problems are collected rather than raised at the first one, so a failing test lists every page
and every problem it found in one run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Frame, Page

from devstack.stack import ROOT

ARTIFACTS = ROOT / "test-artifacts" / "e2e"
SCREENSHOTS = ARTIFACTS / "screenshots"

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}

PHONE_SMALL = {"width": 320, "height": 640}
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}
WIDTHS = (PHONE_SMALL, PHONE, DESKTOP)

MIN_TARGET_PX = 44

#: autocomplete tokens the address form must carry so browsers can autofill it (HTML spec).
ADDRESS_AUTOCOMPLETE = {
    "address_line1": {"address-line1", "street-address"},
    "address_line2": {"address-line2"},
    "city": {"address-level2"},
    "state": {"address-level1"},
    "post_code": {"postal-code"},
    "country_code": {"country", "country-name"},
}
#: Number fields a phone should open a decimal keypad for.
DECIMAL_FIELDS = re.compile(r"^(cost(_\d+)?|surcharge_fixed|surcharge_percentage)$")

_axe = Axe()


def axe_violations(scope: Page | Frame) -> list[str]:
    """Every WCAG 2.2 A/AA violation axe-core finds, one readable line per failing node."""
    results = _axe.run(scope, options=AXE_OPTIONS)
    lines = []
    for violation in results.response["violations"]:
        for node in violation["nodes"]:
            target = " ".join(str(t) for t in node.get("target", []))
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(
                f"axe {violation['id']} ({violation['impact']}): {violation['help']} "
                f"at {target}: {summary[:300]}"
            )
    return lines


_LAYOUT_JS = """
(minTarget) => {
  const problems = [];
  const doc = document.documentElement;
  const vw = doc.clientWidth;
  if (doc.scrollWidth > vw + 1) {
    const wide = [...document.querySelectorAll('body *')].filter(el => {
      const r = el.getBoundingClientRect();
      return r.width > 0 && r.right > vw + 1;
    }).slice(0, 3).map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
      (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ')[0] : ''));
    problems.push(`horizontal scroll: page is ${doc.scrollWidth}px wide in a ${vw}px viewport` +
      ` (widest: ${wide.join(', ')})`);
  }
  const visible = el => {
    const s = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    return s.visibility !== 'hidden' && s.display !== 'none' && r.width > 1 && r.height > 1 &&
      !(s.position === 'absolute' && s.clip && s.clip.startsWith('rect(0'));
  };
  const describe = el => {
    const text = (el.innerText || el.value || el.getAttribute('aria-label') || el.name || '')
      .trim().replace(/\\s+/g, ' ').slice(0, 40);
    return `${el.tagName.toLowerCase()}${el.name ? '[name=' + el.name + ']' : ''} "${text}"`;
  };
  const controls = document.querySelectorAll(
    'button, a[href], input:not([type=hidden]), select, textarea, summary, ' +
    '[role=button], [role=tab]');
  for (const el of controls) {
    if (!visible(el) || el.closest('[inert], [aria-hidden=true]')) continue;
    // Links inside running text are exempt (WCAG 2.5.8 inline exception).
    if (el.tagName === 'A' && el.closest('p, li') && !el.closest('nav')) continue;
    let r = el.getBoundingClientRect();
    if ((el.type === 'radio' || el.type === 'checkbox') && el.labels && el.labels.length) {
      const l = el.labels[0].getBoundingClientRect();
      r = {width: Math.max(r.width, l.width), height: Math.max(r.height, l.height)};
    }
    if (r.height < minTarget - 0.5 || r.width < minTarget - 0.5) {
      const size = `${Math.round(r.width)}x${Math.round(r.height)}px`;
      problems.push(`tap target ${size} < ${minTarget}px: ` + describe(el));
    }
  }
  return problems;
}
"""

_FIELD_HINTS_JS = """
() => [...document.querySelectorAll('#page input:not([type=hidden]), #page select, #page textarea')]
  .map(el => ({name: el.name, type: el.type, inputmode: el.getAttribute('inputmode') || '',
               autocomplete: (el.getAttribute('autocomplete') || '').trim()}))
"""


def layout_problems(scope: Page | Frame) -> list[str]:
    return scope.evaluate(_LAYOUT_JS, MIN_TARGET_PX)


def field_hint_problems(scope: Page | Frame) -> list[str]:
    problems = []
    for f in scope.evaluate(_FIELD_HINTS_JS):
        name = f["name"]
        tokens = set(f["autocomplete"].split())
        if name in ADDRESS_AUTOCOMPLETE and not tokens & ADDRESS_AUTOCOMPLETE[name]:
            problems.append(
                f"field {name}: autocomplete={f['autocomplete']!r}, expected one of "
                f"{sorted(ADDRESS_AUTOCOMPLETE[name])}"
            )
        if DECIMAL_FIELDS.match(name or "") and f["inputmode"] != "decimal":
            problems.append(f"field {name}: inputmode={f['inputmode']!r}, expected 'decimal'")
    return problems


def submit_problems(scope: Page | Frame, viewport_width: int) -> list[str]:
    """The page's forms must show a submit control that fits the viewport width."""
    buttons = scope.locator("#page form button, #page form input[type=submit]")
    if scope.locator("#page form").count() == 0:
        return []
    for i in range(buttons.count()):
        box = buttons.nth(i).bounding_box()
        if (
            buttons.nth(i).is_visible()
            and box
            and box["x"] >= 0
            and (box["x"] + box["width"] <= viewport_width + 1)
        ):
            return []
    return ["no submit control is visible within the viewport width"]


_STRUCTURE_JS = """
() => {
  const problems = [];
  const h1s = document.querySelectorAll('h1');
  if (h1s.length !== 1) problems.push(`${h1s.length} <h1> elements (expected exactly one)`);
  const step = document.title.split(' \\u2013 ')[0].trim();
  if (!step || document.title.trim().startsWith('\\u2013')) {
    problems.push(`<title> does not name the step: ${JSON.stringify(document.title)}`);
  }
  const onFlow = document.querySelector('#page input[name=route]');
  if (onFlow && !document.querySelector('#page progress, #page [role=progressbar]')) {
    problems.push(`no progress indication on the ${onFlow.value} page`);
  }
  return problems;
}
"""


def structure_problems(scope: Page | Frame) -> list[str]:
    """One ``<h1>``, a ``<title>`` naming the step, and a progress indication on flow pages."""
    return scope.evaluate(_STRUCTURE_JS)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@dataclass
class Auditor:
    """Audits page states as a test walks a flow; fails the test at the end with all findings."""

    page: Page
    test_name: str
    problems: list[str] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    axe_width: int = PHONE["width"]

    def check(
        self, state: str, scope: Page | Frame | None = None, widths=WIDTHS, axe: bool = True
    ) -> None:
        """Audit the page now shown, at each width; screenshots at 375 and 1280 px.

        ``axe=False`` for pages with JavaScript disabled: axe-core needs timers, which never fire
        there. Those pages are the same templates the JS-enabled tests run axe on.
        """
        scope = scope or self.page
        self.states.append(state)
        original = self.page.viewport_size
        for size in widths:
            self.page.set_viewport_size(size)
            # Layout is measured synchronously (getBoundingClientRect forces it), so no wait is
            # needed, and none that relies on page scripts (JS may be disabled).
            where = f"[{state} @ {size['width']}px]"
            self.problems += [f"{where} {p}" for p in layout_problems(scope)]
            self.problems += [f"{where} {p}" for p in submit_problems(scope, size["width"])]
            if size["width"] in (PHONE["width"], DESKTOP["width"]):
                self.screenshot(state, size["width"])
            if size["width"] == self.axe_width:
                if axe:
                    self.problems += [f"{where} {p}" for p in axe_violations(scope)]
                self.problems += [f"{where} {p}" for p in field_hint_problems(scope)]
                self.problems += [f"{where} {p}" for p in structure_problems(scope)]
        if original:
            self.page.set_viewport_size(original)

    def screenshot(self, state: str, width: int, full_page: bool = True) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{slug(self.test_name)}--{slug(state)}--{width}.png"
        # caret="initial": hiding the caret leaves empty style="" attributes on inputs, which
        # htmx then copies on swap and the app's CSP (rightly) refuses.
        self.page.screenshot(path=str(path), full_page=full_page, caret="initial")
        return path

    def assert_clean(self) -> None:
        """Fail with every audit finding, plus the script errors and CSP refusals the browser
        reported on the audited page (``page.e2e_errors``, set by the ``open_page`` fixture)."""
        problems = self.problems + [f"[browser] {e}" for e in getattr(self.page, "e2e_errors", [])]
        assert not problems, (
            f"{len(problems)} problem(s) on {len(self.states)} page state(s):\n  "
            + "\n  ".join(problems)
        )
