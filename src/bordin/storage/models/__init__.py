"""SQLAlchemy 2 models, split by domain; ``Base.metadata`` is what the migrations track."""

from bordin.storage.models._base import Base, UTCDateTime, utcnow
from bordin.storage.models.audit import AuditChainHead, AuditEvent
from bordin.storage.models.care import Client, Episode, MissedSession, TherapySession
from bordin.storage.models.clinic_pages import ImportUpload, PasswordReset
from bordin.storage.models.content import ContentPack
from bordin.storage.models.delivery import (
    BookedSession,
    ClientContact,
    DeliverySchedule,
    FormDelivery,
    OutboxMessage,
)
from bordin.storage.models.feedback import Alert, FeedbackShown, NormsSnapshot, Score, Signal
from bordin.storage.models.forms import FormRequest, ItemResponse
from bordin.storage.models.kiosk import KioskSession
from bordin.storage.models.limits import LoginLockout, RateLimitCount
from bordin.storage.models.organisation import ROLES, Clinic, LoginSession, Role, Team, User
from bordin.storage.models.risk import RiskEmail, RiskEvent, RiskLogEntry, StaffNotification

__all__ = [
    "Alert",
    "AuditChainHead",
    "AuditEvent",
    "Base",
    "BookedSession",
    "Client",
    "ClientContact",
    "Clinic",
    "ContentPack",
    "DeliverySchedule",
    "Episode",
    "FeedbackShown",
    "FormDelivery",
    "FormRequest",
    "ImportUpload",
    "ItemResponse",
    "KioskSession",
    "LoginLockout",
    "LoginSession",
    "MissedSession",
    "NormsSnapshot",
    "OutboxMessage",
    "PasswordReset",
    "ROLES",
    "RateLimitCount",
    "RiskEmail",
    "RiskEvent",
    "RiskLogEntry",
    "Role",
    "Score",
    "Signal",
    "StaffNotification",
    "Team",
    "TherapySession",
    "UTCDateTime",
    "User",
    "utcnow",
]
