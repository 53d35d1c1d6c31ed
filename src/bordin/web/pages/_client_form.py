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

Every text the client sees is translated (:mod:`bordin.web.i18n`): the form's pages in the
language its link was made for, the pages of links that cannot be read in the browser's
language. Questionnaire wording comes from content packs only; where a pack is missing in
the form's language, the English wording is shown with a note that says so.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from bordin.errors import InputError, NotFound
from bordin.storage.exceptions import AlreadySubmitted, LinkExpired, LinkReplaced
from bordin.web.deps import app_state
from bordin.web.i18n import LANGUAGES, N_, negotiate_language, page_language, translations
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


def _browser_language(request: Request) -> str:
    return negotiate_language(request.headers.get("accept-language"))


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
    language: str | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    """A message page, its texts translated into ``language`` (else the browser's);
    ``values`` are filled into the ``%(name)s`` fields of the translated ``message``."""
    lang = page_language(language) if language else _browser_language(request)
    _ = translations(lang).gettext
    heading, message = _(heading), (_(message) % values if values else _(message))
    context = {
        "title": heading,
        "lang": lang,
        "user": None,
        "nav": [],
        "state": state,
        "heading": heading,
        "message": message,
        "details": [_(line) for line in details],
        "tone": tone,
        "unsent": unsent or [],
    }
    return render_page(
        request, "form_message.html", context, status_code=status_code, headers=_ROBOTS
    )


_UNSENT_NOTE = N_(
    "The answers you chose on this page were not sent. They are listed below so that "
    "nothing is lost: you can give them again on the newer form, or show this page to "
    "your therapist."
)
_SENT_BEFORE_NOTE = N_(
    "The answers below were not sent again. If they differ from what you sent before, "
    "show them to your therapist at your next session."
)


def _link_problem(
    request: Request,
    exc: Exception,
    *,
    unsent: list[dict[str, Any]] | None = None,
    language: str | None = None,
) -> Response:
    """The page for a link that cannot be used; ``unsent``: answers posted with it;
    ``language``: the form's (else the browser's)."""
    keep = [_UNSENT_NOTE] if unsent else []
    if isinstance(exc, AlreadySubmitted):
        submitted = str(exc.receipt.get("submitted_at", ""))[:10]
        return _message(
            request,
            state="used",
            heading=N_("This form has already been sent"),
            message=(
                N_("Your answers were received on %(date)s. Each link can be used once.")
                if submitted
                else N_("Your answers were received. Each link can be used once.")
            ),
            values={"date": submitted} if submitted else None,
            details=[
                *([_SENT_BEFORE_NOTE] if unsent else []),
                N_(
                    "There is nothing more to do. If you think something went wrong, "
                    "tell your therapist at your next session."
                ),
            ],
            status_code=409,
            tone="ok",
            unsent=unsent,
            language=language,
        )
    if isinstance(exc, LinkReplaced):
        return _message(
            request,
            state="replaced",
            heading=N_("This link was replaced by a newer one"),
            message=N_(
                "Your therapist made a newer link for this session, so this one no longer "
                "works. Nothing is wrong."
            ),
            details=[
                N_(
                    "Please open the newest link you received (in your messages or from the "
                    "QR code your therapist showed you). If you cannot find it, ask your "
                    "therapist."
                ),
                *keep,
            ],
            status_code=410,
            tone="warning",
            unsent=unsent,
            language=language,
        )
    if isinstance(exc, LinkExpired):
        return _message(
            request,
            state="expired",
            heading=N_("This link has expired"),
            message=N_("For your privacy, form links only work for a few days."),
            details=[N_("Please ask your therapist for a new link."), *keep],
            status_code=410,
            tone="warning",
            unsent=unsent,
            language=language,
        )
    return _message(
        request,
        state="invalid",
        heading=N_("This link does not work"),
        message=N_("We could not find a form for this link."),
        details=[
            N_("Check that you copied the whole link, or ask your therapist for a new one."),
            *keep,
        ],
        status_code=404,
        tone="warning",
        unsent=unsent,
        language=language,
    )


def _load(db: Session, token: str) -> tuple[list[FormInstrument], dict[str, Any]]:
    from bordin.storage.queries.forms import get_form_content

    content = get_form_content(db, token=token)
    meta = {"session": content.session, "language": content.language}
    return form_instruments(content.instruments), meta


def _translated(instruments: list[FormInstrument], language: str) -> list[FormInstrument]:
    """Instruments without any loaded wording get their stand-in texts translated."""
    from dataclasses import replace

    _ = translations(language).gettext
    result = []
    for instrument in instruments:
        if instrument.origin == "none":
            instrument = replace(
                instrument,
                instructions=_(N_("Your clinic has not loaded the wording of this questionnaire.")),
                items=tuple(
                    replace(item, text=_("Question %(number)s") % {"number": item.number})
                    for item in instrument.items
                ),
                language=language,
            )
        result.append(instrument)
    return result


def _wording_note(instrument: FormInstrument, language: str) -> str | None:
    """The note shown when a questionnaire is not available in the form's language."""
    if instrument.language == language or language == "en":
        return None
    return translations(language).gettext(
        N_(
            "This questionnaire is not available in %(language)s at your clinic, "
            "so it is shown in English."
        )
    ) % {"language": LANGUAGES[language]}


