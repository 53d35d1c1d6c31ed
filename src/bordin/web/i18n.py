"""Message catalogs of the pages a client sees (Babel, gettext).

The client's form, its thank-you page and the pages of links that cannot be used are
written in English in the templates and code, with every string marked for translation
(``_()`` in templates and code, :func:`N_` for constants). The translations live in
``bordin/web/locale/<language>/LC_MESSAGES/messages.po`` and are compiled in memory when
first needed (no build step: a fresh clone and ``pip install -e .`` are enough).

Which strings are extracted is set by ``babel.cfg`` at the top of the repository; to add
or update a language::

    pybabel extract -F babel.cfg -o messages.pot src/bordin/web
    pybabel update -i messages.pot -d src/bordin/web/locale      # or init -l xx

A test checks that every extracted string has a translation that is neither empty nor
fuzzy in every catalog.

The language of a form is the one its link was made for (the therapist picks it, by
default the language of the client's previous link). Where a link cannot be read (an
unknown, expired or used link) the browser's ``Accept-Language`` picks the language.
Questionnaire wording is never translated here: it comes from content packs, and where a
pack is missing in the form's language the form says so and shows the English wording.
"""

from __future__ import annotations

import functools
import io
from importlib.resources import files

from babel.support import NullTranslations, Translations

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "N_",
    "negotiate_language",
    "page_language",
    "translations",
]

#: Language of the templates and code.
DEFAULT_LANGUAGE = "en"

#: Languages the client's pages are available in, each with its own name.
LANGUAGES: dict[str, str] = {"de": "Deutsch", "en": "English"}


def N_(message: str) -> str:
    """Mark ``message`` for extraction; it is translated where it is shown."""
    return message


@functools.cache
def translations(language: str) -> NullTranslations:
    """The catalog of ``language`` (English, the templates' own text, when there is none).

    The ``.po`` file is read and compiled in memory once per process.
    """
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    if language == DEFAULT_LANGUAGE or language not in LANGUAGES:
        return NullTranslations()
    source = files("bordin.web").joinpath("locale", language, "LC_MESSAGES", "messages.po")
    with source.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain="messages")


def page_language(language: str | None) -> str:
    """The language the pages are shown in for a form in ``language`` (else English)."""
    code = (language or "").strip().lower()
    return code if code in LANGUAGES else DEFAULT_LANGUAGE


def negotiate_language(accept_language: str | None) -> str:
    """The best of :data:`LANGUAGES` for an ``Accept-Language`` header (else English)."""
    from babel import negotiate_locale

    wanted = []
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            wanted.append((quality, tag.strip().replace("_", "-")))
    preferred = [tag for _, tag in sorted(wanted, key=lambda w: -w[0])]
    best = negotiate_locale(preferred, list(LANGUAGES), sep="-")
    return best or DEFAULT_LANGUAGE
