"""The client's form behind a one-time link: ``/f/{token}``.

GET shows the first questionnaire; each POST moves one step (``go=next|back|submit``),
carrying earlier answers as hidden fields, so the form works without JavaScript and nothing
is stored before the last step. The last step stores every answer in one transaction
(``record_submission``) and redirects to a thank-you page that shows no scores.

An unknown, expired or already used link gets a page that says so plainly, with what to do.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from bordin.errors import InputError, NotFound
from bordin.storage.exceptions import AlreadySubmitted, LinkExpired
from bordin.web.deps import app_state
from bordin.web.pages._deps import open_transaction
from bordin.web.pages._form import (
    FormInstrument,
    build_step_context,
    form_instruments,
    parse_answers,
    step_errors,
    submission_payload,
)
from bordin.web.pages._render import render_page
from bordin.web.security import RateLimited, client_address

__all__ = ["router"]

router = APIRouter()

_ROBOTS = {"X-Robots-Tag": "noindex, nofollow"}


def _message(
    request: Request,
    *,
    state: str,
    heading: str,
    message: str,
    details: list[str],
    status_code: int,
    tone: str = "",
) -> Response:
    context = {
        "title": heading,
        "lang": "en",
        "user": None,
        "nav": [],
        "state": state,
        "heading": heading,
        "message": message,
        "details": details,
        "tone": tone,
    }
    return render_page(
        request, "form_message.html", context, status_code=status_code, headers=_ROBOTS
    )


def _link_problem(request: Request, exc: Exception) -> Response:
    if isinstance(exc, AlreadySubmitted):
        return _message(
            request,
            state="used",
            heading="This form has already been sent",
            message="Your answers were received. Each link can be used once.",
            details=[
                "There is nothing more to do. If you think something went wrong, "
                "tell your therapist at your next session."
            ],
            status_code=409,
            tone="ok",
        )
    if isinstance(exc, LinkExpired):
        return _message(
            request,
            state="expired",
            heading="This link has expired",
            message="For your privacy, form links only work for a few days.",
            details=["Please ask your therapist for a new link."],
            status_code=410,
            tone="warning",
        )
    return _message(
        request,
        state="invalid",
        heading="This link does not work",
        message="We could not find a form for this link.",
        details=[
            "Check that you copied the whole link, or ask your therapist for a new one.",
        ],
        status_code=404,
        tone="warning",
    )


def _load(db: Session, token: str) -> tuple[list[FormInstrument], dict[str, Any]]:
    from bordin.storage.queries.forms import get_form_content

    content = get_form_content(db, token=token)
    meta = {"session": content.session, "language": content.language}
    return form_instruments(content.instruments), meta


def _step_page(
    request: Request,
    token: str,
    instruments: list[FormInstrument],
    meta: dict[str, Any],
    step: int,
    answers: dict[str, dict[int, float]],
    errors: dict[int, str] | None = None,
) -> Response:
    context = build_step_context(instruments, step, answers, errors=errors)
    title = f"{context['instrument']['title']} ({step + 1} of {len(instruments)})"
    if errors:
        title = "Error: " + title
    context.update(
        {
            "title": title,
            "lang": meta["language"],
            "user": None,
            "nav": [],
            "state": "open",
            "session": meta["session"],
            "action": f"/f/{token}",
        }
    )
    return render_page(
        request,
        "form_step.html",
        context,
        status_code=422 if errors else 200,
        headers=_ROBOTS,
    )


def _limited_page(request: Request, exc: RateLimited) -> Response:
    return _message(
        request,
        state="rate_limited",
        heading="Please wait a moment",
        message="There were too many requests from this device.",
        details=[f"Try again in {exc.retry_after} seconds."],
        status_code=429,
        tone="warning",
    )


def _count_failure(request: Request) -> None:
    """Count an unusable link (unknown, expired, used) against the caller's address."""
    with open_transaction(request) as db:
        app_state(request).token_limit.count(db, client_address(request))


def _checked_load(
    request: Request, token: str
) -> tuple[list[FormInstrument], dict[str, Any]] | Response:
    """The form behind ``token`` after the rate-limit check, or the page to answer with."""
    try:
        with open_transaction(request) as db:
            app_state(request).token_limit.check(db, client_address(request))
            return _load(db, token)
    except RateLimited as exc:
        return _limited_page(request, exc)
    except (NotFound, AlreadySubmitted) as exc:
        _count_failure(request)
        return _link_problem(request, exc)


def _record(request: Request, token: str, answers: dict[str, Any]) -> None:
    from bordin.storage.actions.forms import record_submission

    with open_transaction(request) as db:
        record_submission(db, token=token, answers=answers)


@router.get("/f/{token}", include_in_schema=False)
def show_form(request: Request, token: str) -> Response:
    """The first step of the form (or a message for a link that cannot be used)."""
    loaded = _checked_load(request, token)
    if isinstance(loaded, Response):
        return loaded
    instruments, meta = loaded
    return _step_page(request, token, instruments, meta, 0, {})


@router.post("/f/{token}", include_in_schema=False)
async def post_form(request: Request, token: str) -> Response:
    """Move one step (``go=next|back``) or send every answer (``go=submit``)."""
    form = await request.form()
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    loaded = await run_in_threadpool(_checked_load, request, token)
    if isinstance(loaded, Response):
        return loaded
    instruments, meta = loaded
    try:
        step = min(max(int(fields.get("step", "0")), 0), len(instruments) - 1)
    except ValueError:
        step = 0
    answers = parse_answers(fields, instruments)
    go = fields.get("go", "next")
    if go == "back":
        return _step_page(request, token, instruments, meta, max(step - 1, 0), answers)
    errors = step_errors(instruments[step], answers)
    if errors:
        return _step_page(request, token, instruments, meta, step, answers, errors)
    if go != "submit" or step < len(instruments) - 1:
        return _step_page(request, token, instruments, meta, step + 1, answers)
    # the last step: every step must be complete before anything is stored
    for index, instrument in enumerate(instruments):
        missing = step_errors(instrument, answers)
        if missing:
            return _step_page(request, token, instruments, meta, index, answers, missing)
    try:
        await run_in_threadpool(_record, request, token, submission_payload(instruments, answers))
    except (NotFound, AlreadySubmitted) as exc:
        await run_in_threadpool(_count_failure, request)
        return _link_problem(request, exc)
    except InputError as exc:
        return _message(
            request,
            state="rejected",
            heading="Your answers could not be sent",
            message=str(exc),
            details=["Please go back and check your answers, or ask your therapist for help."],
            status_code=422,
            tone="danger",
        )
    return RedirectResponse(f"/f/{token}/thanks", status_code=303)


@router.get("/f/{token}/thanks", include_in_schema=False)
def thanks(request: Request, token: str) -> Response:
    """Thank-you page after sending: no scores, and a safety note when risk was asked about."""
    from bordin.instruments import get_instrument
    from bordin.storage.actions.forms import find_form_request

    try:
        with open_transaction(request) as db:
            form_request = find_form_request(db, token)
            submitted = form_request.submitted_at is not None
            instrument_ids = list(form_request.instruments)
            language = form_request.language
    except NotFound as exc:
        return _link_problem(request, exc)
    if not submitted:
        return RedirectResponse(f"/f/{token}", status_code=303)
    safety = any(get_instrument(i).risk_items for i in instrument_ids)
    context: dict[str, Any] = {
        "title": "Thank you",
        "lang": language,
        "user": None,
        "nav": [],
        "state": "submitted",
        "safety": safety,
    }
    return render_page(request, "form_thanks.html", context, headers=_ROBOTS)
