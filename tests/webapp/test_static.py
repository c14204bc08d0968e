"""The vendored htmx is the pinned release, byte for byte, and the page asks the browser to check
it (Subresource Integrity): a tampered or accidentally upgraded file fails here first."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HTMX = ROOT / "static" / "vendor" / "htmx-2.0.11.min.js"
# sha384 of dist/htmx.min.js in the htmx.org 2.0.11 npm package.
PINNED = "sha384-2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg"


def sri(path: Path) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(path.read_bytes()).digest()).decode()


@pytest.mark.unit
def test_vendored_htmx_is_the_pinned_release() -> None:
    assert sri(HTMX) == PINNED


@pytest.mark.unit
def test_base_template_pins_the_same_hash() -> None:
    base = (ROOT / "templates" / "base.html").read_text()
    tag = re.search(r"<script[^>]+htmx-2\.0\.11\.min\.js[^>]*>", base)
    assert tag, "base.html does not load the vendored htmx"
    assert f'integrity="{PINNED}"' in tag.group(0)


def test_linked_assets_are_content_addressed_and_cached_for_a_year(client) -> None:
    page = client.get("/").get_data(as_text=True)
    links = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
    assert len(links) >= 3
    for link in links:
        assert re.search(r"\.[0-9a-f]{12}\.(css|js)$", link), link
        response = client.get(link)
        assert response.status_code == 200
        assert "max-age=31536000" in response.headers["Cache-Control"]
    # Without the hash, the default (revalidate) applies.
    bare = client.get(re.sub(r"\.[0-9a-f]{12}(?=\.)", "", links[0]))
    assert bare.status_code == 200
    assert "max-age=31536000" not in bare.headers.get("Cache-Control", "")
