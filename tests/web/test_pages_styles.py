"""The pages' stylesheet covers every kind of text field the templates use.

The contact and schedule fields of the forms-by-email page (``type="tel"`` and
``type="datetime-local"``) were left out of the field styles, so on a phone they were
small, unbordered boxes beside the full-width fields around them.
"""

from __future__ import annotations

import re
from pathlib import Path

import bordin.web.pages as pages

PAGES = Path(pages.__file__).resolve().parent
# input types that are not text fields: drawn by the browser or by their own rules
NOT_FIELDS = {"hidden", "radio", "checkbox", "file", "submit", "button"}


def test_every_text_field_type_in_the_templates_is_styled() -> None:
    css = (PAGES / "static" / "bordin.css").read_text(encoding="utf-8")
    used = {
        kind
        for template in (PAGES / "templates").glob("*.html")
        for kind in re.findall(r'<input[^>]*\stype="([a-z-]+)"', template.read_text("utf-8"))
    }
    assert {"text", "tel", "datetime-local"} <= used
    unstyled = sorted(kind for kind in used - NOT_FIELDS if f'input[type="{kind}"]' not in css)
    assert unstyled == []