def _step_page(
    request: Request,
    token: str,
    instruments: list[FormInstrument],
    meta: dict[str, Any],
    step: int,
    answers: dict[str, dict[int, float]],
    errors: dict[int, str] | None = None,
    *,
    action: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    """One step of the form; ``action`` and ``extra`` (hidden fields, page values) let the
    kiosk (:mod:`bordin.web.pages._kiosk`) show the same form under its own address."""
    lang = page_language(meta["language"])
    _ = translations(lang).gettext
    instruments = _translated(instruments, lang)
    shown_errors = {number: _(message) for number, message in (errors or {}).items()}
    context = build_step_context(instruments, step, answers, errors=shown_errors)
    title = _("%(title)s (%(number)s of %(total)s)") % {
        "title": context["instrument"]["title"],
        "number": step + 1,
        "total": len(instruments),
    }
    if errors:
        title = _("Error: %(title)s") % {"title": title}
    content_lang = instruments[step].language
    context.update(
        {
            "title": title,
            "lang": lang,
            "content_lang": content_lang,
            "wording_note": _wording_note(instruments[step], lang),
            "user": None,
            "nav": [],
            "state": "open",
            "session": meta["session"],
            "action": action or f"/f/{token}",
        }
    )
    if extra:
        extra = dict(extra)
        context["hidden"] = [*context["hidden"], *extra.pop("hidden", [])]
        context.update(extra)
    return render_page(
        request,
        "form_step.html",
        context,
        status_code=422 if errors else 200,
        headers=_ROBOTS,
    )


def _limited_page(request: Request, exc: RateLimited) -> Response:
    """The page for an address that has had too many unusable links this minute."""
    return _message(
        request,
        state="rate_limited",
        heading=N_("Please wait a moment"),
        message=N_("There were too many requests from this device."),
        details=[
            translations(_browser_language(request)).gettext(
                N_("Try again in %(seconds)s seconds.")
            )
            % {"seconds": exc.retry_after}
        ],
        status_code=429,
        tone="warning",
    )


def _count_failure(request: Request) -> None:
    """Count an unusable link (unknown, expired, used) against the caller's address."""
    with open_transaction(request) as db:
        app_state(request).token_limit.count(db, client_address(request))


def _checked_load(
    request: Request, token: str, fields: dict[str, str] | None = None
) -> tuple[list[FormInstrument], dict[str, Any]] | Response:
    """The form behind ``token`` after the rate-limit check, or the page to answer with
    (listing the answers in ``fields``, when they were being sent, as not sent)."""
    try:
        with open_transaction(request) as db:
            app_state(request).token_limit.check(db, client_address(request))
            return _load(db, token)
    except RateLimited as exc:
        return _limited_page(request, exc)
    except (NotFound, AlreadySubmitted) as exc:
        _count_failure(request)
        return _link_problem(
            request, exc, unsent=unsent_answers(fields) if fields is not None else None
        )


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
    loaded = await run_in_threadpool(_checked_load, request, token, fields)
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
    batcher = app_state(request).submissions
    assert batcher is not None  # create_app sets it
    try:
        # shared with the submissions arriving at the same time (bordin.web.submissions),
        # which counts an unusable link against the address
        await batcher.submit(
            token, submission_payload(instruments, answers), client_address(request)
        )
    except RateLimited as exc:
        return _limited_page(request, exc)
    except (NotFound, AlreadySubmitted) as exc:
        return _link_problem(request, exc, unsent=unsent_answers(fields), language=meta["language"])
    except IntegrityError:
        # answered at the same moment on another device: the other answers were stored
        return _link_problem(
            request,
            AlreadySubmitted("this form was already submitted", receipt={}),
            unsent=unsent_answers(fields),
            language=meta["language"],
        )
    except InputError:
        return _message(
            request,
            state="rejected",
            heading=N_("Your answers could not be sent"),
            message=N_("Some of your answers were not accepted."),
            details=[
                N_("Please go back and check your answers, or ask your therapist for help."),
                _UNSENT_NOTE,
            ],
            status_code=422,
            tone="danger",
            unsent=unsent_answers(fields),
            language=meta["language"],
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
            crisis_text = _crisis_text(db, form_request, instrument_ids) if submitted else None
    except NotFound as exc:
        return _link_problem(request, exc)
    if not submitted:
        return RedirectResponse(f"/f/{token}", status_code=303)
    safety = any(get_instrument(i).risk_items for i in instrument_ids)
    lang = page_language(language)
    context: dict[str, Any] = {
        "title": translations(lang).gettext(N_("Thank you")),
        "lang": lang,
        "user": None,
        "nav": [],
        "state": "submitted",
        "safety": safety,
        "crisis_text": crisis_text,
    }
    return render_page(request, "form_thanks.html", context, headers=_ROBOTS)


def _crisis_text(db: Session, form_request: Any, instrument_ids: list[str]) -> str | None:
    """The clinic's crisis text (local numbers), for a form that asked a risk item."""
    from bordin.instruments import get_instrument
    from bordin.storage.queries import get_crisis_text

    if not any(get_instrument(i).risk_items for i in instrument_ids):
        return None
    return get_crisis_text(db, form_request)
