"""Settings from the environment, with safe defaults that point at the local sandbox.

Everything the app needs to talk to FlatPeak (or the sandbox) comes from here, so going live is a
matter of environment variables only. ``load()`` reads the environment, applies a test's
overrides, derives the cookie settings that depend on ``PUBLIC_URL`` and refuses to start with a
default or short secret in production, or wherever the settings look like a real deployment
even if ``APP_ENV=production`` was forgotten: a guessable secret would let anyone sign start
links for any customer and forge CSRF tokens. It also refuses to send FlatPeak credentials over
plain HTTP to anything but a loopback address. ``check_eviction_policy()`` is the one start-up
check that needs Redis.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import redis
from babel import Locale

from webapp import redis_url
from webapp.i18n import available_locales, resolve_locale
from webapp.tariff_kinds import KINDS

log = logging.getLogger(__name__)

# Only good enough for a laptop talking to the sandbox; production refuses it (see validate()).
DEFAULT_SECRET_KEY = "dev-only-insecure-secret-do-not-use-in-production"  # noqa: S105
MIN_PRODUCTION_SECRET_LENGTH = 32

SANDBOX_URL = "http://127.0.0.1:8010"
SANDBOX_ACCOUNT_ID = "acc_000000000000000000000001"
SANDBOX_API_KEY = "sk_test_sandbox_000000000000000000000001"


# Two-letter CLDR territories that are not countries: the EU, the euro area, the UN, "unknown"
# and the pseudo-locales. The address page lists every other one.
NOT_COUNTRIES = frozenset({"ZZ", "QO", "EU", "EZ", "UN", "XA", "XB"})


class ConfigError(RuntimeError):
    """The configuration is unsafe or inconsistent; the app must not start."""


def _words(value: str | None) -> list[str]:
    return [word for word in (value or "").split() if word]


def _float(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name)
    return float(raw) if raw not in (None, "") else default


def _optional_float(environ: Mapping[str, str], name: str) -> float | None:
    raw = environ.get(name)
    return float(raw) if raw not in (None, "") else None


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    return int(raw) if raw not in (None, "") else default


def _bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (environ.get(name) or "").strip().lower()
    return default if raw == "" else raw in ("1", "true", "yes", "on")


def _bool_or_auto(raw: str | None) -> bool | None:
    """``"auto"`` (or unset) means: decide from PUBLIC_URL."""
    if raw is None or raw.strip().lower() in ("", "auto"):
        return None
    return raw.strip().lower() in ("1", "true", "yes", "on")


def from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every setting the app reads, typed, with sandbox defaults."""
    env = os.environ if environ is None else environ
    sandbox = env.get("FLATPEAK_API_URL") or SANDBOX_URL
    return {
        "APP_ENV": env.get("APP_ENV", "development").strip().lower(),
        "SECRET_KEY": env.get("SECRET_KEY") or DEFAULT_SECRET_KEY,
        "PUBLIC_URL": (env.get("PUBLIC_URL") or "http://127.0.0.1:8000").rstrip("/"),
        # redis://, rediss://, unix:// or redis+sentinel://h:p,h:p/<service>/<db>
        # (webapp/redis_url.py).
        "REDIS_URL": env.get("REDIS_URL") or "redis://127.0.0.1:6379/0",
        # Seconds a request keeps retrying a Redis it cannot reach (a failover) before the 503
        # page; unset: 3 under Sentinel, 0 for a single server (nobody to fail over to).
        "REDIS_FAILOVER_WAIT": _optional_float(env, "REDIS_FAILOVER_WAIT"),
        # Replicas that must acknowledge a stored result (WAIT) before the callback answers;
        # 0 for a single server, 1 in the production topology (primary + replica + Sentinels).
        "REDIS_RESULT_REPLICAS": _int(env, "REDIS_RESULT_REPLICAS", 0),
        "REDIS_RESULT_WAIT_MS": _int(env, "REDIS_RESULT_WAIT_MS", 1000),
        "FLATPEAK_API_URL": sandbox.rstrip("/"),
        "FLATPEAK_CONNECT_URL": (env.get("FLATPEAK_CONNECT_URL") or sandbox).rstrip("/"),
        "FLATPEAK_ACCOUNT_ID": env.get("FLATPEAK_ACCOUNT_ID") or SANDBOX_ACCOUNT_ID,
        "FLATPEAK_API_KEY": env.get("FLATPEAK_API_KEY") or SANDBOX_API_KEY,
        "FLATPEAK_CONNECT_TIMEOUT": _float(env, "FLATPEAK_CONNECT_TIMEOUT", 3.05),
        "FLATPEAK_READ_TIMEOUT": _float(env, "FLATPEAK_READ_TIMEOUT", 10.0),
        "FLATPEAK_POOL_SIZE": _int(env, "FLATPEAK_POOL_SIZE", 10),
        "FLATPEAK_DIRECTION": env.get("FLATPEAK_DIRECTION", "IMPORT").upper(),
        "FLATPEAK_TARIFF_TYPE": env.get("FLATPEAK_TARIFF_TYPE", "COMMODITY").upper(),
        "PARTNER_ORIGINS": _words(env.get("PARTNER_ORIGINS")),
        "PARTNER_RETURN_URLS": _words(env.get("PARTNER_RETURN_URLS")),
        # Space-separated callback URLs of the partner's own backend. A connect token the partner
        # created with one of these as its callback_uri is handed over to it at the end, with
        # ?fp_cot= (scheme, host and path must match exactly; the query may differ). Any other
        # callback_uri than ours is never followed: the app finishes such a flow itself, so a
        # token made with someone else's callback cannot send our customer off-site. Their
        # origins join the CSP's form-action (a no-JS hand-over is a form post's redirect).
        "PARTNER_CALLBACK_URLS": _words(env.get("PARTNER_CALLBACK_URLS")),
        "START_LINK_MAX_AGE": _int(env, "START_LINK_MAX_AGE", 7 * 24 * 3600),
        # The settings page's signed link is not single use (a customer comes back to it), so
        # only its age limits a leaked one.
        "SETTINGS_LINK_MAX_AGE": _int(env, "SETTINGS_LINK_MAX_AGE", 7 * 24 * 3600),
        # The kinds of tariff the settings page offers (webapp/tariff_kinds.py), in its order.
        "TARIFF_KINDS": [kind.lower() for kind in _words(env.get("TARIFF_KINDS"))]
        or ["commodity_import"],
        # A start link that manages an existing location (--location-id) opens that customer's
        # connected tariff, with Disconnect on it: it lives an hour, not a week.
        "MANAGE_LINK_MAX_AGE": _int(env, "MANAGE_LINK_MAX_AGE", 3600),
        # Start links work once; a second use this many seconds after the first (a double click,
        # a reload of a slow first load) still starts or resumes as the first did.
        "START_LINK_REUSE_GRACE": _int(env, "START_LINK_REUSE_GRACE", 10),
        "SESSION_LIFETIME": _int(env, "SESSION_LIFETIME", 3600),
        "SESSION_COOKIE_SECURE": _bool_or_auto(env.get("SESSION_COOKIE_SECURE")),
        # The demo partner page (``/``, ``POST /demo/start``) shows a fixed customer's ids and
        # starts flows on the partner's account for anyone: off unless asked for, never in
        # production (validate()). scripts/run turns it on.
        "DEMO_ENABLED": _bool(env, "DEMO_ENABLED", False),
        "DEMO_CUSTOMER_REF": env.get("DEMO_CUSTOMER_REF") or "demo-customer-0001",
        # The country the address page chooses when neither Connect nor the start link names
        # one (ISO 3166-1 alpha-2, e.g. GB); empty: guessed from the browser's language region.
        "DEFAULT_COUNTRY": (env.get("DEFAULT_COUNTRY") or "").strip().upper(),
        # The language when the partner's link names none (en_GB, en_US, de …; one of the
        # catalogues in webapp/translations); empty: the browser's Accept-Language decides.
        "DEFAULT_LOCALE": (env.get("DEFAULT_LOCALE") or "").strip(),
        "TRUST_PROXY_HOPS": _int(env, "TRUST_PROXY_HOPS", 0),
        # Rate limits (Flask-Limiter syntax); why these defaults: webapp/ratelimit.py.
        "RATELIMIT_ENABLED": _bool(env, "RATELIMIT_ENABLED", True),
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", ""),  # "": REDIS_URL
        "RATELIMIT_STRATEGY": env.get("RATELIMIT_STRATEGY") or "moving-window",
        "RATELIMIT_STARTS_PER_IP": env.get("RATELIMIT_STARTS_PER_IP") or "60/minute",
        "RATELIMIT_STEPS_PER_IP": env.get("RATELIMIT_STEPS_PER_IP") or "300/minute",
        "RATELIMIT_STEPS_PER_FLOW": env.get("RATELIMIT_STEPS_PER_FLOW") or "30/minute",
        "RATELIMIT_POLLS_PER_IP": env.get("RATELIMIT_POLLS_PER_IP") or "600/minute",
        "RATELIMIT_POLLS_PER_FLOW": env.get("RATELIMIT_POLLS_PER_FLOW") or "60/minute",
        "RATELIMIT_VIEWS_PER_IP": env.get("RATELIMIT_VIEWS_PER_IP") or "600/minute",
        "RATELIMIT_VIEWS_PER_FLOW": env.get("RATELIMIT_VIEWS_PER_FLOW") or "120/minute",
        "CSP_EXTRA_IMG_SRC": _words(env.get("CSP_EXTRA_IMG_SRC")),
        "CSP_EXTRA_FORM_ACTION": _words(env.get("CSP_EXTRA_FORM_ACTION")),
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO").upper(),
        "BRAND_NAME": env.get("BRAND_NAME", ""),
        "BRAND_LOGO_URL": env.get("BRAND_LOGO_URL", ""),
        "BRAND_PRIMARY_COLOR": env.get("BRAND_PRIMARY_COLOR", ""),
        "BRAND_RADIUS": env.get("BRAND_RADIUS", ""),
        "BRAND_FONT_STACK": env.get("BRAND_FONT_STACK", ""),
        "BRAND_THEME": env.get("BRAND_THEME", "light").lower(),
        # Request-size limits (413 beyond them). The largest real form, twelve time-of-day
        # periods, is about 2 kB; these leave room and still stop a flood before it is parsed.
        # (Werkzeug applies the per-field limit to multipart only; the body limit covers both.)
        "MAX_CONTENT_LENGTH": _int(env, "MAX_CONTENT_LENGTH", 16 * 1024),
        "MAX_FORM_MEMORY_SIZE": _int(env, "MAX_FORM_MEMORY_SIZE", 8 * 1024),
        "MAX_FORM_PARTS": _int(env, "MAX_FORM_PARTS", 100),
    }


