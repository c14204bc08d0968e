"""Static files addressed by their content, so a phone downloads them once.

Templates link ``asset_url("css/app.css")``, which adds a short hash of the file's bytes
(``?v=…``). A URL that names its content can be cached for a year: a new deploy changes the
hash, so nobody keeps a stale stylesheet. Requests without ``v`` keep Flask's default
(revalidate every time).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Flask, request, url_for

ONE_YEAR = 365 * 24 * 3600


def init_app(app: Flask) -> None:
    static = Path(app.static_folder or "static")
    hashes: dict[tuple[str, float], str] = {}

    def asset_url(filename: str) -> str:
        path = static / filename
        key = (filename, path.stat().st_mtime)
        digest = hashes.get(key)
        if digest is None:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
            hashes[key] = digest
        return url_for("static", filename=filename, v=digest)

    default_max_age = app.get_send_file_max_age

    def max_age(filename: str | None) -> int | None:
        if request.args.get("v"):
            return ONE_YEAR
        return default_max_age(filename)

    app.get_send_file_max_age = max_age  # type: ignore[method-assign]
    app.jinja_env.globals["asset_url"] = asset_url
