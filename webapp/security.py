"""Response headers, CSRF protection, and secret masking and control-character escaping in logs.

The app is embedded in partner iframes, so the usual one-liners do not fit: ``X-Frame-Options``
cannot express an allowlist (we send ``frame-ancestors`` instead), and the session cookie has to be
``SameSite=None``, which makes CSRF tokens mandatory on every POST (hidden field for plain forms,
``X-CSRFToken`` header for htmx, both checked by Flask-WTF).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask, Response, current_app, request
from flask_wtf.csrf import CSRFProtect
from werkzeug.datastructures import ImmutableMultiDict

from webapp.config import origin_of
from webapp.flatpeak import mask

csrf = CSRFProtect()

# Connect tokens, bearer tokens, API keys, and the query parameters that carry them.
_SECRET_PATTERNS = [
    re.compile(r"\bcot_[A-Za-z0-9]+"),
    re.compile(r"\bsk_(?:test|live)_[A-Za-z0-9_]+"),
    re.compile(r"(?i)(?<=bearer )[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(?i)(?<=fp_cot=)[^&\s\"']+"),
    re.compile(r"(?i)(?<=connect_token=)[^&\s\"']+"),
    re.compile(r"(?i)(?<=\"bearer_token\": \")[^\"]+"),
]


def _mask_match(match: re.Match[str]) -> str:
    # The same marker the code's own log calls use, so one secret reads the same everywhere.
    return mask(match.group(0))


# What every pattern above needs to find in a text; most log lines (one access line per request)
# hold none of it, and one search is cheaper than six substitutions.
_ANY_SECRET = re.compile(r"cot_|sk_(?:test|live)_|(?i:bearer)|(?i:fp_cot=)|(?i:connect_token=)")


def mask_secrets(text: str) -> str:
    """Replace every token or key in ``text`` with a short, non-reversible marker."""
    if not _ANY_SECRET.search(text):
        return text
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(_mask_match, text)
    return text


# Whatever a log reader, shipper or terminal may take as the end of a line or as a command:
# C0 controls (CR and LF above all), DEL, C1 controls (U+0085 is a line break to Python's own
# splitlines), and the Unicode line and paragraph separators. A request path with %0A in it
# must not write a forged line into the log.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_ESCAPES = {
    code: (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    for code in (*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029)
} | {ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"}


def escape_controls(text: str) -> str:
    """``text`` on one line: every control character written as a visible escape (``\\n``,
    ``\\x1b``, ``\\u2028``). Backslashes are left alone: an escape someone typed in a URL
    stays readable and still cannot start a new line."""
    if not _CONTROL.search(text):
        return text
    return text.translate(_CONTROL_ESCAPES)


class MaskingFilter(logging.Filter):
    """Masks secrets in a record's final message (and traceback), for any handler, and keeps
    the message on one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        _mask_record(record)
        return True


def _mask_record(record: logging.LogRecord) -> None:
    if getattr(record, "_secrets_masked", False):
        return
    try:
        message = record.getMessage()
    except Exception:  # a bad format string must not lose the record
        message = str(record.msg)
    # Escaped after masking, so the secret patterns see the text as it was logged. Tracebacks
    # (exc_text) stay multi-line: they are ours, and a log reader needs their shape.
    record.msg = escape_controls(mask_secrets(message))
    record.args = None
    if record.exc_info and not record.exc_text:
        record.exc_text = mask_secrets(logging.Formatter().formatException(record.exc_info))
    if record.exc_text:
        record.exc_text = mask_secrets(record.exc_text)
    record._secrets_masked = True  # type: ignore[attr-defined]


_previous_factory = None


def install_log_masking() -> None:
    """Mask secrets and escape control characters at record creation, so every handler
    (gunicorn's, pytest's, a log shipper's) only ever sees masked, one-line text. A handler
    filter alone would miss handlers added later."""
    global _previous_factory
    if _previous_factory is not None:
        return
    _previous_factory = logging.getLogRecordFactory()
    previous = _previous_factory

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _mask_record(record)
        return record

    logging.setLogRecordFactory(factory)
    # urllib3 logs full URLs (with query strings) at DEBUG; keep it quiet whatever the root says.
    logging.getLogger("urllib3").setLevel(logging.WARNING)


def _sources(*groups: list[str]) -> str:
    seen: list[str] = []
    for group in groups:
        for source in group:
            if source and source not in seen:
                seen.append(source)
    return " ".join(seen)


def content_security_policy(config: dict[str, Any], embeddable: bool) -> str:
    """A strict CSP: our own scripts and styles only, no inline anything.

    ``form-action`` must list every origin a form submission may end up on after redirects
    (browsers check the whole chain): FlatPeak's hosts for the provider login, and the partner
    return URLs and allowlisted partner callbacks after completion.
    """
    upstream = [origin_of(config["FLATPEAK_API_URL"]), origin_of(config["FLATPEAK_CONNECT_URL"])]
    flatpeak = ["https://*.flatpeak.com"]
    returns = [
        origin_of(url)
        for url in (*config["PARTNER_RETURN_URLS"], *config.get("PARTNER_CALLBACK_URLS", ()))
    ]
    partners = list(config["PARTNER_ORIGINS"])
    ancestors = _sources(["'self'"], partners) if embeddable else "'none'"
    directives = [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src " + _sources(["'self'", "data:"], upstream, flatpeak, config["CSP_EXTRA_IMG_SRC"]),
        "font-src 'self'",
        "connect-src 'self'",
        "form-action "
        + _sources(["'self'"], upstream, flatpeak, returns, config["CSP_EXTRA_FORM_ACTION"]),
        "frame-ancestors " + ancestors,
        "base-uri 'none'",
        "object-src 'none'",
    ]
    return "; ".join(directives)


def _set_headers(response: Response) -> Response:
    embeddable = response.mimetype == "text/html" or request.blueprint in ("flow", "entry")
    # Both policies follow from configuration alone: built once in init_app, not per response.
    response.headers["Content-Security-Policy"] = current_app.extensions["csp"][embeddable]
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
    response.headers["Cross-Origin-Resource-Policy"] = "same-site"
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    # Never X-Frame-Options: it cannot allow a list of partner origins, frame-ancestors can.
    response.headers.pop("X-Frame-Options", None)
    return response


def _drop_nameless_fields() -> None:
    """A multipart part whose name werkzeug cannot read (a broken ``Content-Disposition``)
    becomes a form field named ``None``, on which Flask-WTF's token lookup fails with a 500
    when the token is not in the form itself. No page of ours sends one, so it is dropped, as
    a field the form never had; the rest of the form is checked as usual."""
    if request.method in current_app.config["WTF_CSRF_METHODS"] and None in request.form:
        fields = [(key, value) for key, value in request.form.items(multi=True) if key is not None]
        request.form = ImmutableMultiDict(fields)  # type: ignore[misc]


def init_app(app: Flask) -> None:
    app.extensions["csp"] = {
        embeddable: content_security_policy(app.config, embeddable) for embeddable in (True, False)
    }
    app.before_request(_drop_nameless_fields)  # before Flask-WTF's own hook, below
    csrf.init_app(app)
    app.after_request(_set_headers)
