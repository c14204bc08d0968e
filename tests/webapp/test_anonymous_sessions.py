"""Anonymous requests leave nothing in Redis.

Sessions live in the same Redis as the exchanged ids (``connect:result:*``, no expiry). A page
that makes a session for every anonymous visitor lets anyone fill that Redis from one client; a
session is only made when a flow starts, or for a page whose form needs a CSRF secret.
"""

from __future__ import annotations

import pytest
import redis
from flask.testing import FlaskClient

from devstack.stack import RedisServer, SandboxServer
from tests.webapp.conftest import APP_DB, app_config
from webapp import create_app

# Pages with no form, each as an anonymous visitor meets it: our 404, the flow's own error
# screens (no flow, a link that is not valid), a 405, the done page, and the demo page while
# the demo is off (as in every deployment).
FORMLESS_PAGES = [
    "/",
    "/demo/start",
    "/no-such-page",
    "/static/no-such-file.css",
    "/connect/flow",
    "/connect/done",
    "/connect/callback",
    "/connect/callback?fp_cot=cot_ffffffffffffffffffffffff",
    "/connect?fp_cot=not-a-token",
    "/connect/provider-return?fp_cot=cot_",
    "/connect/provider-login/unknown-code",
    "/start/not-a-signed-link",
    "/start/again",
]


@pytest.fixture
def anonymous(redis_server: RedisServer, sandbox: SandboxServer) -> FlaskClient:
    redis_server.client(APP_DB).flushdb()
    config = app_config(redis_server, sandbox)
    config.pop("DEMO_ENABLED", None)  # the default
    return create_app(config).test_client()


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_anonymous_pages_without_a_form_write_no_session(
    anonymous: FlaskClient, app_redis: redis.Redis, htmx: bool
) -> None:
    """Many anonymous GETs, the way a script hammers a site: no ``connect:sess:*`` key, no
    cookie, and so no CSRF secret stored for anyone."""
    headers = {"HX-Request": "true"} if htmx else {}
    for _round in range(20):
        for path in FORMLESS_PAGES:
            response = anonymous.get(path, headers=headers)
            assert response.status_code < 500, (path, response.status_code)
            assert "Set-Cookie" not in response.headers, path
    assert list(app_redis.scan_iter("connect:sess:*")) == []
    assert list(app_redis.scan_iter("connect:flow:*")) == []
