"""Flask-Babel set-up: English source strings, locale from the browser's Accept-Language.

Adding a language is a file, not a code change: ``pybabel init -i webapp/translations/messages.pot
-d webapp/translations -l de``, translate, ``pybabel compile -d webapp/translations``. The locale
list is read from that directory at start-up, so a compiled catalogue is picked up on restart.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app, request
from flask_babel import Babel

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
SOURCE_LOCALE = "en"

babel = Babel()


def available_locales(directory: Path = TRANSLATIONS) -> list[str]:
    """English plus every locale with a compiled catalogue."""
    found = sorted(path.parent.parent.name for path in directory.glob("*/LC_MESSAGES/messages.mo"))
    return [SOURCE_LOCALE, *(locale for locale in found if locale != SOURCE_LOCALE)]


def select_locale() -> str:
    locales = current_app.config["LOCALES"]
    return request.accept_languages.best_match(locales) or SOURCE_LOCALE


def init_app(app: Flask) -> None:
    app.config.setdefault("LOCALES", available_locales())
    app.config.setdefault("BABEL_DEFAULT_LOCALE", SOURCE_LOCALE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    babel.init_app(app, locale_selector=select_locale)
