"""Domain errors to HTTP responses, in one place (routes never raise HTTPException for them).

These are the API's JSON bodies. The client's form pages (``/f/...``) show the same
statuses as HTML pages (``bordin.web.pages._client_errors``), never this JSON.

| error | status |
|---|---|
| InputError | 422, body names the item / column |
| AuthenticationFailed | 401 |
| PermissionDenied | 403 |
| LinkExpired | 410 (code ``expired``; ``replaced`` for a link a newer one cancelled) |
| NotFound | 404 (also for records outside the caller's scope) |
| AlreadySubmitted | 409 with the first receipt |
| Conflict, a unique-constraint race | 409 |
| RateLimited | 429 with Retry-After |
| InstrumentError | 422 |
| database busy or unreachable (pool timeout, lock timeout) | 503 with Retry-After |
| a page's path parameter out of range or malformed (not the API's) | 404 |
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bordin.errors import (
    BordinError,
    Conflict,
    InputError,
    InstrumentError,
    NotFound,
    PermissionDenied,
)
from bordin.storage.exceptions import (
    AlreadySubmitted,
    AuthenticationFailed,
    LinkExpired,
    LinkReplaced,
    TwoFactorRequired,
)
from bordin.web.security import RateLimited

__all__ = ["error_body", "install_error_handlers", "status_for"]


def status_for(exc: BaseException) -> int:
    """The HTTP status of a domain error."""
    table: list[tuple[type[BaseException], int]] = [
        (InputError, 422),
        (InstrumentError, 422),
        (AuthenticationFailed, 401),
        (PermissionDenied, 403),
        (LinkExpired, 410),
        (NotFound, 404),
        (AlreadySubmitted, 409),
        (Conflict, 409),
        (IntegrityError, 409),
        (RateLimited, 429),
        (PoolTimeout, 503),
        (OperationalError, 503),
    ]
    for kind, status in table:
        if isinstance(exc, kind):
            return status
    return 500


def error_body(exc: BaseException) -> dict[str, Any]:
    """The JSON body of an error response: ``{"error": {"code", "message", ...}}``."""
    if isinstance(exc, IntegrityError):
        return {"error": {"code": "conflict", "message": "the record conflicts with another"}}
    if isinstance(exc, PoolTimeout | OperationalError):
        return {"error": {"code": "unavailable", "message": "the database is busy; try again"}}
    code = {
        422: "invalid",
        401: "unauthenticated",
        403: "forbidden",
        410: "expired",
        404: "not_found",
        409: "conflict",
        429: "rate_limited",
    }.get(status_for(exc), "error")
    error: dict[str, Any] = {"code": code, "message": str(exc)}
    if isinstance(exc, InputError):
        for field in ("item", "column", "row", "file"):
            value = getattr(exc, field)
            if value is not None:
                error[field] = value
        error["detail"] = exc.detail
    if isinstance(exc, LinkReplaced):
        error["code"] = "replaced"
    if isinstance(exc, TwoFactorRequired):
        error["code"] = "two_factor_required"
    if isinstance(exc, AlreadySubmitted):
        error["code"] = "already_submitted"
        error["receipt"] = exc.receipt
    return {"error": error}


def _respond(exc: BaseException) -> JSONResponse:
    headers = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, PoolTimeout | OperationalError):
        headers["Retry-After"] = "5"
    if isinstance(exc, AuthenticationFailed):
        headers["WWW-Authenticate"] = 'Cookie realm="bordin"'
    return JSONResponse(error_body(exc), status_code=status_for(exc), headers=headers)


def _validation_body(exc: RequestValidationError) -> dict[str, Any]:
    """FastAPI's request validation errors in the same shape as the domain errors."""
    errors = exc.errors()
    first = errors[0] if errors else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    message = str(first.get("msg", "invalid request"))
    error: dict[str, Any] = {
        "code": "invalid",
        "message": f"{where}: {message}" if where else message,
        "detail": message,
        "errors": jsonable_encoder(errors, exclude={"ctx", "url", "input"}),
    }
    if where:
        error["column"] = where
    return {"error": error}


_API_PREFIXES = ("/api/", "/fhir/")


def _names_no_page(request: Request, exc: RequestValidationError) -> bool:
    """A page's path parameter that fails validation (an id out of range, a word where an
    id goes) names no page: 404, as for any unknown path. The JSON API keeps its 422."""
    errors = exc.errors()
    return (
        bool(errors)
        and not request.url.path.startswith(_API_PREFIXES)
        and all(e.get("loc", ("",))[0] == "path" for e in errors)
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the mapping on ``app``."""

    async def _domain(_request: Request, exc: Exception) -> JSONResponse:
        return _respond(exc)

    async def _invalid(request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, RequestValidationError):  # registered for that type only
            return _respond(exc)
        if _names_no_page(request, exc):
            return _respond(NotFound(f"{request.url.path} not found"))
        return JSONResponse(_validation_body(exc), status_code=422)

    app.add_exception_handler(RequestValidationError, _invalid)

    app.add_exception_handler(BordinError, _domain)
    app.add_exception_handler(IntegrityError, _domain)
    app.add_exception_handler(PoolTimeout, _domain)
    app.add_exception_handler(OperationalError, _domain)