def is_country_code(code: str) -> bool:
    """Whether ``code`` is an ISO 3166-1 alpha-2 country as CLDR knows it ("GB", not "gb",
    "GBR", "EU" or "ZZ")."""
    return (
        re.fullmatch(r"[A-Z]{2}", code) is not None
        and code in Locale("en").territories
        and code not in NOT_COUNTRIES
    )


def origin_of(url: str) -> str:
    """``https://a.example/x?y`` -> ``https://a.example`` (the form CSP source lists use)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def derive(config: dict[str, Any]) -> dict[str, Any]:
    """Fill in the settings that follow from others (cookies, Flask-Session, Flask-WTF).

    Plain-HTTP local development cannot set ``Secure`` cookies, and browsers reject
    ``SameSite=None`` without ``Secure``; there the cookie falls back to ``SameSite=Lax`` without
    the ``__Host-`` prefix, which works for top-level use but not inside a cross-site iframe.
    """
    secure = config.get("SESSION_COOKIE_SECURE")
    if secure is None:
        secure = config["PUBLIC_URL"].startswith("https://")
    lifetime = int(config["SESSION_LIFETIME"])
    config.update(
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_NAME="__Host-fpconnect" if secure else "fpconnect",
        SESSION_COOKIE_SAMESITE="None" if secure else "Lax",
        SESSION_COOKIE_PARTITIONED=secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_PATH="/",
        SESSION_COOKIE_DOMAIN=None,
        SESSION_TYPE="redis",
        SESSION_PERMANENT=True,
        SESSION_KEY_PREFIX="connect:sess:",
        SESSION_SERIALIZATION_FORMAT="json",
        # A read-only request must never write the whole session back over a concurrent step.
        SESSION_REFRESH_EACH_REQUEST=False,
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=lifetime),
        WTF_CSRF_TIME_LIMIT=lifetime,
        # Pages send no Referer (meta referrer no-referrer keeps fp_cot out of Referer headers),
        # so Flask-WTF's HTTPS Referer check would reject every post; the token check remains.
        WTF_CSRF_SSL_STRICT=False,
        PREFERRED_URL_SCHEME="https" if secure else "http",
    )
    config.setdefault("FLOW_HANDLE_TTL", lifetime)
    config.setdefault("LAUNCH_CODE_TTL", 120)
    return config


_LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost", "ip6-loopback"})
_KEY_RECIPE = "python -c 'import secrets; print(secrets.token_urlsafe(48))'"


def is_loopback(url: str) -> bool:
    """Whether ``url`` names this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    host = (urlsplit(url).hostname or "").lower()
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def deployment_signs(config: Mapping[str, Any]) -> list[str]:
    """What in the settings says this is a real deployment, whatever ``APP_ENV`` says: an https
    address on a real host, live FlatPeak credentials, or a FlatPeak that is not on this
    machine (the sandbox always is, unless someone deployed it)."""
    signs = []
    public = str(config["PUBLIC_URL"])
    if public.startswith("https://") and not is_loopback(public):
        signs.append(f"PUBLIC_URL is {public}")
    if str(config.get("FLATPEAK_API_KEY") or "").startswith("sk_live_"):
        signs.append("FLATPEAK_API_KEY is a live key (sk_live_…)")
    for name in ("FLATPEAK_API_URL", "FLATPEAK_CONNECT_URL"):
        if not is_loopback(str(config[name])):
            signs.append(f"{name} is {config[name]}")
    return signs


