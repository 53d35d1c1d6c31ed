"""The non-completer list: who had a form due and has not answered, per therapist, with
resend and "filled on paper" (JSON twin: ``?format=json``; API: ``/api/v1/non-completers``)."""

from __future__ import annotations

from datetime import timedelta
from itertools import groupby
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from bordin.errors import BordinError, Conflict, InputError, NotFound, PermissionDenied
from bordin.storage import actions, queries
from bordin.storage.contact_cipher import make_cipher
from bordin.storage.models import User, utcnow
from bordin.web.deps import app_state
from bordin.web.pages._deps import PageId, open_transaction, page_user
from bordin.web.pages._labels import field_error_message
from bordin.web.pages._page import (
    base_context,
    check_form_csrf,
    error_page,
    html_extras,
    login_redirect,
)
from bordin.web.pages._render import render_page

__all__ = ["non_completers_context", "router"]

router = APIRouter()

_DONE = {
    "resend": "A new link was sent; the old one no longer works.",
    "paper": "Marked as filled on paper: the link is cancelled and no reminders go out.",
}


def non_completers_context(db: Session, user: User) -> dict[str, Any]:
    """The page's data: non-completers grouped by therapist (alphabetical), each with its
    actions."""
    found = queries.list_non_completers(db, actor=user, now=utcnow())
    groups = []
    for (therapist_id, therapist), rows in groupby(
        found, key=lambda n: (n.therapist_id, n.therapist)
    ):
        groups.append(
            {
                "therapist_id": therapist_id,
                "therapist": therapist,
                "clients": [
                    {
                        **n.to_dict(),
                        "href": f"/clients/{n.client_id}",
                        "paper_href": f"/clients/{n.client_id}/sessions/{n.session_id}/paper",
                        "resend_action": f"/non-completers/{n.delivery_id}/resend",
                        "paper_action": f"/non-completers/{n.delivery_id}/paper",
                    }
                    for n in rows
                ],
            }
        )
    context = base_context(user, title="Forms not answered", current="/caseload")
    context.update(
        {
            "therapists": groups,
            "total": len(found),
            "note": "Clients whose form was due (a booked session started, or the form was "
            "sent) and who have not answered it. Resend makes a new link; 'filled on paper' "
            "cancels the link (type the answers in on the session's paper form).",
        }
    )
    return context


@router.get("/non-completers", include_in_schema=False)
def non_completers(request: Request) -> Response:
    """The non-completer list of the signed-in therapist, supervisor or admin."""
    with open_transaction(request) as db:
        user = page_user(request, db)
        if user is None:
            return login_redirect(request)
        context = non_completers_context(db, user)
        done = request.query_params.get("done")
        context["message"] = _DONE.get(done or "")
        return render_page(request, "non_completers.html", context, html=html_extras(request))


@router.post("/non-completers/{delivery_id}/{what}", include_in_schema=False)
async def act(request: Request, delivery_id: PageId, what: str) -> Response:
    """Resend a form or mark it as filled on paper, then go back to the list."""
    form = await request.form()
    settings = app_state(request).settings
    with open_transaction(request) as db:
        user = page_user(request, db)
        if user is None:
            return login_redirect(request)
        try:
            check_form_csrf(request, form)
            if what == "resend":
                actions.resend_form(
                    db,
                    actor=user,
                    cipher=make_cipher(settings.contact_key),
                    delivery_id=delivery_id,
                    lifetime=timedelta(days=settings.token_days),
                )
            elif what == "paper":
                actions.mark_filled_on_paper(db, actor=user, delivery_id=delivery_id)
            else:
                raise NotFound(f"no such action: {what}")
        except PermissionDenied as exc:
            return error_page(
                request, user, status_code=403, heading="Not allowed", message=str(exc)
            )
        except NotFound:
            return error_page(
                request,
                user,
                status_code=404,
                heading="Form not found",
                message="This form does not exist or is not in your caseload.",
            )
        except (Conflict, InputError) as exc:
            return error_page(
                request,
                user,
                status_code=409,
                heading="Nothing was changed",
                message=field_error_message(exc),
            )
        except BordinError as exc:
            return error_page(
                request, user, status_code=422, heading="Error", message=field_error_message(exc)
            )
    return RedirectResponse(f"/non-completers?done={what}", status_code=303)
