"""devstack.forms, which the tests' form-driving browser and the benchmark's load driver both
read pages with: the default submission a browser would make, and what it must not read."""

from __future__ import annotations

import pytest

from devstack import forms
from tests.webapp.pages_harness import FLOW_HANDLE, REFERENCE_PAGES, make_app, render

pytestmark = pytest.mark.unit  # no process: see tests/README.md

PAGE = """<!doctype html><body hx-headers='{"X-CSRFToken": "t&amp;1"}'>
<main data-route="tariff_select">
<!-- <form method="post" action="/commented"><input name="ghost"></form> -->
<script>const fake = '<form method="post"><input name="scripted">';</script>
<form method="get" action="/search"><input name="q" value="north"></form>
<form method="POST" action="/connect/flow" hx-post="/connect/flow?hx=1">
  <input type="hidden" name="csrf_token" value="a&amp;b">
  <input name="typed" value="x"><input type="email" name="email">
  <input type="radio" name="term" value="none"><input type="radio" name="term" value="date" checked>
  <input type="checkbox" name="opt" value="A" checked><input type="checkbox" name="opt" value="B">
  <select name="country">
    <option value="">Choose</option><option value="GB" selected>UK</option>
  </select>
  <select name="state"><option value="first">1</option><option value="2">2</option></select>
  <textarea name="note">ignored text</textarea>
  <input type="button" name="js-only" value="no"><input type="submit" name="go" value="Go">
  <button name="tariff_id" value="t1"><span>Northwind</span> <b>Fixed &amp; 12M</b></button>
  <button type="button" name="close" value="c">Close</button>
</form>
<input name="outside" value="not submitted">
</main></body>"""


def test_default_submission_is_what_a_browser_sends() -> None:
    get, post = forms.parse_forms(PAGE)
    assert (get.method, get.action, get.fields) == ("get", "/search", [("q", "north")])
    assert post.is_post and post.action == "/connect/flow" and post.hx_post == "/connect/flow?hx=1"
    assert post.fields == [
        ("csrf_token", "a&b"),
        ("typed", "x"),
        ("email", ""),
        ("term", "date"),
        ("opt", "A"),
        ("country", "GB"),
        ("state", "first"),
        ("note", ""),
    ]
    assert post.radios == {"term": ["none", "date"], "opt": ["A", "B"]}
    assert [(b.name, b.value, b.label) for b in post.buttons] == [
        ("go", "Go", "Go"),
        ("tariff_id", "t1", "Northwind Fixed & 12M"),
    ]


def test_comments_scripts_and_stray_controls_are_not_read() -> None:
    names = {name for form in forms.parse_forms(PAGE) for name in form.names}
    assert not names & {"ghost", "scripted", "outside", "js-only", "close"}
    assert len(forms.parse_forms(PAGE)) == 2


def test_lookups() -> None:
    parsed = forms.parse_forms(PAGE)
    assert forms.route_of(PAGE) == "tariff_select"
    assert forms.flow_state_of(PAGE) is None
    assert forms.flow_state_of('<main data-flow-state="done">') == "done"
    assert forms.hx_headers_of(PAGE) == {"X-CSRFToken": "t&1"}
    assert forms.hx_headers_of("<body>") == {}
    assert forms.find_form(parsed, names=("term", "country")) is parsed[1]
    assert forms.find_form(parsed, names=("q",)) is None  # a GET form is never the one to post
    assert forms.find_form(parsed, button=("tariff_id", "t1")) is parsed[1]
    assert forms.find_button(parsed, "tariff_id", "Fixed & 12M") == (parsed[1], "t1")
    assert forms.find_button(parsed, "tariff_id", "Economy 7") is None


def test_reads_the_app_templates() -> None:
    """The real markup, so a template change that the parser cannot follow fails here."""
    with make_app().test_request_context("/connect/flow"):
        page = render(REFERENCE_PAGES["provider_select"])
    parsed = forms.parse_forms(page)
    assert forms.route_of(page) == "provider_select"
    assert forms.hx_headers_of(page)["X-Connect-Flow"] == FLOW_HANDLE
    found = forms.find_button(parsed, "provider_id", "Octopus Energy")
    assert found is not None
    form, value = found
    assert value.startswith("prv_") and form.hx_post == "/connect/flow"
    assert form.value("flow") == FLOW_HANDLE and form.value("csrf_token")
    assert forms.find_form(parsed, button=("action", "PROVIDER_MISSING")) is not None