def _weak_secret(config: Mapping[str, Any]) -> bool:
    secret = str(config.get("SECRET_KEY") or "")
    return secret == DEFAULT_SECRET_KEY or len(secret) < MIN_PRODUCTION_SECRET_LENGTH


def validate(config: Mapping[str, Any]) -> None:
    """Refuse configurations that would be unsafe in production, or in what looks like it."""
    production = config["APP_ENV"] == "production"
    if production:
        if _weak_secret(config):
            raise ConfigError(
                "APP_ENV=production needs SECRET_KEY set to a random value of at least "
                f"{MIN_PRODUCTION_SECRET_LENGTH} characters (e.g. {_KEY_RECIPE})."
            )
        if not config["PUBLIC_URL"].startswith("https://"):
            raise ConfigError("APP_ENV=production needs PUBLIC_URL to be an https:// URL.")
        if config.get("DEMO_ENABLED"):
            raise ConfigError(
                "DEMO_ENABLED is on with APP_ENV=production: the demo page lets anyone start "
                "flows on the partner's account and change the demo customer's tariff. "
                "Unset DEMO_ENABLED."
            )
    else:
        signs = deployment_signs(config)
        public = [sign for sign in signs if sign.startswith("PUBLIC_URL")]
        if public and config.get("DEMO_ENABLED"):
            # A misspelt APP_ENV ("prod") must not bring the demo page up where customers can
            # reach it; on a developer's machine (live credentials or not) it stays a choice.
            raise ConfigError(
                "This looks like a public deployment (" + public[0] + "), and DEMO_ENABLED is "
                "on: the demo page lets anyone start flows on the partner's account. Unset "
                "DEMO_ENABLED (and set APP_ENV=production)."
            )
        if signs and _weak_secret(config):
            # The development secret is in this repository: with it, anyone can sign a start
            # link for any customer of this deployment.
            raise ConfigError(
                "This looks like a real deployment (" + "; ".join(signs) + "), but SECRET_KEY "
                "is the development default or shorter than "
                f"{MIN_PRODUCTION_SECRET_LENGTH} characters. Set APP_ENV=production and "
                f"SECRET_KEY to a random value (e.g. {_KEY_RECIPE})."
            )
    if production or str(config.get("FLATPEAK_API_KEY") or "").startswith("sk_live_"):
        for name in ("FLATPEAK_API_URL", "FLATPEAK_CONNECT_URL"):
            url = str(config[name])
            # The API key and bearer tokens travel on these: plain HTTP only to this machine
            # (a local egress proxy that adds TLS, or a test rig's sandbox).
            if not url.startswith("https://") and not is_loopback(url):
                raise ConfigError(
                    f"{name} is {url}: FlatPeak credentials would travel unencrypted. Use an "
                    "https:// URL (plain http is allowed only to a loopback address)."
                )
    for origin in config["PARTNER_ORIGINS"]:
        if origin_of(origin) != origin.rstrip("/"):
            raise ConfigError(f"PARTNER_ORIGINS entry {origin!r} is not a bare origin.")
    for url in config["PARTNER_RETURN_URLS"]:
        if not origin_of(url):
            raise ConfigError(f"PARTNER_RETURN_URLS entry {url!r} is not an absolute URL.")
    for url in config["PARTNER_CALLBACK_URLS"]:
        if urlsplit(url).scheme not in ("http", "https") or not origin_of(url):
            raise ConfigError(f"PARTNER_CALLBACK_URLS entry {url!r} is not an absolute URL.")
    country = str(config.get("DEFAULT_COUNTRY") or "")
    if country and not is_country_code(country):
        raise ConfigError(
            f"DEFAULT_COUNTRY {country!r} is not a two-letter ISO 3166-1 country code (e.g. GB)."
        )
    default_locale = str(config.get("DEFAULT_LOCALE") or "")
    if default_locale:
        locales = config.get("LOCALES") or available_locales()
        if resolve_locale(default_locale, locales) is None:
            raise ConfigError(
                f"DEFAULT_LOCALE {default_locale!r} is not one of the available locales "
                f"({', '.join(locales)})."
            )
    unknown_kinds = [kind for kind in config["TARIFF_KINDS"] if kind not in KINDS]
    if unknown_kinds or not config["TARIFF_KINDS"]:
        raise ConfigError(
            f"TARIFF_KINDS {' '.join(unknown_kinds) or '(empty)'!s} is not a list of "
            f"{', '.join(KINDS)}."
        )
    if config["BRAND_THEME"] not in ("light", "dark"):
        raise ConfigError("BRAND_THEME must be 'light' or 'dark'.")
    validate_redis(config)


