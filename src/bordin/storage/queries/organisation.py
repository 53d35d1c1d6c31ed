"""Reads of a clinic's users, teams and audit trail (admins)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bordin.storage.access import require_role
from bordin.storage.models import AuditEvent, Team, User

__all__ = ["list_audit_events", "list_teams", "list_users"]


def list_users(db: Session, *, actor: User) -> list[User]:
    """The staff of the actor's clinic (admins), or of their team (supervisors).

    A supervisor without a team has no scope: the list is empty (comparing with a missing
    team would otherwise select every colleague without a team, admins included).
    """
    require_role(actor, "admin", "supervisor")
    statement = select(User).where(User.clinic_id == actor.clinic_id)
    if actor.role == "supervisor":
        if actor.team_id is None:
            return []
        statement = statement.where(User.team_id == actor.team_id)
    return list(db.scalars(statement.order_by(User.username)))


def list_teams(db: Session, *, actor: User) -> list[Team]:
    """The teams of the actor's clinic."""
    require_role(actor, "admin", "supervisor")
    return list(
        db.scalars(select(Team).where(Team.clinic_id == actor.clinic_id).order_by(Team.name))
    )


def list_audit_events(
    db: Session,
    *,
    actor: User,
    client_id: int | None = None,
    limit: int = 200,
    before_id: int | None = None,
) -> list[AuditEvent]:
    """The clinic's audit trail, newest first (admins only), optionally for one client."""
    require_role(actor, "admin")
    statement = select(AuditEvent).where(AuditEvent.clinic_id == actor.clinic_id)
    if client_id is not None:
        statement = statement.where(AuditEvent.client_id == client_id)
    if before_id is not None:
        statement = statement.where(AuditEvent.id < before_id)
    return list(db.scalars(statement.order_by(AuditEvent.id.desc()).limit(limit)))
