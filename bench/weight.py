"""Page weight as served: the bytes on the wire, read from the real responses.

A first visit is what a browser with an empty cache downloads for the first page of a flow:
the redirect from ``/connect?fp_cot=…``, the HTML, and every stylesheet, script, font and image
it links (fonts from the stylesheets' ``url()``). Every request says
``Accept-Encoding: gzip, br``; each body is read undecoded, so its size is what the app sent
(and its ``Content-Length`` is checked against it). Then each step's htmx fragment, as the
load driver posts it, for the fixed and the time-of-day path (their summaries differ).
Provider logos on the list are ``loading="lazy"`` images from the sandbox's host (FlatPeak's in
production), not ours; they are listed but not counted.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urljoin, urlsplit

import requests

from bench.browser import (
    ADDRESS,
    PROVIDER,
    PUBLIC_HOST,
    PUBLIC_URL,
    SUMMARIES,
    TARIFFS,
    FlowFailed,
    button,
    form_with,
    post_forms,
    submission,
)
from devstack.forms import Form, hx_headers_of, route_of

ACCEPT = "gzip, br"
_LINKS = re.compile(r"<(link|script|img)\b([^>]*)>", re.I)
_CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)")


@dataclass
class Item:
    label: str
    wire: int  # bytes as sent
    raw: int  # bytes decoded
    encoding: str
    cache: str
    length_ok: bool


def fetch(
    http: requests.Session, method: str, url: str, headers: dict[str, str], **kwargs: object
) -> tuple[requests.Response, bytes]:
    """A request whose body is read undecoded (the wire bytes) and then decoded."""
    response = http.request(
        method,
        url,
        headers={"Accept-Encoding": ACCEPT, **headers},
        stream=True,
        allow_redirects=False,
        timeout=30,
        **kwargs,  # type: ignore[arg-type]
    )
    if response._content_consumed:  # type: ignore[attr-defined]
        # requests reads a redirect's body itself (to free the connection), decoded: only an
        # identity body can be taken back as it was sent.
        if response.headers.get("Content-Encoding", "identity") != "identity":
            raise FlowFailed(f"{url}: a compressed redirect body cannot be weighed")
        return response, response.content
    wire = response.raw.read(decode_content=False)
    response._content = decode(wire, response.headers.get("Content-Encoding", ""))
    return response, wire


def decode(body: bytes, encoding: str) -> bytes:
    if encoding == "br":
        import brotli

        return bytes(brotli.decompress(body))
    if encoding == "gzip":
        import gzip

        return gzip.decompress(body)
    return body


def item(label: str, response: requests.Response, wire: bytes) -> Item:
    declared = response.headers.get("Content-Length")
    return Item(
        label=label,
        wire=len(wire),
        raw=len(response.content),
        encoding=response.headers.get("Content-Encoding", "identity"),
        cache=response.headers.get("Cache-Control", ""),
        length_ok=declared is not None and int(declared) == len(wire),
    )


class WeighingBrowser:
    """The load driver's customer, synchronous, keeping each response's wire size."""

    def __init__(self, app_url: str) -> None:
        self.app_url = app_url
        self.http = requests.Session()
        self.cookies: dict[str, str] = {}
        self.hx_headers: dict[str, str] = {}
        self.proxy = {
            "X-Forwarded-For": "10.255.0.1",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": PUBLIC_HOST,
        }

    def send(
        self, method: str, path: str, headers: dict[str, str], data: str | None = None
    ) -> tuple[requests.Response, bytes]:
        sent = {**self.proxy, **headers}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if data is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        response, wire = fetch(self.http, method, self.app_url + path, sent, data=data)
        for raw in response.raw.headers.getlist("Set-Cookie"):
            jar: SimpleCookie = SimpleCookie()
            jar.load(raw)
            for name, morsel in jar.items():
                self.cookies[name] = morsel.value
        if response.status_code >= 400:
            raise FlowFailed(f"{method} {path} answered {response.status_code}")
        return response, wire

    def navigate(self, path: str) -> list[tuple[str, requests.Response, bytes]]:
        hops = []
        headers = {"Accept": "text/html", "Sec-Fetch-Dest": "document"}
        response, wire = self.send("GET", path, headers)
        hops.append((path, response, wire))
        while response.status_code in (302, 303):
            parts = urlsplit(response.headers["Location"])
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            response, wire = self.send("GET", path, headers)
            hops.append((path, response, wire))
        self.hx_headers = hx_headers_of(response.text) or self.hx_headers
        return hops

    def post(self, form: Form, overrides: dict[str, str]) -> tuple[requests.Response, bytes]:
        headers = {
            "HX-Request": "true",
            "HX-Current-URL": f"{PUBLIC_URL}/connect/flow",
            "HX-Target": "page",
            "Origin": PUBLIC_URL,
            **self.hx_headers,
        }
        body = urlencode(submission(form, overrides))
        return self.send("POST", form.hx_post or form.action or "/connect/flow", headers, body)


def first_visit(app_url: str, token: str) -> tuple[list[Item], list[str], WeighingBrowser, str]:
    """The first page and everything it links, and the third-party images left uncounted."""
    browser = WeighingBrowser(app_url)
    hops = browser.navigate(f"/connect?fp_cot={token}")
    items = []
    for path, response, wire in hops:
        label = (
            "redirect /connect?fp_cot=…"
            if response.status_code == 303
            else "HTML " + (route_of(response.text) or urlsplit(path).path)
        )
        items.append(item(label, response, wire))
    page = hops[-1][1].text
    assets: list[str] = []
    uncounted: list[str] = []
    for tag, raw in _LINKS.findall(page):
        attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', raw))
        href = attrs.get("href") if tag.lower() == "link" else attrs.get("src")
        if not href or (tag.lower() == "link" and "stylesheet" not in attrs.get("rel", "")):
            continue
        href = html.unescape(href)
        if urlsplit(href).netloc:
            uncounted.append(href)
        else:
            assets.append(href)
    anonymous = requests.Session()  # no cookie: a shared cache could serve these
    seen: set[str] = set()
    while assets:
        href = assets.pop(0)
        if href in seen:
            continue
        seen.add(href)
        response, wire = fetch(anonymous, "GET", urljoin(app_url + "/", href), {})
        if response.status_code != 200:
            raise FlowFailed(f"asset {href} answered {response.status_code}")
        items.append(item(urlsplit(href).path.rsplit("/", 1)[-1], response, wire))
        if response.headers.get("Content-Type", "").startswith("text/css"):
            for ref in _CSS_URL.findall(response.text):
                if not ref.startswith("data:"):
                    assets.append(urljoin(href, ref))
    return items, uncounted, browser, page


def fragments(browser: WeighingBrowser, first_page: str, number: int) -> list[Item]:
    """Each step's htmx answer through one flow (``number`` even: fixed tariff; odd: time of
    day)."""
    tariff, summary = TARIFFS[number % 2], SUMMARIES[number % 2]
    items = []
    page = first_page
    form = form_with(post_forms(page), tuple(ADDRESS), route_of(page))
    response, wire = browser.post(form, ADDRESS)
    items.append(item("address → provider_select", response, wire))
    form, value = button(post_forms(response.text), "provider_id", PROVIDER, "provider_select")
    response, wire = browser.post(form, {"provider_id": value})
    items.append(item("provider → tariff_select", response, wire))
    form, value = button(post_forms(response.text), "tariff_id", tariff, "tariff_select")
    response, wire = browser.post(form, {"tariff_id": value})
    items.append(item("tariff → contract_term_capture", response, wire))
    form = form_with(post_forms(response.text), ("term",), "contract_term_capture")
    response, wire = browser.post(form, {"term": "none"})
    items.append(item(f"contract → {summary}", response, wire))
    if route_of(response.text) != summary:
        raise FlowFailed(f"weight flow reached {route_of(response.text)}, not {summary}")
    form = form_with(post_forms(response.text), (), summary, button=("action", "SAVE"))
    response, wire = browser.post(form, {"action": "SAVE"})
    items.append(item("SAVE → HX-Redirect", response, wire))
    return items


def measure(
    app_url: str, make_token: Callable[[str], str]
) -> tuple[list[Item], list[str], list[Item]]:
    """First visit (fixed path), then the fragments of both paths."""
    visit, uncounted, browser, page = first_visit(app_url, make_token("weight-0"))
    steps = fragments(browser, page, 0)
    second = WeighingBrowser(app_url)
    hops = second.navigate(f"/connect?fp_cot={make_token('weight-1')}")
    steps += fragments(second, hops[-1][1].text, 1)
    return visit, uncounted, steps
