"""Flask-Babel set-up: English source strings, and which language a request is answered in.

The source strings are British English ("postcode", "recognise"); ``en_GB`` and ``en_US`` are
catalogues of their own, so an American customer reads "ZIP code" and US dates.

Who chooses the language, first answer wins (:func:`select_locale`): the partner for this request
(a start link's or ``/connect``'s ``locale``, put on ``g`` by webapp/entry.py before the flow
exists), the flow (the same choice, kept in its session so every later page and a framed flow
without cookies keep it), the deployment (``DEFAULT_LOCALE``), then the browser's
Accept-Language.

Adding a language is a file, not a code change: ``pybabel init -i webapp/translations/messages.pot
-d webapp/translations -l de``, translate, ``pybabel compile -d webapp/translations`` (README,
"Languages"). The locale list is read from that directory at start-up, so a compiled catalogue is
picked up on restart.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from babel import support
from flask import Flask, current_app, g, has_app_context, request, session
from flask_babel import Babel, LazyString, get_translations, refresh

from webapp.flow_state import flow_state

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
SOURCE_LOCALE = "en"
# What a partner may name: a language, optionally with a region ("de", "en-GB", "en_US").
_TAG_RE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z]{2}|[-_][0-9]{3})?$")

babel = Babel()


def available_locales(directory: Path = TRANSLATIONS) -> list[str]:
    """English plus every locale with a compiled catalogue."""
    found = sorted(path.parent.parent.name for path in directory.glob("*/LC_MESSAGES/messages.mo"))
    return [SOURCE_LOCALE, *(locale for locale in found if locale != SOURCE_LOCALE)]


def resolve_locale(tag: Any, locales: Sequence[str]) -> str | None:
    """The available locale a partner's ``tag`` means: "en-US" and "en_us" are ``en_US``; a
    region we have no catalogue for falls back to its language ("de-AT" is ``de``); ``None``
    for a language we do not have, or for anything that is not a tag."""
    if not isinstance(tag, str) or not _TAG_RE.match(tag.strip()):
        return None
    wanted = tag.strip().replace("-", "_").lower()
    by_lower = {locale.lower(): locale for locale in locales}
    if wanted in by_lower:
        return by_lower[wanted]
    language = wanted.split("_", 1)[0]
    return by_lower.get(language)


def use_locale(tag: Any) -> str | None:
    """Answer this request in the partner's ``tag`` (if we have it), before any flow holds it:
    an entry's own pages (the link expired, the question which flow to continue) follow the
    link too. Returns the locale chosen, for the flow to keep."""
    locale = resolve_locale(tag, current_app.config["LOCALES"])
    if locale is not None and g.get("connect_locale") != locale:
        g.connect_locale = locale
        # Anything already translated in this request (an error hook, a lazy label) looked the
        # locale and catalogue up and cached both: forget them, so the rest is in this one.
        refresh()
        g.pop("_connect_translations", None)
    return locale


def select_locale() -> str:
    locales = current_app.config["LOCALES"]
    chosen = g.get("connect_locale")
    if chosen in locales:
        return str(chosen)
    if session:
        held = resolve_locale(flow_state().locale, locales)
        if held is not None:
            return held
    default = resolve_locale(current_app.config.get("DEFAULT_LOCALE"), locales)
    if default is not None:
        return default
    return request.accept_languages.best_match(locales) or SOURCE_LOCALE


def translations() -> support.NullTranslations:
    """The request's catalogue, looked up once per request.

    Flask-Babel looks it up again for every string, a dozen context-local reads each time, and a
    step's page has a few hundred strings. The cache lives on ``g`` (one per request); code
    that switches locale mid-request drops it (:func:`use_locale` does; Flask-Babel's
    ``force_locale``, not used here, would not).
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
