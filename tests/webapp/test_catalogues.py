"""The catalogues: the template holds every string, and every language translates all of them.

CI fails when a new English string is not in ``messages.pot`` (run the extraction in README,
"Languages"), when a catalogue on disk lacks a translation of it or has a fuzzy, empty or
wrongly placeheld one, and when a catalogue's compiled ``.mo`` is not what its ``.po`` compiles
to. The per-language tests are parametrized over the catalogues found on disk, so a language
is checked from the commit that adds its ``messages.po``.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from webapp.i18n import SOURCE_LOCALE, TRANSLATIONS, available_locales

pytestmark = pytest.mark.unit  # no process: see tests/README.md

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = TRANSLATIONS / "messages.pot"
LANGUAGES = sorted(path.parent.parent.name for path in TRANSLATIONS.glob("*/LC_MESSAGES/*.po"))
# printf-style placeholders as gettext's python-format sees them: %(name)s, %d, %s; "%%" is a
# literal percent sign, not a placeholder.
_PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def _key(message: Message) -> tuple[str | None, str]:
    """A message as gettext finds it: its context and its (singular) id."""
    msgid = message.id[0] if isinstance(message.id, tuple) else message.id
    return message.context, str(msgid)


def _shape(catalog: Catalog) -> dict[tuple[str | None, str], tuple[object, bool]]:
    """What a catalogue asks translators for, without line references or dates: each id with
    its plural and whether it is python-format."""
    return {_key(message): (message.id, message.python_format) for message in catalog if message.id}


def _placeholders(text: str) -> set[str]:
    return {token for token in _PLACEHOLDER.findall(text) if token != "%%"}


def test_a_fresh_extraction_equals_the_committed_template(tmp_path: Path) -> None:
    """The command README gives, run in-process: ``--ignore-dirs='.*'`` keeps templates/_partials
    (Babel's default skips every folder starting with "_")."""
    fresh = tmp_path / "messages.pot"
    CommandLineInterface().run(
        [
            "pybabel",
            "--quiet",
            "extract",
            "-F",
            str(ROOT / "babel.cfg"),
            "-k",
            "_l",
            "--ignore-dirs=.*",
            "-o",
            str(fresh),
            str(ROOT),
        ]
    )
    extracted, committed = _shape(_read(fresh)), _shape(_read(TEMPLATE))
    missing = sorted(key[1] for key in extracted.keys() - committed.keys())
    stale = sorted(key[1] for key in committed.keys() - extracted.keys())
    assert not missing and not stale, (
        f"messages.pot is out of date: regenerate it (README, Languages). Not in it: {missing}; "
        f"no longer in the code: {stale}"
    )
    assert extracted == committed


def test_the_partials_strings_are_in_the_template() -> None:
    locations = {filename for message in _read(TEMPLATE) for filename, _ in message.locations}
    assert any(name.startswith("templates/_partials/") for name in locations)
    ids = {_key(message)[1] for message in _read(TEMPLATE)}
    assert {"Continue", "Clear search"} <= ids


def test_every_catalogue_on_disk_is_served() -> None:
    """A ``.po`` without its compiled ``.mo`` would be silently missing from the app."""
    assert available_locales() == [SOURCE_LOCALE, *LANGUAGES]
    assert {"en_GB", "en_US"} <= set(LANGUAGES)


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_is_complete(language: str) -> None:
    catalog = _read(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", language)
    assert not catalog.fuzzy, f"{language}: the header is marked fuzzy (pybabel compile skips it)"
    plural = get_plural(language)
    assert catalog.num_plurals == plural.num_plurals, f"{language}: Plural-Forms"
    assert catalog.plural_expr.replace(" ", "") == plural.plural_expr.replace(" ", ""), (
        f"{language}: Plural-Forms should be {plural.plural_forms}"
    )
    translated = {_key(message): message for message in catalog if message.id}
    problems: list[str] = []
    for message in _read(TEMPLATE):
        if not message.id:
            continue
        key = _key(message)
        found = translated.get(key)
        if found is None:
            problems.append(f"missing: {key[1]!r}")
            continue
        if found.fuzzy:
            problems.append(f"fuzzy: {key[1]!r}")
        sources = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = found.string if isinstance(found.string, tuple) else (found.string,)
        if isinstance(message.id, tuple) and len(strings) != catalog.num_plurals:
            problems.append(f"{len(strings)} plural forms, not {catalog.num_plurals}: {key[1]!r}")
        expected = set().union(*(_placeholders(source) for source in sources))
        for string in strings:
            if not string:
                problems.append(f"empty: {key[1]!r}")
            elif message.python_format and _placeholders(string) != expected:
                problems.append(f"placeholders {sorted(_placeholders(string))}: {key[1]!r}")
    assert not problems, f"{language}: " + "; ".join(problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalogue_is_the_po_compiled(language: str) -> None:
    """The ``.mo`` is committed, so a deploy is a checkout; this keeps it honest: after editing
    a ``.po``, run ``pybabel compile -d webapp/translations`` and commit both."""
    folder = TRANSLATIONS / language / "LC_MESSAGES"
    compiled = io.BytesIO()
    write_mo(compiled, _read(folder / "messages.po", language))
    mo = folder / "messages.mo"
    assert mo.exists(), f"{language}: no messages.mo; run pybabel compile -d webapp/translations"
    assert mo.read_bytes() == compiled.getvalue(), (
        f"{language}: messages.mo is not its messages.po compiled; run "
        "pybabel compile -d webapp/translations"
    )


def test_placeholder_check_sees_names_and_ignores_percent_signs() -> None:
    assert _placeholders("For example 5 for 5%%.") == set()
    assert _placeholders("%(fixed)s plus %(percentage)s, %d") == {
        "%(fixed)s",
        "%(percentage)s",
        "%d",
    }
