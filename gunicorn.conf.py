"""gunicorn settings for the Connect web app (``gunicorn -c gunicorn.conf.py wsgi:app``).

The app mostly waits on FlatPeak, so threads (gthread) serve it well. The access log format
leaves out the query string: ``?fp_cot=`` carries a connect token on three routes, and its
atoms are written with control characters escaped (``EscapingLogger``).
"""

import os

from gunicorn.glogging import Logger, SafeAtoms

# Control characters a log reader may take as a line break or a terminal command: C0 (CR, LF),
# DEL, C1 (U+0085 is a line break to Python) and the Unicode line and paragraph separators.
# The same escapes as the app's own log records (webapp/security.py, escape_controls); repeated
# here so that this file, which the sandbox's gunicorn also reads, imports nothing of the app.
_CONTROL_ESCAPES = {
    code: (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    for code in (*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029)
} | {ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"}


class EscapedAtoms(SafeAtoms):
    """gunicorn's access-log atoms with control characters escaped. The request path (``%(U)s``)
    is percent-decoded, so ``/x%0A127.0.0.1 "GET /admin …`` would otherwise write a second,
    forged line; headers and the method can carry such bytes too. Escaped as each atom is read,
    so the dozens of environ atoms the format never uses cost nothing."""

    def __getitem__(self, key: str) -> object:
        value = super().__getitem__(key)
        return value.translate(_CONTROL_ESCAPES) if isinstance(value, str) else value


class EscapingLogger(Logger):
    atoms_wrapper_class = EscapedAtoms


bind = os.environ.get("BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", 2))
threads = int(os.environ.get("GUNICORN_THREADS", 8))
# Longer than FlatPeak's connect + read timeouts plus retry back-off, so a slow upstream gets a
# friendly page instead of a killed worker.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 45))
graceful_timeout = 30
# Enough for a page and its assets (or a load balancer's pooled connection) to share one
# connection; a customer's pause between steps is longer and may reconnect. Behind nginx
# (deploy/), GUNICORN_KEEPALIVE must be longer than nginx's upstream keepalive_timeout, so that
# nginx, not gunicorn, closes an idle pooled connection: deploy/connect.env sets 75 against
# nginx's 60.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 5))
# A safety net against slow leaks, not a memory policy: scripts/bench measures worker memory flat
# after warm-up (about +2 % between its first and last 20 s), so recycle rarely; each restart is a
# cold worker. 0 switches it off (the benchmark does, to measure growth rather than hide it).
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 10000))
max_requests_jitter = max_requests // 10
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
logger_class = EscapingLogger
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
