"""Static files addressed by their content, so a phone downloads them once.

Templates link ``asset_url("css/app.css")``, which names the file with a short hash of its
bytes: ``/static/css/app.3f2a9c1b0d4e.css``. A URL that names its content can be cached for a
year and marked ``immutable`` (no revalidation on reload): a new deploy changes the name, so
nobody keeps a stale stylesheet. The hash is in the file name rather than a query string so
that every cache keeps it: some proxies and CDN settings drop or ignore query strings.

The files stay under their plain names on disk; this module's ``static`` view takes the hash out
of the name before it looks the file up. Only the hash of the file this worker serves earns the
long lifetime. During a rolling deploy a new page can reach an old worker; had that worker
answered the new name with its old bytes for a year, browsers and CDNs would keep the wrong file
under it. So a stale or unknown hash gets the file with Flask's default (revalidate every time),
and so does the plain name, and the older ``?v=<hash>`` query form that cached pages may still
link to.

WhiteNoise 6.12 and Flask-Static-Digest 0.4.1 (both read in their source) do not fit: each
serves a hashed name only from a renamed copy that a build step writes to disk (WhiteNoise has
no such step outside Django; Flask-Static-Digest's ``flask digest compile`` writes copies and a
manifest it reads once at start), so an older worker answers a newer page's hashed name with 404
rather than with the file to revalidate, and Flask-Static-Digest sets no cache lifetime at all.

The app is created with ``static_folder=None`` and :func:`init_app` registers the ``static``
endpoint itself, under the usual ``/static`` URL, so nothing of Flask's has to be replaced.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from flask import Flask, Response, current_app, request, send_from_directory, url_for
from werkzeug.security import safe_join

ONE_YEAR = 365 * 24 * 3600
IMMUTABLE = f"public, max-age={ONE_YEAR}, immutable"
DIGEST_LENGTH = 12
EXTENSION_KEY = "connect_assets"
# The project's static files (webapp/../static).
DEFAULT_FOLDER = Path(__file__).resolve().parent.parent / "static"

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


def init_app(app: Flask, folder: str | os.PathLike[str] | None = None) -> None:
    """Serve ``folder`` (default: the project's ``static/``) at ``/static`` under the endpoint
    ``static``, and name its files for :func:`asset_url`.

    The app must be created with ``static_folder=None``: otherwise Flask has registered its own
    ``static`` rule, which knows nothing of hashed names, and two views cannot share an endpoint.
    """
    if app.has_static_folder:
        raise RuntimeError(
            "Create the Flask app with static_folder=None: webapp.assets serves /static itself."
        )
    static = Path(folder) if folder is not None else DEFAULT_FOLDER
    # Flask's own attribute says where the files are; app.static_url_path follows from it
    # ("/static"), which is how webapp.sessions recognises a static request before routing.
    app.static_folder = str(static)
    hashes: dict[tuple[str, float], str] = {}

    def digest_of(filename: str) -> str | None:
        # Called before send_from_directory checks the path, so check it here: never read
        # outside the static folder, nor anything but a regular file (/dev/zero).
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

    def requested(filename: str) -> tuple[str, str | None]:
        """The file a requested name is for, and the hash the URL named (None: none)."""
        real, digest = split_name(filename)
        if digest is None:
            digest = request.args.get("v")  # the older ?v=<hash> link form
        elif digest_of(real) is None and digest_of(filename) is not None:
            return filename, None  # a file whose own name merely looks hashed
        return real, digest

    def serve_static(filename: str) -> Response:
        real, digest = requested(filename)
        current = bool(digest) and digest == digest_of(real)
        # max_age=None: Flask's default (SEND_FILE_MAX_AGE_DEFAULT, revalidate every time).
        response = send_from_directory(static, real, max_age=ONE_YEAR if current else None)
        if current and response.status_code in (200, 304):
            response.headers["Cache-Control"] = IMMUTABLE
        return response

    app.add_url_rule(
        f"{app.static_url_path}/<path:filename>", endpoint="static", view_func=serve_static
    )
    app.extensions[EXTENSION_KEY] = asset_url


def asset_url(filename: str) -> str:
    """The content-addressed URL of a static file (a template global, see templating.py)."""
    return current_app.extensions[EXTENSION_KEY](filename)
