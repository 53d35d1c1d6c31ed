"""The message catalogs of the client's pages: complete, not fuzzy, placeholders intact."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from bordin.web.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    negotiate_language,
    page_language,
    translations,
)

ROOT = Path(__file__).resolve().parents[3]
LOCALE = ROOT / "src" / "bordin" / "web" / "locale"
TRANSLATED = sorted(set(LANGUAGES) - {DEFAULT_LANGUAGE})


def _extracted() -> dict[str, tuple[str, ...]]:
    """Every marked string of the client's pages (babel.cfg), msgid -> plural forms."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    messages: dict[str, tuple[str, ...]] = {}
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map
    ):
        forms = (message,) if isinstance(message, str) else tuple(message)
        messages[forms[0]] = forms
    return messages


def _catalog(language: str) -> Catalog:
    with (LOCALE / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=language)


def test_the_templates_and_code_mark_the_client_facing_strings() -> None:
    extracted = _extracted()
    for expected in (
        "Next",
        "Back",
        "Send my answers",
        "Questionnaire %(number)s of %(total)s",
        "Thank you",
        "This link has expired",
        "Choose an answer to this question.",
        "Bordin supports clinical judgement; it does not diagnose.",
        "If you are in danger or thinking about harming yourself,",
    ):
        assert expected in extracted, expected
    assert extracted["Please answer %(num)d more question"][1].endswith("questions")


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_extracted_string_is_translated_and_not_fuzzy(language: str) -> None:
    catalog = _catalog(language)
    extracted = _extracted()
    missing, fuzzy, empty = [], [], []
    for msgid, forms in extracted.items():
        message = catalog.get(forms if len(forms) > 1 else msgid)
        if message is None:
            missing.append(msgid)
            continue
        if message.fuzzy:
            fuzzy.append(msgid)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if len(forms) > 1 and len(strings) != catalog.num_plurals:
            empty.append(msgid)
        if not all(strings):
            empty.append(msgid)
    assert (missing, fuzzy, empty) == ([], [], [])
    stale = [
        m.id for m in catalog if m.id and (m.id[0] if m.pluralizable else m.id) not in extracted
    ]
    assert stale == []  # strings no longer in the pages are removed from the catalog
    assert [m.id for m in catalog if m.id and m.fuzzy] == []
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()]
    assert problems == []  # same %(name)s placeholders as the English


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_catalog_compiles_and_translates(language: str) -> None:
    assert translations(language).gettext("Next") != "Next"
    assert translations(DEFAULT_LANGUAGE).gettext("Next") == "Next"


def test_german_texts() -> None:
    german = translations("de")
    assert german.gettext("Send my answers") == "Antworten senden"
    assert (
        german.ngettext(
            "Please answer %(num)d more question", "Please answer %(num)d more questions", 2
        )
        % {"num": 2}
        == "Bitte beantworten Sie noch 2 Fragen"
    )


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("de-DE,de;q=0.9,en;q=0.8", "de"),
        ("de_AT", "de"),
        ("fr-FR,en;q=0.5", "en"),
        ("fr-FR", "en"),
        ("en-GB,de;q=0.7", "en"),
        ("en;q=0.2,de;q=0.9", "de"),
        ("de;q=0", "en"),
        ("", "en"),
        (None, "en"),
        ("de;q=abc,*", "en"),
    ],
)
def test_the_browser_language_picks_a_catalog(header: str | None, expected: str) -> None:
    assert negotiate_language(header) == expected


def test_a_form_language_without_a_catalog_shows_english_pages() -> None:
    assert page_language("de") == "de"
    assert page_language("DE ") == "de"
    assert page_language("fr") == "en"
    assert page_language(None) == "en"