def validate_redis(config: Mapping[str, Any]) -> None:
    """Refuse a Redis URL the client cannot use (before a first request finds out), and warn
    when a production Sentinel setup stores results without waiting for the replica."""
    for name in ("REDIS_URL", "RATELIMIT_STORAGE_URI"):
        url = str(config.get(name) or "")
        if not url or (name == "RATELIMIT_STORAGE_URI" and not url.startswith("redis")):
            continue  # memory://, memcached://… are the limiter's own business
        try:
            redis_url.check_url(url)
        except redis_url.RedisUrlError as error:
            raise ConfigError(
                f"{name}: {error}. A Sentinel URL reads "
                "redis+sentinel://[:password@]host:port,host:port/<service name>/<db>."
            ) from None
    if int(config.get("REDIS_RESULT_REPLICAS") or 0) < 0:
        raise ConfigError("REDIS_RESULT_REPLICAS must be 0 or more.")
    if int(config.get("REDIS_RESULT_WAIT_MS") or 0) <= 0:
        raise ConfigError("REDIS_RESULT_WAIT_MS must be a positive number of milliseconds.")
    wait = config.get("REDIS_FAILOVER_WAIT")
    if wait is not None and float(wait) < 0:
        raise ConfigError("REDIS_FAILOVER_WAIT must be 0 or more seconds.")
    if (
        config["APP_ENV"] == "production"
        and redis_url.is_sentinel(str(config["REDIS_URL"]))
        and not int(config.get("REDIS_RESULT_REPLICAS") or 0)
    ):
        log.warning(
            "REDIS_URL is a Sentinel URL but REDIS_RESULT_REPLICAS is 0: a result stored just "
            "before the primary fails may not have reached the replica that replaces it. "
            "Set REDIS_RESULT_REPLICAS=1 (docs/redis.md)."
        )


