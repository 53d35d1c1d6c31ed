"""Rendering a page as HTML or as its JSON twin, from one context.

Every page is a context (plain data: dicts, lists, strings, numbers) rendered by a Jinja2
template, or returned as JSON when the request asks for it with ``?format=json`` (the
datasette habit: tests check data, not markup). HTML-only extras (inline SVG charts, QR
codes) are passed separately and never appear in the JSON twin.

Pages a client sees are translated: templates mark their text with ``_()`` and the
environment of the page's language (``lang`` in its context) carries that language's
message catalog (:mod:`bordin.web.i18n`).

Responses carry a strict Content-Security-Policy: everything comes from this server (no
CDN, fonts or analytics), which the browser enforces.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context

from bordin.web.i18n import N_, page_language, translations

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "DISCLAIMER",
    "page_environment",
    "render_page",
    "wants_json",
]

#: Shown on every page (and in every JSON twin).
DISCLAIMER = N_("Bordin supports clinical judgement; it does not diagnose.")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)

_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def _date(value: object, style: str = "short", zone: str | None = None) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, datetime):
        if zone and zone != "UTC" and value.tzinfo is not None:
            from zoneinfo import ZoneInfo

            local = value.astimezone(ZoneInfo(zone))  # the clinic's time zone setting
            if style == "long":
                return local.strftime("%d %b %Y, %H:%M ") + (local.tzname() or zone)
            return local.strftime("%d %b %Y")
        if style == "long":
            return value.strftime("%d %b %Y, %H:%M UTC")
        return value.strftime("%d %b %Y")
    if isinstance(value, date):
        return value.strftime("%d %b %Y")
    return str(value)


@pass_context
def _date_in_zone(context: Context, value: object, style: str = "short") -> str:
    """A date, or a time in the clinic's time zone (the page context's ``timezone``)."""
    zone = context.get("timezone")
    return _date(value, style, zone if isinstance(zone, str) else None)


def _number(value: object, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, int | float):
        return f"{value:.0f}" if float(value).is_integer() else f"{value:.{digits}f}"
    return str(value)


@functools.cache
def page_environment(language: str = "en") -> Environment:
    """The Jinja2 environment of the pages in ``language`` (templates inside this package,
    autoescaped, with the language's message catalog installed for ``_()``)."""
    env = Environment(
        loader=PackageLoader("bordin.web.pages", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(  # type: ignore[attr-defined]
        translations(page_language(language)), newstyle=True
    )
    env.filters["date"] = _date_in_zone
    env.filters["number"] = _number
    return env


def wants_json(request: Request) -> bool:
    """Whether the request asks for the JSON twin (``?format=json``)."""
    return request.query_params.get("format") == "json"


def render_page(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    status_code: int = 200,
    html: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Render ``template`` with ``context``, or return the context as JSON.

    Parameters
    ----------
    request : Request
        The current request (decides HTML or JSON).
    template : str
        Template file name.
    context : mapping
        The page's data; it must be JSON-serialisable (it is the JSON twin).
    status_code : int
        HTTP status of the response.
    html : mapping, optional
        Extras for the HTML only (inline SVG charts, QR codes, CSRF field).
    headers : mapping, optional
        Extra response headers.
    """
    language = page_language(str(context.get("lang") or "en"))
    data = {"disclaimer": translations(language).gettext(DISCLAIMER), **context}
    all_headers = {**_HEADERS, **(headers or {})}
    if wants_json(request):
        return JSONResponse(jsonable_encoder(data), status_code=status_code, headers=all_headers)
    body = page_environment(language).get_template(template).render(**data, **(html or {}))
    return HTMLResponse(body, status_code=status_code, headers=all_headers)
