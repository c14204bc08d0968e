"""Adding a language is a file: a compiled catalogue is picked up from Accept-Language."""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo

from devstack.stack import RedisServer, SandboxServer
from tests.webapp.conftest import app_config
from webapp import create_app
from webapp.i18n import available_locales


def german_catalogue(directory: Path) -> Path:
    catalog = Catalog(locale="de")
    catalog.add("Your energy account", "Ihr Energiekonto")
    target = directory / "de" / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / "messages.mo").open("wb") as handle:
        write_mo(handle, catalog)
    return directory


def test_accept_language_picks_an_available_translation(
    tmp_path: Path, redis_server: RedisServer, sandbox: SandboxServer
) -> None:
    directory = german_catalogue(tmp_path)
    assert available_locales(directory) == ["en", "de"]
    app = create_app(
        app_config(
            redis_server,
            sandbox,
            BABEL_TRANSLATION_DIRECTORIES=str(directory),
            LOCALES=available_locales(directory),
        )
    )
    client = app.test_client()
    german = client.get("/", headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})
    assert "Ihr Energiekonto" in german.get_data(as_text=True)
    french = client.get("/", headers={"Accept-Language": "fr"})
    assert "Your energy account" in french.get_data(as_text=True)
