"""Static files addressed by their content, so a phone downloads them once.

Templates link ``asset_url("css/app.css")``, which names the file with a short hash of its
bytes: ``/static/css/app.3f2a9c1b0d4e.css``. A URL that names its content can be cached for a
year and marked ``immutable`` (no revalidation on reload): a new deploy changes the name, so
nobody keeps a stale stylesheet. The hash is in the file name rather than a query string so
that every cache keeps it: some proxies and CDN settings drop or ignore query strings.

The files stay under their plain names on disk; the static view takes the hash out of the name
before it looks the file up. Only the hash of the file this worker serves earns the long
lifetime. During a rolling deploy a new page can reach an old worker; had that worker answered
the new name with its old bytes for a year, browsers and CDNs would keep the wrong file under
it. So a stale or unknown hash gets the file with Flask's default (revalidate every time), and
so does the plain name (and the ``?v=`` links of pages cached before this scheme).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from flask import Flask, Response, request, url_for
from werkzeug.security import safe_join

ONE_YEAR = 365 * 24 * 3600
IMMUTABLE = f"public, max-age={ONE_YEAR}, immutable"
DIGEST_LENGTH = 12

# "css/app.3f2a9c1b0d4e.css" -> ("css/app", "3f2a9c1b0d4e", ".css")
_HASHED = re.compile(rf"(?P<stem>.+)\.(?P<digest>[0-9a-f]{{{DIGEST_LENGTH}}})(?P<suffix>\.[^./]+)")


def hashed_name(filename: str, digest: str) -> str:
    path = Path(filename)
    return str(path.with_name(f"{path.stem}.{digest}{path.suffix}"))


def split_name(filename: str) -> tuple[str, str | None]:
    """The file a requested name stands for, and the hash it named (None: a plain name)."""
    match = _HASHED.fullmatch(filename)
    if match is None:
        return filename, None
    return match["stem"] + match["suffix"], match["digest"]


def init_app(app: Flask) -> None:
    static = Path(app.static_folder or "static")
    hashes: dict[tuple[str, float], str] = {}

    def digest_of(filename: str) -> str | None:
        # Flask asks for the cache lifetime before it checks the path, so check it here: never
        # read outside the static folder, nor anything but a regular file (/dev/zero).
        joined = safe_join(str(static), filename)
        path = Path(joined) if joined else None
        if path is None or not path.is_file():
            return None
        try:
            key = (filename, path.stat().st_mtime)
        except OSError:
            return None
        digest = hashes.get(key)
        if digest is None:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:DIGEST_LENGTH]
            hashes[key] = digest
        return digest

    def asset_url(filename: str) -> str:
        digest = digest_of(filename)
        named = hashed_name(filename, digest) if digest else filename
        return url_for("static", filename=named)

    def requested() -> tuple[str, str | None]:
        """The file this static request is for, and the hash its URL named."""
        filename = str((request.view_args or {}).get("filename") or "")
        real, digest = split_name(filename)
        if digest is None:
            digest = request.args.get("v")  # a link from before hashed names
        elif digest_of(real) is None and digest_of(filename) is not None:
            return filename, None  # a file whose own name merely looks hashed
        return real, digest

    def is_current() -> bool:
        real, digest = requested()
        return bool(digest) and digest == digest_of(real)

    serve_static = app.view_functions["static"]

    def static_file(filename: str) -> Response:
        return serve_static(filename=requested()[0])

    default_max_age = app.get_send_file_max_age

    def max_age(filename: str | None) -> int | None:
        if request and request.endpoint == "static" and is_current():
            return ONE_YEAR
        return default_max_age(filename)

    def mark_immutable(response: Response) -> Response:
        if request.endpoint == "static" and response.status_code in (200, 304) and is_current():
            response.headers["Cache-Control"] = IMMUTABLE
        return response

    app.view_functions["static"] = static_file
    app.get_send_file_max_age = max_age  # type: ignore[method-assign]
    app.after_request(mark_immutable)
    app.jinja_env.globals["asset_url"] = asset_url
