"""The app's command line: ``flask --app wsgi connect-link``, which prints a signed start link
for a partner's customer (the "email link"), checked as the app would check it, and
``connect-settings-link``, the customer's tariff settings page; and ``nginx-assets``, the
include that lets nginx serve the current static files itself (``webapp/asset_map.py``)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask

from webapp.asset_map import write_asset_map, write_error_pages
from webapp.config import is_country_code
from webapp.entry import MAX_REFERENCE_LENGTH
from webapp.i18n import resolve_locale
from webapp.links import return_url_allowed
from webapp.settings_links import settings_link
from webapp.start_links import start_link


def init_app(app: Flask) -> None:
    @app.cli.command("connect-link")
    @click.argument("customer_ref")
    @click.option("--return-url", default=None, help="Allowlisted URL to return to at the end.")
    @click.option("--location-id", default=None, help="Manage an existing location (loc_…).")
    @click.option("--origin", default=None, help="Partner origin framing the flow.")
    @click.option(
        "--country", default=None, help="Where the customer lives (GB, US …): chosen for them."
    )
    @click.option(
        "--locale",
        default=None,
        help="The flow's language (en_GB, en_US, de …), whatever the browser asks for.",
    )
    def connect_link(
        customer_ref: str,
        return_url: str | None,
        location_id: str | None,
        origin: str | None,
        country: str | None,
        locale: str | None,
    ) -> None:
        """Print a signed start link (the "email link") for CUSTOMER_REF."""
        _check_reference(customer_ref)
        if return_url and not return_url_allowed(return_url):
            raise click.BadParameter("not in PARTNER_RETURN_URLS", param_hint="--return-url")
        if country is not None:
            country = country.strip().upper()
            if not is_country_code(country):
                raise click.BadParameter("not an ISO 3166-1 country code", param_hint="--country")
        locale = _catalogue_locale(app, locale)
        with app.test_request_context(base_url=app.config["PUBLIC_URL"]):
            link = start_link(
                customer_ref,
                return_url=return_url,
                location_id=location_id,
                embed_origin=origin,
                country=country,
                locale=locale,
            )
        click.echo(link)

    @app.cli.command("connect-settings-link")
    @click.argument("customer_ref")
    @click.option("--origin", default=None, help="Partner origin framing the page.")
    @click.option("--locale", default=None, help="The page's language (en_GB, de …).")
    def connect_settings_link(customer_ref: str, origin: str | None, locale: str | None) -> None:
        """Print a signed tariff settings link for CUSTOMER_REF (not single use; it expires
        after SETTINGS_LINK_MAX_AGE)."""
        _check_reference(customer_ref)
        if origin and origin not in app.config["PARTNER_ORIGINS"]:
            raise click.BadParameter("not in PARTNER_ORIGINS", param_hint="--origin")
        locale = _catalogue_locale(app, locale)
        with app.test_request_context(base_url=app.config["PUBLIC_URL"]):
            click.echo(settings_link(customer_ref, embed_origin=origin, locale=locale))

    @app.cli.command("nginx-assets")
    @click.argument("out", type=click.Path(file_okay=False, path_type=Path))
    @click.option(
        "--brotli/--no-brotli",
        "brotli_static",
        default=None,
        help="Name brotli_static (default: if this host's nginx has the module).",
    )
    def nginx_assets(out: Path, brotli_static: bool | None) -> None:
        """Copy the current static files to OUT/static under their hashed names (with .gz and
        .br beside them), write OUT/assets.conf for nginx to include, and OUT/errors/ with the
        page nginx answers when no instance does, in each language (deploy/README.md)."""
        static = Path(app.static_folder or "")
        assets = write_asset_map(out, static, brotli_static=brotli_static)
        pages = write_error_pages(out, app)
        click.echo(f"{out / 'assets.conf'}: {len(assets)} files; {out / 'errors'}: {len(pages)}")


def _check_reference(customer_ref: str) -> None:
    if len(customer_ref) > MAX_REFERENCE_LENGTH:
        raise click.BadParameter("at most 128 characters", param_hint="CUSTOMER_REF")


def _catalogue_locale(app: Flask, locale: str | None) -> str | None:
    """``--locale`` as the catalogue's own name, so a link means the same whatever spelling of
    the tag it was made with ("en-us" -> en_US); refused when we have no such catalogue."""
    if locale is None:
        return None
    resolved = resolve_locale(locale, app.config["LOCALES"])
    if resolved is None:
        available = ", ".join(app.config["LOCALES"])
        raise click.BadParameter(f"not one of {available}", param_hint="--locale")
    return resolved
