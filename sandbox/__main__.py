"""``python -m sandbox [--host 127.0.0.1] [--port 8010]``: serve the sandbox with threads.

For several worker processes run it under gunicorn instead (state is in Redis, so workers share
every flow): ``gunicorn -w 2 -b 127.0.0.1:8010 'sandbox.app:create_app()'``.
"""

from __future__ import annotations

import argparse
import logging
import os
import re

from werkzeug.serving import WSGIRequestHandler, run_simple

from sandbox.app import create_app
from sandbox.config import DEFAULT_PORT, Settings

# Connect tokens travel in query strings (fp_cot, connect_token); they never reach the log whole.
_TOKEN_RE = re.compile(r"\b(cot)_([0-9a-f]{4})[0-9a-f]+")


class QuietTokenHandler(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: object) -> None:
        text = message % args if args else message
        super().log(type, "%s", _TOKEN_RE.sub(r"\1_\2…", text))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="default %(default)s")
    args = parser.parse_args(argv)
    public_url = os.environ.get("SANDBOX_PUBLIC_URL") or f"http://127.0.0.1:{args.port}"
    settings = Settings.from_env(public_url=public_url.rstrip("/"))
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    app = create_app(settings)
    print(f"FlatPeak sandbox on http://{args.host}:{args.port} (Redis {settings.redis_url})")
    run_simple(args.host, args.port, app, threaded=True, request_handler=QuietTokenHandler)


if __name__ == "__main__":
    main()
