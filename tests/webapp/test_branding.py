"""/brand.css: partner branding from configuration, validated so it cannot inject CSS, with
readable contrast whatever colour is configured."""

from __future__ import annotations

import pytest

from tests.webapp.pages_harness import make_app
from webapp import branding

pytestmark = pytest.mark.unit  # no process: see tests/README.md


def css_for(**config) -> tuple[str, object]:
    app = make_app(**config)
    response = app.test_client().get("/brand.css")
    return response.get_data(as_text=True), response


def test_defaults():
    css, response = css_for()
    assert response.status_code == 200
    assert response.mimetype == "text/css"
    assert "--brand-primary: #1d4ed8;" in css
    assert "--brand-on-primary: #ffffff;" in css
    assert "--radius: 8px;" in css
    assert "--font: system-ui" in css


def test_configured_brand():
    css, _ = css_for(
        BRAND_PRIMARY_COLOR="#0A7",
        BRAND_RADIUS="12",
        BRAND_FONT_STACK='"Inter", Arial, sans-serif',
    )
    assert "--radius: 12px;" in css
    assert '--font: "Inter", Arial, sans-serif;' in css
    # A mid green: black text reads better on it than white.
    assert "--brand-primary: #00aa77;" in css
    assert "--brand-on-primary: #000000;" in css


@pytest.mark.parametrize(
    "hostile",
    [
        "red; } body { display: none",
        "#fff}html{background:url(https://evil.example/x)}",
        "expression(alert(1))",
        "</style><script>alert(1)</script>",
        "#12345g",
    ],
)
def test_hostile_values_fall_back_to_defaults(hostile):
    css, _ = css_for(
        BRAND_PRIMARY_COLOR=hostile,
        BRAND_RADIUS=hostile,
        BRAND_FONT_STACK=hostile,
        BRAND_THEME=hostile,
    )
    assert css.count("{") == css.count("}") == 2
    for bad in ("url(", "expression", "<", "display: none", "}html", "script"):
        assert bad not in css
    assert "--brand-primary: #1d4ed8;" in css
    assert "--radius: 8px;" in css


def test_brand_for_templates_is_cleaned():
    brand = branding.brand_from_config(
        {
            "BRAND_NAME": "  Acme\n Energy ",
            "BRAND_LOGO_URL": "javascript:alert(1)",
            "BRAND_THEME": "DARK",
            "BRAND_RADIUS": "400px",
        }
    )
    assert brand["name"] == "Acme Energy"
    assert brand["logo_url"] == ""
    assert brand["theme"] == "dark"
    assert brand["radius"] == "8px"
    assert branding.clean_logo_url("https://cdn.example/logo.svg") == "https://cdn.example/logo.svg"
    assert branding.clean_logo_url("/static/logo.png") == "/static/logo.png"
    assert branding.clean_logo_url("//evil.example/x.png") == ""


@pytest.mark.parametrize(
    "color", ["#ffff00", "#777777", "#1d4ed8", "#000000", "#ffffff", "#e11d48"]
)
def test_any_primary_colour_gives_readable_buttons_and_links(color):
    background, text = branding.button_colors(color)
    assert branding.contrast(background, text) >= 4.5
    for theme, surfaces in branding.SURFACES.items():
        accent = branding.readable_on(color, surfaces)
        for surface in surfaces:
            assert branding.contrast(accent, surface) >= 4.5, (color, theme)


def test_cacheable_with_etag():
    app = make_app()
    client = app.test_client()
    first = client.get("/brand.css")
    assert first.headers["Cache-Control"] in {"public, max-age=3600", "max-age=3600, public"}
    etag = first.headers["ETag"]
    again = client.get("/brand.css", headers={"If-None-Match": etag})
    assert again.status_code == 304
