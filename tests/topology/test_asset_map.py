"""``flask --app wsgi nginx-assets``: the include names exactly the URLs the app's pages link,
each a snapshot of the file with its compressed copies."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import brotli
import pytest

from devstack.stack import ROOT
from webapp import create_app
from webapp.asset_map import ERROR_PAGE_LANGUAGES, write_asset_map, write_error_pages
from webapp.assets import DEFAULT_FOLDER, IMMUTABLE

pytestmark = pytest.mark.unit


def test_the_include_names_the_current_hashes_the_app_links(tmp_path: Path) -> None:
    from flask import Flask

    from webapp import assets

    app = Flask(__name__, static_folder=None)
    assets.init_app(app)
    with app.test_request_context():
        linked = {assets.asset_url(name) for name in ("css/app.css", "js/app.js")}
    written = write_asset_map(tmp_path, DEFAULT_FOLDER, brotli_static=True)
    urls = {asset.url for asset in written}
    assert linked <= urls
    include = (tmp_path / "assets.conf").read_text()
    for asset in written:
        assert f"location = {asset.url} {{" in include
        assert f'alias "{asset.path}";' in include
        # A snapshot under the hashed name, outside the checkout's static/.
        assert asset.path.name == asset.url.rsplit("/", 1)[1]
        assert asset.path.is_relative_to(tmp_path) and asset.path.read_bytes()
    assert include.count(f'Cache-Control "{IMMUTABLE}"') == len(written)
    # HSTS from the site's map in every location nginx answers itself (webapp/asset_map.py).
    assert include.count("add_header Strict-Transport-Security $connect_hsts always;") == len(
        written
    )
    assert "brotli_static on;" in include and "gzip_static on;" in include
    css = next(a for a in written if a.url.endswith(".css"))
    data = css.path.read_bytes()
    assert gzip.decompress(css.path.with_name(css.path.name + ".gz").read_bytes()) == data
    assert brotli.decompress(css.path.with_name(css.path.name + ".br").read_bytes()) == data


def test_without_the_brotli_module_the_include_names_no_brotli(tmp_path: Path) -> None:
    write_asset_map(tmp_path, DEFAULT_FOLDER, brotli_static=False)
    include = (tmp_path / "assets.conf").read_text()
    assert "brotli_static" not in include and "gzip_static on;" in include


def test_a_new_deploy_keeps_serving_the_old_copies_under_their_own_names(tmp_path: Path) -> None:
    """During a rolling deploy an instance not yet restarted names the old hashes: nginx sends
    the old bytes those names stand for, not the new file under an old name."""
    static = tmp_path / "static-src"
    (static / "css").mkdir(parents=True)
    (static / "css" / "app.css").write_text("body { color: red; }\n" * 50)
    first = write_asset_map(tmp_path / "out", static, brotli_static=False)
    (static / "css" / "app.css").write_text("body { color: blue; }\n" * 50)
    second = write_asset_map(tmp_path / "out", static, brotli_static=False)
    assert first[0].url != second[0].url
    assert "red" in first[0].path.read_text() and "blue" in second[0].path.read_text()
    include = (tmp_path / "out" / "assets.conf").read_text()
    assert include.index(second[0].url) < include.index(first[0].url)  # current ones first
    old_block = include[include.index(f"location = {first[0].url} ") :].split("}", 1)[0]
    assert f'alias "{first[0].path}";' in old_block and "gzip_static on;" in old_block
    assert ".gz" not in include.replace("gzip_static", "")  # the twins are not locations
    assert write_asset_map(tmp_path / "out", static, brotli_static=False) == second  # stable


def test_the_error_page_map_names_the_languages_nginx_assets_writes() -> None:
    """nginx chooses its error page by the browser's language from a map in the template; each
    file it can name must be one ``nginx-assets`` writes, and each written one reachable."""
    template = (ROOT / "deploy" / "nginx" / "connect.conf.template").read_text()
    block = template[template.index("map $http_accept_language $connect_error_page") :]
    block = block[: block.index("}")]
    named = set(re.findall(r"unavailable\.([a-z]+)\.html", block))
    assert named == set(ERROR_PAGE_LANGUAGES)
    assert re.search(r"default\s+unavailable\.en\.html;", block)


def test_error_pages_are_the_apps_own_in_each_language(tmp_path: Path) -> None:
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "x" * 48, "REDIS_URL": "redis://127.0.0.1:1/0"}
    )
    pages = write_error_pages(tmp_path, app)
    assert [page.name for page in pages] == [
        f"unavailable.{language}.html" for language in ERROR_PAGE_LANGUAGES
    ]
    german = (tmp_path / "errors" / "unavailable.de.html").read_text()
    assert '<html lang="de"' in german and 'href=""' in german  # "Try again": a reload
    assert "{{" not in german and "Temporarily unavailable" not in german


def test_nginx_hsts_is_the_apps_own_and_only_where_nginx_answers() -> None:
    """One HSTS value for the whole site: the template's map gives the app's own (webapp/
    security.py) over https; the TLS include adds none at server level (it would double the
    app's header); the error page location adds it like the asset include does."""
    nginx = ROOT / "deploy" / "nginx"
    template = (nginx / "connect.conf.template").read_text()
    found = re.search(
        r'map \$scheme \$connect_hsts \{\s*https\s+"([^"]+)";\s*default\s+"";', template
    )
    assert found, "the template maps $scheme to $connect_hsts"
    security = (ROOT / "webapp" / "security.py").read_text()
    assert f'response.headers["Strict-Transport-Security"] = "{found[1]}"' in security
    assert "add_header" not in (nginx / "listen-tls.conf.template").read_text()
    error_location = template[template.index("location = /_connect_errors/") :]
    error_location = error_location[: error_location.index("\n    }")]
    assert "add_header Strict-Transport-Security $connect_hsts always;" in error_location
    # Nowhere else: location / passes the app's own header through.
    assert template.count("add_header Strict-Transport-Security") == 1
