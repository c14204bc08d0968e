"""nginx in front (deploy/nginx/connect.conf.template as devstack/topology.py renders it): the
static files it serves itself, the friendly page when no instance answers, the next instance
when one is down, the client's address as the app sees it, and the production rendering (TLS)
that operations install."""

from __future__ import annotations

import gettext
import http.client
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

from devstack.stack import ROOT, StackError, free_port
from devstack.topology import (
    APP_DB,
    FROM_CONNECT_ENV,
    NGINX_TEMPLATE,
    PLAIN_LISTEN_TEMPLATE,
    TLS_LISTEN_TEMPLATE,
    NginxServer,
    Topology,
    envsubst,
    placeholders,
    read_env_file,
)

pytestmark = pytest.mark.topology

REDIRECT_TEMPLATE = ROOT / "deploy" / "nginx" / "http-redirect.conf.template"


def stylesheet_url(topology: Topology) -> str:
    html = requests.get(topology.url + "/", timeout=10).text
    found = re.search(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"', html)
    assert found, "the page links no hashed stylesheet"
    return found[1]


def app_log_lines(topology: Topology, path: str, *, at_least: int = 0) -> int:
    """How many access-log lines of the instances name ``path``, waiting up to 3 s for
    ``at_least`` of them (a line is written just after its response)."""
    deadline = time.monotonic() + 3
    while True:
        count = sum(app.log().count(f" {path} ") for app in topology.apps)
        if count >= at_least or time.monotonic() > deadline:
            return count
        time.sleep(0.05)


def test_nginx_serves_the_current_hashed_stylesheet_itself(topology: Topology) -> None:
    css = stylesheet_url(topology)
    before = app_log_lines(topology, css)
    response = requests.get(topology.url + css, headers={"Accept-Encoding": "br, gzip"}, timeout=10)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["Content-Type"].startswith("text/css")
    # Precompressed by `flask nginx-assets`: Brotli where nginx has Debian's module, else gzip.
    assert response.headers["Content-Encoding"] in ("br", "gzip")
    assert "Accept-Encoding" in response.headers["Vary"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # Over plain http the site's $connect_hsts is empty, and an empty add_header adds nothing.
    assert "Strict-Transport-Security" not in response.headers
    assert response.headers["Server"] == "nginx"  # server_tokens off: no version
    assert "--brand-primary" in response.text  # decoded by requests: it is the stylesheet
    plain = requests.get(topology.url + css, headers={"Accept-Encoding": "identity"}, timeout=10)
    assert "Content-Encoding" not in plain.headers and plain.text == response.text
    # No instance was asked: no access-log line of the app's names it, even once a request
    # that did reach an instance after it has been logged.
    requests.get(topology.url + "/healthz?after-css", timeout=10)
    app_log_lines(topology, "/healthz", at_least=1)
    assert app_log_lines(topology, css) == before


def test_a_stale_hash_and_the_plain_name_fall_through_to_the_app(topology: Topology) -> None:
    for path in ("/static/css/app.000000000000.css", "/static/css/app.css"):
        before = app_log_lines(topology, path)
        response = requests.get(topology.url + path, timeout=10)
        assert response.status_code == 200, path
        # The app's answer for a hash it does not know: the file, revalidated every time.
        assert "immutable" not in response.headers.get("Cache-Control", ""), path
        assert app_log_lines(topology, path, at_least=before + 1) == before + 1, path


def test_an_earlier_deploys_copy_is_served_by_nginx_under_its_own_name(
    topology: Topology,
) -> None:
    """A page from an instance not yet restarted names last deploy's stylesheet: nginx sends
    those very bytes, immutable, without asking an instance."""
    folder = topology.nginx.assets_include.parent / "static" / "css"
    earlier = folder / "app.0123456789ab.css"
    earlier.write_text("/* last deploy's stylesheet */\n")
    try:
        topology.write_assets()  # the next deploy's nginx-assets, then a reload
        topology.nginx.reload()
        time.sleep(0.5)
        path = "/static/css/app.0123456789ab.css"
        before = app_log_lines(topology, path)
        response = requests.get(topology.url + path, timeout=10)
        assert response.status_code == 200
        assert response.text == "/* last deploy's stylesheet */\n"
        assert "immutable" in response.headers["Cache-Control"]
        assert app_log_lines(topology, path) == before  # nginx answered it alone
    finally:
        earlier.unlink()
        topology.write_assets()
        topology.nginx.reload()
        time.sleep(0.5)


@pytest.fixture
def nginx_alone(topology: Topology, tmp_path: Path) -> NginxServer:
    """The same site in front of two ports where nothing listens: every instance down."""
    dead = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
    with NginxServer(tmp_path, dead, topology.nginx.assets_include) as server:
        yield server


def test_nginx_that_cannot_bind_its_port_is_not_taken_for_ready(
    topology: Topology, tmp_path: Path
) -> None:
    """Something else answering on nginx's port (once, another service of the same topology
    given the same port) must not pass for nginx: the start fails and says why."""
    with socket.create_server(("127.0.0.1", 0)) as squatter:
        squatter.listen()
        port = squatter.getsockname()[1]
        server = NginxServer(
            tmp_path, [f"127.0.0.1:{free_port()}"], topology.nginx.assets_include, port=port
        )
        started = time.monotonic()
        try:
            with pytest.raises(StackError, match="Address already in use"):
                server.start()
        finally:
            # Had it been taken for ready, it would bind once the squatter leaves: stop it.
            server.stop()
    assert time.monotonic() - started < 30  # nginx gives up binding after a few seconds


def test_ports_handed_out_are_never_handed_out_twice() -> None:
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)


def test_every_instance_down_gets_the_friendly_page(nginx_alone: NginxServer) -> None:
    """The app's own 503 page, rendered by ``nginx-assets`` in each language, in the browser's
    language, styled by the current stylesheet, which nginx serves with no instance up."""
    for method, language in (("GET", None), ("POST", None), ("GET", "de-DE,de;q=0.9,en;q=0.5")):
        headers = {"Accept-Language": language} if language else {}
        response = requests.request(
            method, nginx_alone.url + "/connect/flow", headers=headers, timeout=10
        )
        assert response.status_code == 502, method
        assert response.headers["Content-Type"].startswith("text/html")
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Retry-After"] == "30"
        assert response.headers["X-Connect-Outage"] == "service"  # app.js: ours, not FlatPeak
        page = response.text
        lang = "de" if language else "en"
        assert f'<html lang="{lang}"' in page
        title = re.search(r"<title>(.*?)</title>", page)
        assert title is not None
        assert title[1] == translated("Temporarily unavailable", lang)
        assert translated("Try again", lang) in page
        assert "nginx" not in page.lower() and "Traceback" not in page
        css = re.search(r'rel="stylesheet" href="(/static/css/app\.[0-9a-f]{12}\.css)"', page)
        assert css is not None, page[:600]
        styled = requests.get(nginx_alone.url + css[1], timeout=10)
        assert styled.status_code == 200 and styled.headers["Content-Type"].startswith("text/css")
    # The error page itself is not reachable as a URL of its own.
    status = requests.get(nginx_alone.url + "/_connect_errors/unavailable.html", timeout=10)
    assert status.status_code in (404, 502)


def translated(message: str, language: str) -> str:
    if language == "en":
        return message
    catalogue = ROOT / "webapp" / "translations" / language / "LC_MESSAGES" / "messages.mo"
    with catalogue.open("rb") as mo:
        return gettext.GNUTranslations(mo).gettext(message)


def test_one_instance_down_every_request_still_answered(topology: Topology) -> None:
    """proxy_next_upstream: a refused or reset connection goes to the other instance, for GETs
    and for POSTs. Without ``non_idempotent`` this failed now and then: a POST written onto a
    pooled keep-alive connection of the instance that had just died came back as nginx's 502."""
    for _ in range(20):  # nginx now holds pooled keep-alive connections to both instances
        requests.get(topology.url + "/healthz", timeout=10)
    down = topology.apps[1]
    down.kill(signal.SIGKILL)
    try:
        for _ in range(10):
            assert requests.get(topology.url + "/healthz", timeout=10).status_code == 200
            # A form post with no CSRF token: the app's own 400, not nginx's 502.
            posted = requests.post(topology.url + "/connect/flow", timeout=10)
            assert posted.status_code == 400, (posted.headers, topology.nginx.access_log()[-600:])
    finally:
        down.start()


def test_the_app_sees_the_client_address_nginx_saw_not_a_forged_one(topology: Topology) -> None:
    """X-Forwarded-For is replaced by nginx, so with TRUST_PROXY_HOPS=1 the rate limits count
    the address nginx saw (127.0.0.1 here), never one the client wrote into the header; and an
    instance reached with nginx's header trusts it (one hop)."""
    client = topology.redis_client(APP_DB)
    forged = "203.0.113.77"
    for _ in range(2):
        requests.get(
            topology.url + "/connect/flow", headers={"X-Forwarded-For": forged}, timeout=10
        )
    hop = "198.51.100.23"
    requests.get(
        topology.apps[0].url + "/connect/flow", headers={"X-Forwarded-For": hop}, timeout=10
    )
    keys = " ".join(client.scan_iter("connect:ratelimit:*"))
    assert forged not in keys
    assert hop in keys and "127.0.0.1" in keys


def test_the_access_log_has_no_query_string(topology: Topology) -> None:
    requests.get(topology.url + "/connect?fp_cot=cot_secretsecretsecret1234", timeout=10)
    time.sleep(0.2)
    log = topology.nginx.access_log()
    assert "/connect " in log and "cot_secret" not in log


def test_the_production_rendering_with_tls_is_accepted_by_nginx(
    topology: Topology, tmp_path: Path
) -> None:
    """What deploy/README.md tells operations to run (envsubst with the named placeholders, the
    TLS listen include), checked by ``nginx -t``: envsubst leaves nginx's own $variables be."""
    subprocess.run(
        [
            *(
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
            ),
            *("-nodes", "-days", "1"),
            *("-subj", "/CN=connect.partner.example"),
            *("-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    tls_values = {
        "CONNECT_TLS_CERT": str(tmp_path / "cert.pem"),
        "CONNECT_TLS_KEY": str(tmp_path / "key.pem"),
    }
    listen = tmp_path / "connect-listen.conf"
    listen.write_text(_envsubst(TLS_LISTEN_TEMPLATE, tls_values))
    server = NginxServer(
        tmp_path / "nginx", ["127.0.0.1:8001", "127.0.0.1:8002"], topology.nginx.assets_include
    )
    values = {
        **server.site_values(),
        "CONNECT_LISTEN_INCLUDE": str(listen),
        "CONNECT_SERVER_NAME": "connect.partner.example",
    }
    site = _envsubst(NGINX_TEMPLATE, values)
    assert site == envsubst(NGINX_TEMPLATE.read_text(), values)
    assert "$remote_addr" in site and "${CONNECT_" not in site
    # The port-80 site after it, as sites-enabled/connect-redirect: it names the site's log
    # format, which nginx must already have read.
    redirect = _envsubst(REDIRECT_TEMPLATE, values)
    assert "access_log " + values["CONNECT_ACCESS_LOG"] + " connect_noquery;" in redirect
    assert "return 301 https://$server_name$request_uri;" in redirect
    server.workdir.mkdir(parents=True)
    server.write_conf()
    server.site_path.write_text(site + "\n" + redirect)
    output = server.check()
    assert "syntax is ok" in output


def test_healthz_through_nginx_is_for_loopback_only() -> None:
    """/healthz (a Redis write per call) answers through nginx only to this host (and whatever
    a load balancer's range an operator adds): a request from elsewhere cannot be made here, so
    the rendered location is checked; the topology's own /healthz calls come from 127.0.0.1."""
    text = NGINX_TEMPLATE.read_text()
    block = text[text.index("location = /healthz {") :]
    block = block[: block.index("\n    }")]
    rules = re.findall(r"^\s*(allow|deny) (\S+);", block, re.M)
    assert rules == [("allow", "127.0.0.1"), ("allow", "::1"), ("deny", "all")]
    assert "proxy_pass http://connect_app;" in block
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in block


def test_healthz_from_loopback_is_answered_through_nginx(topology: Topology) -> None:
    response = requests.get(topology.url + "/healthz", timeout=10)
    assert response.status_code == 200 and response.json()["status"] == "ok"


def _envsubst(template: Path, values: dict[str, str]) -> str:
    """The real envsubst (gettext-base), as operations run it, with the placeholders named."""
    text = template.read_text()
    named = " ".join(f"${{{name}}}" for name in sorted(placeholders(text)))
    assert set(values) >= placeholders(text), placeholders(text) - set(values)
    done = subprocess.run(
        ["envsubst", named], input=text, env=values, capture_output=True, text=True, check=True
    )
    return done.stdout


@pytest.mark.parametrize(
    "template", [NGINX_TEMPLATE, PLAIN_LISTEN_TEMPLATE, TLS_LISTEN_TEMPLATE, REDIRECT_TEMPLATE]
)
def test_templates_name_only_connect_placeholders(template: Path) -> None:
    text = template.read_text()
    assert placeholders(text)
    # Every ${…} is one of ours; nginx's variables are written $name, never ${name}.
    assert set(re.findall(r"\$\{([^}]*)\}", text)) == placeholders(text)


def test_instances_run_with_the_shipped_operational_settings(topology: Topology) -> None:
    """The loopback instances meet nginx as production's do: deploy/connect.env's keep-alive,
    proxy hops and trusted addresses, read from the file itself; and gunicorn really keeps an
    idle connection past its old 5 s default (nginx's pool may reuse it for up to 60 s)."""
    shipped = read_env_file()
    template = NGINX_TEMPLATE.read_text()
    upstream = template[template.index("upstream connect_app {") :]
    nginx_idle = int(re.search(r"^\s*keepalive_timeout (\d+)s;", upstream, re.M)[1])  # type: ignore[index]
    assert int(shipped["GUNICORN_KEEPALIVE"]) > nginx_idle
    for app in topology.apps:
        for name in FROM_CONNECT_ENV:
            assert app.env()[name] == shipped[name], name
        assert "--keep-alive" not in app.argv()
    app = topology.apps[0]
    conn = http.client.HTTPConnection("127.0.0.1", app.port, timeout=10)
    try:
        conn.request("GET", "/healthz")
        first = conn.getresponse()
        assert first.status == 200
        first.read()
        sock = conn.sock
        time.sleep(6)  # idle longer than gunicorn's default keep-alive (5 s)
        conn.request("GET", "/healthz")  # a closed connection raises RemoteDisconnected
        assert conn.getresponse().status == 200
        assert conn.sock is sock, "the same connection, kept open"
    finally:
        conn.close()
