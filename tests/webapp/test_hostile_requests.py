"""Property: whatever a client sends to any route, the app answers with a page, never a crash.

Hypothesis builds requests for every URL rule the app has (enumerated from ``app.url_map``, so
a new route is covered without touching this file; path arguments are generated too): any
method, query strings with the parameter names the app reads, form fields (names and values:
empty, huge, unicode including NULs and right-to-left marks, repeated keys), raw bodies that are
not UTF-8 (a lone surrogate's bytes), JSON and garbage content types, and the headers the app
looks at (htmx's, the flow handle, cookies, Accept-Language, Host and X-Forwarded-*, fetch
metadata). They go through Flask's test client to the app wired to the session's real Redis and
sandbox, once with no session at all, and once into live flows parked on real pages with a valid
CSRF token, so the fuzzed fields reach the page adapters' ``parse`` and, when they happen to be
valid, the sandbox.

The property: no 500, no traceback, a 2xx/3xx/4xx (or 502/503/504 for the upstream) whose body
is an HTML page, an empty htmx answer, or the route's own non-HTML content; and the connect
token never in a body. Derandomized, so CI runs the same examples every time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from werkzeug.routing import Rule

from devstack.stack import RedisServer, SandboxServer
from tests.webapp.conftest import GB_ADDRESS, Browser, app_config
from webapp import create_app
from webapp.start_links import sign_start


@pytest.fixture
def fuzz_app(redis_server: RedisServer, sandbox: SandboxServer) -> Iterator[Flask]:
    """The real app with rate limiting off: these properties send hundreds of requests from
    one client, and a 429 page would hide what the app does with them."""
    redis_server.client(3).flushdb()
    yield create_app(app_config(redis_server, sandbox, RATELIMIT_ENABLED=False))


# -- what a hostile client sends --------------------------------------------------------------

# Characters that have broken web apps: NUL, controls, bidi overrides, combining marks,
# non-BMP, the BOM, and text that looks like markup or a path.
NASTY = [
    "",
    "\x00",
    "a\x00b",
    "\x1b[2J",
    "\u202e\u2066rtl\u2069",
    "e\u0301\u0301\u0301",
    "\U0001f4a9",
    "\ufeff",
    "\uffff",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "%00",
    "%",
    "cot_0123456789abcdef01234567",
    "true",
    "-1",
    "1e999999999",
    "NaN",
    "24:00",
    "99",
]
# Form values as a browser sends them: UTF-8 text (no lone surrogates: those cannot be encoded
# at all, so they arrive as the raw, invalid bodies below).
plain_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
values = st.one_of(
    plain_text,
    st.sampled_from(NASTY),
    st.integers(0, 12_000).map(lambda n: "x" * n),  # up to and past the field limits
)
# Every field name a page form posts (docs/page-forms.md), plus the plumbing, plus junk.
FIELD_NAMES = [
    "csrf_token",
    "flow",
    "route",
    "action",
    "edit",
    "q",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "post_code",
    "country_code",
    "provider_id",
    "provider_name",
    "tariff_id",
    "tariff_name",
    "option",
    "cost",
    "periods",
    "from_0",
    "to_0",
    "cost_0",
    "from_11",
    "surcharge_fixed",
    "surcharge_percentage",
    "region",
    "skip",
    "term",
    "contract_end_date",
    "mode",
    "outcome",
]
names = st.one_of(st.sampled_from(FIELD_NAMES), plain_text)
pairs = st.lists(st.tuples(names, values), max_size=8)  # repeated keys included
QUERY_NAMES = ["fp_cot", "launch", "q", "country_code", "origin", "outcome", "connect", "v"]
query_strings = st.lists(
    st.tuples(st.one_of(st.sampled_from(QUERY_NAMES), plain_text), st.one_of(values, st.binary())),
    max_size=4,
)


def encode_query(items: list[tuple[str, Any]]) -> str:
    def part(value: Any) -> str:
        raw = value if isinstance(value, bytes) else str(value).encode("utf-8")
        return quote_from_bytes(raw, safe="")

    return "&".join(f"{part(k)}={part(v)}" for k, v in items)


# Header values arrive as latin-1 text (WSGI); CR and LF cannot be in them.
header_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=60
)
JUNK_HEADERS = {
    "HX-Request": st.sampled_from(["true", "false", "TRUE", "", "1"]),
    "HX-Boosted": st.sampled_from(["true", "x"]),
    "HX-History-Restore-Request": st.sampled_from(["true", "x"]),
    "HX-Target": header_text,
    "HX-Current-URL": st.one_of(header_text, st.just("javascript:alert(1)")),
    "X-Connect-Flow": st.one_of(header_text, st.just("a" * 24), st.just("../" * 8)),
    "X-CSRFToken": header_text,
    "Cookie": st.one_of(
        header_text,
        header_text.map(lambda v: f"fpconnect={v}"),
        st.just("fpconnect=" + "A" * 4000),
        st.just("fpconnect=../../etc; fpconnect=x"),
    ),
    "Accept-Language": st.one_of(
        header_text, st.sampled_from(["de-DE;q=2", "*;q=-1", "zz-ZZ, ,;;", "x" * 500])
    ),
    "Host": st.one_of(header_text, st.sampled_from(["evil.example", "localhost:99999", "[::1"])),
    "X-Forwarded-For": header_text,
    "X-Forwarded-Proto": st.sampled_from(["https", "gopher", "", "https, http"]),
    "X-Forwarded-Host": header_text,
    "Sec-Fetch-Dest": st.sampled_from(["iframe", "document", "empty", "script", "x"]),
    "Origin": header_text,
}
headers = st.fixed_dictionaries({}, optional=JUNK_HEADERS)

# How the body is encoded: the test client's keyword arguments for it.
bodies = st.one_of(
    st.just({}),
    pairs.map(lambda p: {"data": _multidict(p)}),
    pairs.map(lambda p: {"data": _multidict(p), "content_type": "multipart/form-data"}),
    st.binary(max_size=200).map(
        lambda b: {"data": b, "content_type": "application/x-www-form-urlencoded"}
    ),
    st.sampled_from([b"a=\xed\xa0\x80", b"\xff\xfe\x00=", b"route=\xc3"]).map(
        lambda b: {"data": b, "content_type": "application/x-www-form-urlencoded"}
    ),
    st.recursive(st.one_of(st.none(), st.booleans(), plain_text), lambda c: st.lists(c)).map(
        lambda v: {"data": json.dumps(v), "content_type": "application/json"}
    ),
    st.tuples(st.binary(max_size=100), header_text).map(
        lambda t: {"data": t[0], "content_type": t[1]}
    ),
    st.just({"data": b"--x\r\nbroken", "content_type": "multipart/form-data; boundary=x"}),
)


def _multidict(items: list[tuple[str, str]]) -> MultiDict[str, str]:
    # Repeated keys are kept; the test client encodes them as a browser would.
    return MultiDict(items)


def path_for(rule: Rule, arguments: dict[str, str]) -> str:
    """The URL of ``rule`` with generated path arguments, quoted as a client would send them."""
    path = rule.rule
    for name in rule.arguments:
        raw = arguments.get(name, "x") or "x"
        safe = "/" if "<path:" in path else ""
        quoted = quote_from_bytes(raw.encode("utf-8"), safe=safe)
        path = path.replace(f"<{name}>", quoted).replace(f"<path:{name}>", quoted)
    return path


METHODS = ["GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"]
NON_HTML_ENDPOINTS = {"static", "health.healthz", "branding.brand_css"}
UPSTREAM_STATUSES = {502, 503, 504}

HOSTILE_SETTINGS = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def check_response(response: Any, endpoint: str | None, secrets: tuple[str, ...] = ()) -> None:
    status = response.status_code
    body = response.get_data(as_text=True)
    assert status != 500 and status < 600, (status, body[:300])
    assert 200 <= status < 500 or status in UPSTREAM_STATUSES, (status, body[:300])
    assert "Traceback" not in body and "Internal Server Error" not in body
    for secret in secrets:
        assert secret not in body
    if endpoint in NON_HTML_ENDPOINTS and status < 400:
        return
    if body.strip() and status not in (301, 302, 303, 307, 308):
        assert response.mimetype == "text/html", (status, response.mimetype, body[:200])
        # A whole page, or a fragment htmx swaps in (a step, an out-of-band notice).
        assert body.lstrip().startswith("<"), body[:200]
    elif status == 200 and not body.strip():
        # An empty 200 is an htmx navigation, or an answer that never has a body.
        assert "HX-Redirect" in response.headers or response.request.method in ("HEAD", "OPTIONS")


# -- no session ---------------------------------------------------------------------------------


def test_any_request_to_any_route(fuzz_app: Flask) -> None:
    rules = sorted(fuzz_app.url_map.iter_rules(), key=lambda rule: (rule.rule, rule.endpoint))
    assert len(rules) >= 10, "the url map should list every route"
    routes = st.sampled_from(rules).flatmap(
        lambda rule: st.tuples(
            st.just(rule),
            st.fixed_dictionaries({name: plain_text for name in rule.arguments}),
            st.one_of(st.sampled_from(sorted(rule.methods or {"GET"})), st.sampled_from(METHODS)),
        )
    )

    @settings(HOSTILE_SETTINGS, max_examples=600)
    @given(route=routes, query=query_strings, body=bodies, extra=headers)
    @example(
        route=(next(r for r in rules if r.endpoint == "flow.step"), {}, "POST"),
        query=[],
        body={"data": b"a=\xed\xa0\x80", "content_type": "application/x-www-form-urlencoded"},
        extra={"X-Connect-Flow": "a" * 24, "HX-Request": "true"},
    )
    def run(route: tuple[Rule, dict[str, str], str], query, body, extra) -> None:
        rule, arguments, method = route
        client = fuzz_app.test_client()
        query_string = encode_query(query)
        response = client.open(
            path_for(rule, arguments) + (f"?{query_string}" if query_string else ""),
            method=method,
            headers=extra,
            **body,
        )
        check_response(response, rule.endpoint)

    run()


# -- live flows, valid CSRF, fuzzed step fields --------------------------------------------------


def _flow_on(app: Flask, ref: str, walk: list[Any]) -> tuple[FlaskClient, str, str]:
    """A flow for ``ref`` walked to a page by ``walk`` (steps a no-JS customer takes)."""
    client = app.test_client()
    with app.test_request_context():
        signed = sign_start(ref)
    browser = Browser(client)
    page = browser.get(f"/start/{signed}")
    for step in walk:
        page = step(browser)
    assert page.status in (200, 422), page.text()[:300]
    with client.session_transaction() as session:
        token = session["token"]
    # The CSRF token the page rendered stays valid for the whole session.
    marker = 'name="csrf_token" value="'
    csrf = page.html.split(marker, 1)[1].split('"', 1)[0]
    return client, token, csrf


def _address(browser: Browser, address: dict[str, str] = GB_ADDRESS) -> Any:
    return browser.submit(address)


WALKS: dict[str, list[Any]] = {
    "postal_address_capture": [],
    "provider_select": [_address],
    "tariff_select": [_address, lambda b: b.provider("Northwind Energy")],
    "contract_term_capture": [
        _address,
        lambda b: b.provider("Northwind Energy"),
        lambda b: b.tariff("Northwind Fixed 12M"),
    ],
    "summary_fixed_confirm": [
        _address,
        lambda b: b.provider("Northwind Energy"),
        lambda b: b.tariff("Northwind Fixed 12M"),
        lambda b: b.submit({"term": "none"}),
    ],
    "tariff_structure_select": [_address, lambda b: b.provider("Hearth & Home Electric")],
    "rate_fixed_capture": [
        _address,
        lambda b: b.provider("Hearth & Home Electric"),
        lambda b: b.submit(button=("option", "FIXED")),
    ],
    "rate_tod_capture": [
        _address,
        lambda b: b.provider("Hearth & Home Electric"),
        lambda b: b.submit(button=("option", "TIME_OF_DAY")),
    ],
    "market_surcharge_capture": [
        lambda b: b.submit({**GB_ADDRESS, "city": "Berwick-upon-Tweed", "post_code": "TD15 1AA"}),
        lambda b: b.provider("Tidal Market Power"),
        lambda b: b.submit(button=("option", "MARKET")),
    ],
}


def test_any_step_post_into_a_live_flow(fuzz_app: Flask) -> None:
    flows = {name: _flow_on(fuzz_app, f"fuzz-{name}", walk) for name, walk in WALKS.items()}
    tokens = tuple(token for _client, token, _csrf in flows.values())

    @settings(HOSTILE_SETTINGS, max_examples=500)
    @given(
        flow=st.sampled_from(sorted(flows)),
        fields=pairs,
        own_route=st.booleans(),
        multipart=st.booleans(),
        htmx=st.booleans(),
        csrf_in_header=st.booleans(),
        extra=st.fixed_dictionaries(
            {},
            optional={
                key: JUNK_HEADERS[key]
                for key in ("Accept-Language", "Sec-Fetch-Dest", "HX-Target", "HX-Current-URL")
            },
        ),
    )
    @example(
        flow="rate_tod_capture",
        fields=[("periods", "12"), ("edit", "remove_99999999999999999999"), ("cost_0", "1e9999")],
        own_route=True,
        multipart=False,
        htmx=True,
        csrf_in_header=True,
        extra={},
    )
    @example(  # a part werkzeug reads as a field named None, beside a valid token
        flow="contract_term_capture",
        fields=[("\n", "")],
        own_route=False,
        multipart=True,
        htmx=False,
        csrf_in_header=False,
        extra={},
    )
    @example(
        flow="market_surcharge_capture",
        fields=[("surcharge_fixed", "1e999999999"), ("surcharge_percentage", "-0")],
        own_route=True,
        multipart=False,
        htmx=False,
        csrf_in_header=False,
        extra={},
    )
    def run(flow, fields, own_route, multipart, htmx, csrf_in_header, extra) -> None:
        client, _token, csrf = flows[flow]
        with client.session_transaction() as session:
            page = session.get("page") or {}
            handle = session.get("flow") or ""
            live = bool(session.get("token"))
        plumbing = [("flow", handle)]
        if own_route:
            plumbing.append(("route", str(page.get("route") or "")))
        request_headers = dict(extra)
        if csrf_in_header:
            request_headers["X-CSRFToken"] = csrf
        else:
            plumbing.append(("csrf_token", csrf))
        if htmx:
            request_headers["HX-Request"] = "true"
        response = client.post(
            "/connect/flow",
            # Only the CSRF field stays valid: everything else, the route included, is fuzzed.
            data=MultiDict(plumbing + [(k, v) for k, v in fields if k != "csrf_token"]),
            headers=request_headers,
            content_type="multipart/form-data" if multipart else None,
        )
        check_response(response, "flow.step", tokens)
        # A CSRF refusal would mean the fuzz never reached the adapters (once a fuzzed post
        # has completed a flow, its session and CSRF secret are gone, and refusing is right).
        refused = "could not be checked" in response.get_data(as_text=True)
        assert not (live and refused)

    run()


def test_a_multipart_field_without_a_readable_name_is_ignored_not_a_500(fuzz_app: Flask) -> None:
    """werkzeug reads a part whose name breaks its header line as a field named ``None``;
    Flask-WTF's token lookup would then fail with a 500 (found by the test above). The field is
    dropped: without a token the post is refused as any such post is, and with one (in the form
    or the header) it goes on like the form without that field."""
    client = fuzz_app.test_client()
    for path in ("/connect/flow", "/connect/switch", "/connect/provider-login"):
        response = client.post(
            path, data=MultiDict([("\r", "")]), content_type="multipart/form-data"
        )
        assert response.status_code == 400, (path, response.status_code)
        assert "could not be checked" in response.get_data(as_text=True)
        check_response(response, None)
