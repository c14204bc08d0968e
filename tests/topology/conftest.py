"""The production topology on loopback (``devstack.topology.Topology``): nginx, rendered from
``deploy/nginx/connect.conf.template``, in front of two app instances under gunicorn with the
production config, the sandbox, and Redis. One per test session: it takes a few seconds to
start, and every test here leaves it as it found it.

``HopBrowser`` is the customer of "hopping instances": a cookie jar whose successive requests go
to the instances in turn (A, B, A, …), straight to their ports so that nothing can keep the
customer on one of them, while every URL the app writes names nginx (``PUBLIC_URL``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import pytest
import requests

from devstack.stack import Gunicorn
from devstack.topology import Topology
from tests.webapp.conftest import Browser, HttpClient, _HttpResponse

PARTNER_ORIGIN = "https://partner.example"


@pytest.fixture(scope="session")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    """Two instances of the app as README's Going live ran one (2 gthread workers x 8 threads),
    behind nginx. The demo partner page is on (the flows start there, as in tests/webapp);
    rate limits are on, as always, keyed by the address nginx forwards."""
    with Topology(
        tmp_path_factory.mktemp("topology"),
        instances=2,
        app_gunicorn=Gunicorn(workers=2, threads=8),
        app_settings={
            "DEMO_ENABLED": "true",
            "PARTNER_ORIGINS": PARTNER_ORIGIN,
            "TARIFF_KINDS": "commodity_import commodity_export",
        },
    ) as live:
        yield live


class HopClient(HttpClient):
    """An ``HttpClient`` whose every request goes to the next base URL in turn."""

    def __init__(self, bases: list[str], *, cookies: bool = True) -> None:
        super().__init__(bases[0])
        self.bases = bases
        self.turns = itertools.cycle(bases)
        self.served_by: list[str] = []  # the base each request went to, in order
        if not cookies:
            # A browser that keeps no cookie (Safari in a partner's frame): nothing is stored.
            self.http.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))

    def open(self, path: str, method: str = "GET", **kwargs: Any) -> _HttpResponse:
        self.base_url = next(self.turns)
        self.served_by.append(self.base_url)
        return super().open(path, method, **kwargs)


class HopBrowser(Browser):
    """:class:`Browser` whose requests alternate between app instances. URLs of the app's own
    (relative, nginx's ``PUBLIC_URL`` or an instance's) are ours; anything else (the sandbox's
    provider login) is external, as for a real browser."""

    def __init__(self, topology: Topology, *, htmx: bool = False, cookies: bool = True) -> None:
        bases = [app.url for app in topology.apps]
        super().__init__(HopClient(bases, cookies=cookies), htmx=htmx)  # type: ignore[arg-type]
        self.ours = [topology.url, *bases]

    @property
    def hops(self) -> HopClient:
        return self.client  # type: ignore[return-value]

    def _is_app(self, url: str) -> bool:
        return url.startswith("/") or any(url.startswith(base + "/") for base in self.ours)

    def _app_response(self, method: str, url: str, **kwargs: Any) -> Any:
        for base in self.ours:
            if url.startswith(base + "/"):
                url = url[len(base) :]
                break
        return super()._app_response(method, url, **kwargs)


def get(url: str, **kwargs: Any) -> requests.Response:
    return requests.get(url, timeout=kwargs.pop("timeout", 10), allow_redirects=False, **kwargs)