def load(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The app's configuration: environment, then a test's overrides, then derived keys."""
    config = from_env()
    config.update(overrides or {})
    config["PUBLIC_URL"] = str(config["PUBLIC_URL"]).rstrip("/")
    derive(config)
    validate(config)
    return config


def check_eviction_policy(client: redis.Redis, config: Mapping[str, Any]) -> None:
    """In production, refuse a Redis that may evict any key (``maxmemory-policy allkeys-*``).

    ``connect:result:*`` (the partner's FlatPeak ids) has no TTL and exists nowhere else, so an
    ``allkeys-*`` policy would silently lose it under memory pressure (docs/redis.md). A server
    that will not say (a managed Redis that renames or forbids CONFIG) or cannot be reached yet
    (the app answers 503 until it is back) is logged, not fatal: refusing to start would turn a
    Redis blip at deploy time into an outage.
    """
    if config.get("APP_ENV") != "production":
        return
    try:
        answer = client.config_get("maxmemory-policy")
    except redis.RedisError as error:
        log.warning(
            "could not read Redis maxmemory-policy (%s); make sure it is noeviction "
            "(never allkeys-*): stored results have no TTL",
            type(error).__name__,
        )
        return
    policy = _text(next(iter(answer.values()), "")) if answer else ""
    if policy.startswith("allkeys-"):
        raise ConfigError(
            f"Redis maxmemory-policy is {policy}: it can evict the stored results "
            "(connect:result:*), which have no TTL. Set maxmemory-policy noeviction "
            "(see docs/redis.md)."
        )
    if policy != "noeviction":
        log.warning(
            "Redis maxmemory-policy is %s: results are safe, but step ledgers and locks may be "
            "evicted under memory pressure; noeviction is the right setting",
            policy or "unknown",
        )


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
