"""An nginx include that serves the current static files under their hashed names.

Behind nginx (``deploy/``), a stylesheet or script should never cost a Python thread: nginx can
send a file from its page cache in microseconds while a gunicorn thread is a scarce thing (the
whole point of putting nginx in front). But only the *current* hash of a file may be cached for
a year (see ``webapp/assets.py``): a stale hash during a rolling deploy must revalidate, and so
must the plain name. So nginx is not given a pattern; it is given one exact-match location per
current file, and every other ``/static/`` URL falls through to the app, which already answers
those with revalidation.

``write_asset_map(out)`` copies each file to ``out/static/<hashed name>`` (a snapshot: what
nginx sends under a name is exactly the bytes that hash names, even while ``static/`` is being
replaced by the next deploy) with a ``.gz`` (level 9) and a ``.br`` (level 11) beside it, and
writes ``out/assets.conf``: ``location = /static/css/app.<hash>.css { alias …; }`` blocks with
``gzip_static`` (and ``brotli_static`` when nginx has Debian's brotli module),
``Cache-Control: public, max-age=31536000, immutable`` and HSTS over https (the site's
``$connect_hsts``). Re-run it on every deploy, before
``nginx -s reload``. Earlier deploys' copies are kept and the include names them too: during a
rolling deploy an instance not yet restarted renders pages that name the old hashes, and nginx
then sends the old bytes those names stand for (the app, asked instead, could only send the new
file under the old name). A copy is immutable under its own name, so serving it for a year is
right; prune ``out/static`` by hand if it ever grows large (a deploy adds about 50 kB).

``write_error_pages(out, app)`` writes ``out/errors/unavailable.<language>.html``: the app's own
"temporarily unavailable" page in each language nginx's error page map names
(``deploy/nginx/connect.conf.template``), which nginx answers when no instance does. Rendered by
the app itself, so its words are the catalogues' and its stylesheet the current hashed one,
which the include above lets nginx serve with every instance down.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

import brotli
from flask import Flask, render_template
from flask_babel import force_locale

from webapp.assets import DEFAULT_FOLDER, DIGEST_LENGTH, IMMUTABLE, hashed_name
from webapp.compression import DEFAULTS as COMPRESSION_DEFAULTS

# Where Debian's libnginx-mod-http-brotli-static puts its module: with it, nginx can send the
# .br copies, which for htmx are about 7 % smaller than gzip -9 (and the first visit's budget is
# counted in compressed bytes).
BROTLI_STATIC_MODULE = Path("/usr/lib/nginx/modules/ngx_http_brotli_static_module.so")
INCLUDE_NAME = "assets.conf"
# Defined by the site template's map: webapp/security.py's value over https, empty over http.
HSTS_VARIABLE = "$connect_hsts"
# The file types webapp/compression.py compresses (its COMPRESSIBLE media types), by suffix,
# and its threshold: below it the headers cost more than the saving.
COMPRESSIBLE_SUFFIXES = frozenset({".css", ".js", ".html", ".txt", ".json", ".svg"})
MIN_SIZE = int(COMPRESSION_DEFAULTS["COMPRESS_MIN_SIZE"])
# The languages of nginx's own error page: the app's, by their language alone (nginx matches
# the browser's first Accept-Language tag; en_GB and en_US say the same thing on this page).
# The template's map must name the same ones (tests/topology/test_asset_map.py checks).
ERROR_PAGE_LANGUAGES = ("en", "de", "es", "fr", "it", "nl")
ERROR_PAGE = "unavailable.{language}.html"
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_./-]+")


@dataclass(frozen=True)
class Asset:
    url: str  # /static/css/app.<hash>.css
    path: Path  # the snapshot nginx serves


def _digest(path: Path) -> str:
    # The same digest webapp.assets gives the file, so the app's pages name exactly these URLs.
    return hashlib.sha256(path.read_bytes()).hexdigest()[:DIGEST_LENGTH]


def _nginx_string(value: str) -> str:
    """A path as an nginx string: quoted, so a space or ``;`` in a directory cannot end it."""
    if any(ch in value for ch in '"\\\n\r'):
        raise ValueError(f"refusing to write an nginx path with quotes or newlines: {value!r}")
    return f'"{value}"'


def collect(static: Path = DEFAULT_FOLDER) -> list[tuple[str, Path]]:
    """Every regular file under ``static`` as (its name relative to it, its path)."""
    found = []
    for path in sorted(static.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            found.append((path.relative_to(static).as_posix(), path))
    return found


def write_asset_map(
    out: Path, static: Path = DEFAULT_FOLDER, *, brotli_static: bool | None = None
) -> list[Asset]:
    """Snapshot the current static files into ``out/static`` and write ``out/assets.conf``.

    ``brotli_static`` None: on when this host's nginx has the brotli static module (the include
    would otherwise name a directive nginx does not know and refuse to load)."""
    if brotli_static is None:
        brotli_static = BROTLI_STATIC_MODULE.exists()
    out = out.resolve()
    assets: list[Asset] = []
    blocks: list[str] = [
        "# Written by `flask --app wsgi nginx-assets`; re-run on every deploy, then reload nginx.",
        "# Each static file under its current hash, then earlier deploys' copies under theirs,",
        "# served by nginx itself; any other /static/ URL (a hash never deployed, a plain name)",
        "# is not matched here and goes to the app, which answers it with revalidation",
        "# (webapp/assets.py).",
    ]
    current: set[Path] = set()
    for name, source in collect(static):
        hashed = hashed_name(name, _digest(source))
        target = out / "static" / hashed
        target.parent.mkdir(parents=True, exist_ok=True)
        data = source.read_bytes()
        _write_if_changed(target, data)
        compressible = target.suffix in COMPRESSIBLE_SUFFIXES and len(data) >= MIN_SIZE
        if compressible:
            _write_if_changed(target.with_name(target.name + ".gz"), _gzip(data))
            _write_if_changed(
                target.with_name(target.name + ".br"), brotli.compress(data, quality=11)
            )
        current.add(target)
        assets.append(Asset(url=f"/static/{hashed}", path=target))
        blocks.append(_location(f"/static/{hashed}", target, compressible, brotli_static))
    earlier = _earlier_copies(out / "static", current)
    if earlier:
        blocks.append(
            "# Earlier deploys' copies, for pages rendered by instances not yet restarted."
        )
    for target in earlier:
        url = "/static/" + target.relative_to(out / "static").as_posix()
        compressible = target.with_name(target.name + ".gz").exists()
        blocks.append(_location(url, target, compressible, brotli_static))
    include = out / INCLUDE_NAME
    tmp = include.with_suffix(".tmp")
    tmp.write_text("\n".join(blocks) + "\n")
    os.replace(tmp, include)  # nginx -s reload never reads half a file
    return assets


def _earlier_copies(folder: Path, current: set[Path]) -> list[Path]:
    """The snapshots earlier runs left in ``folder``: not their compressed twins, temp files, or
    a name that could not be written into an nginx location as it is."""
    found = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path in current or path.suffix in (".gz", ".br", ".tmp"):
            continue
        if _PLAIN_NAME.fullmatch(path.relative_to(folder).as_posix()):
            found.append(path)
    return found


def _location(url: str, target: Path, compressible: bool, brotli_static: bool) -> str:
    lines = [
        f"location = {url} {{",
        f"    alias {_nginx_string(str(target))};",
        # add_header in a location replaces the server's, so repeat what static needs.
        f'    add_header Cache-Control "{IMMUTABLE}" always;',
        '    add_header X-Content-Type-Options "nosniff" always;',
        # The app's HSTS value over https, nothing over http: the site template's map
        # (deploy/nginx/connect.conf.template), which this include therefore needs.
        f"    add_header Strict-Transport-Security {HSTS_VARIABLE} always;",
    ]
    if compressible:
        lines.append("    gzip_static on;")
        if brotli_static:
            lines.append("    brotli_static on;")
        # gzip_static adds Vary itself only with gzip_vary; say it either way.
        lines.append('    add_header Vary "Accept-Encoding" always;')
    lines.append("    access_log off;")
    lines.append("}")
    return "\n".join(lines)


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def _write_if_changed(path: Path, data: bytes) -> None:
    """Keep an unchanged copy's mtime (its ETag and Last-Modified) across deploys."""
    if path.exists() and path.read_bytes() == data:
        return
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_error_pages(out: Path, app: Flask) -> list[Path]:
    """Render the app's 503 page into ``out/errors`` once per language, for nginx to answer
    with when no instance can. Its "Try again" link is empty: a reload of whatever the
    customer asked for (a step's form posts to the flow's URL, whose GET shows the step)."""
    folder = out.resolve() / "errors"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for language in ERROR_PAGE_LANGUAGES:
        # A fresh app context per language: Flask-Babel caches translations on ``g``, which a
        # request context shares with the CLI's app context.
        with app.app_context(), app.test_request_context("/"), force_locale(language):
            html = render_template("errors/503.html", status=503, retry_url="")
        path = folder / ERROR_PAGE.format(language=language)
        _write_if_changed(path, html.encode())
        written.append(path)
    return written
