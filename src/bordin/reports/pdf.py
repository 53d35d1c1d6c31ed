"""HTML to tagged PDF with WeasyPrint: A4, page numbers, nothing fetched from elsewhere.

:func:`html_to_pdf` lays out an HTML document (the clinic report, a client's progress
report) with the print stylesheet ``templates/print.css`` and writes a tagged PDF (PDF/UA-1:
headings, tables and figures are structure elements a screen reader can follow). Every
resource must be inline: the URL fetcher refuses anything but ``data:`` URLs, so a document
that refers to a file or a server fails instead of leaking a request.

WeasyPrint needs the Pango libraries at run time (Debian: ``libpango-1.0-0`` and
``libpangoft2-1.0-0``).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bordin.errors import InputError

if TYPE_CHECKING:
    from weasyprint import Document

__all__ = ["PDF_VARIANT", "html_to_pdf", "layout_pdf", "print_stylesheet"]

#: The PDF variant written: PDF/UA-1, the accessible (tagged) PDF standard.
PDF_VARIANT = "pdf/ua-1"


def print_stylesheet() -> str:
    """The print stylesheet (A4 pages, margins, page numbers, tables that fit the page)."""
    return files("bordin.reports").joinpath("templates", "print.css").read_text(encoding="utf-8")


def _fetcher() -> Any:
    from weasyprint.urls import FatalURLFetchingError, URLFetcher

    class InlineOnly(URLFetcher):
        """Fetch ``data:`` URLs only; anything else stops the rendering."""

        def fetch(self, url: str, headers: Any = None) -> Any:
            if not url.lower().startswith("data:"):
                raise FatalURLFetchingError(
                    f"refused to fetch {url!r}: the PDF uses inline resources only"
                )
            return super().fetch(url, headers)

    return InlineOnly(allowed_protocols=("data",), allow_redirects=False)


def layout_pdf(html: str, *, title: str | None = None) -> Document:
    """Lay ``html`` out on A4 pages with the print stylesheet (no PDF written yet).

    Parameters
    ----------
    html : str
        A self-contained HTML document (inline CSS, SVG and ``data:`` images only).
    title : str, optional
        Document title for the PDF metadata (else the HTML ``<title>``).

    Returns
    -------
    weasyprint.Document
        The laid-out pages (``document.pages``; each page's boxes give the layout).

    Raises
    ------
    InputError
        The document refers to a resource that is not inline.
    """
    from weasyprint import CSS, HTML
    from weasyprint.urls import FatalURLFetchingError

    fetcher = _fetcher()
    stylesheet = CSS(string=print_stylesheet(), url_fetcher=fetcher)
    try:
        document = HTML(string=html, url_fetcher=fetcher, base_url=None).render(
            stylesheets=[stylesheet], pdf_variant=PDF_VARIANT, pdf_tags=True
        )
    except FatalURLFetchingError as exc:
        raise InputError(str(exc)) from None
    if title is not None:
        document.metadata.title = title
    return document


def html_to_pdf(html: str, target: str | Path | None = None, *, title: str | None = None) -> bytes:
    """Render ``html`` to a tagged A4 PDF (PDF/UA-1), returned as bytes and written to ``target``.

    Parameters
    ----------
    html : str
        A self-contained HTML document (inline CSS, SVG and ``data:`` images only).
    target : str or Path, optional
        Where to write the PDF.
    title : str, optional
        Document title for the PDF metadata (else the HTML ``<title>``).

    Returns
    -------
    bytes
        The PDF.

    Raises
    ------
    InputError
        The document refers to a resource that is not inline.
    OSError
        ``target`` cannot be written.
    """
    document = layout_pdf(html, title=title)
    data: bytes = document.write_pdf(pdf_variant=PDF_VARIANT, pdf_tags=True)
    if target is not None:
        Path(target).write_bytes(data)
    return data
