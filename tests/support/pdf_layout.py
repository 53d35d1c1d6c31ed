"""Checks of a laid-out PDF: page size, text, and that nothing runs past the page's width."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

A4_POINTS = (595.28, 841.89)  # 210 x 297 mm


def pdf_text(data: bytes) -> str:
    """The PDF's text (pypdf), whitespace collapsed and soft hyphens removed."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    text = " ".join(page.extract_text() for page in reader.pages)
    return re.sub(r"\s+", " ", text.replace("\u2010 ", "").replace("\u00ad", ""))


def page_sizes(data: bytes) -> list[tuple[float, float]]:
    """Width and height (points) of every page of the PDF."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return [(float(p.mediabox.width), float(p.mediabox.height)) for p in reader.pages]


def _walk(box: Any) -> Iterator[Any]:
    yield box
    for child in getattr(box, "children", None) or []:
        yield from _walk(child)


def overflowing_boxes(document: Any) -> list[str]:
    """Boxes of a WeasyPrint document whose border box ends right of the page's content area.

    Returns one line per offending box (page number, tag, how far past the edge), empty when
    everything fits.
    """
    problems = []
    for number, page in enumerate(document.pages, start=1):
        page_box = page._page_box
        limit = page_box.content_box_x() + page_box.width
        for root in page_box.children:
            if type(root).__name__ == "MarginBox":
                continue
            for box in _walk(root):
                right = box.border_box_x() + box.border_width()
                if right > limit + 0.5:
                    tag = getattr(box, "element_tag", "?")
                    problems.append(f"page {number}: <{tag}> {right - limit:.1f}px past the edge")
    return problems


def boxes_by_page(document: Any, tag: str) -> list[int]:
    """For each page, how many boxes made by elements named ``tag`` start or continue there."""
    counts = []
    for page in document.pages:
        seen = {
            id(box.element)
            for box in _walk(page._page_box)
            if getattr(box, "element_tag", None) == tag and box.element is not None
        }
        counts.append(len(seen))
    return counts
