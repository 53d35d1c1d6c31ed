"""The client's form behind a one-time link: ``/f/{token}``.

GET shows the first questionnaire; each POST moves one step (``go=next|back|submit``),
carrying earlier answers as hidden fields, so the form works without JavaScript and nothing
is stored before the last step. The last step stores every answer in one transaction
(``record_submission``) and redirects to a thank-you page that shows no scores.

An unknown, expired, replaced or already used link gets a page that says so plainly, with
what to do. When that happens while the client is sending answers (the link was replaced by
a newer one, or answered on another device, after the form was opened), the page lists the
answers they chose, so nothing they typed disappears without a word. Every client-facing
error is an HTML page (:mod:`bordin.web.pages._client_errors` covers what the routes here
do not); JSON only for ``?format=json``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bordin.errors import InputError, NotFound
from bordin.storage.exceptions import AlreadySubmitted, LinkExpired, LinkReplaced
from bordin.web.deps import app_state
from bordin.web.pages._deps import open_transaction
from bordin.web.pages._form import (
    FormInstrument,
    build_step_context,
    form_instruments,
    parse_answers,
    step_errors,
    submission_payload,
    unsent_answers,
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
    unsent: list[dict[str, Any]] | None = None,
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
        "unsent": unsent or [],
    }
    return render_page(
        request, "form_message.html", context, status_code=status_code, headers=_ROBOTS
    )


_UNSENT_NOTE = (
    "The answers you chose on this page were not sent. They are listed below so that "
    "nothing is lost: you can give them again on the newer form, or show this page to "
    "your therapist."
)


def _link_problem(
    request: Request, exc: Exception, *, unsent: list[dict[str, Any]] | None = None
) -> Response:
    """The page for a link that cannot be used; ``unsent``: answers posted with it."""
    keep = [_UNSENT_NOTE] if unsent else []
    if isinstance(exc, AlreadySubmitted):
        submitted = str(exc.receipt.get("submitted_at", ""))[:10]
        when = f" on {submitted}" if submitted else ""
        return _message(
            request,
            state="used",
            heading="This form has already been sent",
            message=f"Answers for this form were received{when}. Each link can be used once.",
            details=[
                *(
                    [
                        "The answers below were not sent again. If they differ from what "
                        "you sent before, show them to your therapist at your next session."
                    ]
                    if unsent
                    else []
                ),
                "There is nothing more to do. If you think something went wrong, "
                "tell your therapist at your next session.",
            ],
            status_code=409,
            tone="ok",
            unsent=unsent,
        )
    if isinstance(exc, LinkReplaced):
        return _message(
            request,
            state="replaced",
            heading="This link was replaced by a newer one",
            message=(
                "Your therapist made a newer link for this session, so this one no longer "
                "works. Nothing is wrong."
            ),
            details=[
                "Please open the newest link you received (in your messages or from the QR "
                "code your therapist showed you). If you cannot find it, ask your therapist.",
                *keep,
            ],
            status_code=410,
            tone="warning",
            unsent=unsent,
        )
    if isinstance(exc, LinkExpired):
        return _message(
            request,
            state="expired",
            heading="This link has expired",
            message="For your privacy, form links only work for a few days.",
            details=["Please ask your therapist for a new link.", *keep],
            status_code=410,
            tone="warning",
            unsent=unsent,
        )
    return _message(
        request,
        state="invalid",
        heading="This link does not work",
        message="We could not find a form for this link.",
        details=[
            "Check that you copied the whole link, or ask your therapist for a new one.",
            *keep,
        ],
        status_code=404,
        tone="warning",
        unsent=unsent,
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


def _rate_limited(request: Request) -> Response | None:
    try:
        app_state(request).token_limiter.hit(client_address(request))
    except RateLimited as exc:
        return _message(
            request,
            state="rate_limited",
            heading="Please wait a moment",
            message="There were too many requests from this device.",
            details=[f"Try again in {exc.retry_after} seconds."],
            status_code=429,
            tone="warning",
        )
    return None


@router.get("/f/{token}", include_in_schema=False)
def show_form(request: Request, token: str) -> Response:
    """The first step of the form (or a message for a link that cannot be used)."""
    limited = _rate_limited(request)
    if limited is not None:
        return limited
    try:
        with open_transaction(request) as db:
            instruments, meta = _load(db, token)
    except (NotFound, AlreadySubmitted) as exc:
        return _link_problem(request, exc)
    return _step_page(request, token, instruments, meta, 0, {})


@router.post("/f/{token}", include_in_schema=False)
async def post_form(request: Request, token: str) -> Response:
    """Move one step (``go=next|back``) or send every answer (``go=submit``)."""
    limited = _rate_limited(request)
    if limited is not None:
        return limited
    form = await request.form()
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    try:
        with open_transaction(request) as db:
            instruments, meta = _load(db, token)
    except (NotFound, AlreadySubmitted) as exc:
        return _link_problem(request, exc, unsent=unsent_answers(fields))
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
    from bordin.storage.actions.forms import record_submission

    try:
        with open_transaction(request) as db:
            record_submission(db, token=token, answers=submission_payload(instruments, answers))
    except (NotFound, AlreadySubmitted) as exc:
        return _link_problem(request, exc, unsent=unsent_answers(fields))
    except IntegrityError:
        # answered at the same moment on another device: the other answers were stored
        return _link_problem(
            request,
            AlreadySubmitted("this form was already submitted", receipt={}),
            unsent=unsent_answers(fields),
        )
    except InputError as exc:
        return _message(
            request,
            state="rejected",
            heading="Your answers could not be sent",
            message=str(exc),
            details=[
                "Please go back and check your answers, or ask your therapist for help.",
                _UNSENT_NOTE,
            ],
            status_code=422,
            tone="danger",
            unsent=unsent_answers(fields),
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
