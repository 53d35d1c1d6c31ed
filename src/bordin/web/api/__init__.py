"""The JSON API under ``/api/v1``: one router per concern."""

from fastapi import APIRouter

from bordin.web.api import admin, auth, care, clinic, delivery, feedback, forms, risk

__all__ = ["api_router"]


def api_router() -> APIRouter:
    """All API routes, to be mounted at ``/api/v1``."""
    router = APIRouter()
    for module in (auth, care, forms, feedback, clinic, admin, risk, delivery):
        router.include_router(module.router)
    return router
