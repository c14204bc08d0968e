"""Flask-Babel set-up: English source strings, locale from the browser's Accept-Language.

Adding a language is a file, not a code change: ``pybabel init -i webapp/translations/messages.pot
-d webapp/translations -l de``, translate, ``pybabel compile -d webapp/translations``. The locale
list is read from that directory at start-up, so a compiled catalogue is picked up on restart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from babel import support
from flask import Flask, current_app, g, has_app_context, request
from flask_babel import Babel, LazyString, get_translations

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


def translations() -> support.NullTranslations:
    """The request's catalogue, looked up once per request.

    Flask-Babel looks it up again for every string, a dozen context-local reads each time, and a
    step's page has a few hundred strings. The cache lives on ``g`` (one per request); code
    that switches locale mid-request (``flask_babel.force_locale``, not used here) would have
    to drop it.
    """
    if not has_app_context():
        return support.NullTranslations()
    found = g.get("_connect_translations")
    if found is None:
        found = g._connect_translations = get_translations()
    return found


def gettext(string: str, **variables: Any) -> str:
    """``flask_babel.gettext`` through the per-request catalogue (same ``%(name)s`` formatting)."""
    text = translations().ugettext(string)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    variables.setdefault("num", num)
    return translations().ungettext(singular, plural, num) % variables


def lazy_gettext(string: str, **variables: Any) -> LazyString:
    """Translated when rendered, so module-level labels follow each request's locale."""
    return LazyString(gettext, string, **variables)


def init_app(app: Flask) -> None:
    app.config.setdefault("LOCALES", available_locales())
    app.config.setdefault("BABEL_DEFAULT_LOCALE", SOURCE_LOCALE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    babel.init_app(app, locale_selector=select_locale)
    # Templates translate through the same per-request catalogue as the Python code.
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
