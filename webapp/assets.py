"""Static files addressed by their content, so a phone downloads them once.

Templates link ``asset_url("css/app.css")``, which adds a short hash of the file's bytes
(``?v=…``). A URL that names its content can be cached for a year and marked ``immutable`` (no
revalidation on reload): a new deploy changes the hash, so nobody keeps a stale stylesheet.

Only the hash of the file this worker serves earns the long lifetime. During a rolling deploy a
new page can reach an old worker; had that worker answered the new hash with its old bytes for a
year, browsers and CDNs would keep the wrong file under the new name. A stale or unknown ``v``,
and a request without one, keep Flask's default (revalidate every time).

A proxy or CDN in front must keep the query string in its cache key (most do by default; some
legacy CDN settings do not).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Flask, Response, request, url_for
from werkzeug.security import safe_join

ONE_YEAR = 365 * 24 * 3600
IMMUTABLE = f"public, max-age={ONE_YEAR}, immutable"


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
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
            hashes[key] = digest
        return digest

    def asset_url(filename: str) -> str:
        return url_for("static", filename=filename, v=digest_of(filename))

    def is_current(filename: str | None) -> bool:
        version = request.args.get("v")
        return bool(version and filename) and version == digest_of(str(filename))

    default_max_age = app.get_send_file_max_age

    def max_age(filename: str | None) -> int | None:
        if is_current(filename):
            return ONE_YEAR
        return default_max_age(filename)

    def mark_immutable(response: Response) -> Response:
        if (
            request.endpoint == "static"
            and response.status_code in (200, 304)
            and is_current((request.view_args or {}).get("filename"))
        ):
            response.headers["Cache-Control"] = IMMUTABLE
        return response

    app.get_send_file_max_age = max_age  # type: ignore[method-assign]
    app.after_request(mark_immutable)
    app.jinja_env.globals["asset_url"] = asset_url
