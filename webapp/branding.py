"""``/brand.css``: the partner's brand as CSS custom properties, from configuration.

Branding comes from environment variables, but it ends up inside a stylesheet, so every value is
checked against a strict pattern first: a colour must be a hex colour, a radius a small length,
a font stack plain family names. Anything else falls back to the default, so configuration can
never inject CSS (``}`` or ``url(...)``) into every page.

Contrast is guaranteed here rather than hoped for: the primary colour is used as a button
background with white or black text (whichever reads better), and, where it is too light or too
dark for that, a darker or lighter shade of it is used instead, so WCAG's 4.5:1 holds for any
configured brand, in the light and the dark theme.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, current_app, request

bp = Blueprint("branding", __name__)

DEFAULT_PRIMARY = "#1d4ed8"
DEFAULT_RADIUS = "8px"
DEFAULT_FONT_STACK = (
    'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif'
)
THEMES = ("light", "dark")

# The surfaces app.css paints text and buttons on, per theme; brand colours are checked against
# the least favourable one.
SURFACES = {"light": ("#ffffff", "#f3f4f6"), "dark": ("#111418", "#1c2128")}
MIN_CONTRAST = 4.5

_HEX_RE = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_RADIUS_RE = re.compile(r"^(?:0|\d{1,2}(?:\.\d{1,2})?(?:px|rem|em))$")
# A family is a double-quoted name or bare words: no quotes of another kind, no punctuation.
_FAMILY_RE = re.compile(r'^(?:"[A-Za-z0-9 \-]{1,40}"|[A-Za-z0-9 \-]{1,40})$')
_URL_RE = re.compile(r"^(?:https://[^\s\"'<>()\\]{1,500}|/[^/\s\"'<>()\\][^\s\"'<>()\\]{0,500})$")


def clean_color(value: Any, default: str = DEFAULT_PRIMARY) -> str:
    text = str(value or "").strip()
    if not _HEX_RE.match(text):
        return default
    if len(text) == 4:
        text = "#" + "".join(ch * 2 for ch in text[1:])
    return text.lower()


def clean_radius(value: Any) -> str:
    text = str(value or "").strip().lower()
    if text.isdigit():
        text += "px"
    if not _RADIUS_RE.match(text):
        return DEFAULT_RADIUS
    number = float(re.sub(r"[a-z]+$", "", text) or 0)
    limit = 32 if text.endswith("px") else 2
    return text if number <= limit else DEFAULT_RADIUS


def clean_font_stack(value: Any) -> str:
    families = [part.strip() for part in str(value or "").split(",") if part.strip()]
    if not families or len(families) > 12 or not all(_FAMILY_RE.match(f) for f in families):
        return DEFAULT_FONT_STACK
    return ", ".join(families)


def clean_theme(value: Any) -> str:
    text = str(value or "").strip().lower()
    return text if text in THEMES else "light"


def clean_logo_url(value: Any) -> str:
    text = str(value or "").strip()
    return text if _URL_RE.match(text) else ""


def brand_from_config(config: Mapping[str, Any]) -> dict[str, str]:
    """The validated brand for templates (the ``brand`` context variable) and for brand.css."""
    return {
        "name": " ".join(str(config.get("BRAND_NAME") or "").split())[:80],
        "logo_url": clean_logo_url(config.get("BRAND_LOGO_URL")),
        "primary_color": clean_color(config.get("BRAND_PRIMARY_COLOR")),
        "radius": clean_radius(config.get("BRAND_RADIUS")),
        "font_stack": clean_font_stack(config.get("BRAND_FONT_STACK")),
        "theme": clean_theme(config.get("BRAND_THEME")),
    }


# -- colour arithmetic (WCAG 2.2 relative luminance) -----------------------------------------


def _rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(max(0, min(255, c))):02x}" for c in rgb)


def luminance(color: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in _rgb(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _mix(color: str, toward: str, share: float) -> str:
    a, b = _rgb(color), _rgb(toward)
    return _hex(tuple(x + (y - x) * share for x, y in zip(a, b, strict=True)))


def readable_on(color: str, backgrounds: tuple[str, ...]) -> str:
    """``color``, darkened or lightened just enough to reach 4.5:1 on every background."""
    if all(contrast(color, bg) >= MIN_CONTRAST for bg in backgrounds):
        return color
    toward = "#000000" if luminance(backgrounds[0]) > 0.5 else "#ffffff"
    for step in range(1, 21):
        candidate = _mix(color, toward, step / 20)
        if all(contrast(candidate, bg) >= MIN_CONTRAST for bg in backgrounds):
            return candidate
    return toward


def button_colors(primary: str) -> tuple[str, str]:
    """(background, text) for a primary button: white or black text, whichever reads better,
    with the background shaded until the pair reaches 4.5:1."""
    white, black = contrast(primary, "#ffffff"), contrast(primary, "#000000")
    if max(white, black) >= MIN_CONTRAST:
        return primary, "#ffffff" if white >= black else "#000000"
    for step in range(1, 21):
        candidate = _mix(primary, "#000000", step / 20)
        if contrast(candidate, "#ffffff") >= MIN_CONTRAST:
            return candidate, "#ffffff"
    return "#000000", "#ffffff"


def brand_css_text(brand: Mapping[str, str]) -> str:
    primary = brand["primary_color"]
    button_bg, button_fg = button_colors(primary)
    lines = [
        "/* Generated from BRAND_* configuration; see webapp/branding.py. */",
        ":root {",
        f"  --brand-primary: {button_bg};",
        f"  --brand-on-primary: {button_fg};",
        f"  --brand-accent: {readable_on(primary, SURFACES['light'])};",
        f"  --radius: {brand['radius']};",
        f"  --font: {brand['font_stack']};",
        "}",
        '[data-theme="dark"] {',
        f"  --brand-accent: {readable_on(primary, SURFACES['dark'])};",
        "}",
    ]
    return "\n".join(lines) + "\n"


@bp.get("/brand.css")
def brand_css() -> Response:
    css = brand_css_text(brand_from_config(current_app.config))
    response = Response(css, mimetype="text/css")
    # The brand only changes with a redeploy: let browsers and proxies keep it for an hour and
    # revalidate cheaply with the ETag after that.
    response.set_etag(hashlib.sha256(css.encode()).hexdigest()[:32])
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response.make_conditional(request)
